import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ResourceError } from "../../../src/contract/errors.js";
import { isAssetWire, RuntimeAsset } from "../../../src/runtime/files/asset.js";
import { expectRejection, makeTempDir } from "./servers.js";

let dir: { path: string; remove(): Promise<void> };

beforeEach(async () => {
  dir = await makeTempDir();
});

afterEach(async () => {
  await dir.remove();
});

describe("RuntimeAsset", () => {
  it("reads its local file, within an optional limit", async () => {
    const path = join(dir.path, "a.bin");
    await writeFile(path, Buffer.from("hello"));
    const asset = new RuntimeAsset({ ref: "u/a.bin", localPath: path });
    expect(await asset.exists()).toBe(true);
    expect(new TextDecoder().decode(await asset.readBytes())).toBe("hello");
    expect(await asset.readBytes(5)).toHaveLength(5);
    await expectRejection(
      asset.readBytes(4),
      ResourceError,
      "asset too large to read into memory (5 bytes, max 4)",
    );
  });

  it("says when it is not materialized", async () => {
    const asset = new RuntimeAsset({ ref: "runs/r/outputs/x.png" });
    expect(await asset.exists()).toBe(false);
    await expectRejection(asset.readBytes(), Error, /not materialized/);
  });

  it("does not exist when its file is gone or is a folder", async () => {
    expect(await new RuntimeAsset({ ref: "a", localPath: join(dir.path, "gone") }).exists()).toBe(false);
    expect(await new RuntimeAsset({ ref: "a", localPath: dir.path }).exists()).toBe(false);
  });

  it("serializes to the wire form with nulls for unknowns", () => {
    expect(JSON.parse(JSON.stringify(new RuntimeAsset({ ref: "u/a.png", sizeBytes: 3 })))).toEqual({
      ref: "u/a.png",
      owner: null,
      local_path: null,
      mime_type: null,
      size_bytes: 3,
      sha256: null,
    });
    const full = new RuntimeAsset({
      ref: "r",
      owner: "o",
      localPath: "/p",
      mimeType: "image/png",
      sizeBytes: 0,
      sha256: "ab",
    });
    expect(full.toJSON()).toEqual({
      ref: "r",
      owner: "o",
      local_path: "/p",
      mime_type: "image/png",
      size_bytes: 0,
      sha256: "ab",
    });
  });
});

describe("isAssetWire", () => {
  it.each<[unknown, boolean]>([
    [{ ref: "a" }, true],
    [{ ref: "", local_path: null }, true],
    [{ ref: 1 }, false],
    [{ url: "a" }, false],
    [["a"], false],
    [null, false],
    ["a", false],
  ])("%j → %s", (value, expected) => {
    expect(isAssetWire(value)).toBe(expected);
  });
});
