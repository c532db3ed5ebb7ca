import { type FSWatcher, watch } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { formatProblem, type LoadResult } from "../config/load.js";
import type { ResolvedConfig } from "../domain/types.js";
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
}

export interface ConfigWatcher {
  /** Reload now, whatever the file looks like; resolves when done. */
  reload(trigger?: ReloadTrigger): Promise<ReloadOutcome>;
  /** Stop watching; waits for a reload in flight. */
  close(): Promise<void>;
}

export const DEFAULT_RELOAD_DEBOUNCE_MS = 300;

/** Identity of the file's current version, so a touch or a save without change is no reload. */
async function fingerprint(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return undefined;
  }
}

/**
 * Reloads the config on SIGHUP and when its file changes. The directory is watched, not
 * the file: editors and config managers replace the file by a rename, which a watch on the
 * old inode never sees. Reloads run one at a time; a change during one queues one more.
 * A broken file is rejected with every problem and the running config stays in force.
 */
export async function watchConfig(options: WatchConfigOptions): Promise<ConfigWatcher> {
  const path = resolve(options.path);
  const name = basename(path);
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
    if (trigger === "file-change" && version !== undefined && version === lastSeen) {
      return "unchanged";
    }
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

  const watcher: FSWatcher = watch(dirname(path), (_event, file) => {
    // Some platforms omit the name; then any change in the directory may be ours.
    if (file === null || file === name) schedule();
  });
  watcher.on("error", (err) => {
    logger.error(
      { event: "reload-watch-error", file: path, error: describeError(err) },
      "config file watch failed",
    );
  });

  const onSighup = () => void reload("SIGHUP");
  if (options.sighup ?? true) process.on("SIGHUP", onSighup);

  return {
    reload,
    async close() {
      closed = true;
      clearTimeout(timer);
      watcher.close();
      process.off("SIGHUP", onSighup);
      await running;
    },
  };
}
