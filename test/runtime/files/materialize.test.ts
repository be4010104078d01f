import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CanceledError, ValidationError } from "../../../src/contract/errors.js";
import { RuntimeAsset } from "../../../src/runtime/files/asset.js";
import { FILE_API_REQUIRED_MESSAGE, FileApiClient } from "../../../src/runtime/files/file-api.js";
import { type MaterializeOptions, materializeAssets } from "../../../src/runtime/files/materialize.js";
import { ASSET_DEF, DRAFT } from "../manifest-fixture.js";
import {
  expectRejection,
  type FakeFileApi,
  fakeLookup,
  loopbackOnlyConnector,
  makeTempDir,
  PNG_BYTES,
  sha256,
  startFakeFileApi,
  startServer,
  type TestServer,
} from "./servers.js";

const asset = { $ref: "#/$defs/Asset" };

/** Shaped like discovery's output for a nested input type. */
const SCHEMA = {
  $schema: DRAFT,
  $ref: "#/$defs/Input",
  $defs: {
    Asset: ASSET_DEF,
    Input: {
      title: "Input",
      type: "object",
      properties: {
        prompt: { type: "string" },
        images: { type: "array", items: asset },
        mask: { ...asset, description: "Pixels to keep." },
        maybe: { anyOf: [asset, { type: "null" }] },
        byName: { type: "object", additionalProperties: asset },
        pair: {
          type: "array",
          prefixItems: [{ type: "string" }, asset],
          items: false,
          minItems: 2,
          maxItems: 2,
        },
        layers: { type: "array", items: { $ref: "#/$defs/Layer" } },
        source: { anyOf: [asset, { type: "string" }] },
        choice: { anyOf: [{ $ref: "#/$defs/UrlChoice" }, { $ref: "#/$defs/AssetChoice" }] },
        meta: { type: "object" },
      },
      required: ["prompt", "images"],
    },
    Layer: {
      title: "Layer",
      type: "object",
      properties: { name: { type: "string" }, image: asset },
      required: ["name", "image"],
    },
    AssetChoice: {
      type: "object",
      properties: { kind: { const: "asset" }, file: asset },
      required: ["kind", "file"],
    },
    UrlChoice: {
      type: "object",
      properties: { kind: { const: "url" }, file: { type: "object" } },
      required: ["kind", "file"],
    },
  },
};

let dir: { path: string; remove(): Promise<void> };
let files: FakeFileApi;
let web: TestServer;
let guard: ReturnType<typeof loopbackOnlyConnector>;

beforeEach(async () => {
  dir = await makeTempDir();
  files = await startFakeFileApi({ token: "t0k" });
  web = await startServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const delay = Number(url.searchParams.get("delay") ?? 0);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (url.pathname.startsWith("/missing")) res.writeHead(404).end();
    else res.writeHead(200).end(url.pathname.endsWith(".png") ? PNG_BYTES : url.pathname);
  });
  guard = loopbackOnlyConnector();
});

afterEach(async () => {
  await files.close();
  await web.close();
  await dir.remove();
});

function options(overrides: Partial<MaterializeOptions> = {}): MaterializeOptions {
  return {
    runId: "r1",
    owner: "tenant-1",
    runDir: join(dir.path, "runs"),
    cacheDir: join(dir.path, "cache"),
    cacheMaxBytes: 0,
    maxInputFileBytes: 1 << 20,
    downloadRetries: 2,
    allowHosts: [`127.0.0.1:${web.port}`],
    fileApi: new FileApiClient({ baseUrl: files.origin, token: "t0k", owner: "tenant-1" }),
    urlDownload: { retryBaseDelayMs: 1, connect: guard.connect, lookup: fakeLookup({}) },
    ...overrides,
  };
}

const inputsDir = () => join(dir.path, "runs", "r1", "inputs");

