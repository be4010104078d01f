import { parentPort } from "node:worker_threads";
import type { Problem } from "../contract/problems.js";
import { typeErrors } from "../discovery/typecheck.js";

/** What {@link BackgroundTypeCheck} sends this worker thread. */
export interface TypeCheckRequest {
  projectDir: string;
  mainPath: string;
}

export type TypeCheckReply = { problems: Problem[] } | { error: string };

parentPort?.on("message", (request: TypeCheckRequest) => {
  let reply: TypeCheckReply;
  try {
    reply = { problems: typeErrors(request.projectDir, request.mainPath) };
  } catch (error) {
    reply = { error: error instanceof Error ? error.message : String(error) };
  }
  parentPort?.postMessage(reply);
});
