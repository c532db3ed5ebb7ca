import { DateTime } from "luxon";
import cron, { type Logger as CronLogger, type ScheduledTask } from "node-cron";
import { MINUTE_MS } from "../../domain/units.js";
import { type Cancel, nextDailyAt, nextMinute, type RuntimeClock, TIMER_CAP_MS } from "./clock.js";
import { describeError, type Logger } from "./logger.js";

export interface RealClockOptions {
  /** Added to the wall clock: the demo starts just before a window opens whatever the time of day. */
  readonly offsetMs?: number;
  /**
   * Where node-cron's own messages and the `schedule-missed` lines go, as JSON lines; nowhere
   * when omitted (node-cron never prints by itself). A function is asked when a job starts:
   * the daemon's logger stamps its lines with this clock, so it is made after it.
   */
  readonly logger?: Logger | (() => Logger);
}

/** node-cron runs an instant up to this late; later, it reports the instant missed instead. */
const CRON_TOLERANCE_MS = 1_000;
/** How long past an instant node-cron had to run it before the watchdog runs it instead. */
const WATCHDOG_GRACE_MS = 2 * CRON_TOLERANCE_MS;
/** Wall and monotonic clocks this far apart since the last look mean a step or a suspend. */
const CLOCK_STEP_MS = 5_000;

/** node-cron's messages go nowhere: by default it prints coloured text lines on stdout/stderr. */
const SILENT: CronLogger = { info() {}, warn() {}, error() {}, debug() {} };

interface CronJob {
  /** In node-cron's registry and in the `job` field of the lines. */
  readonly name: string;
  readonly expression: string;
  readonly timezone?: string;
  /** The job's first instant strictly after `t`, on the clock's own time. */
  readonly next: (t: number) => number;
}

type MissedReason = "clock-jump" | "event-loop-blocked" | "no-cron-instant";

/**
 * Runs `fn` at each of `job`'s instants through node-cron, at most once an instant. An
 * instant node-cron misses (a blocked event loop, a wall-clock step, a suspend, a local time
 * a DST change skips) is reported in one `schedule-missed` line and run once, late.
 */
function cronJob(
  job: CronJob,
  fn: () => void,
  now: () => number,
  offsetMs: number,
  logger: Logger | undefined,
): Cancel {
  const fields = { job: job.name, ...(job.timezone ? { timezone: job.timezone } : {}) };
  const cronLogger: CronLogger = logger
    ? {
        info: (message) => logger.info({ event: "node-cron", ...fields }, message),
        warn: (message) => logger.warn({ event: "node-cron", ...fields }, message),
        error: (message, err) => cronError(logger, fields, message, err),
        debug: (message, err) => {
          if (message instanceof Error || err) cronError(logger, fields, message, err, "debug");
          else logger.debug({ event: "node-cron", ...fields }, message);
        },
      }
    : SILENT;
  let due = job.next(now());
  let stopped = false;
  let look = { wall: Date.now(), monotonic: performance.now() };
  let missed: number[] | undefined;

  const run = (t: number) => {
    // An instant closer than node-cron's tolerance counts as run: a catch-up run just before
    // it and node-cron's own run of it would be two runs a few milliseconds apart.
    due = job.next(Math.max(t + CRON_TOLERANCE_MS, due));
    look = { wall: Date.now(), monotonic: performance.now() };
    try {
      fn();
    } catch (error) {
      cronLogger.error(error instanceof Error ? error : new Error(String(error)));
    }
  };

  const reasonOf = (watchdog: boolean) => {
    const wall = Date.now();
    const monotonic = performance.now();
    const stepMs = wall - look.wall - (monotonic - look.monotonic);
    if (Math.abs(stepMs) >= CLOCK_STEP_MS) {
      return { reason: "clock-jump" as MissedReason, wallStepSeconds: Math.round(stepMs / 1_000) };
    }
    const late = !watchdog || monotonic - look.monotonic > TIMER_CAP_MS + WATCHDOG_GRACE_MS;
    return { reason: (late ? "event-loop-blocked" : "no-cron-instant") as MissedReason };
  };

  /** One line for the job's instants from `due` through `until`; nothing if there are none. */
  const report = (until: number, cause: { reason: MissedReason; wallStepSeconds?: number }) => {
    let count = 0;
    let last = due;
    for (let at = due; at <= until; at = job.next(at)) {
      count++;
      last = at;
    }
    if (count === 0 || !logger) return;
    const line = {
      event: "schedule-missed" as const,
      ...fields,
      missedCount: count,
      firstMissedAt: new Date(due).toISOString(),
      lastMissedAt: new Date(last).toISOString(),
      ...cause,
      lateSeconds: Math.round((now() - due) / 1_000),
      action: "runs once now",
    };
    const message = `${job.name}: ${count} scheduled run(s) missed (${cause.reason}); running once now`;
    // A local time that a DST change skips is routine; the other causes are worth a look.
    if (cause.reason === "no-cron-instant") logger.info(line, message);
    else logger.warn(line, message);
  };

  const task: ScheduledTask = cron.schedule(
    job.expression,
    () => {
      if (stopped) return;
      const t = now();
      // Not one of the job's instants (a repeated local hour, one the catch-up already ran).
      if (t < due - CRON_TOLERANCE_MS) return;
      run(t);
    },
    {
      name: job.name,
      ...(job.timezone ? { timezone: job.timezone } : {}),
      noOverlap: true,
      missedExecutionTolerance: CRON_TOLERANCE_MS,
      suppressMissedWarning: true,
      logger: cronLogger,
    },
  );
  // node-cron emits each missed instant of one wake-up in a row: they make one line.
  task.on("execution:missed", ({ date }) => {
    if (stopped) return;
    if (!missed) {
      missed = [];
      queueMicrotask(() => {
        const slots = missed ?? [];
        missed = undefined;
        if (stopped) return;
        // A long suspend can miss many minutes: no spread of them into Math.max.
        const last = slots.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY) + offsetMs;
        if (last < due) return;
        report(last, reasonOf(false));
        const t = now();
        if (due <= t) run(t);
      });
    }
    missed.push(date.getTime());
  });

  // node-cron's heartbeat sleeps on the monotonic clock until the next instant (a minute, up
  // to a day for the midnight job): a suspend or a wall-clock step would hold it that long.
  let watchdog: NodeJS.Timeout;
  const watch = () => {
    watchdog = setTimeout(() => {
      if (stopped) return;
      const t = now();
      if (t > due + WATCHDOG_GRACE_MS) {
        report(t, reasonOf(true));
        // Re-armed from now: its sleeping heartbeat would replay the missed instants.
        void task.stop();
        void task.start();
        run(t);
      } else {
        look = { wall: Date.now(), monotonic: performance.now() };
      }
      watch();
    }, TIMER_CAP_MS);
  };
  watch();

  return () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(watchdog);
    void task.destroy();
  };
}

