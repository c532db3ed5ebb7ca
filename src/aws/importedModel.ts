import {
  GetImportedModelCommand,
  type GetImportedModelCommandOutput,
} from "@aws-sdk/client-bedrock";
import { KeepwarmError } from "../domain/errors.js";
import type { RegionClients } from "./clients.js";

/** What keepwarm needs to know about an imported model to price it. */
export interface ImportedModelInfo {
  readonly customModelUnits: number;
  /** Selects the price (e.g. "v1.0"). */
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
      unitsVersion: answer.customModelUnits.customModelUnitsVersion,
    }),
    ...(answer.modelArchitecture !== undefined && { architecture: answer.modelArchitecture }),
    ...(answer.instructSupported !== undefined && { instructSupported: answer.instructSupported }),
    ...(answer.modelName !== undefined && { modelName: answer.modelName }),
    ...(answer.modelArn !== undefined && { modelArn: answer.modelArn }),
    ...(answer.creationTime !== undefined && { createdAt: answer.creationTime.getTime() }),
  };
}
