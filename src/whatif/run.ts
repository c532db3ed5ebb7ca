import { RegionClientPool } from "../aws/clients.js";
import type { Interval } from "../domain/interval.js";
import { seededRandom } from "../domain/random.js";
import type { ModelConfig, Price } from "../domain/types.js";
import { DAY_MS } from "../domain/units.js";
import { createLogger } from "../runtime/infra/logger.js";
import { type DaemonObserver, noopObserver } from "../runtime/infra/observer.js";
import { VirtualClock } from "../runtime/infra/virtualClock.js";
import { Daemon } from "../runtime/keep/daemon.js";
import { InProcessSimHandler, type SimModelSpec, Simulator } from "../sim/index.js";
import { cronInstants, Pinger } from "./baselines.js";
import { scenarioResultOf } from "./figures.js";
import type { Driver, Scenario, ScenarioOutcome, SimulateOptions } from "./types.js";

/** Credentials the simulator accepts; it checks that requests are signed, not by whom. */
const SIM_CREDENTIALS = { accessKeyId: "AKIDSIMULATE", secretAccessKey: "simulated" };

const IN_PROCESS_ENDPOINT = "http://127.0.0.1:1";

export interface ScenarioInput extends SimulateOptions {
  readonly scenario: Scenario;
  readonly range: Interval;
  readonly prerollMs: number;
  readonly stateDir: string;
  readonly cmuOf: (m: ModelConfig) => number;
  /** The model's CMU version, as the simulator's GetImportedModel reports it. */
  readonly cmuVersionOf: (m: ModelConfig) => string;
  /** The price of that version in the model's region, from keepwarm's config. */
  readonly priceOf: (m: ModelConfig) => Price;
  readonly simSpecs: ReadonlyMap<string, SimModelSpec>;
  readonly windows: ReadonlyMap<string, readonly Interval[]>;
}

/**
 * One of the three runs: a simulator of its own on a virtual clock from the preroll to the
 * end of the range, kept warm by the daemon or a baseline, then read for each model's figures.
 */
export async function runScenario(input: ScenarioInput): Promise<{
  results: Map<string, ScenarioOutcome>;
  ms: number;
  /** The run's GetMetricData calls inside the range (the daemon's own CloudWatch reads). */
  getMetricData: { readonly calls: number; readonly metricsRequested: number };
}> {
  const { config, range, scenario } = input;
  const startedAt = performance.now();
  const clock = new VirtualClock(range.start - input.prerollMs);
  const sim = new Simulator({
    clock,
    settings: input.sim ?? {},
    models: config.models.map((m) => ({
      ...input.simSpecs.get(m.modelArn),
      modelArn: m.modelArn,
      customModelUnits: input.cmuOf(m),
      cmuVersion: input.cmuVersionOf(m),
    })),
  });
  for (const fault of input.faults ?? []) sim.faults.add(fault);
  const projections = new Map<string, number | undefined>();
  const rangeDays = Math.ceil((range.end - range.start) / DAY_MS);
  const daily = new Map<string, (number | undefined)[]>();
  const observer: DaemonObserver = {
    ...noopObserver,
    projectedMonthUsd(model, usd) {
      const now = clock.now();
      if (now < range.start || now >= range.end) return;
      if (!projections.has(model)) projections.set(model, usd);
      let byDay = daily.get(model);
      if (!byDay) {
        byDay = Array.from({ length: rangeDays }, () => undefined);
        daily.set(model, byDay);
      }
      const day = Math.floor((now - range.start) / DAY_MS);
      if (byDay[day] === undefined) byDay[day] = usd;
    },
  };
  const driver: Driver =
    scenario === "keepwarm"
      ? await daemonDriver(input, clock, sim, observer)
      : new Pinger(clock, sim, config.models, (m) =>
          scenario === "cron" ? cronInstants(config, m, clock.now(), range.end) : undefined,
        );
  const firstDay = clock.now();
  const days = Math.ceil((range.end - firstDay) / DAY_MS);
  let atStart = sim.getMetricDataUsage();
  clock.setTimer(range.start, () => {
    atStart = sim.getMetricDataUsage();
  });
  try {
    await driver.start();
    for (let day = 1; day <= days; day++) {
      await clock.runUntil(Math.min(firstDay + day * DAY_MS, range.end));
      input.onProgress?.({ scenario, day, days });
    }
    const ledger = sim.ledger(range);
    const results = new Map<string, ScenarioOutcome>();
    for (const m of config.models) {
      const billed = ledger.models.find((l) => l.modelArn === m.modelArn);
      results.set(m.name, {
        ...scenarioResultOf({
          model: m,
          cmu: input.cmuOf(m),
          price: input.priceOf(m),
          billedMinutes: billed?.billedMinutes ?? 0,
          windows: input.windows.get(m.name) ?? [],
          warm: sim.warmSpans(m.modelArn),
          invocations: sim.invokeCount(m.modelArn, range),
          users: sim.userCalls(m.modelArn, range),
        }),
        projectedUsd: projections.get(m.name),
        dailyProjectedUsd: daily.get(m.name) ?? Array.from({ length: rangeDays }, () => undefined),
      });
    }
    const atEnd = sim.getMetricDataUsage();
    return {
      results,
      ms: Math.round(performance.now() - startedAt),
      getMetricData: {
        calls: atEnd.calls - atStart.calls,
        metricsRequested: atEnd.metricsRequested - atStart.metricsRequested,
      },
    };
  } finally {
    await driver.stop();
  }
}

/**
 * keepwarm's real daemon against the simulator, through the SDK clients it runs with: in
 * process or over a loopback socket, as `input.transport` says.
 */
async function daemonDriver(
  input: ScenarioInput,
  clock: VirtualClock,
  sim: Simulator,
  observer: DaemonObserver,
): Promise<Driver> {
  const server = input.transport === "socket" ? await sim.listen() : undefined;
  const clients = new RegionClientPool({
    // The in-process handler never connects; the endpoint only names the host to sign for.
    endpoint: server?.url ?? IN_PROCESS_ENDPOINT,
    credentials: SIM_CREDENTIALS,
    // A month is ~90,000 calls of the same few commands: the stacks are resolved once.
    cacheMiddleware: true,
    // A retried call still answers at the virtual instant it was made: no real backoff.
    retryBackoffMs: 0,
    ...(server ? {} : { requestHandler: new InProcessSimHandler(sim) }),
  });
  const logger = input.logger?.(() => clock.now()) ?? createLogger({ level: "silent" });
  const daemon = new Daemon(input.config, {
    // Every minute job, reading CloudWatch by the daemon's own rule (keep/pollRule.ts).
    clock,
    logger,
    clients,
    stateDir: input.stateDir,
    observer,
    simulated: true,
    // Retry jitter from the simulator's seed: the same run gives the same figures.
    random: seededRandom(sim.settings.seed),
  });
  return {
    start: () => daemon.start(),
    async stop() {
      await daemon.stop({ graceMs: 1_000 });
      clients.destroy();
      await server?.close();
    },
  };
}
