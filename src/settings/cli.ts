import { type Environment, EnvReader, processEnvironment } from "./read.js";

/** Defaults of the CLI's own flags, and how it prints. */
export interface CliSettings {
  /** `NO_COLOR`: no colour even on a terminal. */
  noColor: boolean;
  /** `GEN_WORKER_HTTP_LISTEN`: `run`'s `--listen`. */
  listen: string;
  /** `GEN_WORKER_OUTPUT_DIR`: `run`'s `--outputs`. */
  outputsDir: string;
  /** `GEN_WORKER_URL`: the dev runner `invoke` calls. */
  runnerUrl: string;
  /** `invoke --scheduler --serve-files-listen`: not 8081, where the dev runner listens by default. */
  serveFilesListen: string;
  /**
   * `GEN_WORKER_INIT_DEPENDENCY`: how `init` writes the gen-worker dependency, when set (for example
   * `file:../gen-worker`); unset, init packs gen-worker into the project, and `--registry` wins over both.
   */
  initDependency?: string;
  /** `DOCKER_HOST`: the Docker Engine `build` and `run --image` use. */
  dockerHost?: string;
}

/** Reads {@link CliSettings}; none of them can be malformed. */
export function cliSettingsFromEnv(env: Environment = processEnvironment()): CliSettings {
  const reader = new EnvReader(env);
  const initDependency = reader.text("GEN_WORKER_INIT_DEPENDENCY");
  const dockerHost = reader.text("DOCKER_HOST");
  return {
    noColor: env.NO_COLOR !== undefined && env.NO_COLOR !== "",
    listen: reader.text("GEN_WORKER_HTTP_LISTEN") ?? "127.0.0.1:8081",
    outputsDir: reader.text("GEN_WORKER_OUTPUT_DIR") ?? "outputs",
    runnerUrl: reader.text("GEN_WORKER_URL") ?? "http://127.0.0.1:8081",
    serveFilesListen: "0.0.0.0:8091",
    ...(initDependency ? { initDependency } : {}),
    ...(dockerHost ? { dockerHost } : {}),
  };
}

/** The value of a variable of this shell, as `run --image -e NAME` passes it on; undefined when unset. */
export function shellVariable(name: string, env: Environment = processEnvironment()): string | undefined {
  return env[name];
}
