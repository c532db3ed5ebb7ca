import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { DateTime } from "luxon";
import { afterEach } from "vitest";
import { RegionClientPool } from "../../src/aws/clients.js";
import { parseConfigText } from "../../src/config/load.js";
import { seededRandom } from "../../src/domain/random.js";
import type { ResolvedConfig } from "../../src/domain/types.js";
import { createLogger, type Logger } from "../../src/runtime/infra/logger.js";
import type { DaemonObserver } from "../../src/runtime/infra/observer.js";
import { VirtualClock } from "../../src/runtime/infra/virtualClock.js";
import { Daemon } from "../../src/runtime/keep/daemon.js";
import type { ControllerTiming } from "../../src/runtime/keep/loopTiming.js";
import type { PollTiming } from "../../src/runtime/keep/pollRule.js";
import {
  type SimModelSpec,
  type SimServer,
  type SimSettings,
  Simulator,
} from "../../src/sim/index.js";

/** The zone of the scenarios. */
export const ZONE = "Asia/Shanghai";
/** The model most scenarios keep warm. */
export const ARN = "arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel";

/** A model entry of `businessHoursYaml`: `lines` are its further keys, as written ("cadence: 5m"). */
export interface ScenarioModel {
  readonly name: string;
  readonly modelArn: string;
  readonly lines?: readonly string[];
}

/** mimo-vl at `ARN` with 4 CMU, as most scenarios have it. */
export const MIMO_VL: ScenarioModel = {
  name: "mimo-vl",
  modelArn: ARN,
  lines: ["customModelUnits: 4"],
};

/**
 * Config text with one policy, business-hours (Mon-Fri 09:00-18:00 in `ZONE`), that every
 * model follows. `defaults` are the lines under `defaults:`. The layout is fixed: tests
 * check the line:column of reload problems.
 */
export function businessHoursYaml(options: {
  readonly models: readonly ScenarioModel[];
  readonly defaults?: readonly string[];
  /**
   * `fixed`: cadence 14m, lead time 5m and eviction delay 15m (those `defaults` leave out),
   * for scenarios built on that grid of pings (08:55, 09:09, ...). Else `auto`, the default.
   */
  readonly timings?: "fixed" | "auto";
}): string {
  const given = options.defaults ?? [];
  const fixed =
    options.timings === "fixed"
      ? Object.entries(FIXED_TIMINGS)
          .filter(([key]) => !given.some((l) => l.startsWith(`${key}:`)))
          .map(([key, value]) => `${key}: ${value}`)
      : [];
  const lines = [...given, ...fixed];
  const defaults = lines.length ? `defaults:\n${lines.map((l) => `  ${l}\n`).join("")}` : "";
  const models = options.models
    .map(
      (m) =>
        `  - name: ${m.name}\n    modelArn: ${m.modelArn}\n    policy: business-hours\n` +
        (m.lines ?? []).map((l) => `    ${l}\n`).join(""),
    )
    .join("");
  return `
timezone: ${ZONE}
${defaults}policies:
  business-hours:
    windows:
      - days: mon-fri
        from: "09:00"
        to: "18:00"
models:
${models}`;
}

/** The timings of the scenarios written around the 14-minute grid. */
export const FIXED_TIMINGS = { cadence: "14m", leadTime: "5m", evictionDelay: "15m" } as const;

/** `hhmm` on `day` December 2026 (Monday the 7th unless told), local time in `ZONE`. */
export function local(hhmm: string, day = 7): number {
  const [hour, minute] = hhmm.split(":").map(Number);
  return DateTime.fromObject(
    { year: 2026, month: 12, day, hour, minute },
    { zone: ZONE },
  ).toMillis();
}

/** The local time of day of `t` in `ZONE`, HH:mm:ss. */
export function localTime(t: number): string {
  return DateTime.fromMillis(t, { zone: ZONE }).toFormat("HH:mm:ss");
}

/** The instant a log line was written at. */
export const at = (l: { time: string }): number => Date.parse(l.time);

/** A log line as the daemon wrote it, parsed. */
export type LogLine = Record<string, unknown> & { event: string; time: string; model?: string };

/** Parses YAML that must be valid; a test config with a mistake fails loudly. */
export function configOf(
  yaml: string,
  stateDir = mkdtempSync(join(tmpdir(), "kw-e2e-")),
): ResolvedConfig {
  const result = parseConfigText(yaml, "test.yaml", { stateDir });
  if (!result.ok) throw new Error(`test config invalid: ${JSON.stringify(result.problems)}`);
  return result.config;
}