/** A node-cron error (its own, or a job's that threw) as one `node-cron` line with the error's parts. */
function cronError(
  logger: Logger,
  fields: Record<string, string>,
  message: string | Error,
  err: Error | undefined,
  level: "error" | "debug" = "error",
): void {
  const error = message instanceof Error ? message : err;
  const text = message instanceof Error ? message.message : message;
  logger[level](
    { event: "node-cron", ...fields, ...(error ? { error: describeError(error) } : {}) },
    text,
  );
}

/** node-cron's expression for `hhmm` in `zone` on a clock `offsetMs` ahead of the host's. */
function dailyExpression(hhmm: string, zone: string, offsetMs: number, now: number): string {
  const [hour, minute] = hhmm.split(":").map(Number);
  if (offsetMs === 0) return `${minute} ${hour} * * *`;
  // The host's time of day at the next such instant: right until a DST change falls between
  // the two clocks (the demo only), when the watchdog runs the instant instead.
  const host = DateTime.fromMillis(
    Math.ceil((nextDailyAt(now, hhmm, zone) - offsetMs) / 1_000) * 1_000,
    { zone },
  );
  return `${host.second} ${host.minute} ${host.hour} * * *`;
}

/** node-cron's expression for each minute of a clock `offsetMs` ahead of the host's. */
function minuteExpression(offsetMs: number): string {
  // The first whole second of the host's minute at which the shifted clock has begun a new one.
  const second = Math.ceil((((-offsetMs % MINUTE_MS) + MINUTE_MS) % MINUTE_MS) / 1_000) % 60;
  return second === 0 ? "* * * * *" : `${second} * * * * *`;
}

/**
 * Wall-clock time (plus an optional offset) for the instants, `performance.now()` for spacing.
 * The minute and midnight jobs run on node-cron, its messages routed to `logger` as JSON
 * lines; after a suspend or a clock jump they fire once, late, with one `schedule-missed` line.
 */
export function realClock(options: RealClockOptions = {}): RuntimeClock {
  const offsetMs = options.offsetMs ?? 0;
  const logger = () => (typeof options.logger === "function" ? options.logger() : options.logger);
  const now = () => Date.now() + offsetMs;

  const setTimer = (at: number, fn: () => void): Cancel => {
    let handle: NodeJS.Timeout | undefined;
    let cancelled = false;
    const arm = () => {
      const wait = at - now();
      if (wait <= 0) {
        handle = undefined;
        fn();
        return;
      }
      handle = setTimeout(arm, Math.min(wait, TIMER_CAP_MS));
    };
    // Deferred even when due: a callback run here would set its next timer before the
    // caller stores this Cancel over it, and that timer could no longer be cancelled.
    handle = setTimeout(arm, Math.max(0, Math.min(at - now(), TIMER_CAP_MS)));
    return () => {
      if (cancelled) return;
      cancelled = true;
      if (handle) clearTimeout(handle);
    };
  };

  return {
    now,
    setTimer,
    monotonic: () => performance.now(),
    // Node's own timers run on the monotonic clock already.
    after: (ms, fn) => {
      const handle = setTimeout(fn, Math.max(0, ms));
      return () => clearTimeout(handle);
    },
    everyMinute: (fn) =>
      cronJob(
        { name: "every-minute", expression: minuteExpression(offsetMs), next: nextMinute },
        fn,
        now,
        offsetMs,
        logger(),
      ),
    dailyAt: (hhmm, zone, fn) => {
      nextDailyAt(now(), hhmm, zone);
      return cronJob(
        {
          name: `daily-${hhmm}`,
          expression: dailyExpression(hhmm, zone, offsetMs, now()),
          timezone: zone,
          next: (t) => nextDailyAt(t, hhmm, zone),
        },
        fn,
        now,
        offsetMs,
        logger(),
      );
    },
    track: (work) => work,
  };
}
