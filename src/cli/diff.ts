import type { Command } from "commander";
import type { CliSettings } from "../settings/cli.js";
import { ExitCode, type Output } from "./output.js";

export function registerDiff(program: Command, out: Output, settings: CliSettings): void {
  program
    .command("diff")
    .description("compare two manifests and report the changes that break clients (exit 1 when one does)")
    .argument("<old>", "what clients use now: a manifest file, a project folder or an image tag")
    .argument("<new>", "what would replace it: a manifest file, a project folder or an image tag")
    .option("--json", "print the report as JSON on stdout (its shape: docs/diff.md)")
    .addHelpText(
      "after",
      `
Each side is tried as a manifest file (cozy-worker discover -o FILE), then a project folder
(discovered here), then an image tag the Docker engine knows (the manifest baked into it;
DOCKER_HOST selects the engine). Exit 0: nothing breaks; 1: something does; 2: a side is none
of the three.

Examples:
  $ cozy-worker diff my-worker:1 .                    would this project break my-worker:1's clients?
  $ cozy-worker diff old.json new.json --json
  $ cozy-worker discover -o v1.json && cozy-worker diff v1.json .`,
    )
    .action(async (oldSpec: string, newSpec: string, options: { json?: boolean }) => {
      const { loadManifest } = await import("../image/manifest-source.js");
      const { diffManifests, formatManifestDiff, summarizeDiff } = await import(
        "../discovery/manifest-diff.js"
      );
      const before = await loadManifest(oldSpec, "OLD", settings.dockerHost);
      const after = await loadManifest(newSpec, "NEW", settings.dockerHost);
      const diff = diffManifests(before.manifest, after.manifest);
      if (options.json) {
        await out.writeResult(
          `${JSON.stringify({ old: before.label, new: after.label, ...diff }, null, 2)}\n`,
        );
      } else {
        const lines = formatManifestDiff(diff);
        if (lines.length > 0) lines.push("");
        lines.push(`${summarizeDiff(diff)} from ${before.label} to ${after.label}`);
        await out.writeResult(`${lines.join("\n")}\n`);
      }
      process.exitCode = diff.breaking ? ExitCode.Failure : ExitCode.Success;
    });
}
