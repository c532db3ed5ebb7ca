import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DateTime } from "luxon";
import cron from "node-cron";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TIMER_CAP_MS } from "../../../src/runtime/infra/clock.js";
import { createLogger } from "../../../src/runtime/infra/logger.js";
import { realClock } from "../../../src/runtime/infra/realClock.js";
import { skipWithout } from "../../requiredTools.js";

/** Debian's libfaketime (apt-get install faketime): it moves the clocks of a process. */
const LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const CHILD = fileURLToPath(new URL("./cronClockChild.ts", import.meta.url));
const T0 = Date.UTC(2026, 11, 7, 0, 0, 0);
const MINUTE = 60_000;

type Line = Record<string, unknown>;

/** The daemon's logger, its JSON lines parsed into `lines`. */
function collecting(): { logger: ReturnType<typeof createLogger>; lines: Line[] } {
  const lines: Line[] = [];
  const logger = createLogger({
    destination: { write: (s: string) => lines.push(JSON.parse(s) as Line) },
  });
  return { logger, lines };
}

const missedLines = (lines: Line[]) => lines.filter((l) => l.event === "schedule-missed");

/** Fails the test if anything reaches the console or the standard streams. */
function watchOutput() {
  return [
    vi.spyOn(process.stdout, "write"),
    vi.spyOn(process.stderr, "write"),
    ...(["log", "info", "warn", "error", "debug"] as const).map((m) => vi.spyOn(console, m)),
  ];
}

