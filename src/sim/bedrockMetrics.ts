import type { FaultSchedule } from "./faults.js";
import { lowerBound, type ModelFleet } from "./fleet.js";
import type {
  MetricKey,
  MetricScope,
  PointVisitor,
  SeriesReader,
  StatSet,
  SyntheticMetrics,
} from "./metrics.js";
import { parseImportedModelArn, type SimSettings } from "./settings.js";

export const BEDROCK_NAMESPACE = "AWS/Bedrock";
export const MODEL_COPY_METRIC = "ModelCopy";
export const INVOCATIONS_METRIC = "Invocations";
export const MODEL_DIMENSION = "ModelId";
export const THROTTLES_METRIC = "InvocationThrottles";
export const CLIENT_ERRORS_METRIC = "InvocationClientErrors";

const MINUTE = 60_000;

/**
 * The AWS/Bedrock metrics of the simulated models, ModelCopy and the call counts (Invocations,
 * InvocationThrottles, InvocationClientErrors), derived from
 * their fleets when read rather than stored. Only the simulator-wide publish delay and the
 * metric faults decide when a minute's datapoint can be seen.
 */
export class BedrockMetrics implements SyntheticMetrics {
  readonly #fleets: ReadonlyMap<string, ModelFleet>;
  readonly #faults: FaultSchedule;
  readonly #settings: SimSettings;

  constructor(
    fleets: ReadonlyMap<string, ModelFleet>,
    faults: FaultSchedule,
    settings: SimSettings,
  ) {
    this.#fleets = fleets;
    this.#faults = faults;
    this.#settings = settings;
  }

  reader(key: MetricKey, scope: MetricScope): SeriesReader | undefined {
    const fleet = this.#modelOfKey(key);
    if (!fleet || !this.#inScope(fleet, scope)) return undefined;
    if (key.metricName === MODEL_COPY_METRIC) {
      return (start, end, now, visit) => this.#modelCopyPoints(fleet, start, end, now, visit);
    }
    const calls = this.#callsCountedIn(fleet, key.metricName);
    if (calls === undefined) return undefined;
    return (start, end, now, visit) => {
      fleet.advance(now);
      this.#countPoints(fleet, calls(), start, end, now, visit);
    };
  }

  /**
   * The calls a count metric is made of: successes in Invocations; ThrottlingException in
   * InvocationThrottles, with ModelNotReadyException in the metric `coldCallMetric` names.
   */
  #callsCountedIn(
    fleet: ModelFleet,
    metricName: string,
  ): (() => readonly (readonly number[])[]) | undefined {
    const cold = fleet.settings.coldCallMetric;
    if (metricName === INVOCATIONS_METRIC) return () => [fleet.successes];
    if (metricName === THROTTLES_METRIC) {
      return () =>
        cold === THROTTLES_METRIC ? [fleet.throttled, fleet.notReady] : [fleet.throttled];
    }
    if (metricName === CLIENT_ERRORS_METRIC && cold === CLIENT_ERRORS_METRIC) {
      return () => [fleet.notReady];
    }
    return undefined;
  }

  list(now: number, scope: MetricScope): MetricKey[] {
    const keys: MetricKey[] = [];
    for (const fleet of this.#fleets.values()) {
      if (!this.#inScope(fleet, scope)) continue;
      fleet.advance(now);
      const first = fleet.episodes[0];
      const dimensions = [{ Name: MODEL_DIMENSION, Value: fleet.spec.modelArn }];
      if (first && this.#visibleBy(fleet, minuteOf(first.restoreStart), now)) {
        keys.push({ namespace: BEDROCK_NAMESPACE, metricName: MODEL_COPY_METRIC, dimensions });
      }
      for (const metricName of [INVOCATIONS_METRIC, THROTTLES_METRIC, CLIENT_ERRORS_METRIC]) {
        const calls = this.#callsCountedIn(fleet, metricName)?.() ?? [];
        const first = Math.min(...calls.map((list) => list[0] ?? Number.POSITIVE_INFINITY));
        if (first < Number.POSITIVE_INFINITY && this.#visibleBy(fleet, minuteOf(first), now)) {
          keys.push({ namespace: BEDROCK_NAMESPACE, metricName, dimensions });
        }
      }
    }
    return keys;
  }

  accounts(): readonly string[] {
    return [
      ...new Set(
        [...this.#fleets.values()].map(
          (f) => parseImportedModelArn(f.spec.modelArn)?.accountId ?? "",
        ),
      ),
    ];
  }

  #modelOfKey(key: MetricKey): ModelFleet | undefined {
    if (key.namespace !== BEDROCK_NAMESPACE || key.dimensions.length !== 1) return undefined;
    const [dim] = key.dimensions;
    if (dim?.Name !== MODEL_DIMENSION) return undefined;
    return this.#fleets.get(dim.Value);
  }

