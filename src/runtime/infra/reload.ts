import { type FSWatcher, watch } from "node:fs";
import { lstat, readlink, realpath, stat } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { formatProblem, type LoadResult } from "../../config/load.js";
import type { ResolvedConfig } from "../../domain/types.js";
import { describeError, type Logger } from "./logger.js";
import type { DaemonObserver } from "./observer.js";

/** What set a reload off. */
export type ReloadTrigger = "SIGHUP" | "file-change" | "manual";

export type ReloadOutcome = "applied" | "rejected" | "failed" | "unchanged";

export interface WatchConfigOptions {
  readonly path: string;
  readonly load: (path: string) => Promise<LoadResult>;
  /** Puts a validated config into effect; a throw keeps the running config. */
  readonly apply: (config: ResolvedConfig) => Promise<void>;
  readonly logger: Logger;
  /** Editors write a file in several steps; wait this long after the last change. */
  readonly debounceMs?: number;
  /** Told of every outcome of a reload, applied or not. */
  readonly observer?: Pick<DaemonObserver, "configReload">;
  /** Wall clock for the reload timestamp. */
  readonly now?: () => number;
  /** Listen for SIGHUP (off in tests that run several watchers in one process). */
  readonly sighup?: boolean;
  /**
   * Least time between the starts of two reloads set off by SIGHUP: the signals of a burst
   * that arrive meanwhile are one more reload, at its end.
   */
  readonly signalGapMs?: number;
  /**
   * How often the path is also checked without an event: a watch on a directory that is
   * removed and made again, or on a network file system, hears nothing.
   */
  readonly pollMs?: number;
}

export interface ConfigWatcher {
  /** Reload now, whatever the file looks like; resolves when done. */
  reload(trigger?: ReloadTrigger): Promise<ReloadOutcome>;
  /** Stop watching; waits for a reload in flight. */
  close(): Promise<void>;
}

export const DEFAULT_RELOAD_DEBOUNCE_MS = 300;
export const DEFAULT_RELOAD_POLL_MS = 5_000;
export const DEFAULT_SIGNAL_GAP_MS = 1_000;
/** More links than this in a chain is a loop; the loader then reports the path. */
const MAX_LINKS = 16;

/**
 * Identity of the file the path resolves to now (through every symlink), so a touch or a
 * save without change is no reload, and a swapped Kubernetes `..data` link is one.
 */
