import {
  CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
} from "@aws-sdk/client-cloudwatch";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import type { AwsCallError } from "../../src/aws/errors.js";
import { type CopyQuery, MAX_QUERIES_PER_CALL, readModelCopies } from "../../src/aws/metrics.js";

const T0 = Date.UTC(2026, 11, 7, 1, 0);
const range = { start: T0, end: T0 + 10 * 60_000, periodSeconds: 60 };

function queries(n: number): CopyQuery[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `model-${i}`,
    metric: {
      namespace: "AWS/Bedrock",
      metricName: "ModelCopy",
      dimensionName: "ModelId",
      dimensionValue: `arn:aws:bedrock:us-east-1:123456789012:imported-model/${String(i).padStart(12, "0")}`,
    },
  }));
}

describe("readModelCopies", () => {
  const cloudwatch = mockClient(CloudWatchClient);
  afterEach(() => cloudwatch.reset());

  it("batches 1,200 models into 3 calls of at most 500 queries, Maximum of ModelCopy", async () => {
    cloudwatch
      .on(GetMetricDataCommand)
      .callsFake((input: { MetricDataQueries: MetricDataQuery[] }) => ({
        MetricDataResults: input.MetricDataQueries.map((q) => ({
          Id: q.Id,
          Timestamps: [new Date(T0)],
          Values: [1],
        })),
      }));
    const result = await readModelCopies(
      new CloudWatchClient({ region: "us-east-1" }),
      queries(1_200),
      range,
    );
    const calls = cloudwatch.commandCalls(GetMetricDataCommand);
    expect(calls.map((c) => c.args[0].input.MetricDataQueries?.length)).toEqual([500, 500, 200]);
    expect(MAX_QUERIES_PER_CALL).toBe(500);
    const first = calls[0]?.args[0].input.MetricDataQueries?.[0];
    expect(first?.MetricStat).toMatchObject({ Period: 60, Stat: "Maximum" });
    expect(first?.MetricStat?.Metric?.Dimensions).toEqual([
      {
        Name: "ModelId",
        Value: "arn:aws:bedrock:us-east-1:123456789012:imported-model/000000000000",
      },
    ]);
    expect(result.size).toBe(1_200);
    expect(result.get("model-1199")).toEqual([{ t: T0, copies: 1 }]);
  });

  it("follows NextToken and returns each series ascending, without repeats", async () => {
    cloudwatch
      .on(GetMetricDataCommand)
      .resolvesOnce({
        MetricDataResults: [
          { Id: "m0", Timestamps: [new Date(T0 + 120_000), new Date(T0 + 60_000)], Values: [0, 1] },
        ],
        NextToken: "page-2",
      })
      .resolvesOnce({
        MetricDataResults: [
          { Id: "m0", Timestamps: [new Date(T0 + 60_000), new Date(T0)], Values: [1, 1] },
          { Id: "m1", Timestamps: [], Values: [] },
        ],
      });
    const result = await readModelCopies(
      new CloudWatchClient({ region: "us-east-1" }),
      queries(2),
      range,
    );
    expect(cloudwatch.commandCalls(GetMetricDataCommand)[1]?.args[0].input.NextToken).toBe(
      "page-2",
    );
    expect(result.get("model-0")).toEqual([
      { t: T0, copies: 1 },
      { t: T0 + 60_000, copies: 1 },
      { t: T0 + 120_000, copies: 0 },
    ]);
    expect(result.get("model-1")).toEqual([]);
  });

  it("rejects with an AwsCallError naming cloudwatch:GetMetricData", async () => {
    cloudwatch
      .on(GetMetricDataCommand)
      .rejects(Object.assign(new Error("User is not authorized"), { name: "AccessDenied" }));
    const failure = await readModelCopies(
      new CloudWatchClient({ region: "us-east-1" }),
      queries(1),
      range,
    ).catch((e: unknown) => e);
    expect(failure).toMatchObject({
      name: "AwsCallError",
      kind: "denied",
      action: "cloudwatch:GetMetricData",
    });
    expect((failure as AwsCallError).remedy).toContain("grant cloudwatch:GetMetricData");
  });
});
