import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HfHubClient } from "../../../src/models/sources/hf-hub.js";
import { type FakeHfHub, LFS_THRESHOLD, startFakeHfHub } from "../../support/fake-hf-hub.js";
import { tempDir } from "../../support/hub-repos.js";

let root: string;
let hub: FakeHfHub;

beforeEach(async () => {
  root = await tempDir("hf-listing-");
  const repo = join(root, "acme", "tok");
  await mkdir(repo, { recursive: true });
  await writeFile(join(repo, "hello.txt"), "hello world\n");
  await writeFile(join(repo, "model.onnx"), Buffer.alloc(LFS_THRESHOLD + 1, 1));
  hub = await startFakeHfHub(root);
});

afterEach(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

describe("HfHubClient.listRepoFiles", () => {
  it("gives each file outside LFS its git blob id and each LFS file its sha256", async () => {
    const listing = await new HfHubClient({ endpoint: hub.endpoint }).listRepoFiles("acme/tok");
    const byPath = new Map(listing.files.map((file) => [file.path, file]));
    // What `git hash-object` prints for "hello world\n".
    expect(byPath.get("hello.txt")).toEqual({
      path: "hello.txt",
      size: 12,
      gitOid: "3b18e512dba79e4c8300dd08aeb37f8e728b8dad",
    });
    // An LFS file's blobId is its pointer's, which says nothing of the content: the sha256 does.
    expect(byPath.get("model.onnx")?.gitOid).toBeUndefined();
    expect(byPath.get("model.onnx")?.lfsSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("lists files without a blob id when the hub gives none", async () => {
    hub.faults = { noBlobIds: true };
    const listing = await new HfHubClient({ endpoint: hub.endpoint }).listRepoFiles("acme/tok");
    expect(listing.files.find((file) => file.path === "hello.txt")).toEqual({ path: "hello.txt", size: 12 });
  });
});
