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

export interface ShutdownOptions {
  readonly daemon: Stoppable;
  readonly http?: Closable;
  readonly watcher?: Closable;
  readonly logger: Logger;
  /** How long an in-flight ping may take to finish before keepwarm exits anyway. */
  readonly graceMs?: number;
  /** Replaced in tests; the process exit by default. */
  readonly exit?: (code: number) => void;
}

export interface ShutdownHandle {
  /** What a signal does, callable directly; resolves with the exit code after exit(). */
  shutdown(reason: ShutdownSignal | "request"): Promise<number>;
  /** Removes the signal handlers. */
  uninstall(): void;
}

export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

const SIGNALS: readonly ShutdownSignal[] = ["SIGTERM", "SIGINT"];

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
 * this runs exits at once with 1, for the operator who does not want to wait.
 */
export function installShutdown(options: ShutdownOptions): ShutdownHandle {
  const { daemon, http, watcher, logger } = options;
  const graceMs = options.graceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let started: Promise<number> | undefined;

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
    if (!(await settlesWithin(allSettled, graceMs))) {
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
    logger.info(
      { event: "shutdown", reason, durationMs: Date.now() - startedAt },
      "keepwarm stopped",
    );
    await flush(logger);
    exit(0);
    return 0;
  }

  function shutdown(reason: ShutdownSignal | "request"): Promise<number> {
    started ??= run(reason);
    return started;
  }

  const handlers = new Map<ShutdownSignal, () => void>();
  for (const signal of SIGNALS) {
    const handler = () => {
      if (started) {
        logger.warn({ event: "shutdown-forced", signal }, `${signal} again: exiting now`);
        logger.flush();
        exit(1);
        return;
      }
      void shutdown(signal);
    };
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  logger.debug(
    { event: "shutdown-armed", signals: SIGNALS, graceMs },
    "SIGTERM and SIGINT now stop keepwarm gracefully",
  );

  return {
    shutdown,
    uninstall() {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      handlers.clear();
    },
  };
}
