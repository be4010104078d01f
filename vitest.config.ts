import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/fixtures/**", "node_modules/**"],
    // *.test-d.ts files are type tests: tsc checks them (test/tsconfig.typecheck.json), nothing runs them.
    typecheck: { enabled: true, include: ["test/**/*.test-d.ts"], tsconfig: "test/tsconfig.typecheck.json" },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
