import { GetImportedModelCommand, ResourceNotFoundException } from "@aws-sdk/client-bedrock";
import {
  InvokeModelCommand,
  ModelNotReadyException,
  ThrottlingException,
  ValidationException,
} from "@aws-sdk/client-bedrock-runtime";
import {
  GetMetricDataCommand,
  ListMetricsCommand,
  PutMetricDataCommand,
  paginateGetMetricData,
  paginateListMetrics,
} from "@aws-sdk/client-cloudwatch";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ARN,
  ARN2,
  at,
  MIN,
  modelCopyQuery,
  rejectionOf,
  type SdkHarness,
  sigv4Headers,
  startHarness,
  T0,
} from "./harness.js";

const ping = (modelId = ARN, body: object = { prompt: "ping", max_gen_len: 1 }) =>
  new InvokeModelCommand({ modelId, body: JSON.stringify(body), contentType: "application/json" });

describe("Simulator over the wire", () => {
  let h: SdkHarness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  describe("transport", () => {
    it("serves the runtime client's default handler over h2c and the others over HTTP/1.1 on one port", async () => {
      await rejectionOf(h.runtime.send(ping()));
      expect(h.server.connections).toEqual({ http1: 0, http2: 1 });
      await h.bedrock.send(new GetImportedModelCommand({ modelIdentifier: ARN }));
      expect(h.server.connections.http1).toBe(1);
    });

    it("refuses a request without an Authorization header as AWS does", async () => {
      const invoke = await fetch(`${h.server.url}/model/${encodeURIComponent(ARN)}/invoke`, {
        method: "POST",
        body: "{}",
      });
      expect(invoke.status).toBe(403);
      expect(invoke.headers.get("x-amzn-errortype")).toBe("MissingAuthenticationTokenException");
      expect(await invoke.json()).toEqual({ message: "Missing Authentication Token" });

      const metrics = await fetch(h.server.url, {
        method: "POST",
        headers: {
          "x-amz-target": "GraniteServiceVersion20100801.ListMetrics",
          "content-type": "application/x-amz-json-1.0",
        },
        body: "{}",
      });
      expect(metrics.status).toBe(403);
      expect(metrics.headers.get("x-amzn-query-error")).toBe("MissingAuthenticationToken;Sender");
      // Unsigned calls never reach the model.
      expect(h.sim.modelState(ARN).state).toBe("cold");
    });

    it("answers an unknown operation with the error each protocol gives", async () => {
      const cw = await fetch(h.server.url, {
        method: "POST",
        headers: {
          ...sigv4Headers("monitoring", "us-east-1"),
          "x-amz-target": "GraniteServiceVersion20100801.DescribeAlarms",
        },
        body: "{}",
      });
      expect(cw.status).toBe(400);
      expect(((await cw.json()) as { __type: string }).__type).toBe(
        "com.amazon.coral.service#UnknownOperationException",
      );

      const rest = await fetch(`${h.server.url}/custom-models`, {
        headers: sigv4Headers("bedrock", "us-east-1"),
      });
      expect(rest.status).toBe(400);
      expect(rest.headers.get("x-amzn-errortype")).toBe("ValidationException");
    });
  });

  describe("InvokeModel", () => {
    it("answers ModelNotReadyException (429) until the restore has passed, then succeeds", async () => {
      const table: [string, "ModelNotReadyException" | "ok"][] = [
        ["09:00:00", "ModelNotReadyException"],
        ["09:00:05", "ModelNotReadyException"],
        ["09:01:29", "ModelNotReadyException"],
        ["09:01:30", "ok"],
        ["09:14:00", "ok"],
      ];
      for (const [time, expected] of table) {
        h.clock.set(at(time));
        if (expected === "ok") {
          const out = await h.runtime.send(ping());
          expect(JSON.parse(new TextDecoder().decode(out.body))).toMatchObject({
            generation: "ok",
          });
        } else {
          const err = await rejectionOf(h.runtime.send(ping()));
          expect(err, time).toBeInstanceOf(ModelNotReadyException);
          expect(err.$metadata.httpStatusCode).toBe(429);
        }
      }
    });

    it("tells a throttled call from a cold start by class, though both are 429", async () => {
      h.clock.set(at("09:00:00"));
      h.sim.faults.add({ kind: "throttling", modelArn: ARN2 });
      const cold = await rejectionOf(h.runtime.send(ping(ARN)));
      const throttled = await rejectionOf(h.runtime.send(ping(ARN2)));
      expect(cold).toBeInstanceOf(ModelNotReadyException);
      expect(throttled).toBeInstanceOf(ThrottlingException);
      expect(throttled).not.toBeInstanceOf(ModelNotReadyException);
      expect(throttled.$metadata.httpStatusCode).toBe(429);
      // A throttled call never reached the model, so it did not start a restore.
      expect(h.sim.modelState(ARN2)).toEqual({ state: "cold", copies: 0 });
    });

    it("answers each body dialect in kind, honouring only that dialect's cap", async () => {
      h.sim.invokeModel(ARN, "{}");
      h.clock.set(at("09:02:00"));
      interface Answer {
        choices: [{ message: { content: string }; text: string }];
        generation: string;
      }
      const cases: [object, (j: Answer) => string, number][] = [
        [
          { messages: [{ role: "user", content: "ping" }], max_tokens: 1 },
          (j) => j.choices[0].message.content,
          1,
        ],
        [{ prompt: "ping", max_tokens: 3 }, (j) => j.choices[0].text, 3],
        [{ prompt: "ping", max_gen_len: 2 }, (j) => j.generation, 2],
        // max_gen_len is not an OpenAI chat parameter: ignored, so a full-length answer.
        [
          { messages: [{ role: "user", content: "ping" }], max_gen_len: 1 },
          (j) => j.choices[0].message.content,
          256,
        ],
      ];
      for (const [body, text, tokens] of cases) {
        const out = await h.runtime.send(ping(ARN, body));
        const json = JSON.parse(new TextDecoder().decode(out.body));
        expect(text(json).split(" ")).toHaveLength(tokens);
      }
    });

    it("rejects an unknown model and a malformed body with ValidationException", async () => {
      const unknown = "arn:aws:bedrock:us-east-1:123456789012:imported-model/zzzzzzzzzzzz";
      expect(await rejectionOf(h.runtime.send(ping(unknown)))).toBeInstanceOf(ValidationException);
      h.sim.invokeModel(ARN, "{}");
      h.clock.set(at("09:02:00"));
      const bad = await rejectionOf(
        h.runtime.send(new InvokeModelCommand({ modelId: ARN, body: "not json" })),
      );
      expect(bad).toBeInstanceOf(ValidationException);
      // A rejected body is not a call that keeps the model warm or starts its bill.
      expect(h.sim.invokeCount(ARN)).toBe(0);
      expect(h.sim.ledger().models[0]?.billedWindows).toBe(0);
    });
  });

  describe("GetImportedModel", () => {
    it("reports CMUs, architecture and instruct support by id and by ARN", async () => {
      for (const modelIdentifier of [ARN, "abcdefghijkl"]) {
        const out = await h.bedrock.send(new GetImportedModelCommand({ modelIdentifier }));
        expect(out.modelArn).toBe(ARN);
        expect(out.customModelUnits).toEqual({
          customModelUnitsPerModelCopy: 4,
          customModelUnitsVersion: "v1.0",
        });
        expect(out.modelArchitecture).toBe("qwen2.5-vl");
        expect(out.instructSupported).toBe(true);
        expect(out.creationTime).toEqual(new Date(T0));
      }
    });

    it("answers ResourceNotFoundException for a model it does not know", async () => {
      const err = await rejectionOf(
        h.bedrock.send(new GetImportedModelCommand({ modelIdentifier: "zzzzzzzzzzzz" })),
      );
      expect(err).toBeInstanceOf(ResourceNotFoundException);
      expect(err.$metadata.httpStatusCode).toBe(404);
    });
  });

  describe("GetMetricData", () => {
    // Woken at 09:00, restored at 09:01:30, first call 09:02, unloaded at 09:17.
    async function warmOnceAndIdle(): Promise<void> {
      h.clock.set(at("09:00:00"));
      await rejectionOf(h.runtime.send(ping()));
      h.clock.set(at("09:02:00"));
      await h.runtime.send(ping());
    }

    async function newest(): Promise<{ t: string; v: number } | undefined> {
      const now = h.clock.now();
      const out = await h.cloudwatch.send(modelCopyQuery(now - 60 * MIN, now, 60, "Maximum"));
      const r = out.MetricDataResults?.[0];
      const t = r?.Timestamps?.[0];
      return t ? { t: t.toISOString().slice(11, 19), v: r?.Values?.[0] as number } : undefined;
    }

    it("reads ModelCopy 0 -> 1 -> 0 as the model warms and is evicted, 2 minutes after each minute ends", async () => {
      await warmOnceAndIdle();
      const table: [string, { t: string; v: number } | undefined][] = [
        ["09:02:30", undefined],
        ["09:02:59", undefined],
        ["09:03:00", { t: "09:00:00", v: 0 }],
        ["09:04:59", { t: "09:01:00", v: 0 }],
        ["09:05:00", { t: "09:02:00", v: 1 }],
        ["09:19:00", { t: "09:16:00", v: 1 }],
        ["09:20:00", { t: "09:17:00", v: 0 }],
        // After the fall to 0 the idle model publishes nothing.
        ["09:45:00", { t: "09:17:00", v: 0 }],
      ];
      for (const [time, expected] of table) {
        h.clock.set(at(time));
        expect(await newest(), time).toEqual(expected);
      }
    });

    const stats: [number, string, number[], number[]][] = [
      // period, stat, newest-first bin starts (minutes after 09:00), values
      [
        60,
        "Maximum",
        [17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
        [0, ...Array(15).fill(1), 0, 0],
      ],
      [300, "Maximum", [15, 10, 5, 0], [1, 1, 1, 1]],
      [300, "Minimum", [15, 10, 5, 0], [0, 1, 1, 0]],
      [300, "Sum", [15, 10, 5, 0], [2, 5, 5, 3]],
      [300, "SampleCount", [15, 10, 5, 0], [3, 5, 5, 5]],
      [300, "Average", [15, 10, 5, 0], [2 / 3, 1, 1, 3 / 5]],
      [3600, "Maximum", [0], [1]],
      [3600, "Minimum", [0], [0]],
      [3600, "Sum", [0], [15]],
      [3600, "SampleCount", [0], [18]],
      [3600, "Average", [0], [15 / 18]],
    ];
    it.each(stats)(
      "computes period %i %s from the minute datapoints",
      async (period, stat, bins, values) => {
        await warmOnceAndIdle();
        h.clock.set(at("10:30:00"));
        const out = await h.cloudwatch.send(
          modelCopyQuery(at("09:00:00"), at("10:00:00"), period, stat),
        );
        const r = out.MetricDataResults?.[0];
        expect(r?.StatusCode).toBe("Complete");
        expect(r?.Timestamps).toEqual(bins.map((m) => new Date(at("09:00:00") + m * MIN)));
        expect(r?.Values?.length).toBe(values.length);
        for (const [i, v] of (r?.Values ?? []).entries()) {
          expect(v).toBeCloseTo(values[i] as number, 12);
        }
      },
    );

    it("counts successful calls per minute in Invocations", async () => {
      await warmOnceAndIdle();
      h.clock.set(at("09:02:30"));
      await h.runtime.send(ping());
      h.clock.set(at("09:16:10"));
      await h.runtime.send(ping());
      h.clock.set(at("09:40:00"));
      const out = await h.cloudwatch.send(
        new GetMetricDataCommand({
          StartTime: new Date(at("09:00:00")),
          EndTime: new Date(at("09:40:00")),
          ScanBy: "TimestampAscending",
          MetricDataQueries: ["Sum", "SampleCount"].map((Stat) => ({
            Id: Stat.toLowerCase(),
            MetricStat: {
              Metric: {
                Namespace: "AWS/Bedrock",
                MetricName: "Invocations",
                Dimensions: [{ Name: "ModelId", Value: ARN }],
              },
              Period: 60,
              Stat,
            },
          })),
        }),
      );
      for (const r of out.MetricDataResults ?? []) {
        expect(r.Timestamps).toEqual([new Date(at("09:02:00")), new Date(at("09:16:00"))]);
        expect(r.Values).toEqual([2, 1]);
      }
    });

    it("pages with NextToken and gives the same datapoints as one call", async () => {
      await warmOnceAndIdle();
      h.clock.set(at("10:30:00"));
      const whole = await h.cloudwatch.send(
        modelCopyQuery(at("09:00:00"), at("10:00:00"), 60, "Maximum"),
      );
      const pages = [];
      for await (const page of paginateGetMetricData(
        { client: h.cloudwatch },
        {
          ...modelCopyQuery(at("09:00:00"), at("10:00:00"), 60, "Maximum").input,
          MaxDatapoints: 5,
        },
      )) {
        pages.push(page);
      }
      expect(pages).toHaveLength(4);
      expect(pages[0]?.MetricDataResults?.[0]?.StatusCode).toBe("PartialData");
      expect(pages[3]?.MetricDataResults?.[0]?.StatusCode).toBe("Complete");
      const joined = pages.flatMap((p) => p.MetricDataResults?.[0]?.Timestamps ?? []);
      expect(joined).toEqual(whole.MetricDataResults?.[0]?.Timestamps);
    });
  });

  describe("ListMetrics and PutMetricData", () => {
    it("lists the AWS/Bedrock metrics of a model once its first datapoint is published", async () => {
      const list = async () =>
        (
          await h.cloudwatch.send(new ListMetricsCommand({ Namespace: "AWS/Bedrock" }))
        ).Metrics?.map(
          (m) => `${m.MetricName} ${m.Dimensions?.map((d) => `${d.Name}=${d.Value}`)}`,
        );
      expect(await list()).toEqual([]);
      h.sim.invokeModel(ARN, "{}");
      h.clock.set(at("09:02:00"));
      h.sim.invokeModel(ARN, '{"prompt":"p","max_gen_len":1}');
      h.clock.set(at("09:05:00"));
      // The first call met a cold model: a ModelNotReadyException, counted as a throttle.
      expect(await list()).toEqual([
        `ModelCopy ModelId=${ARN}`,
        `Invocations ModelId=${ARN}`,
        `InvocationThrottles ModelId=${ARN}`,
      ]);
    });

    it("stores a large (gzip-compressed) PutMetricData and pages ListMetrics by 500", async () => {
      const MetricData = Array.from({ length: 600 }, (_, i) => ({
        MetricName: `metric-${String(i).padStart(3, "0")}`,
        Dimensions: [{ Name: "Host", Value: "a" }],
        Value: i,
        Timestamp: new Date(T0),
      }));
      await h.cloudwatch.send(new PutMetricDataCommand({ Namespace: "Test", MetricData }));
      const names = [];
      let pages = 0;
      for await (const page of paginateListMetrics(
        { client: h.cloudwatch },
        { Namespace: "Test" },
      )) {
        pages++;
        names.push(...(page.Metrics ?? []).map((m) => m.MetricName));
      }
      expect(pages).toBe(2);
      expect(names).toEqual(MetricData.map((m) => m.MetricName));
    });

    it("refuses PutMetricData into an AWS/ namespace as CloudWatch does", async () => {
      const err = await rejectionOf(
        h.cloudwatch.send(
          new PutMetricDataCommand({
            Namespace: "AWS/Bedrock",
            MetricData: [{ MetricName: "ModelCopy", Value: 1 }],
          }),
        ),
      );
      expect(err.name).toBe("InvalidParameterValueException");
    });
  });

  describe("GET /_sim/ledger", () => {
    it("serves the same ledger as the in-process call", async () => {
      h.sim.invokeModel(ARN, "{}");
      h.clock.set(at("09:02:00"));
      await h.runtime.send(ping());
      h.clock.set(at("09:30:00"));
      const res = await fetch(`${h.server.url}/_sim/ledger`);
      expect(res.status).toBe(200);
      const wire = (await res.json()) as { models: { billedMinutes: number }[] };
      expect(wire).toEqual(JSON.parse(JSON.stringify(h.sim.ledger())));
      expect(wire.models[0]?.billedMinutes).toBe(15);
    });
  });
});
