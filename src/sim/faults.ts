import { KeepwarmError } from "../domain/errors.js";

/** The operations the simulator serves; request faults name the ones they hit. */
export type SimOperation =
  | "InvokeModel"
  | "GetImportedModel"
  | "GetMetricData"
  | "ListMetrics"
  | "PutMetricData"
  | "ListImportedModels"
  | "GetCostAndUsage";

export const CLOUDWATCH_OPERATIONS: readonly SimOperation[] = [
  "GetMetricData",
  "ListMetrics",
  "PutMetricData",
];

interface Scope {
  /** Only this model's calls or metrics; every model when absent. */
  readonly modelArn?: string;
  /** Epoch ms, inclusive; open when absent. */
  readonly from?: number;
  /** Epoch ms, exclusive; open when absent. */
  readonly until?: number;
}

interface RequestScope extends Scope {
  /** Overrides the operations the fault's kind hits by default. */
  readonly operations?: readonly SimOperation[];
  /** Hits only this many matching calls, then lapses. */
  readonly times?: number;
}

/**
 * A scripted misbehaviour. Request faults are matched against the clock when a call
 * arrives; metric faults against the minute a datapoint describes; `slowRestore` against
 * the instant a restore starts; `evict` fires at its instant; `billingWindow` against the
 * instant a copy run starts, `priceChange` against the instant a billing window starts.
 */
export type FaultSpec =
  /** InvokeModel answers 429 ThrottlingException (an account quota, not a cold start). */
  | ({ readonly kind: "throttling" } & RequestScope)
  /** InvokeModel answers 503 ServiceUnavailableException. */
  | ({ readonly kind: "serviceUnavailable" } & RequestScope)
  /** InvokeModel is answered normally, `delayMs` late (real milliseconds on the server). */
  | ({ readonly kind: "slow"; readonly delayMs: number } & RequestScope)
  /** The connection is closed without an answer; the model never sees the call. */
  | ({ readonly kind: "dropConnection" } & RequestScope)
  /** InvokeModel and GetImportedModel answer 403 AccessDeniedException. */
  | ({ readonly kind: "accessDenied" } & RequestScope)
  /** Every operation answers 403 ExpiredTokenException. */
  | ({ readonly kind: "expiredToken" } & RequestScope)
  /** CloudWatch operations answer "Throttling: Rate exceeded". */
  | ({ readonly kind: "cloudwatchThrottling" } & RequestScope)
  /** Datapoints of minutes in range are published `delayMs` later than publishDelayMs says. */
  | ({ readonly kind: "metricsLate"; readonly delayMs: number } & Scope)
  /** Datapoints of minutes in range are never published. */
  | ({ readonly kind: "metricsMissing" } & Scope)
  /** Restores that start in range take `restoreMs` instead of restoreMs +- jitter. */
  | ({ readonly kind: "slowRestore"; readonly restoreMs: number } & Scope)
  /**
   * A copy whose last call falls in range is unloaded `delayMs` after it, whatever the
   * eviction rule says: Bedrock changing its idle rule (from `from` on, say).
   */
  | ({ readonly kind: "evictAfter"; readonly delayMs: number } & Scope)
  /** Every copy is unloaded at `at`, however recently it served a call. */
  | { readonly kind: "evict"; readonly modelArn?: string; readonly at: number }
  /**
   * Cost Explorer bills copy runs that start in range in windows of `windowMs` instead of
   * billingWindowMs: AWS billing by another rule than keepwarm's.
   */
  | ({ readonly kind: "billingWindow"; readonly windowMs: number } & Scope)
  /** Cost Explorer bills the billing windows that start in range at this price per CMU-minute. */
  | ({ readonly kind: "priceChange"; readonly usdPerCmuMinute: number } & Scope);

export type FaultKind = FaultSpec["kind"];

export type RequestFault = Extract<
  FaultSpec,
  {
    kind:
      | "throttling"
      | "serviceUnavailable"
      | "slow"
      | "dropConnection"
      | "accessDenied"
      | "expiredToken"
      | "cloudwatchThrottling";
  }
