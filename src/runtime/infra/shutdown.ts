import { describeError, type Logger } from "./logger.js";

/** Something that stops scheduling and resolves once its in-flight work has finished. */
export interface Stoppable {
  /** `graceMs`: how long in-flight work may run on before it is aborted. */
  stop(options?: { graceMs?: number }): Promise<void>;
}

/** Something that releases a resource: the HTTP server, the config watcher. */
export interface Closable {
  close(): Promise<void>;
}

export type ShutdownSignal = "SIGTERM" | "SIGINT";

/**
 * Signals that have no meaning for keepwarm: each is logged and otherwise ignored. SIGHUP
 * only until the config watcher listens for it (it reloads from then on).
 */
export type IgnoredSignal = "SIGUSR1" | "SIGUSR2" | "SIGHUP";

export interface ShutdownOptions {
  readonly daemon: Stoppable;
  readonly http?: Closable;
  readonly watcher?: Closable;
  readonly logger: Logger;
  /** How long an in-flight ping may take to finish before keepwarm exits anyway. */
  readonly graceMs?: number;
  /** Replaced in tests; the process exit by default. */
  readonly exit?: (code: number) => void;
  /**
   * Ends the process when a state file operation is stuck in the kernel (a stale NFS mount),
   * which would keep `exit` from returning: SIGKILL of itself by default.
   */
  readonly abandon?: () => void;
}

export interface ShutdownHandle {
  /** What a signal does, callable directly; resolves with the exit code after exit(). */
  shutdown(reason: ShutdownSignal | "request"): Promise<number>;
  /** Removes the signal handlers. */
  uninstall(): void;
}

export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

/**
 * Whether every promise settled within `graceMs` of wall-clock time: shutdown's budget runs
 * on the real clock, whatever the daemon's own clock does.
 */
export async function settledWithin(
  work: readonly Promise<unknown>[],
  graceMs: number,
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([
    Promise.allSettled(work).then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    }),
  ]);
  clearTimeout(timer);
  return finished;
}

const SIGNALS: readonly ShutdownSignal[] = ["SIGTERM", "SIGINT"];
const IGNORED: readonly IgnoredSignal[] = ["SIGUSR1", "SIGUSR2", "SIGHUP"];

/** What each ignored signal would have done without a handler. */
const DEFAULT_ACTION: Readonly<Record<IgnoredSignal, string>> = {
  SIGUSR1: "open the Node.js inspector on 127.0.0.1:9229",
  SIGUSR2: "end the process at once",
  SIGHUP: "end the process at once",
};

/**
 * How long exit waits for state file operations under way; one still pending after it is
 * taken as stuck in the kernel. A normal one ends in milliseconds.
 */
const STUCK_IO_MS = 2_000;
/** The least time state writes under way at exit get: a healthy disk's fsync is well within it. */
const IO_FLOOR_MS = 500;

/** State file operations under way: the path each is about, by id. */
const pendingIo = new Map<number, string>();
let ioIds = 0;

/**
 * Registers an operation on a state file until it settles. Node's exit waits for every file
 * operation in its thread pool, so one the kernel never answers (a FIFO opened blocking, a
 * stale NFS mount) would keep keepwarm from exiting; shutdown abandons such a process.
 */
export function trackStateIo<T>(path: string, work: Promise<T>): Promise<T> {
  ioIds += 1;
  const id = ioIds;
  pendingIo.set(id, path);
  const done = () => {
    pendingIo.delete(id);
  };
  work.then(done, done);
  return work;
}

/** The paths of the state file operations under way. */
export function pendingStateIo(): string[] {
  return [...new Set(pendingIo.values())];
}

