import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { DiskVolume } from "../../contract/events.js";

/**
 * The mount of `/proc/self/mountinfo` with the longest mount point containing `dir`. Without mountinfo (not Linux) the volume is `local` of fstype `unknown`.
 */
export async function diskVolumeOf(dir: string): Promise<DiskVolume> {
  const text = await readFile("/proc/self/mountinfo", "utf8").catch(() => "");
  const target = resolve(dir);
  let best: { mountpoint: string; fstype: string; source: string } | undefined;
  for (const line of text.split("\n")) {
    const [left, right] = line.split(" - ");
    const mountpoint = unescapeOctal(left?.split(" ")[4] ?? "");
    const [fstype = "", source = ""] = (right ?? "").split(" ").map(unescapeOctal);
    if (mountpoint === "" || !contains(mountpoint, target)) continue;
    if (best === undefined || mountpoint.length >= best.mountpoint.length)
      best = { mountpoint, fstype, source };
  }
  const fstype = best?.fstype || "unknown";
  const key = best ? `${best.fstype}|${best.source}|${best.mountpoint}` : `unknown||${target}`;
  return {
    disk_backend: fstype.startsWith("nfs") ? "nfs" : "local",
    disk_fstype: fstype,
    disk_volume_key: createHash("sha256").update(key).digest("hex"),
  };
}

function contains(mountpoint: string, path: string): boolean {
  return mountpoint === "/" || path === mountpoint || path.startsWith(`${mountpoint}/`);
}

/** mountinfo writes space, tab, newline and backslash as `\040`-style octal escapes. */
function unescapeOctal(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}