>;

const DEFAULT_OPERATIONS: Record<RequestFault["kind"], readonly SimOperation[]> = {
  throttling: ["InvokeModel"],
  serviceUnavailable: ["InvokeModel"],
  slow: ["InvokeModel"],
  dropConnection: ["InvokeModel"],
  accessDenied: ["InvokeModel", "GetImportedModel"],
  expiredToken: [
    "InvokeModel",
    "GetImportedModel",
    "ListImportedModels",
    "GetCostAndUsage",
    ...CLOUDWATCH_OPERATIONS,
  ],
  cloudwatchThrottling: CLOUDWATCH_OPERATIONS,
};

const REQUEST_KINDS = new Set<FaultKind>(Object.keys(DEFAULT_OPERATIONS) as FaultKind[]);
const KINDS = new Set<string>([
  ...REQUEST_KINDS,
  "metricsLate",
  "metricsMissing",
  "slowRestore",
  "evictAfter",
  "evict",
  "billingWindow",
  "priceChange",
]);

export class FaultSpecError extends KeepwarmError {
  override readonly name = "FaultSpecError";
}

interface Entry {
  readonly id: number;
  readonly spec: FaultSpec;
  used: number;
}

function covers(scope: Scope, modelArn: string | undefined, t: number): boolean {
  if (scope.modelArn !== undefined && scope.modelArn !== modelArn) return false;
  return (
    (scope.from === undefined || t >= scope.from) && (scope.until === undefined || t < scope.until)
  );
}

/** The faults scripted on one simulator. Empty by default: the simulator then behaves as AWS. */
export class FaultSchedule {
  readonly #entries: Entry[] = [];
  #nextId = 1;

  /** Adds a fault and returns its id, for `remove`. */
  add(spec: FaultSpec): number {
    validateFault(spec);
    const id = this.#nextId++;
    this.#entries.push({ id, spec: Object.freeze({ ...spec }), used: 0 });
    return id;
  }

  remove(id: number): boolean {
    const i = this.#entries.findIndex((e) => e.id === id);
    if (i < 0) return false;
    this.#entries.splice(i, 1);
    return true;
  }

  clear(): void {
    this.#entries.length = 0;
  }

  list(): readonly { id: number; spec: FaultSpec }[] {
    return this.#entries.map((e) => ({ id: e.id, spec: e.spec }));
  }

  /** The first request fault that hits this call, counting it against `times`. */
  takeRequestFault(
    operation: SimOperation,
    modelArn: string | undefined,
    t: number,
  ): RequestFault | undefined {
    for (const e of this.#entries) {
      const spec = e.spec;
      if (!isRequestFault(spec)) continue;
      const ops = spec.operations ?? DEFAULT_OPERATIONS[spec.kind];
      if (!ops.includes(operation) || !covers(spec, modelArn, t)) continue;
      if (spec.times !== undefined && e.used >= spec.times) continue;
      e.used++;
      return spec;
    }
    return undefined;
  }

  /** The restore duration a `slowRestore` fault imposes on a restore starting at t. */
  restoreOverride(modelArn: string, t: number): number | undefined {
    for (const { spec } of this.#entries) {
      if (spec.kind === "slowRestore" && covers(spec, modelArn, t)) return spec.restoreMs;
    }
    return undefined;
  }

  /** The idle time an `evictAfter` fault imposes on a copy last called at t. */
  evictionOverride(modelArn: string, t: number): number | undefined {
    for (const { spec } of this.#entries) {
      if (spec.kind === "evictAfter" && covers(spec, modelArn, t)) return spec.delayMs;
    }
    return undefined;
  }

  /** The earliest scripted eviction of the model in (after, upTo]. */
  firstEviction(modelArn: string, after: number, upTo: number): number | undefined {
    let first: number | undefined;
    for (const { spec } of this.#entries) {
      if (spec.kind !== "evict") continue;
      if (spec.modelArn !== undefined && spec.modelArn !== modelArn) continue;
      if (spec.at > after && spec.at <= upTo && (first === undefined || spec.at < first)) {
        first = spec.at;
      }
    }
    return first;
  }