describe("realClock on node-cron", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  describe("everyMinute", () => {
    it("is a node-cron task, without overlap, that runs at each minute until cancelled", async () => {
      vi.useFakeTimers({ now: T0 + 30_000 });
      const schedule = vi.spyOn(cron, "schedule");
      const clock = realClock();
      const fired: number[] = [];
      const cancel = clock.everyMinute(() => fired.push(Date.now()));
      expect(schedule).toHaveBeenCalledWith(
        "* * * * *",
        expect.any(Function),
        expect.objectContaining({ name: "every-minute", noOverlap: true }),
      );
      const task = schedule.mock.results[0]?.value as ReturnType<typeof cron.schedule>;
      expect(cron.getTasks().get(task.id)).toBe(task);
      await vi.advanceTimersByTimeAsync(2 * MINUTE + 30_000);
      expect(fired).toEqual([T0 + MINUTE, T0 + 2 * MINUTE, T0 + 3 * MINUTE]);
      cancel();
      expect(cron.getTasks().has(task.id)).toBe(false);
      await vi.advanceTimersByTimeAsync(5 * MINUTE);
      expect(fired).toHaveLength(3);
      expect(vi.getTimerCount()).toBe(0);
    });

    it("follows the minutes of a clock shifted by an offset", async () => {
      vi.useFakeTimers({ now: T0 });
      const schedule = vi.spyOn(cron, "schedule");
      const clock = realClock({ offsetMs: 37_400 });
      const fired: number[] = [];
      const cancel = clock.everyMinute(() => fired.push(clock.now()));
      // The host's second 23 (22.6 s, rounded up) is the shifted clock's 00.4.
      expect(schedule.mock.calls[0]?.[0]).toBe("23 * * * * *");
      await vi.advanceTimersByTimeAsync(3 * MINUTE);
      cancel();
      expect(fired).toEqual([T0 + MINUTE + 400, T0 + 2 * MINUTE + 400, T0 + 3 * MINUTE + 400]);
    });

    it("reports the minutes node-cron missed in one schedule-missed line and runs once, late", async () => {
      vi.useFakeTimers({ now: T0 + MINUTE - 500 });
      const { logger, lines } = collecting();
      const output = watchOutput();
      const clock = realClock({ logger });
      const fired: number[] = [];
      const cancel = clock.everyMinute(() => fired.push(Date.now()));
      // The wall clock steps 3 minutes ahead just before node-cron wakes for the minute.
      vi.setSystemTime(T0 + 4 * MINUTE - 500);
      await vi.advanceTimersByTimeAsync(500);
      expect(fired).toEqual([T0 + 4 * MINUTE]);
      await vi.advanceTimersByTimeAsync(MINUTE);
      cancel();
      expect(fired).toEqual([T0 + 4 * MINUTE, T0 + 5 * MINUTE]);
      expect(missedLines(lines)).toEqual([
        expect.objectContaining({
          level: "warn",
          job: "every-minute",
          missedCount: 3,
          firstMissedAt: new Date(T0 + MINUTE).toISOString(),
          lastMissedAt: new Date(T0 + 3 * MINUTE).toISOString(),
          reason: "clock-jump",
          wallStepSeconds: 180,
        }),
      ]);
      for (const spy of output) expect(spy).not.toHaveBeenCalled();
    });

    it("sends node-cron's own messages and a failing job's error to the logger, never the console", async () => {
      vi.useFakeTimers({ now: T0 + 30_000 });
      const schedule = vi.spyOn(cron, "schedule");
      const { logger, lines } = collecting();
      const output = watchOutput();
      const cancel = realClock({ logger }).everyMinute(() => {
        throw new Error("boom");
      });
      const silent = realClock().everyMinute(() => {
        throw new Error("unheard");
      });
      // node-cron logs a listener's failure itself: its own message, through its logger.
      for (const result of schedule.mock.results) {
        (result.value as ReturnType<typeof cron.schedule>).on("execution:started", () => {
          throw new TypeError("listener");
        });
      }
      await vi.advanceTimersByTimeAsync(MINUTE);
      cancel();
      silent();
      expect(lines).toEqual([
        expect.objectContaining({
          level: "error",
          event: "node-cron",
          job: "every-minute",
          error: { name: "TypeError", message: "listener" },
        }),
        expect.objectContaining({
          level: "error",
          event: "node-cron",
          job: "every-minute",
          error: { name: "Error", message: "boom" },
        }),
      ]);
      for (const spy of output) expect(spy).not.toHaveBeenCalled();
    });
  });

  describe("dailyAt", () => {
    it("is a node-cron task in the zone that runs at the zone's midnight (Asia/Shanghai)", async () => {
      const zone = "Asia/Shanghai";
      vi.useFakeTimers({ now: DateTime.fromISO("2026-12-07T23:59:58", { zone }).toMillis() });
      const schedule = vi.spyOn(cron, "schedule");
      const clock = realClock();
      const fired: string[] = [];
      const cancel = clock.dailyAt("00:00", zone, () =>
        fired.push(DateTime.fromMillis(Date.now(), { zone }).toISO() as string),
      );
      expect(schedule).toHaveBeenCalledWith(
        "0 0 * * *",
        expect.any(Function),
        expect.objectContaining({ name: "daily-00:00", timezone: zone, noOverlap: true }),
      );
      await vi.advanceTimersByTimeAsync(2_000);
      expect(fired).toEqual(["2026-12-08T00:00:00.000+08:00"]);
      // Nothing at UTC midnight, 08:00 in Shanghai.
      await vi.advanceTimersByTimeAsync(8 * 3_600_000 + MINUTE);
      cancel();
      expect(fired).toHaveLength(1);
    });

    it("after a suspend over midnight, runs once within the cap and says so in one line", async () => {
      const zone = "Europe/Berlin";
      const before = DateTime.fromISO("2026-12-07T23:50:00", { zone }).toMillis();
      const midnight = DateTime.fromISO("2026-12-08T00:00:00", { zone }).toMillis();
      vi.useFakeTimers({ now: before });
      const { logger, lines } = collecting();
      const clock = realClock({ logger });
      const fired: number[] = [];
      const cancel = clock.dailyAt("00:00", zone, () => fired.push(Date.now()));
      // The host sleeps over midnight: the wall clock moves on, node-cron's timer does not.
      vi.setSystemTime(midnight + 5 * MINUTE);
      await vi.advanceTimersByTimeAsync(TIMER_CAP_MS);
      expect(fired).toEqual([midnight + 5 * MINUTE + TIMER_CAP_MS]);
      // node-cron's own timer, due 10 minutes after the start, neither runs nor reports it again.
      await vi.advanceTimersByTimeAsync(15 * MINUTE);
      cancel();
      expect(fired).toHaveLength(1);
      expect(missedLines(lines)).toEqual([
        expect.objectContaining({
          level: "warn",
          job: "daily-00:00",
          timezone: zone,
          missedCount: 1,
          firstMissedAt: new Date(midnight).toISOString(),
          lastMissedAt: new Date(midnight).toISOString(),
          reason: "clock-jump",
        }),
      ]);
    });

    it("runs a midnight that a DST change skips at the hour that replaces it (America/Havana)", async () => {
      const zone = "America/Havana";
      // 2026-03-08: clocks go from 00:00 straight to 01:00; node-cron has no run that day.
      vi.useFakeTimers({ now: DateTime.fromISO("2026-03-07T23:59:00", { zone }).toMillis() });
      const { logger, lines } = collecting();
      const clock = realClock({ logger });
      const fired: number[] = [];
      const cancel = clock.dailyAt("00:00", zone, () => fired.push(Date.now()));
      await vi.advanceTimersByTimeAsync(2 * 3_600_000);
      cancel();
      const oneAm = DateTime.fromISO("2026-03-08T01:00:00", { zone }).toMillis();
      expect(fired).toHaveLength(1);
      expect(fired[0]).toBeGreaterThanOrEqual(oneAm);
      expect(fired[0]).toBeLessThanOrEqual(oneAm + TIMER_CAP_MS + 2_000);
      expect(missedLines(lines)).toEqual([
        expect.objectContaining({ level: "info", reason: "no-cron-instant", missedCount: 1 }),
      ]);
    });
  });
});

