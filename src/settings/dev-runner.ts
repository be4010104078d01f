import { type HostSettings, readHostSettings } from "./host.js";
import { type ModelSettings, readModelSettings } from "./models.js";
import { type ProjectSettings, readProjectSettings } from "./project.js";
import { type Environment, EnvReader, processEnvironment } from "./read.js";
import { type RuntimeSettings, readRuntimeSettings } from "./runtime.js";

/**
 * What the dev runner (`run --local`) reads from its environment: the worker's settings minus the
 * scheduler's, plus where the project's cozy.toml is (`COZY_MANIFEST_PATH`).
 */
export interface DevRunnerSettings {
  runtime: RuntimeSettings;
  models: ModelSettings;
  host: HostSettings;
  project: ProjectSettings;
}

/** {@link DevRunnerSettings} of an environment; every malformed variable is reported, all at once. */
export function devRunnerSettingsFromEnv(env: Environment = processEnvironment()): DevRunnerSettings {
  const reader = new EnvReader(env);
  const settings = {
    runtime: readRuntimeSettings(reader),
    models: readModelSettings(reader),
    host: readHostSettings(reader),
    project: readProjectSettings(reader),
  };
  reader.done();
  return settings;
}
