import {
  GetImportedModelCommand,
  type GetImportedModelCommandOutput,
  ListImportedModelsCommand,
  type ListImportedModelsCommandOutput,
} from "@aws-sdk/client-bedrock";
import { KeepwarmError } from "../domain/errors.js";
import type { RegionClients } from "./clients.js";
import { AwsCallError } from "./errors.js";

export const LIST_IMPORTED_MODELS_ACTION = "bedrock:ListImportedModels";

/** What keepwarm needs to know about an imported model to price it. */
export interface ImportedModelInfo {
  readonly customModelUnits: number;
  /** Selects the price: "v1.0", "v2.0" (AWS's spellings "1.0", "v2", "v2:0" are read as such). */
  readonly unitsVersion?: string;
  readonly architecture?: string;
  readonly instructSupported?: boolean;
  readonly modelName?: string;
  /** The full ARN, as Bedrock reports it (useful when the model was asked for by id or name). */
  readonly modelArn?: string;
  /** Epoch ms of the import; imports from 2025-11-11 on also accept OpenAI-style bodies. */
  readonly createdAt?: number;
}

/** GetImportedModel failed, or answered without a CMU count. */
export class ImportedModelError extends KeepwarmError {
  override readonly name = "ImportedModelError";
  readonly action = "bedrock:GetImportedModel";
  readonly modelArn: string;

  constructor(modelArn: string, message: string, options?: { cause?: unknown }) {
    super(message, { cause: options?.cause, subject: modelArn });
    this.modelArn = modelArn;
  }
}

export async function getImportedModel(
  clients: RegionClients,
  modelArn: string,
): Promise<ImportedModelInfo> {
  let answer: GetImportedModelCommandOutput;
  try {
    answer = await clients.bedrock.send(new GetImportedModelCommand({ modelIdentifier: modelArn }));
  } catch (cause) {
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    throw new ImportedModelError(
      modelArn,
      `bedrock:GetImportedModel on ${modelArn} failed in ${clients.region}: ${reason}`,
      { cause },
    );
  }
  const units = answer.customModelUnits?.customModelUnitsPerModelCopy;
  if (typeof units !== "number" || !Number.isInteger(units) || units < 1) {
    throw new ImportedModelError(
      modelArn,
      `bedrock:GetImportedModel on ${modelArn} answered without customModelUnits.customModelUnitsPerModelCopy (got ${JSON.stringify(units)}); set customModelUnits for this model in the config`,
    );
  }
  return {
    customModelUnits: units,
    ...(answer.customModelUnits?.customModelUnitsVersion !== undefined && {
      unitsVersion: cmuVersionOf(answer.customModelUnits.customModelUnitsVersion),
    }),
    ...(answer.modelArchitecture !== undefined && { architecture: answer.modelArchitecture }),
    ...(answer.instructSupported !== undefined && { instructSupported: answer.instructSupported }),
    ...(answer.modelName !== undefined && { modelName: answer.modelName }),
    ...(answer.modelArn !== undefined && { modelArn: answer.modelArn }),
    ...(answer.creationTime !== undefined && { createdAt: answer.creationTime.getTime() }),
  };
}

/** An imported model as ListImportedModels names it. */
export interface ImportedModelListing {
  readonly modelArn: string;
  readonly modelName: string | undefined;
  readonly architecture: string | undefined;
  /** Epoch ms of the import. */
  readonly createdAt: number | undefined;
}

/** Every imported model of the clients' region, all pages; a refusal throws an AwsCallError. */
export async function listImportedModels(clients: RegionClients): Promise<ImportedModelListing[]> {
  const models: ImportedModelListing[] = [];
  let nextToken: string | undefined;
  do {
    let page: ListImportedModelsCommandOutput;
    try {
      page = await clients.bedrock.send(
        new ListImportedModelsCommand(nextToken ? { nextToken } : {}),
      );
    } catch (error) {
      throw new AwsCallError(LIST_IMPORTED_MODELS_ACTION, "*", error);
    }
    for (const m of page.modelSummaries ?? []) {
      if (m.modelArn === undefined) continue;
      models.push({
        modelArn: m.modelArn,
        modelName: m.modelName,
        architecture: m.modelArchitecture,
        createdAt: m.creationTime?.getTime(),
      });
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return models;
}

/**
 * The CMU version as the price table and the YAML key it ("v2.0"). AWS documents "v1.0"; its
 * usage types write "v2:0", so a version with a colon, no "v" or no minor part is read as the
 * same one. Anything else is kept as sent: it has no price, and the daemon says so.
 */
export function cmuVersionOf(reported: string): string {
  const m = /^v?(\d+)(?:[.:](\d+))?$/i.exec(reported.trim());
  return m ? `v${Number(m[1])}.${Number(m[2] ?? 0)}` : reported;
}
