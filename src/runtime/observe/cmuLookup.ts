import type { RegionClientPool } from "../../aws/clients.js";
import { AwsCallError, errorNameOf } from "../../aws/errors.js";
import { getImportedModel } from "../../aws/importedModel.js";
import { describeMissingPrice, priceFieldPath } from "../../config/pricing.js";
import { DEFAULT_CMU_VERSION, type PricedUnits, versionPrice } from "../../domain/price.js";
import type { ModelConfig } from "../../domain/types.js";
import { MINUTE_MS } from "../../domain/units.js";
import { describeError, type Logger } from "../infra/logger.js";
import type { DaemonObserver } from "../infra/observer.js";
import type { ProblemLog } from "../infra/problemLog.js";

/** While a model's CMU is unknown, GetImportedModel is asked again this often. */
export const CMU_RETRY_MS = 10 * MINUTE_MS;

interface CmuEntry {
  cmu: number | undefined;
  /** The CMU version the CMUs are priced at; known with them. */
  cmuVersion: string | undefined;
  /** Why the CMU is unknown, for the spend line. */
  problem: string | undefined;
  triedAt: number;
}

/** A model's units as far as they are known: spend is known when `priced` is. */
export interface ModelUnits {
  readonly cmu: number | undefined;
  readonly cmuVersion: string | undefined;
  /** The CMUs at their version's price; undefined while either is unknown. */
  readonly priced: PricedUnits | undefined;
}

export interface CmuLookupDeps {
  readonly clients: RegionClientPool;
  readonly now: () => number;
  readonly observer: DaemonObserver;
  readonly problems: ProblemLog;
}

/**
 * Owns each model's custom model units per copy and their CMU version, which selects the
 * price: the config's figures where it gives customModelUnits (version default v1.0),
 * otherwise GetImportedModel's. Spend stays unknown while a lookup fails, and the minute
 * job asks again every 10 minutes; it also stays unknown while the version has no price in
 * the model's region (event price-unknown), never priced at another version's figure.
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

  /** The CMU version of the model's CMUs; undefined while they are unknown. */
  versionOf(name: string): string | undefined {
    return this.#entries.get(name)?.cmuVersion;
  }

  /** The model's units, priced from the model's config as it is now (a reload may price a version). */
  unitsOf(model: ModelConfig): ModelUnits {
    const entry = this.#entries.get(model.name);
    const cmu = entry?.cmu;
    const cmuVersion = entry?.cmuVersion;
    const price = cmuVersion === undefined ? undefined : versionPrice(model, cmuVersion);
    return {
      cmu,
      cmuVersion,
      priced: cmu === undefined || price === undefined ? undefined : { cmu, price },
    };
  }

  /**
   * Whether a reloaded model needs GetImportedModel again: its CMU setting or version
   * changed, or its CMUs or price are still unknown. An unchanged model asks nothing.
   */
  askAgain(model: ModelConfig, previous: ModelConfig | undefined): boolean {
    return (
      model.customModelUnits !== previous?.customModelUnits ||
      model.cmuVersion !== previous?.cmuVersion ||
      this.unitsOf(model).priced === undefined
    );
  }

  /** Why the model's spend is unknown on account of its units: CMU unknown, or its version unpriced. */
  problemOf(model: ModelConfig): string | undefined {
    const entry = this.#entries.get(model.name);
    if (entry?.problem !== undefined) return entry.problem;
    const version = entry?.cmuVersion;
    if (entry?.cmu === undefined || version === undefined) return undefined;
    return versionPrice(model, version) === undefined ? missingPrice(model, version) : undefined;
  }

  /** The model is gone, or is another model now (its ARN changed): what was found is void. */
  forget(name: string): void {
    this.#entries.delete(name);
    this.#deps.problems.clear(`cmu:${name}`);
    this.#deps.problems.clear(`price:${name}`);
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
      cmuVersion: undefined,
      problem: undefined,
      triedAt: now,
    };
    this.#entries.set(model.name, entry);
    if (model.customModelUnits !== undefined) {
      entry.cmu = model.customModelUnits;
      entry.cmuVersion = model.cmuVersion ?? DEFAULT_CMU_VERSION;
      entry.problem = undefined;
      this.#checkPrice(model, log);
      return;
    }
    entry.triedAt = now;
    try {
      const info = await getImportedModel(this.#deps.clients.get(model.region), model.modelArn);
      entry.cmu = info.customModelUnits;
      entry.cmuVersion = info.unitsVersion ?? DEFAULT_CMU_VERSION;
      entry.problem = undefined;
      this.#deps.problems.clear(`cmu:${model.name}`);
      const price = versionPrice(model, entry.cmuVersion);
      log.info(
        {
          event: "cmu",
          cmu: info.customModelUnits,
          unitsVersion: info.unitsVersion ?? null,
          usdPerCmuMinute: price?.usdPerCmuMinute ?? null,
          priceSource: price?.source ?? null,
          source: "bedrock:GetImportedModel",
        },
        `${info.customModelUnits} custom model units per copy, CMU ${entry.cmuVersion}${info.unitsVersion === undefined ? " (no version reported: v1.0 assumed)" : ""}`,
      );
      this.#checkPrice(model, log);
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

  /** A version the model's region has no price for: one warning (hourly while it lasts), spend unknown. */
  #checkPrice(model: ModelConfig, log: Logger): void {
    const version = this.#entries.get(model.name)?.cmuVersion;
    const key = `price:${model.name}`;
    if (version === undefined || versionPrice(model, version) !== undefined) {
      this.#deps.problems.clear(key);
      return;
    }
    this.#deps.problems.report(
      log,
      key,
      {
        event: "price-unknown",
        region: model.region,
        cmuVersion: version,
        field: priceFieldPath(model.region, version, "usdPerCmuMinute"),
        remedy: missingPrice(model, version),
      },
      `no price for CMU ${version} in ${model.region}: the model is kept warm, its spend is shown as unknown`,
      { level: "warn" },
    );
  }
}

/** What to set for a model whose CMU version has no price in its region. */
function missingPrice(model: ModelConfig, version: string): string {
  return describeMissingPrice(model.region, ["usdPerCmuMinute", "storageUsdPerCmuMonth"], version);
}
