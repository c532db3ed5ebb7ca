import { planModel } from "../domain/plan.js";
import { DEFAULT_CMU_VERSION } from "../domain/price.js";
import { initialTimings } from "../domain/timings.js";
import type { ModelConfig, ResolvedConfig } from "../domain/types.js";
import { ManualClock, type SimConfig, type SimModelSpec, Simulator } from "../sim/index.js";

/** While a model restores, a ping that met it cold is repeated this often, as the daemon does. */
const RETRY_MS = 5_000;
/** The CMUs the simulator serves a model with when the config leaves them to GetImportedModel. */
const DEFAULT_SIMULATED_CMU = 4;

interface Ping {
  readonly t: number;
  readonly model: ModelConfig;
  /** The model's next planned ping: a retry stops there. */
  readonly until: number;
}

/**
 * An account for `keepwarm reconcile --simulate`: the built-in simulator serving the
 * config's models (and the further imports and faults of a `--sim-config` file), each pinged
 * on its plan from `from` to `now`, a ping that meets a cold model repeated until it is
 * answered. The simulator's clock is left at `now`.
 */
export function simulatedAccount(
  config: ResolvedConfig,
  simConfig: SimConfig | undefined,
  from: number,
  now: number,
): Simulator {
  const clock = new ManualClock(from);
  const own = new Map((simConfig?.models ?? []).map((m) => [m.modelArn, m]));
  const configured = new Set(config.models.map((m) => m.modelArn));
  const models: SimModelSpec[] = [
    ...config.models.map((m) => ({
      ...own.get(m.modelArn),
      modelArn: m.modelArn,
      customModelUnits:
        m.customModelUnits ?? own.get(m.modelArn)?.customModelUnits ?? DEFAULT_SIMULATED_CMU,
      cmuVersion: m.cmuVersion ?? own.get(m.modelArn)?.cmuVersion ?? DEFAULT_CMU_VERSION,
    })),
    // Imports the config does not name: what reconcile shows as unmanaged.
    ...(simConfig?.models ?? []).filter((m) => !configured.has(m.modelArn)),
  ];
  const sim = new Simulator({ clock, settings: simConfig?.settings ?? {}, models });
  for (const fault of simConfig?.faults ?? []) sim.faults.add(fault);
  const queue: Ping[] = [];
  for (const model of config.models) {
    const pings = planModel(config, model, { start: from, end: now }, initialTimings(model)).pings;
    pings.forEach((t, i) => {
      queue.push({ t, model, until: pings[i + 1] ?? now });
    });
  }
  queue.sort((a, b) => a.t - b.t);
  for (let i = 0; i < queue.length; i++) {
    const ping = queue[i] as Ping;
    clock.set(ping.t);
    const answer = sim.invokeModel(ping.model.modelArn, JSON.stringify(ping.model.request));
    const cold = answer.kind === "error" && answer.error.type === "ModelNotReadyException";
    const retry = ping.t + RETRY_MS;
    if (cold && retry < ping.until && retry < now) insertAfter(queue, i, { ...ping, t: retry });
  }
  clock.set(now);
  return sim;
}

/** Inserts `ping` into the part of the time-ordered `queue` after index `done`. */
function insertAfter(queue: Ping[], done: number, ping: Ping): void {
  let lo = done + 1;
  let hi = queue.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((queue[mid] as Ping).t <= ping.t) lo = mid + 1;
    else hi = mid;
  }
  queue.splice(lo, 0, ping);
}
