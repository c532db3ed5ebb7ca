import { DEFAULT_CMU_VERSION, tablePrice } from "../config/pricing.js";
import type { Clock } from "../domain/clock.js";
import { KeepwarmError } from "../domain/errors.js";
import { BedrockMetrics } from "./bedrockMetrics.js";
import { CloudWatchStore, type ListMetricsOutput } from "./cloudwatch.js";
import { type CostBook, type GetCostAndUsageOutput, getCostAndUsage } from "./costExplorer.js";
import { answerInvocation } from "./dialects.js";
import { awsErrors, SimServiceError } from "./errors.js";
import { FaultSchedule } from "./faults.js";
import { type CallResult, lowerBound, ModelFleet, type ModelState } from "./fleet.js";
import type { GetMetricDataOutput } from "./getMetricData.js";
import { billModel, type Ledger, type TimeRange } from "./ledger.js";
import { type ListImportedModelsOutput, listImportedModels } from "./listImportedModels.js";
import { requestFault } from "./requestFaults.js";
import { type SimServer, startSimServer } from "./server.js";
import type {
  CloudWatchOperation,
  ImportedModelView,
  InvokeAnswer,
  SimResponse,
  SimService,
} from "./service.js";
import {
  parseImportedModelArn,
  resolveSimSettings,
  type SimModelSpec,
  type SimSettings,
  unitRandom,
} from "./settings.js";
import { SimUsers, type UserCallCounts } from "./users.js";

export interface SimulatorOptions {
  readonly clock: Clock;
  readonly settings?: Partial<SimSettings>;
  readonly models?: readonly SimModelSpec[];
}

/** A model that cannot be simulated (bad ARN or CMUs, added twice) or is not simulated. */
export class SimModelError extends KeepwarmError {
  override readonly name = "SimModelError";
}

/**
 * Bedrock imported models and their CloudWatch metrics, in process. Calls are recorded
 * at `clock.now()` and the fleet's state is derived from them lazily, so a test or
 * `keepwarm simulate` can drive a month of virtual time in seconds. `listen()` puts the
 * same simulator on the wire for the real SDK clients.
 */
export class Simulator implements SimService {
  readonly clock: Clock;
  readonly settings: SimSettings;
  /** Scripted misbehaviour; empty by default. */
  readonly faults = new FaultSchedule();
  readonly #fleets = new Map<string, ModelFleet>();
  /** Models deleted from the account: their history stays in the ledger, calls find nothing. */
  readonly #deleted = new Set<string>();
  /** When each deleted model was deleted: its storage is billed until then. */
  readonly #deletedAt = new Map<string, number>();
  readonly #byId = new Map<string, ModelFleet>();
  readonly #created = new Map<string, number>();
  readonly #cloudwatch: CloudWatchStore;
  readonly #getMetricData = { calls: 0, metricsRequested: 0 };
  /** The models' users, played up to the clock before anything is answered. */
  readonly #users = new SimUsers();

  constructor(options: SimulatorOptions) {
    this.clock = options.clock;
    this.settings = resolveSimSettings(options.settings);
    this.#cloudwatch = new CloudWatchStore(
      new BedrockMetrics(this.#fleets, this.faults, this.settings),
    );
    for (const spec of options.models ?? []) this.addModel(spec);
  }

  addModel(spec: SimModelSpec): void {
    const parts = parseImportedModelArn(spec.modelArn);
    if (!parts) {
      throw new SimModelError(
        `modelArn ${spec.modelArn} is not an imported-model ARN (arn:aws:bedrock:REGION:ACCOUNT:imported-model/ID, ID 12 characters [a-z0-9])`,
        { subject: spec.modelArn },
      );
    }
    if (!Number.isInteger(spec.customModelUnits) || spec.customModelUnits < 1) {
      throw new SimModelError(
        `customModelUnits of ${spec.modelArn} must be a positive integer, got ${spec.customModelUnits}`,
        { subject: spec.modelArn },
      );
    }
    if (this.#fleets.has(spec.modelArn)) {
      throw new SimModelError(`model ${spec.modelArn} is already simulated`, {
        subject: spec.modelArn,
      });
    }
    let settings = this.settings;
    if (spec.settings) {
      try {
        settings = resolveSimSettings({ ...this.settings, ...spec.settings });
      } catch (err) {
        throw new SimModelError(`settings of ${spec.modelArn}: ${(err as Error).message}`, {
          cause: err,
          subject: spec.modelArn,
        });
      }
    }
    const fleet = new ModelFleet(Object.freeze({ ...spec }), settings, this.faults);
    this.#fleets.set(spec.modelArn, fleet);
    this.#byId.set(parts.modelId, fleet);
    this.#created.set(spec.modelArn, this.clock.now());
    if (spec.traffic) this.#users.add(spec.modelArn, spec.traffic, settings.seed, this.clock.now());
  }