describe("materializeAssets", () => {
  it("replaces every asset of a nested payload and leaves the rest alone", async () => {
    files.files.set("u/mask.png", { data: PNG_BYTES, mimeType: "image/png" });
    files.files.set("u/layer.txt", { data: Buffer.from("layer") });
    const payload = {
      prompt: "a cat",
      images: [{ ref: `${web.origin}/one.png` }, { ref: "u/mask.png", local_path: "/etc/passwd" }],
      byName: { "my file": { ref: `${web.origin}/named.txt` } },
      pair: ["left", { ref: "u/layer.txt" }],
      layers: [{ name: "bg", image: { ref: "u/layer.txt", owner: "someone-else" } }],
      source: "just a string",
      choice: { kind: "asset", file: { ref: "u/mask.png" } },
      meta: { ref: "not an asset" },
    };
    const before = structuredClone(payload);
    const result = (await materializeAssets(payload, SCHEMA, options())) as Record<string, unknown>;

    expect(payload).toEqual(before);
    expect(result.prompt).toBe("a cat");
    expect(result.source).toBe("just a string");
    expect(result.meta).toEqual({ ref: "not an asset" });
    expect("mask" in result).toBe(false);
    expect("maybe" in result).toBe(false);

    const images = result.images as RuntimeAsset[];
    expect(images.map((image) => image instanceof RuntimeAsset)).toEqual([true, true]);
    expect(images[0]?.toJSON()).toEqual({
      ref: `${web.origin}/one.png`,
      owner: "tenant-1",
      local_path: join(inputsDir(), `${sha256(`${web.origin}/one.png`).slice(0, 32)}.png`),
      mime_type: "image/png",
      size_bytes: PNG_BYTES.byteLength,
      sha256: sha256(PNG_BYTES),
    });
    expect(images[1]?.localPath).toBe(join(inputsDir(), `${sha256(PNG_BYTES).slice(0, 32)}.png`));
    expect(images[1]?.mimeType).toBe("image/png");

    const named = (result.byName as Record<string, RuntimeAsset>)["my file"];
    expect(await readFile(named?.localPath ?? "", "utf8")).toBe("/named.txt");
    const pair = result.pair as [string, RuntimeAsset];
    expect(pair[0]).toBe("left");
    expect(new TextDecoder().decode(await pair[1].readBytes())).toBe("layer");
    const layer = (result.layers as { name: string; image: RuntimeAsset }[])[0];
    expect(layer?.name).toBe("bg");
    expect(layer?.image.owner).toBe("tenant-1");
    expect(((result.choice as { file: unknown }).file as RuntimeAsset).ref).toBe("u/mask.png");
  });

  it("picks union branches by shape", async () => {
    const payload = {
      prompt: "p",
      images: [],
      maybe: null,
      source: { ref: `${web.origin}/src.txt` },
      choice: { kind: "url", file: { ref: "stays plain" } },
    };
    const result = (await materializeAssets(payload, SCHEMA, options())) as Record<string, unknown>;
    expect(result.maybe).toBeNull();
    expect(result.source).toBeInstanceOf(RuntimeAsset);
    expect(result.choice).toEqual({ kind: "url", file: { ref: "stays plain" } });
  });

  it("names the payload path of a failed download", async () => {
    const payload = {
      prompt: "p",
      images: [{ ref: `${web.origin}/fine.png` }, { ref: `${web.origin}/missing.png?sig=1` }],
    };
    await expectRejection(
      materializeAssets(payload, SCHEMA, options()),
      ValidationError,
      `input asset at $.images[1]: input url returned HTTP 404: ${web.origin}/missing.png`,
    );
  });

  it("names record keys that are not identifiers", async () => {
    const payload = { prompt: "p", images: [], byName: { "my file": { ref: "u/none.png" } } };
    await expectRejection(
      materializeAssets(payload, SCHEMA, options()),
      ValidationError,
      'input asset at $.byName["my file"]: input file not found: u/none.png',
    );
  });

  it("fails the run on a blocked URL instead of passing it on", async () => {
    const payload = {
      prompt: "p",
      images: [],
      layers: [{ name: "x", image: { ref: "http://169.254.169.254/" } }],
    };
    await expectRejection(
      materializeAssets(payload, SCHEMA, options()),
      ValidationError,
      "input asset at $.layers[0].image: input url blocked: 169.254.169.254 resolves to a private, loopback or link-local address",
    );
    expect(guard.calls).toEqual([]);
  });

  it("refuses non-http(s) URLs", async () => {
    const payload = {
      prompt: "p",
      images: [{ ref: "ftp://example.com/a.png" }, { ref: "file:///etc/passwd" }],
    };
    await expectRejection(
      materializeAssets(payload, SCHEMA, options()),
      ValidationError,
      /input url must be http\(s\)/,
    );
    expect(guard.calls).toEqual([]);
  });

  it("says how to configure the file API when it is missing", async () => {
    const payload = { prompt: "p", images: [{ ref: "u/a.png" }] };
    await expectRejection(
      materializeAssets(payload, SCHEMA, options({ fileApi: undefined })),
      ValidationError,
      `input asset at $.images[0]: ${FILE_API_REQUIRED_MESSAGE}`,
    );
  });

  it("runs at most 4 downloads at once", async () => {
    const images = Array.from({ length: 10 }, (_, index) => ({
      ref: `${web.origin}/f${index}.txt?delay=40`,
    }));
    const result = (await materializeAssets({ prompt: "p", images }, SCHEMA, options())) as {
      images: RuntimeAsset[];
    };
    expect(result.images).toHaveLength(10);
    expect(web.inFlight.max).toBeLessThanOrEqual(4);
    expect(web.inFlight.max).toBeGreaterThanOrEqual(2);
  });

  it("downloads a ref used twice once", async () => {
    const ref = `${web.origin}/same.png`;
    const result = (await materializeAssets(
      { prompt: "p", images: [{ ref }, { ref }] },
      SCHEMA,
      options(),
    )) as {
      images: RuntimeAsset[];
    };
    expect(result.images[0]?.localPath).toBe(result.images[1]?.localPath);
    expect(web.requests).toHaveLength(1);
  });

  it("stops the other downloads at the first failure and leaves no partial files", async () => {
    const images = [
      { ref: `${web.origin}/slow1.txt?delay=5000` },
      { ref: `${web.origin}/slow2.txt?delay=5000` },
      { ref: `${web.origin}/missing?delay=20` },
    ];
    const started = Date.now();
    await expectRejection(
      materializeAssets({ prompt: "p", images }, SCHEMA, options()),
      ValidationError,
      /\$\.images\[2\]/,
    );
    expect(Date.now() - started).toBeLessThan(2000);
    const left = await readdir(inputsDir()).catch(() => []);
    expect(left.filter((name) => name.endsWith(".part"))).toEqual([]);
  });

  it("reports a canceled run as canceled", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new CanceledError("run canceled")), 30);
    const payload = { prompt: "p", images: [{ ref: `${web.origin}/slow.txt?delay=5000` }] };
    await expectRejection(
      materializeAssets(payload, SCHEMA, options({ signal: controller.signal })),
      CanceledError,
      "input asset at $.images[0]: run canceled",
    );
  });

  it("materializes a payload that is itself an asset", async () => {
    const schema = { $ref: "#/$defs/Asset", $defs: { Asset: ASSET_DEF } };
    const result = await materializeAssets({ ref: `${web.origin}/root.png` }, schema, options());
    expect(result).toBeInstanceOf(RuntimeAsset);
    expect((result as RuntimeAsset).mimeType).toBe("image/png");
  });

  it("keeps a __proto__ key as plain data", async () => {
    const payload = JSON.parse(
      `{"prompt":"p","images":[],"byName":{"__proto__":{"ref":"${web.origin}/p.txt"}}}`,
    );
    const result = (await materializeAssets(payload, SCHEMA, options())) as {
      byName: Record<string, unknown>;
    };
    expect(Object.getPrototypeOf(result.byName)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(result.byName, "__proto__")?.value).toBeInstanceOf(RuntimeAsset);
  });

  it("returns a copy and makes no request when there is no asset", async () => {
    const payload = { prompt: "p", images: [] };
    const result = await materializeAssets(payload, SCHEMA, options());
    expect(result).toEqual(payload);
    expect(result).not.toBe(payload);
    expect(web.requests).toEqual([]);
    expect(files.requests).toEqual([]);
  });

  it("refuses a schema reference it cannot follow", async () => {
    const schema = { $ref: "#/$defs/Missing", $defs: {} };
    await expect(materializeAssets({ a: 1 }, schema, options())).rejects.toThrow(
      "schema $ref cannot be resolved",
    );
  });
});
