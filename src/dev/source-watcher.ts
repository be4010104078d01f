import { relative, sep } from "node:path";
import { watch } from "chokidar";

/** Output, dependency and version-control folders: a change inside them never reloads. */
const IGNORED_DIRS = /(^|[/\\])(\.cozy|node_modules|\.git|dist|outputs)([/\\]|$)/;
/** Editors save in bursts (write, rename, chmod): reload once they have settled. */
const SETTLE_MS = 150;

export interface SourceWatcherOptions {
  /** Called a short while after the last change; never twice at once. It must not throw. */
  reload(): Promise<void>;
  /** Called at once on every change, before the reload that follows. */
  onChange?(): void;
  /** More folders to ignore (absolute), such as an outputs folder inside the project. */
  ignore?: readonly string[];
  onError(message: string): void;
}

export interface SourceWatcher {
  close(): Promise<void>;
}

/**
 * Watches the project's files and calls `reload` after changes. chokidar rather than
 * `fs.watch(dir, {recursive: true})`: on Node 20 that loses a file once it is replaced by a
 * rename (how `sed -i`, `mv` and editors' safe write save), and every later change to it.
 * Resolves once the initial scan is done, so a change made after that is seen.
 */
export async function watchSources(dir: string, options: SourceWatcherOptions): Promise<SourceWatcher> {
  const ignored = options.ignore ?? [];
  const watcher = watch(dir, {
    ignoreInitial: true,
    ignored: (path) =>
      IGNORED_DIRS.test(relative(dir, path)) ||
      ignored.some((folder) => path === folder || path.startsWith(`${folder}${sep}`)),
  });
  const reloads = coalescingRunner(options.reload);
  let timer: NodeJS.Timeout | undefined;
  watcher.on("all", () => {
    options.onChange?.();
    clearTimeout(timer);
    timer = setTimeout(reloads, SETTLE_MS);
  });
  watcher.on("error", (error) => options.onError(watchErrorMessage(dir, error)));
  await new Promise<void>((ready) => watcher.once("ready", () => ready()));
  return {
    async close() {
      clearTimeout(timer);
      await watcher.close();
    },
  };
}

/** Runs `task` now, or once more after the current run when called during one. */
function coalescingRunner(task: () => Promise<void>): () => void {
  let running = false;
  let again = false;
  const run = () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    void task().finally(() => {
      running = false;
      if (again) {
        again = false;
        run();
      }
    });
  };
  return run;
}

function watchErrorMessage(dir: string, error: unknown): string {
  const code = error instanceof Error && "code" in error ? error.code : undefined;
  const text = error instanceof Error ? error.message : String(error);
  if (code === "ENOSPC" || code === "EMFILE")
    return `watching ${dir}: ${text}: the system's limit on watched files is reached, so some changes will not reload; raise it (on Linux: sysctl fs.inotify.max_user_watches=524288) or watch a smaller folder`;
  return `watching ${dir}: ${text}: some changes may not reload; restart the runner if they do not`;
}
