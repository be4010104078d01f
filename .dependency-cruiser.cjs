/**
 * The layers of src/ (docs/architecture/01-overview.md). Each folder may import only from the
 * folders below it; scripts/check-architecture.mjs runs these rules and the checks that need the
 * whole graph (cycles between folders, the production worker's import graph).
 *
 *   cli
 *   image  scaffold  client
 *   dev  testing
 *   adapters/grpc  adapters/http
 *   runtime  models
 *   discovery
 *   project
 *   host
 *   settings
 *   util
 *   contract
 */
const layer = (folder, mayImport) => ({
  name: `${folder.replace("/", "-")}-layer`,
  comment: `src/${folder}/ may import only from ${mayImport.map((f) => `src/${f}/`).join(", ") || "itself"}`,
  severity: "error",
  from: { path: `^src/${folder}/` },
  to: {
    path: "^src/",
    pathNot: [`^src/${folder}/`, ...mayImport.map((f) => `^src/${f}/`)],
  },
});

const BELOW_DISCOVERY = ["contract", "util", "settings", "host", "project"];

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "Modules must not import each other in a cycle.",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "public-api-is-the-contract",
      comment: "src/index.ts re-exports the contract and nothing else from src/.",
      severity: "error",
      from: { path: "^src/index\\.ts$" },
      to: { path: "^src/", pathNot: "^src/contract/" },
    },
    layer("contract", []),
    layer("util", ["contract"]),
    layer("settings", ["contract", "util"]),
    layer("host", ["contract", "util", "settings"]),
    layer("project", ["contract", "util", "settings", "host"]),
    layer("discovery", BELOW_DISCOVERY),
    layer("runtime", [...BELOW_DISCOVERY]),
    layer("models", [...BELOW_DISCOVERY]),
    layer("adapters/grpc", [...BELOW_DISCOVERY, "discovery", "runtime", "models"]),
    layer("adapters/http", [...BELOW_DISCOVERY, "discovery", "runtime", "models"]),
    layer("dev", [...BELOW_DISCOVERY, "discovery", "runtime", "models", "adapters"]),
    layer("testing", [...BELOW_DISCOVERY, "discovery", "runtime", "models"]),
    layer("image", [...BELOW_DISCOVERY, "discovery", "runtime"]),
    layer("scaffold", [...BELOW_DISCOVERY]),
    layer("client", ["contract", "util", "host"]),
    {
      name: "client-entry-imports-nothing",
      comment:
        "gen-worker/client (src/client/index.ts, runtime.ts) imports only runtime.ts: it stays light, and cozy-worker client copies runtime.ts into the clients it writes.",
      severity: "error",
      from: { path: "^src/client/(index|runtime)\\.ts$" },
      to: { pathNot: "^src/client/runtime\\.ts$" },
    },
    {
      name: "not-to-test",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench|scripts)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".mjs", ".d.ts"],
    },
  },
};
