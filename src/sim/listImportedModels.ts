import { awsErrors, SimServiceError } from "./errors.js";
import { parseImportedModelArn, type SimModelSpec } from "./settings.js";

/** Bedrock's ListImportedModels (`GET /imported-models`) over the simulator's models. */

const MAX_RESULTS = 1000;

export interface ListableModel {
  readonly spec: SimModelSpec;
  readonly createdAt: number;
}

export interface ImportedModelSummary {
  readonly modelArn: string;
  readonly modelName: string;
  readonly creationTime: string;
  readonly instructSupported: boolean;
  readonly modelArchitecture: string;
}

export interface ListImportedModelsOutput {
  readonly modelSummaries: ImportedModelSummary[];
  readonly nextToken?: string;
}

/**
 * The models of `region` (every region's in process) that exist, filtered and sorted as the
 * query asks, a page of `maxResults` (1000 by default) at a time.
 */
export function listImportedModels(
  models: readonly ListableModel[],
  query: URLSearchParams,
  region: string | undefined,
): ListImportedModelsOutput {
  const max = query.has("maxResults") ? Number(query.get("maxResults")) : MAX_RESULTS;
  if (!Number.isInteger(max) || max < 1 || max > MAX_RESULTS) {
    throw new SimServiceError(
      awsErrors.malformedInput(`maxResults must be a whole number from 1 to ${MAX_RESULTS}`),
    );
  }
  const after = instantOf(query.get("creationTimeAfter"), "creationTimeAfter");
  const before = instantOf(query.get("creationTimeBefore"), "creationTimeBefore");
  const nameContains = query.get("nameContains");
  const ascending = query.get("sortOrder") === "Ascending";
  const listed = models
    .map((m) => ({ m, parts: parseImportedModelArn(m.spec.modelArn) }))
    .filter(({ m, parts }) => {
      const name = m.spec.modelName ?? parts?.modelId ?? "";
      return (
        (region === undefined || parts?.region === region) &&
        (after === undefined || m.createdAt > after) &&
        (before === undefined || m.createdAt < before) &&
        (nameContains === null || name.includes(nameContains))
      );
    })
    .sort((a, b) => (ascending ? 1 : -1) * (a.m.createdAt - b.m.createdAt))
    .map(
      ({ m, parts }): ImportedModelSummary => ({
        modelArn: m.spec.modelArn,
        modelName: m.spec.modelName ?? parts?.modelId ?? m.spec.modelArn,
        creationTime: new Date(m.createdAt).toISOString(),
        instructSupported: m.spec.instructSupported ?? true,
        modelArchitecture: m.spec.architecture ?? "llama",
      }),
    );
  const token = query.get("nextToken");
  const offset = token === null ? 0 : Number(token);
  if (!Number.isInteger(offset) || offset < 0 || offset > listed.length) {
    throw new SimServiceError(awsErrors.malformedInput("nextToken is not one this service gave"));
  }
  const page = listed.slice(offset, offset + max);
  return {
    modelSummaries: page,
    ...(offset + max < listed.length ? { nextToken: String(offset + max) } : {}),
  };
}

function instantOf(value: string | null, field: string): number | undefined {
  if (value === null) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) {
    throw new SimServiceError(awsErrors.malformedInput(`${field} is not a timestamp`));
  }
  return t;
}
