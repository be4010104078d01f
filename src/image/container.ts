import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import type Docker from "dockerode";
import { joinHostPort } from "../util/host-port.js";
import { runnerProgram } from "./dockerfile.js";
import { isStatus } from "./engine.js";
import { BuildError } from "./errors.js";

/** Where the project lies in an image built by the contract, and where run outputs are mounted. */
const APP_DIR = "/app";
const OUTPUTS_DIR = "/outputs";
const FILES_DIR = "/files";
const RUNNER_PORT = 8081;

export interface ImageRunOptions {
  image: string;
  listen: { host: string; port: number };
  outputsDir: string;
  /** Mounted read-only and served as the file API, so input `Asset` refs name files in it. */
  filesDir?: string | undefined;
  /** `KEY=VALUE` settings for the runner (HF_ENDPOINT, HF_TOKEN, WORKER_*). */
  env?: readonly string[];
  drainTimeoutS: number;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface RunningImage {
  id: string;
  /** Where the runner answers on this machine: `http://host:port` of `listen`. */
  url: string;
  /** `bridge` (port published) or `host` (an engine started without a bridge network, as CI's is). */
  network: "bridge" | "host";
  /** Resolves with the container's exit code once it stops. */
  exited: Promise<number>;
  /** Stops the container (SIGTERM: the runner drains) and removes it. */
  stop(): Promise<void>;
}

/**
 * Runs the dev HTTP runner inside a built image: the image's own `cozy-worker` (from its
 * ENTRYPOINT) with `run --local /app`, the outputs folder mounted, as the calling user (so the
 * files it writes are theirs), its logs streamed. The port is published on the bridge network;
 * an engine without one (docker-up.sh's default) runs the container on the host's network.
 */
export async function runImage(docker: Docker, options: ImageRunOptions): Promise<RunningImage> {
  let config: { Entrypoint?: string[] | null };
  try {
    config = (await docker.getImage(options.image).inspect()).Config as typeof config;
  } catch (error) {
    if (!isStatus(error, 404)) throw error;
    throw new BuildError(
      `no image ${options.image} on this engine: build it first (cozy-worker build -t ${options.image})`,
    );
  }
  const program = runnerProgram(config.Entrypoint ?? []);
  if (!program) {
    throw new BuildError(
      `the ENTRYPOINT of ${options.image} does not run cozy-worker serve (${JSON.stringify(config.Entrypoint)}): build it from a Dockerfile that ends with ENTRYPOINT ["cozy-worker", "serve"]`,
    );
  }
  const outputsDir = resolve(options.outputsDir);
  await mkdir(outputsDir, { recursive: true });
  const bridge = await hasBridge(docker);
  const { host, port } = options.listen;
  const address = joinHostPort(host, port);
  const listen = bridge ? `0.0.0.0:${RUNNER_PORT}` : address;
  const user = process.getuid && process.getgid ? `${process.getuid()}:${process.getgid()}` : undefined;
  const container = await docker.createContainer({
    Image: options.image,
    Entrypoint: [
      ...program,
      "run",
      "--local",
      APP_DIR,
      "--listen",
      listen,
      "--outputs",
      OUTPUTS_DIR,
      ...(options.filesDir === undefined ? [] : ["--files", FILES_DIR]),
    ],
    Cmd: ["--drain-timeout", String(options.drainTimeoutS)],
    ...(user ? { User: user } : {}),
    Env: ["NO_COLOR=1", ...(options.env ?? [])],
    Labels: { "cozy.run-image": options.image },
    ...(bridge ? { ExposedPorts: { [`${RUNNER_PORT}/tcp`]: {} } } : {}),
    HostConfig: {
      Binds: [
        `${outputsDir}:${OUTPUTS_DIR}`,
        ...(options.filesDir === undefined ? [] : [`${resolve(options.filesDir)}:${FILES_DIR}:ro`]),
      ],
      NetworkMode: bridge ? "bridge" : "host",
      ...(bridge
        ? {
            PortBindings: {
              [`${RUNNER_PORT}/tcp`]: [{ HostIp: host, HostPort: String(port) }],
            },
          }
        : {}),
    },
  });
  const removed = async () => {
    await container.remove({ force: true }).catch((error: unknown) => {
      if (!isStatus(error, 404) && !isStatus(error, 409)) throw error;
    });
  };
  try {
    const logs = await container.attach({ stream: true, stdout: true, stderr: true });
    docker.modem.demuxStream(logs, options.stdout, options.stderr);
    await container.start();
  } catch (error) {
    await removed();
    throw new BuildError(`the container could not start: ${(error as Error).message}`);
  }
  const exited = container.wait().then((result: { StatusCode: number }) => result.StatusCode);
  return {
    id: container.id,
    url: `http://${address}`,
    network: bridge ? "bridge" : "host",
    exited,
    async stop() {
      await container.stop({ t: options.drainTimeoutS + 5 }).catch((error: unknown) => {
        if (!isStatus(error, 304) && !isStatus(error, 404)) throw error;
      });
      await exited.catch(() => undefined);
      await removed();
    },
  };
}

async function hasBridge(docker: Docker): Promise<boolean> {
  try {
    await docker.getNetwork("bridge").inspect();
    return true;
  } catch (error) {
    if (isStatus(error, 404)) return false;
    throw error;
  }
}
