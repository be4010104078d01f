import { type Environment, EnvReader, processEnvironment } from "./read.js";

/** Where the commands that read a project find its cozy.toml. */
export interface ProjectSettings {
  /**
   * `COZY_MANIFEST_PATH`: the cozy.toml to read instead of `<project>/cozy.toml` (as the Python SDK
   * did). Discovery reads it (`discover`, `run --local`, `serve` without a baked manifest), and
   * `serve` checks the installed gen-worker against its `gen_worker` range. As written: relative
   * paths are resolved against the working folder where they are used.
   */
  cozyTomlPath?: string;
}

/** Reads {@link ProjectSettings} into `reader`; none of them can be malformed. */
export function readProjectSettings(reader: EnvReader): ProjectSettings {
  const cozyTomlPath = reader.text("COZY_MANIFEST_PATH");
  return cozyTomlPath === undefined ? {} : { cozyTomlPath };
}

/** {@link ProjectSettings} of an environment. */
export function projectSettingsFromEnv(env: Environment = processEnvironment()): ProjectSettings {
  return readProjectSettings(new EnvReader(env));
}