  /** The billing window a `billingWindow` fault imposes on a copy run of the model starting at t. */
  billingWindowAt(modelArn: string, t: number): number | undefined {
    for (const { spec } of this.#entries) {
      if (spec.kind === "billingWindow" && covers(spec, modelArn, t)) return spec.windowMs;
    }
    return undefined;
  }

  /** The price a `priceChange` fault puts on the model's billing windows starting at t. */
  priceAt(modelArn: string, t: number): number | undefined {
    for (const { spec } of this.#entries) {
      if (spec.kind === "priceChange" && covers(spec, modelArn, t)) return spec.usdPerCmuMinute;
    }
    return undefined;
  }

  /** The instants in (start, end) where a `priceChange` of the model begins or ends, ascending. */
  priceChangesIn(modelArn: string, start: number, end: number): number[] {
    const edges = new Set<number>();
    for (const { spec } of this.#entries) {
      if (spec.kind !== "priceChange") continue;
      if (spec.modelArn !== undefined && spec.modelArn !== modelArn) continue;
      for (const t of [spec.from, spec.until])
        if (t !== undefined && t > start && t < end) edges.add(t);
    }
    return [...edges].sort((a, b) => a - b);
  }

  /** Whether any metric fault exists for the model, so the common case skips per-minute checks. */
  hasMetricFaults(modelArn: string): boolean {
    return this.#entries.some(
      ({ spec }) =>
        (spec.kind === "metricsLate" || spec.kind === "metricsMissing") &&
        (spec.modelArn === undefined || spec.modelArn === modelArn),
    );
  }

  /** Extra publish delay of a minute's datapoint, or undefined when it is never published. */
  metricDelay(modelArn: string, minute: number): number | undefined {
    let extra = 0;
    for (const { spec } of this.#entries) {
      if (spec.kind === "metricsMissing" && covers(spec, modelArn, minute)) return undefined;
      if (spec.kind === "metricsLate" && covers(spec, modelArn, minute)) {
        extra = Math.max(extra, spec.delayMs);
      }
    }
    return extra;
  }
}

function isRequestFault(spec: FaultSpec): spec is RequestFault {
  return REQUEST_KINDS.has(spec.kind);
}

function validateFault(spec: FaultSpec): void {
  const bad = (msg: string) => {
    throw new FaultSpecError(`fault ${spec.kind}: ${msg}`);
  };
  if (!KINDS.has(spec.kind)) bad(`unknown kind; allowed: ${[...KINDS].join(", ")}`);
  if (spec.kind === "evict") {
    if (!Number.isFinite(spec.at)) bad("at must be an instant (epoch ms)");
    return;
  }
  for (const key of ["from", "until"] as const) {
    const v = spec[key];
    if (v !== undefined && !Number.isFinite(v)) bad(`${key} must be an instant (epoch ms)`);
  }
  if (spec.from !== undefined && spec.until !== undefined && spec.until <= spec.from) {
    bad("until must be after from");
  }
  if ((spec.kind === "slow" || spec.kind === "metricsLate") && !(spec.delayMs >= 0)) {
    bad("delayMs must be >= 0");
  }
  if (spec.kind === "evictAfter" && !(spec.delayMs >= 1)) bad("delayMs must be >= 1");
  if (spec.kind === "slowRestore" && !(spec.restoreMs >= 0)) bad("restoreMs must be >= 0");
  if (spec.kind === "billingWindow" && !(spec.windowMs >= 1)) bad("windowMs must be >= 1");
  if (spec.kind === "priceChange" && !(spec.usdPerCmuMinute >= 0)) {
    bad("usdPerCmuMinute must be >= 0");
  }
  if (isRequestFault(spec) && spec.times !== undefined && !(spec.times >= 1)) {
    bad("times must be >= 1");
  }
}
