import Docker from "dockerode";
import { BuildError } from "./errors.js";
import type { EngineEvent } from "./progress.js";

/**
 * The Docker Engine named by DOCKER_HOST (default: the local socket; dockerode reads the variable
 * itself, `dockerHost` names it in the message), once it has answered a ping.
 */
export async function connectEngine(dockerHost?: string): Promise<Docker> {
  const docker = new Docker();
  try {
    await docker.ping();
  } catch (error) {
    const where = dockerHost ?? "unix:///var/run/docker.sock";
    throw new BuildError(
      `no Docker engine answered at ${where} (${(error as Error).message}): start Docker, or set DOCKER_HOST to an engine that runs`,
    );
  }
  return docker;
}

/** Reads an engine's JSON-lines progress stream to its end, handing each event to `onEvent`. */
export function followEvents(
  docker: Docker,
  stream: NodeJS.ReadableStream,
  onEvent: (event: EngineEvent) => void,
): Promise<void> {
  return new Promise((done, fail) => {
    docker.modem.followProgress(stream, (error: Error | null) => (error ? fail(error) : done()), onEvent);
  });
}

/** Whether a request to the engine failed with this HTTP status (dockerode sets `statusCode`). */
export function isStatus(error: unknown, status: number): boolean {
  return (error as { statusCode?: number }).statusCode === status;
}
