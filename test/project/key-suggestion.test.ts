import { describe, expect, it } from "vitest";
import { closestKey } from "../../src/project/key-suggestion.js";

const TOP = ["schema_version", "name", "main", "gen_worker", "host", "models", "endpoints", "resources"];
const RESOURCES = ["vram_gb", "ram_gb", "cpu_cores", "disk_gb"];

describe("closestKey", () => {
  it.each<[string, readonly string[], string | undefined]>([
    ["mian", TOP, "main"],
    ["nmae", TOP, "name"],
    ["Main", TOP, "main"],
    ["gen-worker", TOP, "gen_worker"],
    ["genworker", TOP, "gen_worker"],
    ["resource", TOP, "resources"],
    ["model", TOP, "models"],
    ["schema_versoin", TOP, "schema_version"],
    ["ram_gbs", RESOURCES, "ram_gb"],
    ["ram", RESOURCES, "ram_gb"],
    ["cpu", RESOURCES, "cpu_cores"],
    ["entry", TOP, undefined],
    ["os", TOP, undefined],
    ["gpus", RESOURCES, undefined],
    ["cudnn", ["cuda"], undefined],
    ["_gb", RESOURCES, undefined],
  ])("%s among %j is %s", (written, candidates, expected) => {
    expect(closestKey(written, candidates)).toBe(expected);
  });
});