describe("realClock in a process of its own, clocks moved by libfaketime", () => {
  interface Run {
    code: number | null;
    stdout: string[];
    stderr: string[];
  }

  function runChild(moveMonotonic: boolean): Promise<Run> {
    const dir = mkdtempSync(join(tmpdir(), "kw-cron-"));
    const file = join(dir, "faketime");
    writeFileSync(file, "+0");
    return new Promise<Run>((resolve, reject) => {
      const proc = spawn(process.execPath, ["--import", "tsx", CHILD], {
        env: {
          ...process.env,
          LD_PRELOAD: LIBFAKETIME,
          FAKETIME_TIMESTAMP_FILE: file,
          FAKETIME_NO_CACHE: "1",
          ...(moveMonotonic ? {} : { FAKETIME_DONT_FAKE_MONOTONIC: "1" }),
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      proc.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString("utf8");
      });
      proc.stderr.on("data", (chunk: Buffer) => {
        err += chunk.toString("utf8");
      });
      proc.on("error", reject);
      proc.on("close", (code) => {
        rmSync(dir, { recursive: true, force: true });
        const lines = (text: string) => text.split("\n").filter((l) => l !== "");
        resolve({ code, stdout: lines(out), stderr: lines(err) });
      });
    });
  }

  const parsed = (line: string): Line | undefined => {
    try {
      const value: unknown = JSON.parse(line);
      return typeof value === "object" && value !== null ? (value as Line) : undefined;
    } catch {
      return undefined;
    }
  };

  const expectOnlyJson = (run: Run) => {
    expect(run.code).toBe(0);
    expect(run.stdout.filter((l) => typeof parsed(l)?.event !== "string")).toEqual([]);
    expect(run.stderr.filter((l) => parsed(l) === undefined)).toEqual([]);
    const lines = run.stdout.map((l) => parsed(l) as Line);
    expect(lines.map((l) => l.event)).toEqual([
      "scheduled",
      "schedule-missed",
      "minute-job",
      "done",
    ]);
    const missed = lines[1] as Line;
    expect(missed).toMatchObject({ level: "warn", job: "every-minute", missedCount: 3 });
    expect(missed.firstMissedAt).toBe(lines[0]?.boundary);
    expect(Date.parse(String(missed.lastMissedAt)) - Date.parse(String(missed.firstMissedAt))).toBe(
      2 * MINUTE,
    );
    return missed;
  };

  it.skipIf(skipWithout(existsSync(LIBFAKETIME), "libfaketime (Debian: faketime)"))(
    "writes only JSON lines, one schedule-missed among them, when the wall clock steps past three minutes",
    async () => {
      const missed = expectOnlyJson(await runChild(false));
      expect(missed).toMatchObject({ reason: "clock-jump", wallStepSeconds: 180 });
    },
  );

  it.skipIf(skipWithout(existsSync(LIBFAKETIME), "libfaketime (Debian: faketime)"))(
    "writes only JSON lines, one schedule-missed among them, when the event loop is held past three minutes",
    async () => {
      const missed = expectOnlyJson(await runChild(true));
      expect(missed).toMatchObject({ reason: "event-loop-blocked" });
      expect(missed).not.toHaveProperty("wallStepSeconds");
    },
  );
});
