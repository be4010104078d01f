import { execa } from "execa";

/** nvidia-smi answers in well under a second; one that takes longer is hung (a wedged driver). */
const TIMEOUT_MS = 5000;
/** After the timeout's SIGTERM, how long a process that ignores it gets before SIGKILL. */
const KILL_AFTER_MS = 1000;

export const GPU_QUERY_ARGS = [
  "--query-gpu=name,driver_version,memory.total,memory.used,memory.free,compute_cap",
  "--format=csv,noheader,nounits",
] as const;

const COMPUTE_APPS_ARGS = ["--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"] as const;

/**
 * What `nvidia-smi <args>` printed, or undefined when it is not installed, fails or hangs (it is
 * killed after 5 s). `searchPath` is the `PATH` it is looked up on. A machine without a GPU is normal,
 * so none of these is an error.
 */
export async function runNvidiaSmi(
  args: readonly string[],
  searchPath?: string,
): Promise<string | undefined> {
  try {
    const { stdout } = await execa("nvidia-smi", args, {
      timeout: TIMEOUT_MS,
      forceKillAfterDelay: KILL_AFTER_MS,
      stdin: "ignore",
      windowsHide: true,
      ...(searchPath === undefined ? {} : { env: { PATH: searchPath } }),
    });
    return stdout;
  } catch {
    return undefined;
  }
}

/** GPU memory used by process `pid`, `undefined` without nvidia-smi or when the process holds no GPU context. */
export async function processGpuBytes(
  pid: number = process.pid,
  searchPath?: string,
): Promise<number | undefined> {
  const stdout = await runNvidiaSmi(COMPUTE_APPS_ARGS, searchPath);
  if (stdout === undefined) return undefined;
  let total: number | undefined;
  for (const line of stdout.split(/\r?\n/)) {
    const [p, mib] = line.split(",").map((field) => field.trim());
    if (Number(p) === pid && /^\d+$/.test(mib ?? "")) total = (total ?? 0) + Number(mib) * 1024 * 1024;
  }
  return total;
}
