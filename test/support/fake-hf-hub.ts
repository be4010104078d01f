export {
  gitBlobId,
  type HfHub as FakeHfHub,
  type HubFaults,
  type HubRequest as FakeHubRequest,
  LFS_THRESHOLD,
  startHfHub as startFakeHfHub,
} from "../../scripts/hf-hub.mjs";
