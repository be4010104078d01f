import type { Command } from "commander";
import type { CliSettings } from "../settings/cli.js";
import type { Output } from "./output.js";

export function registerClient(program: Command, out: Output, settings: CliSettings): void {
  program
    .command("client")
    .description("write a standalone typed TypeScript client for a project's endpoints (docs/client.md)")
    .argument("[source]", "a project folder, a manifest file or an image tag", ".")
    .option("-o, --out <file>", "write the client to a file instead of stdout")
    .addHelpText(
      "after",
      `
The source is tried as a manifest file (cozy-worker discover -o FILE), then a project folder
(discovered here), then an image tag the Docker engine knows (its /app/.cozy/manifest.json;
DOCKER_HOST selects the engine). The client holds the payload, result and delta types from the
manifest's JSON Schemas and createClient({url}); it needs only fetch, not gen-worker.

Examples:
  $ cozy-worker client --out client.ts                 from the project here
  $ cozy-worker client examples/hello -o hello-client.ts
  $ cozy-worker client manifest.json -o client.ts
  $ cozy-worker client my-worker:dev -o client.ts       from a built image`,
    )
    .action(async (source: string, options: { out?: string }) => {
      const { loadManifest } = await import("../image/manifest-source.js");
      const { generateClient } = await import("../client/generate.js");
      const { manifest, label } = await loadManifest(source, "SOURCE", settings.dockerHost);
      await out.writeResult(await generateClient(manifest, label), options.out);
      if (options.out) {
        const names = manifest.functions.map((fn) => fn.name).join(", ");
        out.info(`wrote ${options.out}: a client for ${names || "no endpoints"} from ${label}`);
      }
    });
}
