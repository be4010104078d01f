// The .proto files in proto/ against the wire contract (test/adapters/grpc/wire-contract/*.json, transcribed from
// wire-contract.md §1–3 by scripts/contract-from-markdown.mjs), plus a wire round trip through the
// proto-loader definitions that @grpc/grpc-js uses.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { decode as msgpackDecode, encode as msgpackEncode } from "@msgpack/msgpack";
import protobuf from "protobufjs";
import descriptor from "protobufjs/ext/descriptor/index.js";
import { describe, expect, it } from "vitest";
import {
  CONNECT_WORKER_PATH,
  PROTO_FILES,
  packageDefinition,
  SchedulerWorkerService,
  type WorkerSchedulerMessage,
  type WorkerSchedulerMessage__Output,
} from "../../../src/adapters/grpc/proto.js";
import { PROTO_DIR } from "../../../src/host/package.js";

const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));

// ---------------------------------------------------------------- the contract JSON

interface ContractField {
  number: number;
  name: string;
  label: "singular" | "repeated" | "map";
  type?: string;
  keyType?: string;
  valueType?: string;
  oneof?: string;
}
interface ContractEnum {
  name: string;
  values: { name: string; number: number }[];
}
interface ContractMessage {
  name: string;
  fields: ContractField[];
  oneofs: string[];
  reserved: { numbers: number[]; names: string[] };
  enums: ContractEnum[];
}
interface ContractRpc {
  name: string;
  requestType: string;
  requestStream: boolean;
  responseType: string;
  responseStream: boolean;
  path: string;
}
interface ContractFile {
  file: string;
  syntax: string;
  package: string;
  options: Record<string, string>;
  imports: string[];
  descriptorBytes: number | null;
  services: { name: string; fullName: string; rpcs: ContractRpc[] }[];
  messages: ContractMessage[];
  enums: ContractEnum[];
  envelope?: {
    package: string;
    message: string;
    oneof: string;
    reserved: { numbers: number[]; names: string[] };
    arms: { number: number; name: string; type: string; direction: string }[];
  };
}

function readContract(protoFile: string): ContractFile {
  const path = join(REPO_ROOT, "test/adapters/grpc/wire-contract", protoFile.replace(/\.proto$/, ".json"));
  return JSON.parse(readFileSync(path, "utf8")) as ContractFile;
}

const contracts = PROTO_FILES.map(readContract);

// ---------------------------------------------------------------- the .proto files, as protobufjs sees them

interface LoadedFile {
  source: string;
  parsed: protobuf.IParserResult;
  ns: protobuf.Namespace;
}

function loadFile(c: ContractFile): LoadedFile {
  const source = readFileSync(join(PROTO_DIR, c.file), "utf8");
  const parsed = protobuf.parse(source, { keepCase: true });
  parsed.root.resolveAll();
  const ns = parsed.root.lookup(c.package);
  if (!(ns instanceof protobuf.Namespace)) throw new Error(`${c.file}: no namespace ${c.package}`);
  return { source, parsed, ns };
}

const typesOf = (ns: protobuf.NamespaceBase): protobuf.Type[] =>
  ns.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type);
const enumsOf = (ns: protobuf.NamespaceBase): protobuf.Enum[] =>
  ns.nestedArray.filter((n): n is protobuf.Enum => n instanceof protobuf.Enum);
const servicesOf = (ns: protobuf.NamespaceBase): protobuf.Service[] =>
  ns.nestedArray.filter((n): n is protobuf.Service => n instanceof protobuf.Service);

function labelOf(f: protobuf.Field): string {
  if (f.map) return "map";
  if (f.repeated) return "repeated";
  if (f.required) return "required";
  return "singular"; // a proto3 `optional` shows up as a synthetic oneof and a proto3_optional option
}

/** The contract's type reference (scalar, or a message/enum name relative to the package). */
function typeRef(f: protobuf.Field, pkg: string): string {
  const resolved = f.resolvedType;
  if (!resolved) return f.type;
  const prefix = `.${pkg}.`;
  return resolved.fullName.startsWith(prefix) ? resolved.fullName.slice(prefix.length) : resolved.fullName;
}

