import { DEFAULT_CMU_VERSION } from "../config/pricing.js";
import { SimAccount, type SimulatorOptions } from "./account.js";
import { BedrockMetrics } from "./bedrockMetrics.js";
import { CloudWatchStore, type ListMetricsOutput } from "./cloudwatch.js";
import { type GetCostAndUsageOutput, getCostAndUsage } from "./costExplorer.js";
import { answerInvocation } from "./dialects.js";
import { awsErrors, SimServiceError } from "./errors.js";
import type { GetMetricDataOutput } from "./getMetricData.js";
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
import { parseImportedModelArn } from "./settings.js";

export { SimModelError, type SimulatorOptions } from "./account.js";

/**
 * Bedrock imported models and their CloudWatch metrics, in process. Calls are recorded
 * at `clock.now()` and the fleet's state is derived from them lazily, so a test or
 * `keepwarm simulate` can drive a month of virtual time in seconds. `listen()` puts the
 * same simulator on the wire for the real SDK clients. The models, their users and the
 * calls made to them are its SimAccount's (account.ts); this class answers AWS's requests.
 */
export class Simulator extends SimAccount implements SimService {
  readonly #cloudwatch: CloudWatchStore;
  readonly #getMetricData = { calls: 0, metricsRequested: 0 };

  constructor(options: SimulatorOptions) {
    super(options);
    this.#cloudwatch = new CloudWatchStore(
      new BedrockMetrics(this.fleets, this.faults, this.settings),
    );
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
    const now = this.playUsers();
    const fleet = this.liveFleet(modelArn);
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
    const result = this.call(fleet, now);
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
    const fleet = this.findFleet(identifier);
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
        creationTime: new Date(this.createdAt(spec.modelArn, now)).toISOString(),
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
    const now = this.playUsers();
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
    const now = this.playUsers();
    const fault = requestFault(
      this.faults,
      "ListImportedModels",
      undefined,
      now,
      "bedrock:ListImportedModels",
    );
    if (fault.kind !== "ok") return fault;
    const models = this.liveModels(now);
    return answered(() => listImportedModels(models, query, region), fault.delayMs);
  }

  /** Cost Explorer's GetCostAndUsage over what the simulator billed (costExplorer.ts). */
  costAndUsage(input: Record<string, unknown>): SimResponse<GetCostAndUsageOutput> {
    const now = this.playUsers();
    const fault = requestFault(
      this.faults,
      "GetCostAndUsage",
      undefined,
      now,
      "ce:GetCostAndUsage",
      "arn:aws:ce:us-east-1:123456789012:/GetCostAndUsage",
    );
    if (fault.kind !== "ok") return fault;
    return answered(() => getCostAndUsage(input, this.costBook(now)), fault.delayMs);
  }

  /** Serves this simulator over HTTP/1.1 and h2c on one port (127.0.0.1 unless told otherwise). */
  async listen(options: { host?: string; port?: number } = {}): Promise<SimServer> {
    return startSimServer(this, options);
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