  /** A model's metrics live in its ARN's region and account. */
  #inScope(fleet: ModelFleet, scope: MetricScope): boolean {
    const parts = parseImportedModelArn(fleet.spec.modelArn);
    return (
      (scope.region === undefined || parts?.region === scope.region) &&
      (scope.accountId === undefined || parts?.accountId === scope.accountId)
    );
  }

  /** Whether the datapoint of the minute starting at `minute` is published by `now`. */
  #visibleBy(fleet: ModelFleet, minute: number, now: number): boolean {
    const extra = this.#faults.hasMetricFaults(fleet.spec.modelArn)
      ? this.#faults.metricDelay(fleet.spec.modelArn, minute)
      : 0;
    return extra !== undefined && minute + MINUTE + this.#settings.publishDelayMs + extra <= now;
  }

  /**
   * One datapoint per minute: the most copies up during it. Published for every minute
   * from the call that woke the model to the first whole minute after it was unloaded (so
   * the fall to 0 is seen); minutes while the model is cold and idle have no datapoint.
   */
  #modelCopyPoints(
    fleet: ModelFleet,
    start: number,
    end: number,
    now: number,
    visit: PointVisitor,
  ): void {
    fleet.advance(now);
    const first = Math.ceil(start / MINUTE) * MINUTE;
    const last = Math.min(end - 1, now - MINUTE - this.#settings.publishDelayMs);
    if (last < first) return;
    const n = Math.floor((last - first) / MINUTE) + 1;
    const values = new Int8Array(n).fill(-1);
    const mark = (from: number, until: number, value: number) => {
      const lo = Math.max(0, Math.ceil((from - first) / MINUTE));
      const hi = Math.min(n, Math.ceil((until - first) / MINUTE));
      for (let i = lo; i < hi; i++) if ((values[i] as number) < value) values[i] = value;
    };
    for (const ep of fleet.episodes) {
      mark(minuteOf(ep.restoreStart), (ep.end ?? now) + MINUTE, 0);
    }
    for (const run of fleet.runs) {
      mark(run.start - MINUTE + 1, run.end ?? now, run.copy + 1);
    }
    const faulty = this.#faults.hasMetricFaults(fleet.spec.modelArn);
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      const t = first + i * MINUTE;
      if (v < 0 || (faulty && !this.#visibleBy(fleet, t, now))) continue;
      visit(t, singleSample(v), undefined);
    }
  }

  /** Calls per minute over several ascending lists, each call a sample of 1, for minutes that had any. */
  #countPoints(
    fleet: ModelFleet,
    lists: readonly (readonly number[])[],
    start: number,
    end: number,
    now: number,
    visit: PointVisitor,
  ): void {
    const from = Math.ceil(start / MINUTE) * MINUTE;
    const next = lists.map((list) => lowerBound(list, from));
    for (;;) {
      let minute = Number.POSITIVE_INFINITY;
      lists.forEach((list, k) => {
        const t = list[next[k] as number];
        if (t !== undefined && minuteOf(t) < minute) minute = minuteOf(t);
      });
      if (minute >= end) break;
      let count = 0;
      lists.forEach((list, k) => {
        let i = next[k] as number;
        while (i < list.length && minuteOf(list[i] as number) === minute) i++;
        count += i - (next[k] as number);
        next[k] = i;
      });
      if (this.#visibleBy(fleet, minute, now)) {
        visit(minute, { count, sum: count, min: 1, max: 1 }, undefined);
      }
    }
  }
}

// ModelCopy takes a handful of values; sharing their datapoint statistics keeps a month cheap.
const SINGLE_SAMPLES: StatSet[] = [];
function singleSample(v: number): StatSet {
  let stats = SINGLE_SAMPLES[v];
  if (!stats) {
    stats = Object.freeze({ count: 1, sum: v, min: v, max: v });
    SINGLE_SAMPLES[v] = stats;
  }
  return stats;
}

function minuteOf(t: number): number {
  return Math.floor(t / MINUTE) * MINUTE;
}
