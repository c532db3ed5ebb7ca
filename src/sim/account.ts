/**
 * The simulated account under the Simulator: its imported models (added, deleted), their
 * users, each call's effect on a model's copies (a cold model restores, a busy one
 * throttles), and the ground truth tests and `keepwarm simulate` read: each model's state,
 * warm stretches and calls, and what AWS would bill.
 */
import { DEFAULT_CMU_VERSION, tablePrice } from "../config/pricing.js";
import type { Clock } from "../domain/clock.js";
import { KeepwarmError } from "../domain/errors.js";
import type { CostBook } from "./costExplorer.js";
import { FaultSchedule } from "./faults.js";
import { type CallResult, lowerBound, ModelFleet, type ModelState } from "./fleet.js";
import { billModel, type Ledger, type TimeRange } from "./ledger.js";
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
 * The models of a simulated account and the calls made to them. Calls are recorded at
 * `clock.now()` and each model's state is derived from them lazily. The Simulator answers
 * AWS's requests over it.
 */
export class SimAccount {
  readonly clock: Clock;
  readonly settings: SimSettings;
  /** Scripted misbehaviour; empty by default. */
  readonly faults = new FaultSchedule();
  readonly #fleets = new Map<string, ModelFleet>();
  /** Every simulated model by ARN, deleted ones included: what BedrockMetrics reads. */
  protected readonly fleets: ReadonlyMap<string, ModelFleet> = this.#fleets;
  /** Models deleted from the account: their history stays in the ledger, calls find nothing. */
  readonly #deleted = new Set<string>();
  /** When each deleted model was deleted: its storage is billed until then. */
  readonly #deletedAt = new Map<string, number>();
  readonly #byId = new Map<string, ModelFleet>();
  readonly #created = new Map<string, number>();
  /** The models' users, played up to the clock before anything is answered. */
  readonly #users = new SimUsers();

  constructor(options: SimulatorOptions) {
    this.clock = options.clock;
    this.settings = resolveSimSettings(options.settings);
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

  /** The settings a model is simulated with: the simulator's, with its own on top. */
  settingsOf(modelArn: string): SimSettings {
    return this.#fleet(modelArn).settings;
  }

  /** Whether a user's call at clock.now() would be answered, and by how many copies. */
  modelState(modelArn: string): ModelState {
    return this.#fleet(modelArn).stateAt(this.playUsers());
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
    fleet.advance(this.playUsers());
    return fleet.episodes
      .filter(
        (ep) => ep.readyAt <= this.clock.now() && (ep.end === undefined || ep.end > ep.readyAt),
      )
      .map((ep) => ({ start: ep.readyAt, end: ep.end }));
  }

  /** Successful InvokeModel calls of the model, in the range when given. */
  invokeCount(modelArn: string, range?: TimeRange): number {
    this.playUsers();
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
    this.playUsers();
    return this.#users.counts(modelArn, range);
  }

  /** The instants of the users' calls to the model up to clock.now(), in the range when given. */
  userCallTimes(modelArn: string, range?: TimeRange): readonly number[] {
    this.#fleet(modelArn);
    this.playUsers();
    return this.#users.callTimes(modelArn, range);
  }

  /** What AWS would bill up to clock.now(), per model and copy; only windows starting in `range` when given. */
  ledger(range?: TimeRange): Ledger {
    const asOf = this.playUsers();
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

  /** The model's fleet; undefined when it is not simulated or was deleted. */
  protected liveFleet(modelArn: string): ModelFleet | undefined {
    return this.#deleted.has(modelArn) ? undefined : this.#fleets.get(modelArn);
  }

  /** A model by ARN, 12-character id or model name; undefined when not found or deleted. */
  protected findFleet(identifier: string): ModelFleet | undefined {
    const found =
      this.#fleets.get(identifier) ??
      this.#byId.get(identifier) ??
      [...this.#fleets.values()].find((f) => f.spec.modelName === identifier);
    return found && !this.#deleted.has(found.spec.modelArn) ? found : undefined;
  }

  /** When the model was added; `now` when not known. */
  protected createdAt(modelArn: string, now: number): number {
    return this.#created.get(modelArn) ?? now;
  }

  /** The models not deleted, each with when it was added: what ListImportedModels lists. */
  protected liveModels(now: number): { spec: SimModelSpec; createdAt: number }[] {
    return [...this.#fleets.values()]
      .filter((f) => !this.#deleted.has(f.spec.modelArn))
      .map((f) => ({ spec: f.spec, createdAt: this.#created.get(f.spec.modelArn) ?? now }));
  }

  /** What Cost Explorer answers from (costExplorer.ts): every model's runs up to `now`. */
  protected costBook(now: number): CostBook {
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
  protected call(fleet: ModelFleet, t: number): CallResult {
    const restoreMs = fleet.isColdAt(t) ? this.#restoreDuration(fleet, t) : 0;
    return fleet.call(t, restoreMs);
  }

  /** Plays the users' calls due by clock.now() (user calls meet no request faults); returns now. */
  protected playUsers(): number {
    const now = this.clock.now();
    this.#users.playUntil(now, (modelArn, at) => {
      const fleet = this.liveFleet(modelArn);
      return fleet && this.call(fleet, at);
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