  /**
   * Deletes an imported model as DeleteImportedModel would: InvokeModel answers that the
   * model identifier is invalid, GetImportedModel that it was not found, and no copy is up.
   */
  deleteModel(modelArn: string): void {
    if (!this.#fleets.has(modelArn)) {
      throw new SimModelError(`no model ${modelArn} to delete`, { subject: modelArn });
    }
    this.faults.add({ kind: "evict", modelArn, at: this.clock.now() });
    this.#deleted.add(modelArn);
    this.#deletedAt.set(modelArn, this.clock.now());
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
    const now = this.#playUsers();
    const fleet = this.#deleted.has(modelArn) ? undefined : this.#fleets.get(modelArn);
    const fault = requestFault(
      this.faults,
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
    const result = this.#call(fleet, now);
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
    const found =
      this.#fleets.get(identifier) ??
      this.#byId.get(identifier) ??
      [...this.#fleets.values()].find((f) => f.spec.modelName === identifier);
    const fleet = found && !this.#deleted.has(found.spec.modelArn) ? found : undefined;
    const arn = fleet?.spec.modelArn;
    const fault = requestFault(
      this.faults,
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
          customModelUnitsVersion: spec.cmuVersion ?? DEFAULT_CMU_VERSION,
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
    const now = this.#playUsers();
    const fault = requestFault(this.faults, operation, undefined, now, `cloudwatch:${operation}`);
    if (fault.kind !== "ok") return fault;
    try {
      const value =
        operation === "GetMetricData"
          ? this.#answerGetMetricData(input, now, region)
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

  /**
   * GetMetricData calls answered so far and the metrics they requested (one per query, each
   * page a call of its own): what CloudWatch bills, $0.01 per 1,000 metrics requested.
   */
  getMetricDataUsage(): { readonly calls: number; readonly metricsRequested: number } {
    return { ...this.#getMetricData };
  }

  #answerGetMetricData(
    input: Record<string, unknown>,
    now: number,
    region: string | undefined,
  ): GetMetricDataOutput {
    const value = this.#cloudwatch.getMetricData(input, now, { region });
    const queries = input.MetricDataQueries;
    this.#getMetricData.calls++;
    this.#getMetricData.metricsRequested += Array.isArray(queries) ? queries.length : 0;
    return value;
  }

  /** Bedrock's ListImportedModels: the models of `region` (every region's in process) not deleted. */
  listImportedModels(
    query: URLSearchParams,
    region?: string,
  ): SimResponse<ListImportedModelsOutput> {
    const now = this.#playUsers();
    const fault = requestFault(
      this.faults,
      "ListImportedModels",
      undefined,
      now,
      "bedrock:ListImportedModels",
    );
    if (fault.kind !== "ok") return fault;
    const models = [...this.#fleets.values()]
      .filter((f) => !this.#deleted.has(f.spec.modelArn))
      .map((f) => ({ spec: f.spec, createdAt: this.#created.get(f.spec.modelArn) ?? now }));
    return answered(() => listImportedModels(models, query, region), fault.delayMs);
  }

  /** Cost Explorer's GetCostAndUsage over what the simulator billed (costExplorer.ts). */
  costAndUsage(input: Record<string, unknown>): SimResponse<GetCostAndUsageOutput> {
    const now = this.#playUsers();
    const fault = requestFault(
      this.faults,
      "GetCostAndUsage",
      undefined,
      now,
      "ce:GetCostAndUsage",
      "arn:aws:ce:us-east-1:123456789012:/GetCostAndUsage",
    );
    if (fault.kind !== "ok") return fault;
    return answered(() => getCostAndUsage(input, this.#costBook(now)), fault.delayMs);
  }

  #costBook(now: number): CostBook {
    const models = [...this.#fleets.values()].map((fleet) => {
      fleet.advance(now);
      const arn = fleet.spec.modelArn;
      return {
        spec: fleet.spec,
        createdAt: this.#created.get(arn) ?? now,
        deletedAt: this.#deletedAt.get(arn),
        runs: fleet.runs,
      };
    });
    return {
      now,
      models,
      faults: this.faults,
      billingWindowMs: this.settings.billingWindowMs,
      usdPerCmuMinute: this.settings.usdPerCmuMinute,
    };
  }

  /** The settings a model is simulated with: the simulator's, with its own on top. */
  settingsOf(modelArn: string): SimSettings {
    return this.#fleet(modelArn).settings;
  }

  /** Whether a user's call at clock.now() would be answered, and by how many copies. */
  modelState(modelArn: string): ModelState {
    return this.#fleet(modelArn).stateAt(this.#playUsers());
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
    fleet.advance(this.#playUsers());
    return fleet.episodes
      .filter(
        (ep) => ep.readyAt <= this.clock.now() && (ep.end === undefined || ep.end > ep.readyAt),
      )
      .map((ep) => ({ start: ep.readyAt, end: ep.end }));
  }

  /** Successful InvokeModel calls of the model, in the range when given. */
  invokeCount(modelArn: string, range?: TimeRange): number {
    this.#playUsers();
    const successes = this.#fleet(modelArn).successes;
    if (!range) return successes.length;
    return lowerBound(successes, range.end) - lowerBound(successes, range.start);
  }

  /**
   * How the users' calls to the model (its traffic profile) were answered up to
   * clock.now(), in the range when given: the ground truth of the cold calls users met.
   */
  userCalls(modelArn: string, range?: TimeRange): UserCallCounts {
    this.#fleet(modelArn);
    this.#playUsers();
    return this.#users.counts(modelArn, range);
  }

  /** The instants of the users' calls to the model up to clock.now(), in the range when given. */
  userCallTimes(modelArn: string, range?: TimeRange): readonly number[] {
    this.#fleet(modelArn);
    this.#playUsers();
    return this.#users.callTimes(modelArn, range);
  }

  /** What AWS would bill up to clock.now(), per model and copy; only windows starting in `range` when given. */
  ledger(range?: TimeRange): Ledger {
    const asOf = this.#playUsers();
    const options = {
      windowMs: this.settings.billingWindowMs,
      usdPerCmuMinute: this.settings.usdPerCmuMinute,
      asOf,
      ...(range ? { range } : {}),
    };
    const models = [...this.#fleets.values()].map((fleet) => {
      fleet.advance(asOf);
      const { modelArn, customModelUnits } = fleet.spec;
      const cmuVersion = fleet.spec.cmuVersion ?? DEFAULT_CMU_VERSION;
      const region = parseImportedModelArn(modelArn)?.region ?? "";
      // AWS's list price of the model's region and CMU version; the setting where the table has none.
      const listPrice = tablePrice(region, cmuVersion)?.usdPerCmuMinute;
      return billModel(modelArn, customModelUnits, fleet.runs, {
        ...options,
        usdPerCmuMinute: listPrice ?? this.settings.usdPerCmuMinute,
        cmuVersion,
      });
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
    if (!fleet) {
      throw new SimModelError(`model ${modelArn} is not simulated`, { subject: modelArn });
    }
    return fleet;
  }

  /**
   * Users' calls and keepwarm's requests alike: a cold model starts restoring and answers
   * ModelNotReady, a busy one throttles, a warm one answers.
   */
  #call(fleet: ModelFleet, t: number): CallResult {
    const restoreMs = fleet.isColdAt(t) ? this.#restoreDuration(fleet, t) : 0;
    return fleet.call(t, restoreMs);
  }

  /** Plays the users' calls due by clock.now() (user calls meet no request faults); returns now. */
  #playUsers(): number {
    const now = this.clock.now();
    this.#users.playUntil(now, (modelArn, at) => {
      const fleet = this.#deleted.has(modelArn) ? undefined : this.#fleets.get(modelArn);
      return fleet && this.#call(fleet, at);
    });
    return now;
  }

  #restoreDuration(fleet: ModelFleet, t: number): number {
    const scripted = this.faults.restoreOverride(fleet.spec.modelArn, t);
    if (scripted !== undefined) return scripted;
    const { restoreMs, restoreJitterMs, seed } = fleet.settings;
    // The n-th restore of a model, independent of call order.
    const u = unitRandom(seed, fleet.spec.modelArn, fleet.episodes.length);
    return Math.round(restoreMs + (2 * u - 1) * restoreJitterMs);
  }
}

/** An answer computed by `answer`, or the AWS error it refused the input with. */
function answered<T>(answer: () => T, delayMs: number): SimResponse<T> {
  try {
    return { kind: "ok", value: answer(), delayMs };
  } catch (e) {
    if (e instanceof SimServiceError) return { kind: "error", error: e.shape, delayMs };
    throw e;
  }
}
