/**
 * The Cozy Hub client and the checks of the scheduler's resolved `cozy:` snapshots, where they
 * depart from the Python SDK (gen-worker 0.2.1) on purpose (docs/differences.md).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CozyHubClient,
  CozyHubError,
  CozyNoCompatibleArtifactError,
  parseResolvedCozyModel,
} from "../../../src/models/sources/cozy-hub.js";

const BLAKE3 = "ab".repeat(32);
const resolved = (snapshot_digest: string, blake3 = BLAKE3) => ({
  snapshot_digest,
  files: [{ path: "onnx/model.onnx", size_bytes: 3, blake3, url: "http://files.test/model.onnx" }],
});

describe("parseResolvedCozyModel", () => {
  it("needs a hex snapshot_digest, optionally prefixed (the Python SDK took any text)", () => {
    expect(parseResolvedCozyModel(resolved("blake3:00FF00FF"), "cozy:o/r:v1").snapshotDigest).toBe(
      "blake3:00ff00ff",
    );
    expect(parseResolvedCozyModel(resolved("0123456789abcdef"), "cozy:o/r:v1").snapshotDigest).toBe(
      "0123456789abcdef",
    );
    for (const digest of ["blake3:snap-1", "../x", "snap-1", "sha256:xyz"]) {
      expect(() => parseResolvedCozyModel(resolved(digest), "cozy:o/r:v1"), digest).toThrow(CozyHubError);
      expect(() => parseResolvedCozyModel(resolved(digest), "cozy:o/r:v1"), digest).toThrow(/expected hex/);
    }
  });

  it("needs each file's blake3 as 64 hex digits", () => {
    expect(() => parseResolvedCozyModel(resolved("00ff00ff", "not-a-hash"), "cozy:o/r:v1")).toThrow(
      /has no blake3 \(64 hex digits\)/,
    );
  });
});

describe("CozyHubClient.resolve", () => {
  let server: Server;
  let url: string;
  const bodies: unknown[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let text = "";
      req.on("data", (chunk: Buffer) => {
        text += chunk.toString();
      });
      req.on("end", () => {
        bodies.push(JSON.parse(text || "{}"));
        res.writeHead(409, { "content-type": "application/json" });
        res.end(JSON.stringify({ debug: { candidates: [] } }));
      });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((done) => server.close(done));
  });

  it("asks resolve_artifact for ONNX artifacts (the Python SDK asked for flashpack or safetensors)", async () => {
    const client = new CozyHubClient({ url, retryBaseDelayMs: 5 });
    await expect(
      client.resolve({ scheme: "cozy", owner: "acme", repo: "ocr", tag: "v1" }),
    ).rejects.toBeInstanceOf(CozyNoCompatibleArtifactError);
    expect(bodies[0]).toMatchObject({
      tag: "v1",
      include_urls: true,
      preferences: {
        file_type_preference: ["onnx"],
        quantization_preference: ["fp32", "fp16", "int8"],
        file_layout_preference: ["onnx"],
      },
    });
  });
});