async function fingerprint(path: string): Promise<string> {
  try {
    const [s, real] = await Promise.all([stat(path), realpath(path)]);
    return `${real}:${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch (error) {
    return `missing:${(error as NodeJS.ErrnoException).code ?? "?"}`;
  }
}

/**
 * The directories whose entries decide what `path` resolves to: its own, that of every
 * symlink on the way (`keepwarm.yaml -> ..data/keepwarm.yaml`, `..data -> ..2026_...`), and
 * the directory of the file reached.
 */
async function directoriesOf(path: string): Promise<string[]> {
  const dirs = new Set<string>([dirname(path)]);
  let current = path;
  for (let i = 0; i < MAX_LINKS; i++) {
    let next: string | undefined;
    // A link may sit on any component, as `..data` does: walk them from the top.
    const parts = current.split(sep).filter((p) => p !== "");
    let prefix: string = sep;
    for (const part of parts) {
      const here = join(prefix, part);
      try {
        if ((await lstat(here)).isSymbolicLink()) {
          dirs.add(dirname(here));
          const target = resolve(dirname(here), await readlink(here));
          next = join(target, relative(here, current));
          break;
        }
      } catch {
        break;
      }
      prefix = here;
    }
    if (next === undefined) break;
    current = next;
  }
  dirs.add(dirname(current));
  return [...dirs];
}

/**
 * Reloads the config on SIGHUP and when what its path resolves to changes. Directories are
 * watched, not the file: editors replace the file by a rename, which a watch on the old
 * inode never sees, and a Kubernetes ConfigMap volume swaps a `..data` symlink beside it.
 * A check every few seconds catches what no watch reports (a directory made anew).
 * Reloads run one at a time; a change during one queues one more. SIGHUP reloads at once,
 * but at most once a second: a burst of signals is one reload at its start and one after it
 * (never one per signal), the last starting after the last signal. A broken file is
 * rejected with every problem and the running config stays in force.
 */
export async function watchConfig(options: WatchConfigOptions): Promise<ConfigWatcher> {
  const path = resolve(options.path);
  const { load, apply, logger, observer } = options;
  const debounceMs = options.debounceMs ?? DEFAULT_RELOAD_DEBOUNCE_MS;
  const now = options.now ?? Date.now;

  let lastSeen = await fingerprint(path);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<ReloadOutcome> | undefined;
  let queued: ReloadTrigger | undefined;
  let closed = false;

  async function reloadOnce(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const version = await fingerprint(path);
    if (trigger === "file-change" && version === lastSeen) return "unchanged";
    lastSeen = version;
    const result = await load(path);
    if (!result.ok) {
      const problems = result.problems.map(formatProblem);
      logger.error(
        { event: "reload-rejected", file: path, trigger, problems },
        `config rejected, ${problems.length} problem${problems.length === 1 ? "" : "s"}; the running config is kept`,
      );
      observer?.configReload(false, now());
      return "rejected";
    }
    for (const w of result.warnings) {
      logger.warn(
        { event: "config-warning", file: path, problem: formatProblem(w) },
        formatProblem(w),
      );
    }
    try {
      await apply(result.config);
    } catch (err) {
      logger.error(
        { event: "reload-failed", file: path, trigger, error: describeError(err) },
        "config valid but could not be applied; the running config is kept",
      );
      observer?.configReload(false, now());
      return "failed";
    }
    observer?.configReload(true, now());
    return "applied";
  }

  function reload(trigger: ReloadTrigger = "manual"): Promise<ReloadOutcome> {
    if (running) {
      // A file change may turn out "unchanged"; a queued SIGHUP or manual reload must not.
      if (queued === undefined || queued === "file-change") queued = trigger;
      return running.then(() => running ?? Promise.resolve<ReloadOutcome>("unchanged"));
    }
    const run = reloadOnce(trigger)
      .catch((err: unknown): ReloadOutcome => {
        logger.error(
          { event: "reload-failed", file: path, trigger, error: describeError(err) },
          "config reload failed",
        );
        observer?.configReload(false, now());
        return "failed";
      })
      .finally(() => {
        running = undefined;
        const next = queued;
        queued = undefined;
        if (next && !closed) void reload(next);
      });
    running = run;
    return run;
  }

  function schedule(): void {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void reload("file-change"), debounceMs);
  }

  // Every event in a watched directory is checked: the kubelet's update only touches
  // `..data_tmp`, `..data` and timestamped directories, never the config's own name.
  const watchers = new Map<string, FSWatcher>();
  // One re-follow at a time, and one more at most queued behind it: two running at once
  // would both add a watch for the same new directory.
  let following: Promise<void> = Promise.resolve();
  let followQueued = false;
  function follow(): Promise<void> {
    if (followQueued) return following;
    followQueued = true;
    following = following.then(() => {
      followQueued = false;
      return refollow();
    });
    return following;
  }
  async function refollow(): Promise<void> {
    if (closed) return;
    const wanted = new Set(await directoriesOf(path));
    if (closed) return;
    for (const [dir, w] of watchers) {
      if (wanted.has(dir)) continue;
      w.close();
      watchers.delete(dir);
    }
    for (const dir of wanted) {
      if (watchers.has(dir) || closed) continue;
      let w: FSWatcher;
      try {
        w = watch(dir, () => {
          schedule();
          void follow();
        });
      } catch {
        // Gone already (an old `..2026_...` directory): the poll notices what replaces it.
        continue;
      }
      w.on("error", (err) => {
        w.close();
        if (watchers.get(dir) === w) watchers.delete(dir);
        // A directory removed under its watch is part of an update, not a failure.
        void stat(dir).then(
          () => {
            logger.error(
              {
                event: "reload-watch-error",
                file: path,
                directory: dir,
                error: describeError(err),
              },
              "config file watch failed; SIGHUP and the periodic check still work",
            );
          },
          () => undefined,
        );
        void follow();
      });
      watchers.set(dir, w);
    }
  }
  await follow();

  const pollMs = options.pollMs ?? DEFAULT_RELOAD_POLL_MS;
  const poller = setInterval(() => {
    void fingerprint(path).then((version) => {
      if (version !== lastSeen && !running) schedule();
    });
    void follow();
  }, pollMs);
  poller.unref();

  const signalGapMs = options.signalGapMs ?? DEFAULT_SIGNAL_GAP_MS;
  let lastSignalled = Number.NEGATIVE_INFINITY;
  let signalTimer: NodeJS.Timeout | undefined;
  const signalled = () => {
    signalTimer = undefined;
    lastSignalled = performance.now();
    void reload("SIGHUP");
  };
  const onSighup = () => {
    // A reload is already waiting for the gap to pass: this signal is part of it.
    if (closed || signalTimer) return;
    const wait = lastSignalled + signalGapMs - performance.now();
    if (wait <= 0) signalled();
    else signalTimer = setTimeout(signalled, wait);
  };
  if (options.sighup ?? true) process.on("SIGHUP", onSighup);

  return {
    reload,
    async close() {
      closed = true;
      clearTimeout(timer);
      clearTimeout(signalTimer);
      clearInterval(poller);
      await following;
      for (const w of watchers.values()) w.close();
      watchers.clear();
      process.off("SIGHUP", onSighup);
      await running;
    },
  };
}
