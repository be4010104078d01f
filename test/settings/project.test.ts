import { describe, expect, it } from "vitest";
import { devRunnerSettingsFromEnv } from "../../src/settings/dev-runner.js";
import { projectSettingsFromEnv } from "../../src/settings/project.js";

describe("projectSettingsFromEnv", () => {
  it("reads COZY_MANIFEST_PATH as the cozy.toml location, trimmed; unset or blank is none", () => {
    expect(projectSettingsFromEnv({})).toEqual({});
    expect(projectSettingsFromEnv({ COZY_MANIFEST_PATH: "  " })).toEqual({});
    expect(projectSettingsFromEnv({ COZY_MANIFEST_PATH: " conf/cozy.toml " })).toEqual({
      cozyTomlPath: "conf/cozy.toml",
    });
  });

  it("is part of the dev runner's settings (run --local discovers)", () => {
    expect(devRunnerSettingsFromEnv({ COZY_MANIFEST_PATH: "/p/cozy.toml" }).project).toEqual({
      cozyTomlPath: "/p/cozy.toml",
    });
    expect(devRunnerSettingsFromEnv({}).project).toEqual({});
  });
});
