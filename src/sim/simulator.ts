import type { Clock } from "../domain/clock.js";
import {
  CloudWatchStore,
  type GetMetricDataOutput,
  type ListMetricsOutput,
  type MetricKey,
  type MetricScope,
  type PointVisitor,
  type SeriesReader,
  type StatSet,
} from "./cloudwatch.js";
import { answerInvocation, type Dialect } from "./dialects.js";
import { type AwsErrorShape, awsErrors, SimServiceError } from "./errors.js";
import { FaultSchedule, type SimOperation } from "./faults.js";
import { lowerBound, ModelFleet, type ModelState } from "./fleet.js";
import { billModel, type Ledger, type TimeRange } from "./ledger.js";
import { startSimServer } from "./server.js";
import {
  parseImportedModelArn,
  resolveSimSettings,
  type SimModelSpec,
  type SimSettings,
  unitRandom,
} from "./settings.js";

export const BEDROCK_NAMESPACE = "AWS/Bedrock";
export const MODEL_COPY_METRIC = "ModelCopy";
export const INVOCATIONS_METRIC = "Invocations";
export const MODEL_DIMENSION = "ModelId";

const MINUTE = 60_000;

/** How the simulator answers one call: as AWS would, or by dropping the connection. */
export type SimResponse<T> =
  | { readonly kind: "ok"; readonly value: T; readonly delayMs: number }
  | { readonly kind: "error"; readonly error: AwsErrorShape; readonly delayMs: number }
  | { readonly kind: "dropped" };

export interface InvokeAnswer {
  /** The JSON response body, in the dialect of the request. */
  readonly body: string;
  readonly dialect: Dialect;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface ImportedModelView {
  readonly modelArn: string;
  readonly modelName: string;
  readonly creationTime: string;
  readonly modelArchitecture: string;
  readonly instructSupported: boolean;
  readonly customModelUnits: {
    readonly customModelUnitsPerModelCopy: number;
    readonly customModelUnitsVersion: string;
  };
}

export type CloudWatchOperation = Extract<
  SimOperation,
  "GetMetricData" | "ListMetrics" | "PutMetricData"
>;

export interface SimulatorOptions {
  readonly clock: Clock;
  readonly settings?: Partial<SimSettings>;
  readonly models?: readonly SimModelSpec[];
}

/** A model that cannot be simulated (bad ARN or CMUs, added twice) or is not simulated. */
export class SimModelError extends Error {
  override readonly name = "SimModelError";
}

export interface SimServer {
  readonly url: string;
  readonly port: number;
  /** Connections accepted so far, by protocol. */
  readonly connections: { readonly http1: number; readonly http2: number };
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/**
 * Bedrock imported models and their CloudWatch metrics, in process. Calls are recorded
 * at `clock.now()` and the fleet's state is derived from them lazily, so a test or
 * `keepwarm simulate` can drive a month of virtual time in seconds. `listen()` puts the
 * same simulator on the wire for the real SDK clients.
 */
export class Simulator {
  readonly clock: Clock;
  readonly settings: SimSettings;
  /** Scripted misbehaviour; empty by default. */
  readonly faults = new FaultSchedule();
  readonly #fleets = new Map<string, ModelFleet>();
  readonly #byId = new Map<string, ModelFleet>();
  readonly #created = new Map<string, number>();
  readonly #cloudwatch: CloudWatchStore;

  constructor(options: SimulatorOptions) {
    this.clock = options.clock;
    this.settings = resolveSimSettings(options.settings);
    this.#cloudwatch = new CloudWatchStore({
      reader: (key, scope) => this.#syntheticReader(key, scope),
      list: (now, scope) => this.#syntheticList(now, scope),
      accounts: () => [
        ...new Set(this.models().map((m) => parseImportedModelArn(m.modelArn)?.accountId ?? "")),
      ],
    });
    for (const spec of options.models ?? []) this.addModel(spec);
  }