function reservedOf(t: protobuf.Type): { numbers: number[]; names: string[] } {
  const numbers: number[] = [];
  const names: string[] = [];
  for (const r of t.reserved ?? []) {
    if (typeof r === "string") names.push(r);
    else for (let n = r[0] ?? 0; n <= (r[1] ?? -1); n++) numbers.push(n);
  }
  return { numbers, names };
}

function enumValues(e: protobuf.Enum): { name: string; number: number }[] {
  return Object.entries(e.values).map(([name, number]) => ({ name, number }));
}

// ---------------------------------------------------------------- schema comparison

describe.each(contracts.map((c) => [c.file, c] as const))("%s matches the wire contract", (_file, c) => {
  const { source, parsed, ns } = loadFile(c);
  const pkg = c.package;

  it("syntax, package, options, imports", () => {
    const syntax = /^\s*syntax\s*=\s*"([^"]+)"\s*;/m.exec(source)?.[1];
    expect(syntax, `${c.file}: syntax`).toBe(c.syntax);
    expect(parsed.package, `${c.file}: package`).toBe(pkg);
    expect(ns.options ?? {}, `${c.file}: file options (go_package)`).toEqual(c.options);
    expect(parsed.root.options, `${c.file}: options outside the package namespace`).toBeUndefined();
    expect(parsed.imports ?? [], `${c.file}: imports`).toEqual(c.imports);
    expect(parsed.weakImports ?? [], `${c.file}: weak imports`).toEqual([]);
    const nestedNamespaces = ns.nestedArray.filter(
      (n) => !(n instanceof protobuf.Type || n instanceof protobuf.Enum || n instanceof protobuf.Service),
    );
    expect(
      nestedNamespaces.map((n) => n.name),
      `${c.file}: unexpected nested namespaces`,
    ).toEqual([]);
  });

  it("services and rpcs", () => {
    const services = servicesOf(ns);
    expect(
      services.map((s) => s.name),
      `${pkg}: services`,
    ).toEqual(c.services.map((s) => s.name));
    for (const expected of c.services) {
      const svc = ns.get(expected.name);
      if (!(svc instanceof protobuf.Service)) throw new Error(`${expected.fullName}: missing service`);
      expect(svc.fullName, `${expected.fullName}: full name`).toBe(`.${expected.fullName}`);
      expect(
        svc.methodsArray.map((m) => m.name),
        `${expected.fullName}: rpcs`,
      ).toEqual(expected.rpcs.map((r) => r.name));
      for (const rpc of expected.rpcs) {
        const m = svc.methods[rpc.name];
        if (!m) throw new Error(`${expected.fullName}.${rpc.name}: missing rpc`);
        const where = `${expected.fullName}.${rpc.name}`;
        expect(m.resolvedRequestType?.fullName, `${where}: request type`).toBe(`.${pkg}.${rpc.requestType}`);
        expect(m.resolvedResponseType?.fullName, `${where}: response type`).toBe(
          `.${pkg}.${rpc.responseType}`,
        );
        expect(Boolean(m.requestStream), `${where}: client streaming`).toBe(rpc.requestStream);
        expect(Boolean(m.responseStream), `${where}: server streaming`).toBe(rpc.responseStream);
        expect(`/${expected.fullName}/${m.name}`, `${where}: gRPC path`).toBe(rpc.path);
        expect(m.options, `${where}: rpc options`).toBeUndefined();
      }
    }
  });

  it("messages, in declaration order", () => {
    expect(
      typesOf(ns).map((t) => t.name),
      `${pkg}: top-level messages`,
    ).toEqual(c.messages.map((m) => m.name));
    expect(
      enumsOf(ns).map((e) => e.name),
      `${pkg}: top-level enums`,
    ).toEqual(c.enums.map((e) => e.name));
  });

  it.each(c.messages.map((m) => [m.name, m] as const))("message %s", (name, expected) => {
    const t = ns.get(name);
    if (!(t instanceof protobuf.Type)) throw new Error(`${pkg}.${name}: missing message`);
    const where = `${pkg}.${name}`;

    expect(
      t.fieldsArray.map((f) => f.name),
      `${where}: fields (names and declaration order)`,
    ).toEqual(expected.fields.map((f) => f.name));

    for (const ef of expected.fields) {
      const f = t.fields[ef.name];
      if (!f) throw new Error(`${where}.${ef.name}: missing field`);
      const at = `${where}.${ef.name}`;
      expect(f.id, `${at}: field number`).toBe(ef.number);
      expect(labelOf(f), `${at}: label`).toBe(ef.label);
      if (ef.label === "map") {
        expect(f instanceof protobuf.MapField, `${at}: is a map`).toBe(true);
        expect(f instanceof protobuf.MapField ? f.keyType : undefined, `${at}: map key type`).toBe(
          ef.keyType,
        );
        expect(typeRef(f, pkg), `${at}: map value type`).toBe(ef.valueType);
      } else {
        expect(typeRef(f, pkg), `${at}: type`).toBe(ef.type);
      }
      expect(f.partOf?.name, `${at}: oneof membership`).toBe(ef.oneof);
      expect(f.options, `${at}: field options (proto3_optional, packed, default, ...)`).toBeUndefined();
    }

    expect(
      t.oneofsArray.map((o) => o.name),
      `${where}: oneofs`,
    ).toEqual(expected.oneofs);
    expect(reservedOf(t), `${where}: reserved numbers and names`).toEqual(expected.reserved);
    expect(t.options, `${where}: message options`).toBeUndefined();

    expect(
      typesOf(t).map((n) => n.name),
      `${where}: nested messages`,
    ).toEqual([]);
    expect(
      enumsOf(t).map((e) => e.name),
      `${where}: nested enums`,
    ).toEqual(expected.enums.map((e) => e.name));
    for (const ee of expected.enums) {
      const e = t.get(ee.name);
      if (!(e instanceof protobuf.Enum)) throw new Error(`${where}.${ee.name}: missing enum`);
      expect(enumValues(e), `${where}.${ee.name}: enum values`).toEqual(ee.values);
      expect(e.options, `${where}.${ee.name}: enum options`).toBeUndefined();
    }
  });

  // The contract's tables were checked by recompiling them with protoc and comparing the serialized
  // FileDescriptorProto byte for byte with the one embedded in the reference; it gives the sizes. A
  // protoc-equivalent descriptor built from our file must have the same size (catches e.g. a renamed
  // field, a lost reserved name or a changed go_package that the table comparison would not).
  it.runIf(c.descriptorBytes !== null)("serialized descriptor has the reference's size", () => {
    const bytes = protocStyleDescriptor(c.file, ns);
    expect(bytes.length, `${c.file}: FileDescriptorProto size`).toBe(c.descriptorBytes);
  });
});

