#!/usr/bin/env node
// Transcribes sections 1–3 of the wire contract (wire-contract.md) into machine-readable JSON:
// test/adapters/grpc/wire-contract/worker_scheduler.json and frontend.json, which test/adapters/grpc/wire-contract.test.ts
// compares against proto/*.proto.
//
// Usage: node scripts/contract-from-markdown.mjs <path/to/wire-contract.md> [outDir]
//   outDir defaults to test/adapters/grpc/wire-contract. One-off tool: CI does not run it; re-run it when the contract
//   changes and review the diff of the JSON.
//
// The parser is strict: an unexpected table shape, an unknown label or type, or a disagreement between
// §2 (envelope) and §3 (WorkerSchedulerMessage) stops it with an error instead of guessing.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SCALARS = new Set([
  "double",
  "float",
  "int32",
  "int64",
  "uint32",
  "uint64",
  "sint32",
  "sint64",
  "fixed32",
  "fixed64",
  "sfixed32",
  "sfixed64",
  "bool",
  "string",
  "bytes",
]);

function fail(message) {
  throw new Error(`contract-from-markdown: ${message}`);
}

/** Strips one pair of surrounding backticks and surrounding whitespace. */
function unquote(cell) {
  const s = cell.trim();
  return s.startsWith("`") && s.endsWith("`") && s.length >= 2 ? s.slice(1, -1).trim() : s;
}

/** Splits a markdown table row into cells; a `|` inside backticks does not split. */
function splitRow(line) {
  const body = line.trim().replace(/^\|/, "").replace(/\|$/, "");
  const cells = [];
  let cur = "";
  let inCode = false;
  for (const ch of body) {
    if (ch === "`") inCode = !inCode;
    if (ch === "|" && !inCode) {
      cells.push(cur.trim());
      cur = "";
    } else {
      cur += ch;
    }
  }
  cells.push(cur.trim());
  return cells;
}

