import type { RegionClients } from "../aws/clients.js";
import {
  getImportedModel,
  type ImportedModelInfo,
  listImportedModels,
} from "../aws/importedModel.js";
import { DEFAULT_METRIC } from "../config/defaults.js";
import { tablePrice, tableSource } from "../config/pricing.js";
import { DEFAULT_CMU_VERSION, versionPrice } from "../domain/price.js";
import type { MetricSource, ModelConfig, Price, ResolvedConfig } from "../domain/types.js";
import { familyOf, type UsageKey } from "../domain/usageType.js";

/** What billing one model takes: its CMUs, their version's price, its family and its ModelCopy. */
export interface ModelFacts {
  /** The config's name; for an unmanaged model its import name, else its ARN. */
  readonly name: string;
  readonly modelArn: string;
  readonly managed: boolean;
  readonly key: UsageKey;
  /** Undefined when neither the config nor GetImportedModel gives it. */
  readonly cmu: number | undefined;
  /** Undefined when nobody priced the model's CMU version in its region. */
  readonly price: Price | undefined;
  /** The import's creation (storage is billed from it); undefined when not known. */
  readonly createdAt: number | undefined;
  readonly metric: MetricSource;
}

/** Facts and what kept some of them unknown, for the report's notes. */
export interface FactsRead {
  readonly facts: readonly ModelFacts[];
  readonly notes: readonly string[];
}

/**
 * A configured model's facts: CMUs and version from the config when it gives them, else from
 * GetImportedModel, which also gives the family and the creation time. A failed
 * GetImportedModel leaves them unknown and says so.
 */
export async function managedFacts(model: ModelConfig, clients: RegionClients): Promise<FactsRead> {
  const { info, note } = await describe(clients, model.modelArn, model.name);
  const configured = model.customModelUnits;
  const cmuVersion =
    configured !== undefined
      ? (model.cmuVersion ?? DEFAULT_CMU_VERSION)
      : (info?.unitsVersion ?? DEFAULT_CMU_VERSION);
  const notes = note ? [note] : [];
  const price = versionPrice(model, cmuVersion);
  if (!price) {
    notes.push(
      `${model.name}: no price for CMU version ${cmuVersion} in ${model.region}; set pricing.regions.${model.region}.versions.${cmuVersion}`,
    );
  }
  return {
    facts: [
      {
        name: model.name,
        modelArn: model.modelArn,
        managed: true,
        key: { region: model.region, cmuVersion, family: familyOf(info?.architecture) },
        cmu: configured ?? info?.customModelUnits,
        price,
        createdAt: info?.createdAt,
        metric: model.metric,
      },
    ],
    notes,
  };
}

/**
 * The imported models of `region` the config does not name (ListImportedModels), each with
 * GetImportedModel's CMUs and version, priced as the config prices that region.
 */
export async function unmanagedFacts(
  config: ResolvedConfig,
  region: string,
  clients: RegionClients,
): Promise<FactsRead> {
  const named = new Set(config.models.map((m) => m.modelArn));
  let listed: Awaited<ReturnType<typeof listImportedModels>>;
  try {
    listed = await listImportedModels(clients);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return {
      facts: [],
      notes: [`imported models of ${region} not listed, so unmanaged ones are not named: ${why}`],
    };
  }
  const read = await Promise.all(
    listed
      .filter((m) => !named.has(m.modelArn))
      .map(async (m): Promise<FactsRead> => {
        const name = m.modelName ?? m.modelArn;
        const { info, note } = await describe(clients, m.modelArn, name);
        const cmuVersion = info?.unitsVersion ?? DEFAULT_CMU_VERSION;
        const fact: ModelFacts = {
          name,
          modelArn: m.modelArn,
          managed: false,
          key: { region, cmuVersion, family: familyOf(m.architecture ?? info?.architecture) },
          cmu: info?.customModelUnits,
          price: priceIn(config, region, cmuVersion),
          createdAt: m.createdAt ?? info?.createdAt,
          metric: {
            namespace: DEFAULT_METRIC.namespace,
            metricName: DEFAULT_METRIC.name,
            dimensionName: DEFAULT_METRIC.dimension,
            dimensionValue: m.modelArn,
          },
        };
        return { facts: [fact], notes: note ? [note] : [] };
      }),
  );
  return { facts: read.flatMap((r) => r.facts), notes: read.flatMap((r) => r.notes) };
}

async function describe(
  clients: RegionClients,
  modelArn: string,
  name: string,
): Promise<{ info: ImportedModelInfo | undefined; note: string | undefined }> {
  try {
    return { info: await getImportedModel(clients, modelArn), note: undefined };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { info: undefined, note: `${name}: CMUs, version or family unknown: ${why}` };
  }
}

/**
 * A region's price of a CMU version as the config has it (any of its models in the region
 * carries the region's prices), else the built-in table's.
 */
function priceIn(config: ResolvedConfig, region: string, cmuVersion: string): Price | undefined {
  const sibling = config.models.find((m) => m.region === region);
  if (sibling) return versionPrice(sibling, cmuVersion);
  const table = tablePrice(region, cmuVersion);
  return (
    table && {
      usdPerCmuMinute: table.usdPerCmuMinute,
      storageUsdPerCmuMonth: table.storageUsdPerCmuMonth,
      source: tableSource(region, cmuVersion),
    }
  );
}