describe("envelope", () => {
  const c = contracts.find((x) => x.envelope);
  it("§2 (envelope arms) and §3 (WorkerSchedulerMessage) agree in the contract", () => {
    const env = c?.envelope;
    if (!c || !env) throw new Error("no envelope in the contract JSON");
    const msg = c.messages.find((m) => m.name === env.message);
    expect(
      msg?.fields.map((f) => [f.number, f.name, f.type, f.oneof]),
      "envelope arms",
    ).toEqual(env.arms.map((a) => [a.number, a.name, a.type, env.oneof]));
    expect(msg?.reserved, "envelope reserved").toEqual(env.reserved);
  });

  it("the grpc-js service definition is the bidi ConnectWorker stream on the envelope", () => {
    const rpc = contracts[0]?.services[0]?.rpcs[0];
    const def = SchedulerWorkerService.ConnectWorker;
    expect(def.path).toBe(CONNECT_WORKER_PATH);
    expect(def.path).toBe(rpc?.path);
    expect(def.requestStream).toBe(true);
    expect(def.responseStream).toBe(true);
    const typeName = (t: { type: object }): unknown => (t.type as { name?: unknown }).name;
    expect(typeName(def.requestType)).toBe(rpc?.requestType);
    expect(typeName(def.responseType)).toBe(rpc?.responseType);
    expect(Object.keys(packageDefinition)).toContain("frontend.v1.FrontendService");
  });
});