/** Reads the table starting at lines[i] (header row). Returns { header, rows, next }. */
function readTable(lines, i, where) {
  const header = splitRow(lines[i]).map((h) => h.replace(/`/g, ""));
  const sep = lines[i + 1] ?? "";
  if (!/^\s*\|[\s|:-]+\|\s*$/.test(sep)) fail(`${where}: expected a table separator after line ${i + 1}`);
  const rows = [];
  let j = i + 2;
  while (j < lines.length && lines[j].trim().startsWith("|")) {
    const cells = splitRow(lines[j]);
    if (cells.length !== header.length) {
      fail(`${where}: line ${j + 1} has ${cells.length} cells, the header has ${header.length}`);
    }
    rows.push(Object.fromEntries(header.map((h, k) => [h, cells[k]])));
    j++;
  }
  return { header, rows, next: j };
}

function expectHeader(table, expected, where) {
  if (table.header.join("|") !== expected.join("|")) {
    fail(`${where}: table header is [${table.header.join(", ")}], expected [${expected.join(", ")}]`);
  }
}

/** Returns the lines of the `## N.` section (without its heading). */
function section(lines, n) {
  const start = lines.findIndex((l) => l.startsWith(`## ${n}.`));
  if (start < 0) fail(`section ${n} not found`);
  let end = lines.findIndex((l, k) => k > start && l.startsWith("## "));
  if (end < 0) end = lines.length;
  return lines.slice(start + 1, end);
}

function parseInteger(text, where) {
  const s = text.replace(/[*`]/g, "").trim();
  if (!/^\d+$/.test(s)) fail(`${where}: "${text}" is not a field number`);
  return Number(s);
}

/** "#3 `spawn_tasks`" (possibly several, comma-separated) -> { numbers, names }. */
function parseReserved(text, where) {
  const numbers = [...text.matchAll(/#(\d+)/g)].map((m) => Number(m[1]));
  const names = [...text.matchAll(/`([A-Za-z_][A-Za-z0-9_]*)`/g)].map((m) => m[1]);
  if (numbers.length === 0 && names.length === 0) fail(`${where}: cannot read reserved "${text}"`);
  return { numbers, names };
}

// ---------------------------------------------------------------- §1

function parseSection1(lines) {
  const files = [];
  const services = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim().startsWith("|")) continue;
    const t = readTable(lines, i, "§1");
    if (t.header[0] === "file") {
      expectHeader(t, ["file", "syntax", "proto package", "go_package option", "imports"], "§1 files");
      for (const r of t.rows) {
        const imports = unquote(r.imports);
        files.push({
          file: unquote(r.file),
          syntax: unquote(r.syntax),
          package: unquote(r["proto package"]),
          options: { go_package: unquote(r["go_package option"]) },
          imports: imports === "none" ? [] : imports.split(",").map((s) => unquote(s)),
        });
      }
    } else if (t.header[0] === "service (full name)") {
      expectHeader(
        t,
        ["service (full name)", "rpc", "request", "response", "kind", "gRPC path"],
        "§1 services",
      );
      for (const r of t.rows) {
        const full = unquote(r["service (full name)"]);
        const dot = full.lastIndexOf(".");
        const pkg = full.slice(0, dot);
        const name = full.slice(dot + 1);
        const stream = (cell) => {
          const s = unquote(cell);
          const m = /^(stream\s+)?([A-Za-z_][\w.]*)$/.exec(s);
          if (!m) fail(`§1 services: cannot read message type "${cell}"`);
          return { type: m[2], stream: Boolean(m[1]) };
        };
        const req = stream(r.request);
        const res = stream(r.response);
        const kind = r.kind.trim();
        const expectedKind =
          req.stream && res.stream
            ? "bidirectional streaming"
            : req.stream
              ? "client streaming"
              : res.stream
                ? "server streaming"
                : "unary";
        if (kind !== expectedKind)
          fail(`§1 services: ${full}.${unquote(r.rpc)} kind "${kind}" vs request/response`);
        const rpc = {
          name: unquote(r.rpc),
          requestType: req.type,
          requestStream: req.stream,
          responseType: res.type,
          responseStream: res.stream,
          path: unquote(r["gRPC path"]),
        };
        if (rpc.path !== `/${full}/${rpc.name}`) fail(`§1 services: path ${rpc.path} does not match ${full}`);
        let svc = services.find((s) => s.fullName === full);
        if (!svc) {
          svc = { package: pkg, name, fullName: full, rpcs: [] };
          services.push(svc);
        }
        svc.rpcs.push(rpc);
      }
    } else {
      fail(`§1: unexpected table with header [${t.header.join(", ")}]`);
    }
    i = t.next;
  }
  if (files.length === 0) fail("§1: no files table");
  return { files, services };
}

// ---------------------------------------------------------------- §2

function parseSection2(heading, lines) {
  const head = /`([\w.]+)\.(\w+)`\s*\(`oneof\s+(\w+)`\)/.exec(heading);
  if (!head) fail(`§2: cannot read the envelope name and oneof from "${heading}"`);
  const reservedLine = lines.find((l) => /^Reserved:/.test(l.trim()));
  if (!reservedLine) fail("§2: no 'Reserved:' line");
  const numbers = [...reservedLine.matchAll(/field numbers?\s+\*\*(\d+)\*\*/g)].map((m) => Number(m[1]));
  const names = [...reservedLine.matchAll(/names?\s+\*\*`([A-Za-z_]\w*)`\*\*/g)].map((m) => m[1]);
  const i = lines.findIndex((l) => l.trim().startsWith("|"));
  if (i < 0) fail("§2: no envelope table");
  const t = readTable(lines, i, "§2");
  expectHeader(t, ["#", "arm", "type", "direction", "meaning"], "§2 envelope");
  const arms = [];
  for (const r of t.rows) {
    const number = parseInteger(r["#"], "§2");
    const arm = unquote(r.arm);
    if (arm === "—" || arm === "-") {
      if (!/reserved/.test(r.type)) fail(`§2: row #${number} has no arm and is not marked reserved`);
      if (!numbers.includes(number)) fail(`§2: row #${number} is reserved in the table but not in the text`);
      continue;
    }
    const direction = r.direction.trim();
    if (!["worker → scheduler", "scheduler → worker", "both"].includes(direction)) {
      fail(`§2: arm ${arm}: unknown direction "${direction}"`);
    }
    arms.push({ number, name: arm, type: unquote(r.type), direction });
  }
  return { package: head[1], message: head[2], oneof: head[3], reserved: { numbers, names }, arms };
}

// ---------------------------------------------------------------- §3

const LABELS = new Set(["singular", "repeated", "map"]);

function parseFieldRow(r, where) {
  const number = parseInteger(r["#"], where);
  const name = unquote(r.field);
  if (!/^[A-Za-z_]\w*$/.test(name)) fail(`${where}: bad field name "${r.field}"`);
  const type = unquote(r.type);
  const labelText = r.label.trim();
  const field = { number, name };
  let label = labelText;
  let oneof = null;
  const oneofMatch = /^oneof\s+(\w+)$/.exec(labelText);
  if (oneofMatch) {
    label = "singular";
    oneof = oneofMatch[1];
  }
  if (!LABELS.has(label)) fail(`${where}.${name}: unknown label "${labelText}"`);
  field.label = label;
  if (label === "map") {
    const m = /^map<\s*(\w+)\s*,\s*([A-Za-z_][\w.]*)\s*>$/.exec(type);
    if (!m) fail(`${where}.${name}: label map but type "${type}"`);
    field.keyType = m[1];
    field.valueType = m[2];
  } else {
    if (type.startsWith("map<")) fail(`${where}.${name}: map type with label ${label}`);
    if (!/^[A-Za-z_][\w.]*$/.test(type)) fail(`${where}.${name}: bad type "${type}"`);
    field.type = type;
  }
  if (oneof) field.oneof = oneof;
  return field;
}

function parseEnumRow(r, where) {
  const full = unquote(r.enum);
  const values = [...r.values.matchAll(/`?([A-Za-z_]\w*)`?\s*=\s*(-?\d+)/g)].map((m) => ({
    name: m[1],
    number: Number(m[2]),
  }));
  if (values.length === 0) fail(`${where}: enum ${full} has no values`);
  return { full, values };
}

function parseSection3(lines) {
  /** @type {Map<string, {package: string, messages: any[]}>} */
  const files = new Map();
  let file = null;
  let message = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const sub = /^###\s+3\.\d+\s+`([^`]+)`\s+\(package\s+`([^`]+)`\)/.exec(line);
    if (sub) {
      file = { file: sub[1], package: sub[2], messages: [], topLevelCount: null };
      files.set(sub[1], file);
      message = null;
      continue;
    }
    if (!file) continue;
    const count = /^Top-level messages in `([^`]+)`:\s*(\d+)/.exec(line.trim());
    if (count) {
      if (count[1] !== file.package) fail(`§3: top-level count for ${count[1]} under ${file.package}`);
      file.topLevelCount = Number(count[2]);
      continue;
    }
    const head = /^\*\*([A-Za-z_]\w*)\*\*(.*)$/.exec(line.trim());
    if (head) {
      const rest = head[2];
      const reservedMatch = /reserved:\s*(.*)$/.exec(rest);
      message = {
        name: head[1],
        fields: [],
        oneofs: [],
        reserved: reservedMatch
          ? parseReserved(reservedMatch[1], `§3 ${head[1]}`)
          : { numbers: [], names: [] },
        enums: [],
      };
      if (file.messages.some((m) => m.name === message.name)) fail(`§3: message ${message.name} twice`);
      file.messages.push(message);
      continue;
    }
    if (line.trim().startsWith("|")) {
      const where = `§3 ${file.package}.${message ? message.name : "?"}`;
      const t = readTable(lines, i, where);
      if (t.header[0] === "#") {
        if (!message) fail(`${where}: field table without a message heading`);
        if (message.fields.length > 0) fail(`${where}: second field table`);
        expectHeader(t, ["#", "field", "type", "label"], where);
        for (const r of t.rows) {
          const f = parseFieldRow(r, `${file.package}.${message.name}`);
          if (message.fields.some((g) => g.number === f.number || g.name === f.name)) {
            fail(`${where}: duplicate field ${f.name} / #${f.number}`);
          }
          message.fields.push(f);
          if (f.oneof && !message.oneofs.includes(f.oneof)) message.oneofs.push(f.oneof);
        }
      } else if (t.header[0] === "enum") {
        expectHeader(t, ["enum", "values"], where);
        for (const r of t.rows) {
          const e = parseEnumRow(r, where);
          const dot = e.full.lastIndexOf(".");
          const parentName = dot < 0 ? null : e.full.slice(0, dot);
          const enumName = e.full.slice(dot + 1);
          const parent = parentName ? file.messages.find((m) => m.name === parentName) : null;
          if (parentName && !parent) fail(`${where}: enum ${e.full}: no message ${parentName}`);
          if (!parent) fail(`${where}: top-level enum ${e.full} is not supported by this transcriber`);
          parent.enums.push({ name: enumName, values: e.values });
        }
      } else {
        fail(`${where}: unexpected table with header [${t.header.join(", ")}]`);
      }
      i = t.next - 1;
    }
  }
  return files;
}

