import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";
import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import type { HttpRequest, HttpResponse, RequestHandler } from "@smithy/types";

// The floor under `keepwarm simulate`: one GetMetricData through a real CloudWatchClient
// (serialisation, SigV4 signing, retries, deserialisation) whose request handler answers at
// once with a fixed body, so nothing of keepwarm or the simulator is measured. As simulate
// runs it: cacheMiddleware on, two queries (ModelCopy and Invocations) per model.
// KEEPWARM_BENCH_SDK_CALLS sets the measured calls per case (default 20,000).

const CALLS = Number(process.env.KEEPWARM_BENCH_SDK_CALLS ?? 20_000);
const WARMUP = 2_000;

function answering(models: number): RequestHandler<HttpRequest, HttpResponse> {
  const body = Buffer.from(
    JSON.stringify({
      MetricDataResults: Array.from({ length: models * 2 }, (_, i) => ({
        Id: `m${i}`,
        Label: "ModelCopy",
        Timestamps: Array.from({ length: 11 }, (_, k) => 1_796_083_200 + k * 60),
        Values: Array.from({ length: 11 }, () => 1),
        StatusCode: "Complete",
      })),
      Messages: [],
    }),
  );
  return {
    metadata: { handlerProtocol: "h2" },
    async handle() {
      const stream = new Readable({ read() {} });
      stream.push(body);
      stream.push(null);
      return {
        response: {
          statusCode: 200,
          headers: { "content-type": "application/x-amz-json-1.0" },
          body: stream,
        } as unknown as HttpResponse,
      };
    },
  } as RequestHandler<HttpRequest, HttpResponse>;
}

function queries(models: number) {
  return Array.from({ length: models * 2 }, (_, i) => ({
    Id: `m${i}`,
    MetricStat: {
      Metric: {
        Namespace: "AWS/Bedrock",
        MetricName: i % 2 === 0 ? "ModelCopy" : "Invocations",
        Dimensions: [
          {
            Name: "ModelId",
            Value: `arn:aws:bedrock:us-east-1:123456789012:imported-model/${String(i >> 1).padStart(12, "0")}`,
          },
        ],
      },
      Period: 60,
      Stat: i % 2 === 0 ? "Maximum" : "Sum",
    },
    ReturnData: true,
  }));
}

async function perCallUs(models: number, calls: number): Promise<number> {
  const client = new CloudWatchClient({
    region: "us-east-1",
    endpoint: "http://127.0.0.1:1",
    credentials: { accessKeyId: "AKIDBENCH", secretAccessKey: "bench" },
    requestHandler: answering(models),
    cacheMiddleware: true,
  });
  const q = queries(models);
  const run = async (n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const start = 1_796_083_200_000 + i * 60_000;
      await client.send(
        new GetMetricDataCommand({
          MetricDataQueries: q,
          StartTime: new Date(start),
          EndTime: new Date(start + 11 * 60_000),
          ScanBy: "TimestampAscending",
        }),
      );
    }
    return ((performance.now() - t0) * 1000) / n;
  };
  await run(Math.min(WARMUP, calls));
  const us = await run(calls);
  client.destroy();
  return us;
}

// A month at every minute: 2 regions x (44,640 + 1,440 preroll) minutes for the sample config.
const SAMPLE_MONTH_CALLS = 2 * (44_640 + 1_440);
const CASES = [
  { models: 1, calls: CALLS, what: "the sample month at every minute" },
  {
    models: 50,
    calls: Math.max(1, Math.round(CALLS / 10)),
    what: "100 models in 2 regions, a month at every minute",
  },
];
for (const c of CASES) {
  const us = await perCallUs(c.models, c.calls);
  console.log(
    `sdk: GetMetricData, ${c.models * 2} queries per call, ${c.calls.toLocaleString("en-US")} calls: ${us.toFixed(0)} us per call; ` +
      `x ${SAMPLE_MONTH_CALLS.toLocaleString("en-US")} calls (${c.what}) = ${((us * SAMPLE_MONTH_CALLS) / 1e6).toFixed(1)} s`,
  );
}