/** Waits up to `ms` for the state file operations under way; the paths of those left. */
async function settleStateIo(ms: number): Promise<string[]> {
  const deadline = performance.now() + ms;
  while (pendingIo.size > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return pendingStateIo();
}

/** Resolves true if `work` settles within `ms`, false if the time runs out first. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function flush(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}

/**
 * SIGTERM/SIGINT: stop reloading and scheduling, give an in-flight ping up to `graceMs`
 * to finish, close the HTTP listener, flush the log and exit 0. A second signal while
 * this runs exits at once with 1, for the operator who does not want to wait. A state file
 * operation the kernel never answers is abandoned: the process ends by its own SIGKILL.
 * SIGUSR1 (Node's inspector, open to anyone on the host) and SIGUSR2 (Node's default is to
 * die on the spot) are logged and ignored, and so is a SIGHUP before the config watcher
 * listens for it.
 */
export function installShutdown(options: ShutdownOptions): ShutdownHandle {
  const { daemon, http, watcher, logger } = options;
  const graceMs = options.graceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  const exitProcess = options.exit ?? ((code: number) => process.exit(code));
  const abandon = options.abandon ?? (() => process.kill(process.pid, "SIGKILL"));
  let started: Promise<number> | undefined;

  /**
   * Waits up to `ms` for state file operations under way, and says so when one never
   * returns: node's exit would wait for the kernel forever, so the process is abandoned.
   */
  async function stuckIo(ms: number): Promise<string[]> {
    const stuck = await settleStateIo(ms);
    if (stuck.length > 0) {
      logger.warn(
        {
          event: "shutdown-io-abandoned",
          paths: stuck,
          effect: "the process ends by its own SIGKILL: exit would wait for the kernel forever",
        },
        `a state file operation never returned (${stuck[0]}): abandoned`,
      );
    }
    return stuck;
  }

  /** Exits, or abandons the process when a state file operation is stuck in the kernel. */
  function exit(code: number, stuck: readonly string[]): void {
    if (stuck.length === 0) exitProcess(code);
    else abandon();
  }

  async function run(reason: ShutdownSignal | "request"): Promise<number> {
    const startedAt = Date.now();
    logger.info(
      { event: "shutdown-started", reason, graceMs },
      `${reason}: stopping, in-flight pings get ${graceMs / 1000} s`,
    );
    const steps: Promise<unknown>[] = [];
    if (watcher) steps.push(watcher.close());
    steps.push(daemon.stop({ graceMs }));
    const allSettled = Promise.allSettled(steps).then((results) => {
      for (const r of results) {
        if (r.status === "rejected") {
          logger.error(
            { event: "shutdown-error", error: describeError(r.reason) },
            "error while stopping",
          );
        }
      }
    });
    // The daemon gives in-flight pings graceMs itself, then writes what is left: this guard
    // is for a stop that never returns, so it allows the daemon's own closing writes.
    if (!(await settlesWithin(allSettled, graceMs + IO_FLOOR_MS))) {
      logger.warn(
        { event: "shutdown-grace-expired", graceMs },
        "in-flight work did not finish in time; exiting anyway",
      );
    }
    if (http) {
      await http.close().catch((err: unknown) => {
        logger.error(
          { event: "shutdown-error", error: describeError(err) },
          "error while closing the HTTP server",
        );
      });
    }
    // Within what is left of the grace period, but never less than a healthy disk needs to
    // finish a write the stop began (after an expired grace, the daemon is still stopping).
    const left = graceMs - (Date.now() - startedAt);
    const stuck = await stuckIo(Math.min(STUCK_IO_MS, Math.max(IO_FLOOR_MS, left)));
    logger.info(
      { event: "shutdown", reason, durationMs: Date.now() - startedAt },
      "keepwarm stopped",
    );
    await flush(logger);
    exit(0, stuck);
    return 0;
  }

  function shutdown(reason: ShutdownSignal | "request"): Promise<number> {
    started ??= run(reason);
    return started;
  }

  const handlers = new Map<ShutdownSignal | IgnoredSignal, () => void>();
  for (const signal of SIGNALS) {
    const handler = () => {
      if (started) {
        logger.warn({ event: "shutdown-forced", signal }, `${signal} again: exiting now`);
        if (pendingStateIo().length === 0) {
          logger.flush();
          exit(1, []);
          return;
        }
        void stuckIo(STUCK_IO_MS).then((stuck) => {
          logger.flush();
          exit(1, stuck);
        });
        return;
      }
      void shutdown(signal);
    };
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  // A listener replaces Node's own action: the inspector for SIGUSR1, death for the others.
  for (const signal of IGNORED) {
    const handler = () => {
      // Once the config watcher listens, SIGHUP is its: a reload.
      if (signal === "SIGHUP" && process.listenerCount("SIGHUP") > 1) return;
      logger.warn(
        { event: "signal-ignored", signal, defaultAction: DEFAULT_ACTION[signal] },
        signal === "SIGHUP"
          ? "SIGHUP ignored: the config is not watched during start-up and shutdown; send it again once keepwarm runs"
          : `${signal} ignored: keepwarm gives it no meaning (Node.js would ${DEFAULT_ACTION[signal]})`,
      );
    };
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  logger.debug(
    { event: "shutdown-armed", signals: SIGNALS, ignored: IGNORED, graceMs },
    "SIGTERM and SIGINT now stop keepwarm gracefully; SIGUSR1 and SIGUSR2 are ignored",
  );

  return {
    shutdown,
    uninstall() {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      handlers.clear();
    },
  };
}
