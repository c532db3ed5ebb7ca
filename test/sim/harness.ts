import { spawn } from "node:child_process";
import { BedrockClient } from "@aws-sdk/client-bedrock";
import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import {
  CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
} from "@aws-sdk/client-cloudwatch";
import { ManualClock } from "../../src/sim/clock.js";
import type { SimServer } from "../../src/sim/server.js";
import type { SimSettings } from "../../src/sim/settings.js";
import { Simulator } from "../../src/sim/simulator.js";

export const ARN = "arn:aws:bedrock:us-east-1:123456789012:imported-model/abcdefghijkl";
export const ARN2 = "arn:aws:bedrock:us-east-1:123456789012:imported-model/mnopqrstuvwx";
export const T0 = Date.parse("2026-12-01T09:00:00Z");
export const MIN = 60_000;
export const CREDENTIALS = { accessKeyId: "AKIDSIMULATOR", secretAccessKey: "not-checked" };

/** `hh:mm:ss` UTC on the harness's day, 1 December 2026. */
export const at = (hhmmss: string): number => Date.parse(`2026-12-01T${hhmmss}Z`);

/** GetMetricData for a model's ModelCopy (AWS/Bedrock, ModelId; ARN's by default), query id "copies". */
export function modelCopyQuery(
  start: number,
  end: number,
  period: number,
  stat: string,
  extra: Partial<GetMetricDataCommandInput> = {},
  modelArn: string = ARN,
): GetMetricDataCommand {
  return new GetMetricDataCommand({
    StartTime: new Date(start),
    EndTime: new Date(end),
    MetricDataQueries: [
      {
        Id: "copies",
        MetricStat: {
          Metric: {
            Namespace: "AWS/Bedrock",
            MetricName: "ModelCopy",
            Dimensions: [{ Name: "ModelId", Value: modelArn }],
          },
          Period: period,
          Stat: stat,
        },
      },
    ],
    ...extra,
  });
}

/** Settings with no jitter, so instants in the tables are exact. */
export const EXACT: Partial<SimSettings> = { restoreJitterMs: 0 };

export interface SdkHarness {
  readonly sim: Simulator;
  readonly clock: ManualClock;
  readonly server: SimServer;
  /** maxAttempts 1, as keepwarm creates it; default request handler (HTTP/2). */
  readonly runtime: BedrockRuntimeClient;
  readonly bedrock: BedrockClient;
  readonly cloudwatch: CloudWatchClient;
  close(): Promise<void>;
}

/** A simulator on a free port with the three real SDK clients pointed at it. */
export async function startHarness(
  options: { settings?: Partial<SimSettings>; start?: number; cmu?: number } = {},
): Promise<SdkHarness> {
  const clock = new ManualClock(options.start ?? T0);
  const sim = new Simulator({
    clock,
    settings: { ...EXACT, ...options.settings },
    models: [
      { modelArn: ARN, customModelUnits: options.cmu ?? 4, architecture: "qwen2.5-vl" },
      { modelArn: ARN2, customModelUnits: 2 },
    ],
  });
  const server = await sim.listen({ port: 0 });
  const common = { region: "us-east-1", endpoint: server.url, credentials: CREDENTIALS };
  const runtime = new BedrockRuntimeClient({ ...common, maxAttempts: 1 });
  const bedrock = new BedrockClient({ ...common, maxAttempts: 1 });
  const cloudwatch = new CloudWatchClient({ ...common, maxAttempts: 1 });
  return {
    sim,
    clock,
    server,
    runtime,
    bedrock,
    cloudwatch,
    close: async () => {
      runtime.destroy();
      bedrock.destroy();
      cloudwatch.destroy();
      await server.close();
    },
  };
}

/** What the SDK's errors carry besides name and message. */
export interface SdkError extends Error {
  readonly $metadata: { readonly httpStatusCode?: number };
  readonly $fault?: "client" | "server";
}

/** The error a promise rejects with, or a failure if it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<SdkError> {
  try {
    await p;
  } catch (e) {
    return e as SdkError;
  }
  throw new Error("expected the call to fail, it succeeded");
}

/**
 * Headers of a request signed as the SDK signs it, for hand-made requests: a well-formed
 * SigV4 scope (the HMAC is not checked) at `date`, the host's clock by default.
 */
export function sigv4Headers(
  service: string,
  region: string,
  date: Date = new Date(),
): Record<string, string> {
  const amzDate = `${date.toISOString().slice(0, 19).replace(/[-:]/g, "")}Z`;
  return {
    "x-amz-date": amzDate,
    authorization: `AWS4-HMAC-SHA256 Credential=${CREDENTIALS.accessKeyId}/${amzDate.slice(0, 8)}/${region}/${service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`,
  };
}

/**
 * Runs a Python script (boto3 as another client of the simulator) and parses the JSON it
 * prints last. Asynchronous: the simulator answering it runs in this process.
 */
export function runPython(
  script: string,
  env: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", ["-c", script], {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += String(d);
    });
    child.stderr.on("data", (d) => {
      stderr += String(d);
    });
    child.once("error", reject);
    child.once("close", (code) => {
      const last = stdout.trim().split("\n").pop() ?? "";
      if (code !== 0) return reject(new Error(`python3 exited ${code}: ${stderr.trim()}`));
      try {
        resolve(JSON.parse(last));
      } catch (cause) {
        reject(new Error(`python3 printed no JSON: ${stdout} ${stderr}`, { cause }));
      }
    });
  });
}
