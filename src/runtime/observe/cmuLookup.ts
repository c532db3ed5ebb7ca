import type { RegionClientPool } from "../../aws/clients.js";
import { AwsCallError, errorNameOf } from "../../aws/errors.js";
import { getImportedModel } from "../../aws/importedModel.js";
import type { ModelConfig } from "../../domain/types.js";
import { MINUTE_MS } from "../../domain/units.js";
import { describeError, type Logger } from "../infra/logger.js";
import type { DaemonObserver } from "../infra/observer.js";
import type { ProblemLog } from "../infra/problemLog.js";

/** While a model's CMU is unknown, GetImportedModel is asked again this often. */
export const CMU_RETRY_MS = 10 * MINUTE_MS;

interface CmuEntry {
  cmu: number | undefined;
  /** Why the CMU is unknown, for the spend line. */
  problem: string | undefined;
  triedAt: number;
}

export interface CmuLookupDeps {
  readonly clients: RegionClientPool;
  readonly now: () => number;
  readonly observer: DaemonObserver;
  readonly problems: ProblemLog;
}

/**
 * Owns each model's custom model units per copy: the config's figure where it gives one,
 * otherwise GetImportedModel's. Spend stays unknown while a lookup fails, and the minute
 * job asks again every 10 minutes.
 */
export class CmuLookup {
  readonly #deps: CmuLookupDeps;
  readonly #entries = new Map<string, CmuEntry>();

  constructor(deps: CmuLookupDeps) {
    this.#deps = deps;
  }

  /** Custom model units per copy; undefined while unknown (spend is then unknown). */
  cmuOf(name: string): number | undefined {
    return this.#entries.get(name)?.cmu;
  }

  problemOf(name: string): string | undefined {
    return this.#entries.get(name)?.problem;
  }

  /** The model is gone, or is another model now (its ARN changed): what was found is void. */
  forget(name: string): void {
    this.#entries.delete(name);
    this.#deps.problems.clear(`cmu:${name}`);
  }

  /** Models whose CMU is still unknown and whose last lookup is 10 minutes old. */
  due(models: Iterable<ModelConfig>, now: number): ModelConfig[] {
    return [...models].filter((m) => {
      const entry = this.#entries.get(m.name);
      return entry?.cmu === undefined && now - (entry?.triedAt ?? -Infinity) >= CMU_RETRY_MS;
    });
  }

  /**
   * Takes the config's customModelUnits, or asks GetImportedModel. A failed lookup keeps
   * what an earlier one found: the entry lives only while the model ARN stays the same.
   */
  async discover(model: ModelConfig, log: Logger): Promise<void> {
    const now = this.#deps.now();
    const entry = this.#entries.get(model.name) ?? {
      cmu: undefined,
      problem: undefined,
      triedAt: now,
    };
    this.#entries.set(model.name, entry);
    if (model.customModelUnits !== undefined) {
      entry.cmu = model.customModelUnits;
      entry.problem = undefined;
      return;
    }
    entry.triedAt = now;
    try {
      const info = await getImportedModel(this.#deps.clients.get(model.region), model.modelArn);
      entry.cmu = info.customModelUnits;
      entry.problem = undefined;
      this.#deps.problems.clear(`cmu:${model.name}`);
      log.info(
        {
          event: "cmu",
          cmu: info.customModelUnits,
          unitsVersion: info.unitsVersion ?? null,
          source: "bedrock:GetImportedModel",
        },
        `${info.customModelUnits} custom model units per copy`,
      );
    } catch (error) {
      if (error instanceof AwsCallError)
        this.#deps.observer.awsError?.(error.action, error.awsName, error.kind);
      if (entry.cmu !== undefined) return;
      entry.problem = describeError(error).message;
      this.#deps.problems.report(
        log,
        `cmu:${model.name}`,
        {
          event: "cmu-unknown",
          action: "bedrock:GetImportedModel",
          modelArn: model.modelArn,
          errorName: errorNameOf((error as { cause?: unknown }).cause ?? error),
          error: describeError(error),
          remedy:
            error instanceof AwsCallError && error.modelMissing
              ? error.remedy
              : `grant bedrock:GetImportedModel on ${model.modelArn}, or set models[].customModelUnits for ${model.name}`,
          retry: "every 10 minutes; logged at most hourly",
        },
        "custom model units unknown: the model is kept warm, its spend is shown as unknown",
      );
    }
  }
}