// ---------------------------------------------------------------- assembly and checks

function typeKind(type, file, where) {
  if (SCALARS.has(type)) return "scalar";
  if (file.messages.some((m) => m.name === type)) return "message";
  const dot = type.lastIndexOf(".");
  if (dot > 0) {
    const parent = file.messages.find((m) => m.name === type.slice(0, dot));
    if (parent?.enums.some((e) => e.name === type.slice(dot + 1))) return "enum";
  }
  return fail(`${where}: type ${type} is neither a scalar nor a message/enum of ${file.package}`);
}

function build(markdown) {
  const lines = markdown.split(/\r?\n/);
  const s1 = parseSection1(section(lines, 1));
  const s2 = parseSection2(lines.find((l) => l.startsWith("## 2.")) ?? "", section(lines, 2));
  const s3 = parseSection3(section(lines, 3));

  const sizes = /byte-identical[^(]*\(([\d,]+)\s+and\s+([\d,]+)\s+bytes\)/.exec(
    markdown.replace(/\s+/g, " "),
  );

  const out = [];
  s1.files.forEach((f, index) => {
    const body = s3.get(f.file);
    if (!body) fail(`§3 has no subsection for ${f.file}`);
    if (body.package !== f.package) fail(`${f.file}: package ${body.package} in §3, ${f.package} in §1`);
    if (body.topLevelCount !== null && body.topLevelCount !== body.messages.length) {
      fail(
        `${f.package}: §3 says ${body.topLevelCount} top-level messages, the tables have ${body.messages.length}`,
      );
    }
    for (const m of body.messages) {
      for (const fld of m.fields) {
        const where = `${f.package}.${m.name}.${fld.name}`;
        if (fld.label === "map") {
          if (typeKind(fld.keyType, body, where) !== "scalar") fail(`${where}: map key must be a scalar`);
          typeKind(fld.valueType, body, where);
        } else {
          typeKind(fld.type, body, where);
        }
      }
      for (const n of m.reserved.numbers) {
        if (m.fields.some((fld) => fld.number === n))
          fail(`${f.package}.${m.name}: #${n} is reserved and used`);
      }
    }
    const services = s1.services
      .filter((s) => s.package === f.package)
      .map((s) => {
        for (const r of s.rpcs) {
          for (const t of [r.requestType, r.responseType]) {
            if (typeKind(t, body, `${s.fullName}.${r.name}`) !== "message")
              fail(`${s.fullName}: ${t} not a message`);
          }
        }
        return { name: s.name, fullName: s.fullName, rpcs: s.rpcs };
      });
    const json = {
      $comment:
        "Generated by scripts/contract-from-markdown.mjs from wire-contract.md §1–3. Do not edit by hand.",
      file: f.file,
      syntax: f.syntax,
      package: f.package,
      options: f.options,
      imports: f.imports,
      descriptorBytes: sizes ? Number(sizes[index + 1]?.replace(/,/g, "")) : null,
      services,
      messages: body.messages,
      enums: [],
    };
    if (f.package === s2.package) {
      const ENVELOPE = s2.message;
      const env = body.messages.find((m) => m.name === ENVELOPE);
      if (!env) fail(`${ENVELOPE} missing from §3`);
      const fromTable = env.fields.map((x) => `${x.number} ${x.name} ${x.type} ${x.oneof}`).join("\n");
      const fromEnvelope = s2.arms.map((a) => `${a.number} ${a.name} ${a.type} ${s2.oneof}`).join("\n");
      if (fromTable !== fromEnvelope)
        fail(`§2 and §3 disagree on ${ENVELOPE}:\n${fromEnvelope}\n---\n${fromTable}`);
      if (JSON.stringify(env.reserved) !== JSON.stringify(s2.reserved)) {
        fail(
          `§2 and §3 disagree on ${ENVELOPE} reserved: ${JSON.stringify(s2.reserved)} vs ${JSON.stringify(env.reserved)}`,
        );
      }
      json.envelope = s2;
    }
    out.push(json);
  });
  return out;
}

// ---------------------------------------------------------------- main

/** JSON with 2-space indentation; small objects of plain values (a field, an rpc) on one line, as Biome keeps them. */
function stringify(value, indent = "") {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const entries = Array.isArray(value) ? value.map((v) => [null, v]) : Object.entries(value);
  if (entries.length === 0) return Array.isArray(value) ? "[]" : "{}";
  const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  const key = (k) => (k === null ? "" : `${JSON.stringify(k)}: `);
  const plain = (v) => v === null || typeof v !== "object";
  const flat = (v) => plain(v) || (Array.isArray(v) && v.every(plain));
  if (entries.every(([, v]) => flat(v))) {
    const inline = `${open}${entries.map(([k, v]) => key(k) + (plain(v) ? JSON.stringify(v) : JSON.stringify(v).replace(/,/g, ", "))).join(", ")}${close}`;
    const spaced = Array.isArray(value) ? inline : inline.replace(/^\{/, "{ ").replace(/\}$/, " }");
    // +2 for the key's indentation step and a trailing comma, as Biome counts the line.
    if (spaced.length + indent.length + 2 <= 110) return spaced;
  }
  const inner = `${indent}  `;
  return `${open}\n${entries.map(([k, v]) => inner + key(k) + stringify(v, inner)).join(",\n")}\n${indent}${close}`;
}

const [mdPath, outArg] = process.argv.slice(2);
if (!mdPath) {
  console.error("usage: node scripts/contract-from-markdown.mjs <wire-contract.md> [outDir]");
  process.exit(2);
}
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = resolve(outArg ?? join(repoRoot, "test/adapters/grpc/wire-contract"));
mkdirSync(outDir, { recursive: true });

let contracts;
try {
  contracts = build(readFileSync(mdPath, "utf8"));
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
const written = [];
for (const json of contracts) {
  const target = join(outDir, json.file.replace(/\.proto$/, ".json"));
  writeFileSync(target, `${stringify(json)}\n`);
  written.push(target);
  const fields = json.messages.reduce((n, m) => n + m.fields.length, 0);
  console.log(`${target}: ${json.package}, ${json.messages.length} messages, ${fields} fields`);
}

// Format like the rest of the repo so a re-run without contract changes gives no diff.
const biome = join(repoRoot, "node_modules/.bin/biome");
if (existsSync(biome)) execFileSync(biome, ["format", "--write", ...written], { stdio: "inherit" });
