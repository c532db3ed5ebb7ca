import type { Clock } from "../domain/clock.js";
import type { GetCostAndUsageOutput } from "./costExplorer.js";
import type { Dialect } from "./dialects.js";
import type { AwsErrorShape } from "./errors.js";
import type { FaultSchedule, SimOperation } from "./faults.js";
import type { ModelState } from "./fleet.js";
import type { Ledger, TimeRange } from "./ledger.js";
import type { ListImportedModelsOutput } from "./listImportedModels.js";
import type { SimModelSpec } from "./settings.js";

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

/**
 * The simulator as its transports (the HTTP server, the in-process handler) call it. Declared
 * apart from the Simulator, which serves itself through them, so their imports go one way.
 */
export interface SimService {
  readonly clock: Clock;
  readonly faults: FaultSchedule;
  models(): readonly SimModelSpec[];
  modelState(modelArn: string): ModelState;
  ledger(range?: TimeRange): Ledger;
  invokeModel(
    modelArn: string,
    body: string | Uint8Array,
    operation?: "InvokeModel" | "InvokeModelWithResponseStream",
  ): SimResponse<InvokeAnswer>;
  getImportedModel(identifier: string): SimResponse<ImportedModelView>;
  listImportedModels(
    query: URLSearchParams,
    region?: string,
  ): SimResponse<ListImportedModelsOutput>;
  costAndUsage(input: Record<string, unknown>): SimResponse<GetCostAndUsageOutput>;
  cloudwatch(
    operation: CloudWatchOperation,
    input: Record<string, unknown>,
    region?: string,
  ): SimResponse<unknown>;
}