export { seededRandom };

/** Log lines parsed as they are written, stamped with the virtual clock. */
export function collectingLogger(now: () => number): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim() !== "") lines.push(JSON.parse(line) as LogLine);
      }
      done();
    },
  });
  return { logger: createLogger({ level: "debug", destination: sink, now }), lines };
}

export interface Harness {
  readonly clock: VirtualClock;
  readonly sim: Simulator;
  readonly server: SimServer;
  readonly clients: RegionClientPool;
  readonly lines: LogLine[];
  readonly logger: Logger;
  readonly stateDir: string;
  /** InvokeModel requests that reached the wire, by model ARN, at virtual instants. */
  readonly invokeTimes: Map<string, number[]>;
  daemon: Daemon;
  /** A new daemon on the same clock, simulator and clients: a restart. */
  restart(config?: ResolvedConfig): Promise<Daemon>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly config: ResolvedConfig;
  readonly start: number;
  readonly sim?: Partial<SimSettings>;
  readonly timing?: Partial<ControllerTiming>;
  readonly observer?: DaemonObserver;
  /** How often ModelCopy is read when nothing can change; the daemon's rule unless given. */
  readonly poll?: Partial<PollTiming>;
  /** What the simulator serves for a model, by ARN, over the config's CMU (4 if none) and v1.0. */
  readonly simModels?: readonly SimModelSpec[];
}

/**
 * The daemon against the simulator over the wire (real SDK clients, loopback HTTP), both
 * on one virtual clock. The daemon is created, not started.
 */
export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const clock = new VirtualClock(options.start);
  const sim = new Simulator({
    clock: clock.reference,
    settings: { restoreJitterMs: 0, ...(options.sim ?? {}) },
    models: options.config.models.map((m) => ({
      modelArn: m.modelArn,
      customModelUnits: m.customModelUnits ?? 4,
      ...options.simModels?.find((s) => s.modelArn === m.modelArn),
    })),
  });
  const server = await sim.listen();
  const clients = new RegionClientPool({
    endpoint: server.url,
    credentials: { accessKeyId: "AKIDSIMULATED", secretAccessKey: "simulated" },
    retryBackoffMs: 0,
  });
  const invokeTimes = new Map<string, number[]>();
  const { logger, lines } = collectingLogger(() => clock.now());
  const stateDir = options.config.daemon.stateDir;
  const make = (config: ResolvedConfig) => {
    const daemon = new Daemon(config, {
      clock,
      logger,
      clients,
      stateDir,
      random: seededRandom(7),
      ...(options.timing ? { timing: options.timing } : {}),
      ...(options.observer ? { observer: options.observer } : {}),
      ...(options.poll ? { poll: options.poll } : {}),
    });
    return daemon;
  };
  for (const region of new Set(options.config.models.map((m) => m.region))) {
    clients.get(region).runtime.middlewareStack.add(
      (next, context) => async (args) => {
        const input = (context as { commandName?: string }).commandName;
        const arn = decodeURIComponent(
          ((args.request as { path?: string }).path ?? "").split("/")[2] ?? "",
        );
        if (input === "InvokeModelCommand") {
          const list = invokeTimes.get(arn) ?? [];
          list.push(clock.now());
          invokeTimes.set(arn, list);
        }
        return next(args);
      },
      { step: "finalizeRequest", name: "countInvokes" },
    );
  }
  const harness: Harness = {
    clock,
    sim,
    server,
    clients,
    lines,
    logger,
    stateDir,
    invokeTimes,
    daemon: make(options.config),
    async restart(config = options.config) {
      await harness.daemon.stop({ graceMs: 1_000 });
      harness.daemon = make(config);
      await harness.daemon.start();
      return harness.daemon;
    },
    async close() {
      await harness.daemon.stop({ graceMs: 1_000 });
      clients.destroy();
      await server.close();
    },
  };
  return harness;
}

/**
 * `startHarness` for tests that each start their own: the harness a test started is closed
 * after it, passed or failed. Call it inside the `describe` whose tests use it.
 */
export function harnessPerTest(): (options: HarnessOptions) => Promise<Harness> {
  let current: Harness | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (options) => {
    current = await startHarness(options);
    return current;
  };
}

/** Lines of one event, optionally of one model. */
export function eventsOf(lines: readonly LogLine[], event: string, model?: string): LogLine[] {
  return lines.filter((l) => l.event === event && (model === undefined || l.model === model));
}
