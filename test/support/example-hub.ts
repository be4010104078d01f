import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./runner-process.js";

/** scripts/example-hub.mjs in its own process, as the README runs it: its HF_ENDPOINT, and a stop. */
export async function startExampleHub(): Promise<{ endpoint: string; stop(): void }> {
  const hub = spawn(process.execPath, [join(REPO_ROOT, "scripts/example-hub.mjs"), "--port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let printed = "";
  const endpoint = await new Promise<string>((done, fail) => {
    hub.stdout.on("data", (chunk: Buffer) => {
      printed += chunk.toString();
      const match = /HF_ENDPOINT=(\S+)/.exec(printed);
      if (match?.[1]) done(match[1]);
    });
    hub.once("exit", (code) => fail(new Error(`the example hub exited (${code}): ${printed}`)));
  });
  return { endpoint, stop: () => hub.kill() };
}