// ---------------------------------------------------------------- protoc-style descriptor (size check)

const SCALAR_TYPE: Record<string, number> = {
  double: 1,
  float: 2,
  int64: 3,
  uint64: 4,
  int32: 5,
  fixed64: 6,
  fixed32: 7,
  bool: 8,
  string: 9,
  bytes: 12,
  uint32: 13,
  sfixed32: 15,
  sfixed64: 16,
  sint32: 17,
  sint64: 18,
};
const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;
const LABEL_OPTIONAL = 1;
const LABEL_REPEATED = 3;

/** protoc's name for a map field's synthesized entry message: `foo_bar` -> `FooBarEntry`. */
function mapEntryName(field: string): string {
  let out = "";
  let upper = true;
  for (const ch of field) {
    if (ch === "_") upper = true;
    else {
      out += upper ? ch.toUpperCase() : ch;
      upper = false;
    }
  }
  return `${out}Entry`;
}

function typeFields(type: string, resolved: protobuf.ReflectionObject | null): Record<string, unknown> {
  const scalar = SCALAR_TYPE[type];
  if (scalar !== undefined) return { type: scalar };
  if (!resolved) throw new Error(`unresolved type ${type}`);
  return { type: resolved instanceof protobuf.Enum ? TYPE_ENUM : TYPE_MESSAGE, typeName: resolved.fullName };
}

function messageDescriptor(t: protobuf.Type): Record<string, unknown> {
  const oneofs = t.oneofsArray.map((o) => o.name);
  const nestedType: Record<string, unknown>[] = [];
  const field = t.fieldsArray.map((f) => {
    const d: Record<string, unknown> = {
      name: f.name,
      number: f.id,
      label: f.repeated || f.map ? LABEL_REPEATED : LABEL_OPTIONAL,
    };
    if (f instanceof protobuf.MapField) {
      const entry = mapEntryName(f.name);
      nestedType.push({
        name: entry,
        field: [
          { name: "key", number: 1, label: LABEL_OPTIONAL, ...typeFields(f.keyType, null) },
          { name: "value", number: 2, label: LABEL_OPTIONAL, ...typeFields(f.type, f.resolvedType) },
        ],
        options: { mapEntry: true },
      });
      Object.assign(d, { type: TYPE_MESSAGE, typeName: `${t.fullName}.${entry}` });
    } else {
      Object.assign(d, typeFields(f.type, f.resolvedType));
    }
    if (f.partOf) d.oneofIndex = oneofs.indexOf(f.partOf.name);
    return d;
  });
  const reserved = t.reserved ?? [];
  return {
    name: t.name,
    field,
    nestedType,
    enumType: enumsOf(t).map((e) => ({
      name: e.name,
      value: enumValues(e),
    })),
    oneofDecl: oneofs.map((name) => ({ name })),
    reservedRange: reserved
      .filter((r): r is number[] => typeof r !== "string")
      .map((r) => ({ start: r[0], end: (r[1] ?? 0) + 1 })),
    reservedName: reserved.filter((r): r is string => typeof r === "string"),
  };
}

function protocStyleDescriptor(file: string, ns: protobuf.Namespace): Uint8Array {
  const fileProto = {
    name: file,
    package: ns.fullName.slice(1),
    messageType: typesOf(ns).map(messageDescriptor),
    enumType: enumsOf(ns).map((e) => ({ name: e.name, value: enumValues(e) })),
    service: servicesOf(ns).map((s) => ({
      name: s.name,
      method: s.methodsArray.map((m) => ({
        name: m.name,
        inputType: m.resolvedRequestType?.fullName,
        outputType: m.resolvedResponseType?.fullName,
        ...(m.requestStream ? { clientStreaming: true } : {}),
        ...(m.responseStream ? { serverStreaming: true } : {}),
      })),
    })),
    options: { goPackage: ns.options?.go_package },
    syntax: "proto3",
  };
  const FileDescriptorProto = descriptor.FileDescriptorProto;
  return FileDescriptorProto.encode(FileDescriptorProto.fromObject(fileProto)).finish();
}