  addModel(spec: SimModelSpec): void {
    const parts = parseImportedModelArn(spec.modelArn);
    if (!parts) {
      throw new SimModelError(
        `modelArn ${spec.modelArn} is not an imported-model ARN (arn:aws:bedrock:REGION:ACCOUNT:imported-model/ID, ID 12 characters [a-z0-9])`,
      );
    }
    if (!Number.isInteger(spec.customModelUnits) || spec.customModelUnits < 1) {
      throw new SimModelError(
        `customModelUnits of ${spec.modelArn} must be a positive integer, got ${spec.customModelUnits}`,
      );
    }
    if (this.#fleets.has(spec.modelArn)) {
      throw new SimModelError(`model ${spec.modelArn} is already simulated`);
    }
    let settings = this.settings;
    if (spec.settings) {
      try {
        settings = resolveSimSettings({ ...this.settings, ...spec.settings });
      } catch (err) {
        throw new SimModelError(`settings of ${spec.modelArn}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    const fleet = new ModelFleet(Object.freeze({ ...spec }), settings, this.faults);
    this.#fleets.set(spec.modelArn, fleet);
    this.#byId.set(parts.modelId, fleet);
    this.#created.set(spec.modelArn, this.clock.now());
  }

  models(): readonly SimModelSpec[] {
    return [...this.#fleets.values()].map((f) => f.spec);
  }

  /**
   * InvokeModel at clock.now(). `body` is the request body as sent. A streaming call is the
   * same call to the model (billing, ModelCopy, Invocations, InvokeModel faults); only the
   * IAM action it names differs.
   */
  invokeModel(
    modelArn: string,
    body: string | Uint8Array,
    operation: "InvokeModel" | "InvokeModelWithResponseStream" = "InvokeModel",
  ): SimResponse<InvokeAnswer> {
    const now = this.clock.now();
    const fleet = this.#fleets.get(modelArn);
    const fault = this.#requestFault(
      "InvokeModel",
      fleet ? modelArn : undefined,
      now,
      `bedrock:${operation}`,
    );
    if (fault.kind !== "ok") return fault;
    if (!fleet) return { kind: "error", error: awsErrors.invalidModelIdentifier(), delayMs: 0 };
    const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
    const answer = answerInvocation(text, modelArn, now);
    // A cold model answers ModelNotReady whatever the body; a warm one rejects a bad body
    // without counting it as a call that keeps it warm.
    if ("type" in answer && fleet.stateAt(now).state === "warm") {
      return { kind: "error", error: answer, delayMs: fault.delayMs };
    }
    const restoreMs = fleet.isColdAt(now) ? this.#restoreDuration(fleet, now) : 0;
    const result = fleet.call(now, restoreMs);
    if (result.kind === "notReady") {
      return { kind: "error", error: awsErrors.modelNotReady(), delayMs: fault.delayMs };
    }
    if (result.kind === "overloaded") {
      return { kind: "error", error: awsErrors.throttling(), delayMs: fault.delayMs };
    }
    if ("type" in answer) return { kind: "error", error: answer, delayMs: fault.delayMs };
    return { kind: "ok", value: answer, delayMs: fault.delayMs };
  }

  /** GetImportedModel by ARN, 12-character id or model name. */
  getImportedModel(identifier: string): SimResponse<ImportedModelView> {
    const now = this.clock.now();
    const fleet =
      this.#fleets.get(identifier) ??
      this.#byId.get(identifier) ??
      [...this.#fleets.values()].find((f) => f.spec.modelName === identifier);
    const arn = fleet?.spec.modelArn;
    const fault = this.#requestFault(
      "GetImportedModel",
      arn,
      now,
      "bedrock:GetImportedModel",
      identifier,
    );
    if (fault.kind !== "ok") return fault;
    if (!fleet) {
      return { kind: "error", error: awsErrors.importedModelNotFound(identifier), delayMs: 0 };
    }
    const spec = fleet.spec;
    const parts = parseImportedModelArn(spec.modelArn);
    return {
      kind: "ok",
      delayMs: fault.delayMs,
      value: {
        modelArn: spec.modelArn,
        modelName: spec.modelName ?? parts?.modelId ?? spec.modelArn,
        creationTime: new Date(this.#created.get(spec.modelArn) ?? now).toISOString(),
        modelArchitecture: spec.architecture ?? "llama",
        instructSupported: spec.instructSupported ?? true,
        customModelUnits: {
          customModelUnitsPerModelCopy: spec.customModelUnits,
          customModelUnitsVersion: "v1.0",
        },
      },
    };
  }

  /**
   * A CloudWatch operation with its AWS JSON 1.0 input and output. `region` is the region
   * the call is signed for: only that region's models and stored metrics are seen. Without
   * it (in process) every region is.
   */
  cloudwatch(
    operation: "GetMetricData",
    input: Record<string, unknown>,
    region?: string,
  ): SimResponse<GetMetricDataOutput>;
  cloudwatch(
    operation: "ListMetrics",
    input: Record<string, unknown>,
    region?: string,
  ): SimResponse<ListMetricsOutput>;
  cloudwatch(
    operation: "PutMetricData",
    input: Record<string, unknown>,
    region?: string,
  ): SimResponse<Record<string, never>>;
  cloudwatch(
    operation: CloudWatchOperation,
    input: Record<string, unknown>,
    region?: string,
  ): SimResponse<unknown>;
  cloudwatch(
    operation: CloudWatchOperation,
    input: Record<string, unknown>,
    region?: string,
  ): SimResponse<unknown> {
    const now = this.clock.now();
    const fault = this.#requestFault(operation, undefined, now, `cloudwatch:${operation}`);
    if (fault.kind !== "ok") return fault;
    try {
      const value =
        operation === "GetMetricData"
          ? this.#cloudwatch.getMetricData(input, now, { region })
          : operation === "ListMetrics"
            ? this.#cloudwatch.listMetrics(input, now, { region })
            : this.#cloudwatch.putMetricData(input, now, { region });
      return { kind: "ok", value, delayMs: fault.delayMs };
    } catch (e) {
      if (e instanceof SimServiceError)
        return { kind: "error", error: e.shape, delayMs: fault.delayMs };
      throw e;
    }
  }

  /** The settings a model is simulated with: the simulator's, with its own on top. */
  settingsOf(modelArn: string): SimSettings {
    return this.#fleet(modelArn).settings;
  }

  /** Whether a user's call at clock.now() would be answered, and by how many copies. */
  modelState(modelArn: string): ModelState {
    return this.#fleet(modelArn).stateAt(this.clock.now());
  }

  /**
   * The stretches in which the model had a copy up (a user's call would have been
   * answered), up to clock.now(): each from a restore's end to the unload. A last
   * stretch still up has no end.
   */
  warmSpans(
    modelArn: string,
  ): readonly { readonly start: number; readonly end: number | undefined }[] {
    const fleet = this.#fleet(modelArn);
    fleet.advance(this.clock.now());
    return fleet.episodes
      .filter(
        (ep) => ep.readyAt <= this.clock.now() && (ep.end === undefined || ep.end > ep.readyAt),
      )
      .map((ep) => ({ start: ep.readyAt, end: ep.end }));
  }

  /** Successful InvokeModel calls of the model, in the range when given. */
  invokeCount(modelArn: string, range?: TimeRange): number {
    const successes = this.#fleet(modelArn).successes;
    if (!range) return successes.length;
    return lowerBound(successes, range.end) - lowerBound(successes, range.start);
  }

  /** What AWS would bill up to clock.now(), per model and copy; only windows starting in `range` when given. */
  ledger(range?: TimeRange): Ledger {
    const asOf = this.clock.now();
    const options = {
      windowMs: this.settings.billingWindowMs,
      usdPerCmuMinute: this.settings.usdPerCmuMinute,
      asOf,
      ...(range ? { range } : {}),
    };
    const models = [...this.#fleets.values()].map((fleet) => {
      fleet.advance(asOf);
      return billModel(fleet.spec.modelArn, fleet.spec.customModelUnits, fleet.runs, options);
    });
    return {
      asOf,
      range,
      billingWindowMs: this.settings.billingWindowMs,
      usdPerCmuMinute: this.settings.usdPerCmuMinute,
      models,
      cmuMinutes: models.reduce((n, m) => n + m.cmuMinutes, 0),
      usd: models.reduce((n, m) => n + m.usd, 0),
    };
  }

  /** Serves this simulator over HTTP/1.1 and h2c on one port (127.0.0.1 unless told otherwise). */
  async listen(options: { host?: string; port?: number } = {}): Promise<SimServer> {
    return startSimServer(this, options);
  }

  #fleet(modelArn: string): ModelFleet {
    const fleet = this.#fleets.get(modelArn);
    if (!fleet) throw new SimModelError(`model ${modelArn} is not simulated`);
    return fleet;
  }

  #restoreDuration(fleet: ModelFleet, t: number): number {
    const scripted = this.faults.restoreOverride(fleet.spec.modelArn, t);
    if (scripted !== undefined) return scripted;
    const { restoreMs, restoreJitterMs, seed } = fleet.settings;
    // The n-th restore of a model, independent of call order.
    const u = unitRandom(seed, fleet.spec.modelArn, fleet.episodes.length);
    return Math.round(restoreMs + (2 * u - 1) * restoreJitterMs);
  }

  #requestFault(
    operation: SimOperation,
    modelArn: string | undefined,
    now: number,
    action: string,
    resource: string = modelArn ?? "*",
  ):
    | { kind: "ok"; delayMs: number }
    | { kind: "error"; error: AwsErrorShape; delayMs: number }
    | { kind: "dropped" } {
    const fault = this.faults.takeRequestFault(operation, modelArn, now);
    if (!fault) return { kind: "ok", delayMs: 0 };
    switch (fault.kind) {
      case "slow":
        return { kind: "ok", delayMs: fault.delayMs };
      case "dropConnection":
        return { kind: "dropped" };
      case "throttling":
        return { kind: "error", error: awsErrors.throttling(), delayMs: 0 };
      case "serviceUnavailable":
        return { kind: "error", error: awsErrors.serviceUnavailable(), delayMs: 0 };
      case "accessDenied": {
        const account = (modelArn && parseImportedModelArn(modelArn)?.accountId) ?? "123456789012";
        return {
          kind: "error",
          error: awsErrors.accessDenied(action, resource, account),
          delayMs: 0,
        };
      }
      case "expiredToken":
        return { kind: "error", error: awsErrors.expiredToken(), delayMs: 0 };
      case "cloudwatchThrottling":
        return { kind: "error", error: awsErrors.cloudwatchThrottling(), delayMs: 0 };
    }
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

  #syntheticReader(key: MetricKey, scope: MetricScope): SeriesReader | undefined {
    const fleet = this.#modelOfKey(key);
    if (!fleet || !this.#inScope(fleet, scope)) return undefined;
    if (key.metricName === MODEL_COPY_METRIC) {
      return (start, end, now, visit) => this.#modelCopyPoints(fleet, start, end, now, visit);
    }
    if (key.metricName === INVOCATIONS_METRIC) {
      return (start, end, now, visit) => this.#invocationPoints(fleet, start, end, now, visit);
    }
    return undefined;
  }

  #syntheticList(now: number, scope: MetricScope): MetricKey[] {
    const keys: MetricKey[] = [];
    for (const fleet of this.#fleets.values()) {
      if (!this.#inScope(fleet, scope)) continue;
      fleet.advance(now);
      const first = fleet.episodes[0];
      const dimensions = [{ Name: MODEL_DIMENSION, Value: fleet.spec.modelArn }];
      if (first && this.#visibleBy(fleet, minuteOf(first.restoreStart), now)) {
        keys.push({ namespace: BEDROCK_NAMESPACE, metricName: MODEL_COPY_METRIC, dimensions });
      }
      const firstCall = fleet.successes[0];
      if (firstCall !== undefined && this.#visibleBy(fleet, minuteOf(firstCall), now)) {
        keys.push({ namespace: BEDROCK_NAMESPACE, metricName: INVOCATIONS_METRIC, dimensions });
      }
    }
    return keys;
  }

  /** Whether the datapoint of the minute starting at `minute` is published by `now`. */
  #visibleBy(fleet: ModelFleet, minute: number, now: number): boolean {
    const extra = this.faults.hasMetricFaults(fleet.spec.modelArn)
      ? this.faults.metricDelay(fleet.spec.modelArn, minute)
      : 0;
    return extra !== undefined && minute + MINUTE + this.settings.publishDelayMs + extra <= now;
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
    const last = Math.min(end - 1, now - MINUTE - this.settings.publishDelayMs);
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
    const faulty = this.faults.hasMetricFaults(fleet.spec.modelArn);
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      const t = first + i * MINUTE;
      if (v < 0 || (faulty && !this.#visibleBy(fleet, t, now))) continue;
      visit(t, singleSample(v), undefined);
    }
  }

  /** Successful calls per minute, each call a sample of 1, for minutes that had any. */
  #invocationPoints(
    fleet: ModelFleet,
    start: number,
    end: number,
    now: number,
    visit: PointVisitor,
  ): void {
    fleet.advance(now);
    const s = fleet.successes;
    const from = Math.ceil(start / MINUTE) * MINUTE;
    for (let i = lowerBound(s, from); i < s.length; ) {
      const minute = minuteOf(s[i] as number);
      if (minute >= end) break;
      let j = i;
      while (j < s.length && minuteOf(s[j] as number) === minute) j++;
      if (this.#visibleBy(fleet, minute, now)) {
        const count = j - i;
        visit(minute, { count, sum: count, min: 1, max: 1 }, undefined);
      }
      i = j;
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