// ---------------------------------------------------------------- round trip

describe("WorkerSchedulerMessage round trip", () => {
  const def = SchedulerWorkerService.ConnectWorker;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  root.loadSync([...PROTO_FILES], { keepCase: true });
  root.resolveAll();
  const Envelope = root.lookupType("scheduler.v1.WorkerSchedulerMessage");

  const TIMEOUT_MS = 2 ** 40 + 7; // needs more than 32 bits, still exact as a JS number
  const BIG_FILE = 6_000_000_000;
  const payload = { a: 1, b: 2, blob: new Uint8Array([0, 255, 128, 10]) };
  const inputPayload = Buffer.from(msgpackEncode(payload));

  const message: WorkerSchedulerMessage = {
    run_request: {
      run_id: "run-123",
      function_name: "add_numbers",
      input_payload: inputPayload,
      required_variant_refs: ["cozy:acme/sdxl:latest", "hf:org/repo@main"],
      timeout_ms: TIMEOUT_MS,
      owner: "acme",
      user_id: "user-1",
      file_base_url: "https://files.example.test",
      file_token: "file-token",
      resolved_cozy_models_by_id: {
        "cozy:acme/sdxl:latest": {
          snapshot_digest: "blake3:0123abcd",
          files: [
            {
              path: "unet/model.onnx",
              size_bytes: BIG_FILE,
              blake3: "aa11",
              url: "https://s3.test/unet?sig=1",
            },
            { path: "vae/model.onnx", size_bytes: 12, blake3: "bb22", url: "https://s3.test/vae?sig=2" },
          ],
        },
        "hf:org/repo@main": { snapshot_digest: "", files: [] },
      },
    },
  };

  function checkRunRequest(out: WorkerSchedulerMessage__Output): void {
    expect(out.msg).toBe("run_request");
    const setArms = Object.entries(out).filter(([k, v]) => k !== "msg" && v !== null && v !== undefined);
    expect(setArms.map(([k]) => k)).toEqual(["run_request"]);
    const rr = out.run_request;
    if (!rr) throw new Error("run_request missing after decode");
    expect(rr.run_id).toBe("run-123");
    expect(rr.function_name).toBe("add_numbers");
    expect(rr.timeout_ms).toBe(TIMEOUT_MS);
    expect(typeof rr.timeout_ms).toBe("number");
    expect(Buffer.isBuffer(rr.input_payload)).toBe(true);
    expect(rr.input_payload.equals(inputPayload)).toBe(true);
    expect(msgpackDecode(Uint8Array.from(rr.input_payload))).toEqual(payload);
    expect(rr.required_variant_refs).toEqual(["cozy:acme/sdxl:latest", "hf:org/repo@main"]);
    expect([rr.owner, rr.user_id, rr.file_base_url, rr.file_token]).toEqual([
      "acme",
      "user-1",
      "https://files.example.test",
      "file-token",
    ]);
    expect(Object.keys(rr.resolved_cozy_models_by_id).sort()).toEqual([
      "cozy:acme/sdxl:latest",
      "hf:org/repo@main",
    ]);
    const model = rr.resolved_cozy_models_by_id["cozy:acme/sdxl:latest"];
    expect(model?.snapshot_digest).toBe("blake3:0123abcd");
    expect(model?.files).toEqual([
      { path: "unet/model.onnx", size_bytes: BIG_FILE, blake3: "aa11", url: "https://s3.test/unet?sig=1" },
      { path: "vae/model.onnx", size_bytes: 12, blake3: "bb22", url: "https://s3.test/vae?sig=2" },
    ]);
    expect(rr.resolved_cozy_models_by_id["hf:org/repo@main"]).toEqual({ snapshot_digest: "", files: [] });
  }

  it("proto-loader serialize -> proto-loader deserialize", () => {
    const wire = def.requestSerialize(message);
    checkRunRequest(def.responseDeserialize(wire));
  });

  it("proto-loader serialize -> protobufjs Type.decode, and back through Type.encode", () => {
    const wire = def.requestSerialize(message);
    const decoded = Envelope.decode(wire);
    const obj = Envelope.toObject(decoded, { longs: Number, defaults: true, oneofs: true });
    expect(obj.msg).toBe("run_request");
    expect(obj.run_request.timeout_ms).toBe(TIMEOUT_MS);
    expect(Buffer.from(obj.run_request.input_payload).equals(inputPayload)).toBe(true);
    expect(obj.run_request.resolved_cozy_models_by_id["cozy:acme/sdxl:latest"].files[0].size_bytes).toBe(
      BIG_FILE,
    );

    const reencoded = Envelope.encode(Envelope.fromObject(obj)).finish();
    expect(Buffer.from(reencoded).equals(wire)).toBe(true);
    checkRunRequest(def.responseDeserialize(Buffer.from(reencoded)));
  });

  it("protobufjs Type.encode -> proto-loader deserialize (int64 given as a decimal string)", () => {
    const created = Envelope.fromObject({
      run_request: { ...message.run_request, timeout_ms: String(TIMEOUT_MS) },
    });
    expect(Envelope.verify(created)).toBeNull();
    checkRunRequest(def.responseDeserialize(Buffer.from(Envelope.encode(created).finish())));
  });

  // Hand-encoded bytes pin field numbers and wire types independently of protobufjs.
  it.each<[string, WorkerSchedulerMessage, string]>([
    ["worker_registration (#1)", { worker_registration: { is_heartbeat: true } }, "0a021001"],
    ["interrupt_run_cmd (#13)", { interrupt_run_cmd: { run_id: "r1" } }, "6a040a027231"],
    [
      "run_request (#10) with timeout_ms (#5, varint)",
      { run_request: { timeout_ms: 300_000 } },
      "520428e0a712",
    ],
    [
      "worker_event (#6) with payload_json (#3, bytes)",
      { worker_event: { payload_json: Buffer.from("{}") } },
      "32041a027b7d",
    ],
  ])("wire bytes of %s", (_name, msg, hex) => {
    expect(def.requestSerialize(msg).toString("hex")).toBe(hex);
  });

  it("field 3 (reserved spawn_tasks) is not an arm", () => {
    const out = def.responseDeserialize(Buffer.from("1a00", "hex"));
    expect(out.msg).toBeUndefined();
  });
});

// ---------------------------------------------------------------- generated types are up to date

describe("src/adapters/grpc/generated", () => {
  it("matches a fresh `npm run proto:types`", () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    const script = pkg.scripts["proto:types"];
    if (!script) throw new Error("package.json has no proto:types script");
    const [bin, ...args] = script.split(/\s+/);
    expect(bin).toBe("proto-loader-gen-types");
    const outDir = mkdtempSync(join(tmpdir(), "gen-worker-proto-types-"));
    try {
      const require = createRequire(import.meta.url);
      const genTypes = join(
        dirname(require.resolve("@grpc/proto-loader/package.json")),
        "build/bin/proto-loader-gen-types.js",
      );
      const argv = args.map((a) => (a.startsWith("--outDir=") ? `--outDir=${outDir}` : a));
      execFileSync(process.execPath, [genTypes, ...argv], { cwd: REPO_ROOT, stdio: "pipe" });
      const committed = join(REPO_ROOT, "src/adapters/grpc/generated");
      const list = (dir: string): string[] =>
        readdirSync(dir, { recursive: true, withFileTypes: true })
          .filter((d) => d.isFile())
          .map((d) => relative(dir, join(d.parentPath, d.name)))
          .sort();
      const fresh = list(outDir);
      expect(list(committed), "generated file list (run npm run proto:types)").toEqual(fresh);
      for (const f of fresh) {
        expect(readFileSync(join(committed, f), "utf8"), `${f} is stale (run npm run proto:types)`).toBe(
          readFileSync(join(outDir, f), "utf8"),
        );
      }
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});
