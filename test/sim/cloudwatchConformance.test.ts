// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudWatch dynamic labels are literally ${NAME}
import {
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  ListMetricsCommand,
  type MetricDatum,
  PutMetricDataCommand,
} from "@aws-sdk/client-cloudwatch";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ARN,
  at,
  MIN,
  modelCopyQuery,
  rejectionOf,
  runPython,
  type SdkHarness,
  startHarness,
  T0,
} from "./harness.js";

const PING = JSON.stringify({ prompt: "ping", max_gen_len: 1 });

/** Wakes ARN at 09:00 (warm 09:01:30, unloaded 09:16:30) and moves on until ModelCopy 0, 1 x 16, 0 is published. */
async function wakeAndWait(h: SdkHarness): Promise<void> {
  h.sim.invokeModel(ARN, PING);
  h.clock.set(at("09:01:30"));
  h.sim.invokeModel(ARN, PING);
  h.clock.set(at("09:40:00"));
}

function labelled(label: string, extra: Partial<GetMetricDataCommandInput> = {}) {
  const q = modelCopyQuery(T0, at("09:20:00"), 60, "Maximum", extra);
  const first = q.input.MetricDataQueries?.[0];
  if (first) first.Label = label;
  return q;
}

describe("CloudWatch conformance", () => {
  let h: SdkHarness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  describe("GetMetricData labels", () => {
    it("expands dynamic labels over the whole result, times in LabelOptions.Timezone", async () => {
      await wakeAndWait(h);
      const label =
        "${PROP('MetricName')} of ${PROP('Dim.ModelId')}: max ${MAX}, min ${MIN}, n ${DATAPOINT_COUNT}, sum ${SUM}, first ${FIRST} at ${FIRST_TIME}, last ${LAST} at ${LAST_TIME}, ${PROP('Stat')}/${PROP('Period')}";
      const out = await h.cloudwatch.send(
        labelled(label, { LabelOptions: { Timezone: "+0130" }, MaxDatapoints: 5 }),
      );
      const expected = `ModelCopy of ${ARN}: max 1, min 0, n 18, sum 16, first 0 at 2026-12-01T10:30:00+01:30, last 0 at 2026-12-01T10:47:00+01:30, Maximum/60`;
      expect(out.MetricDataResults?.[0]?.Label).toBe(expected);
      // A later page of the same query carries the same label.
      const page2 = await h.cloudwatch.send(
        labelled(label, {
          LabelOptions: { Timezone: "+0130" },
          MaxDatapoints: 5,
          NextToken: out.NextToken,
        }),
      );
      expect(page2.MetricDataResults?.[0]?.Label).toBe(expected);
    });

    it("leaves a label without expressions, and the default label, as they are", async () => {
      await wakeAndWait(h);
      const plain = await h.cloudwatch.send(labelled("copies of the model"));
      expect(plain.MetricDataResults?.[0]?.Label).toBe("copies of the model");
      const none = await h.cloudwatch.send(modelCopyQuery(T0, at("09:20:00"), 60, "Maximum"));
      expect(none.MetricDataResults?.[0]?.Label).toBe("ModelCopy");
    });

    it("refuses what it cannot render rather than answering it unexpanded", async () => {
      const table: [Partial<GetMetricDataCommandInput>, string, RegExp][] = [
        [{}, "${FIRST_TIME_RELATIVE}", /FIRST_TIME_RELATIVE\} is not implemented/],
        [{}, "${NOT_A_LABEL}", /NOT_A_LABEL\} is not a dynamic label/],
        [{ LabelOptions: { Timezone: "+25:00" } }, "${MAX}", /LabelOptions.Timezone is invalid/],
        [{ LabelOptions: { Timezone: "0130" } }, "${MAX}", /LabelOptions.Timezone is invalid/],
      ];
      for (const [extra, label, message] of table) {
        const e = await rejectionOf(h.cloudwatch.send(labelled(label, extra)));
        expect(e.name).toBe("InvalidParameterValueException");
        expect(e.message).toMatch(message);
      }
    });
  });

  describe("GetMetricData AccountId", () => {
    it("serves a model's metrics for its own account and refuses accounts it does not know", async () => {
      await wakeAndWait(h);
      const withAccount = (accountId: string) => {
        const q = modelCopyQuery(T0, at("09:20:00"), 60, "Maximum");
        const first = q.input.MetricDataQueries?.[0];
        if (first) first.AccountId = accountId;
        return q;
      };
      const own = await h.cloudwatch.send(withAccount("123456789012"));
      expect(own.MetricDataResults?.[0]?.Values).toHaveLength(18);
      for (const other of ["999999999999", "not-an-id"]) {
        const e = await rejectionOf(h.cloudwatch.send(withAccount(other)));
        expect(e.name).toBe("InvalidParameterValueException");
        expect(e.message).toContain("AccountId is invalid");
      }
    });
  });

  describe("GetMetricData periods", () => {
    it("accepts the high-resolution periods 1, 5, 10, 20 and 30 and refuses others", async () => {
      const base = T0;
      const MetricData: MetricDatum[] = [0, 10, 25, 45, 59].map((s) => ({
        MetricName: "HighRes",
        Value: s,
        Timestamp: new Date(base + s * 1000),
        StorageResolution: 1,
      }));
      await h.cloudwatch.send(new PutMetricDataCommand({ Namespace: "Keepwarm/Test", MetricData }));
      const query = (Period: number) =>
        new GetMetricDataCommand({
          StartTime: new Date(base),
          EndTime: new Date(base + MIN),
          ScanBy: "TimestampAscending",
          MetricDataQueries: [
            {
              Id: "m",
              MetricStat: {
                Metric: { Namespace: "Keepwarm/Test", MetricName: "HighRes" },
                Period,
                Stat: "Sum",
              },
            },
          ],
        });
      const twenty = await h.cloudwatch.send(query(20));
      expect(twenty.MetricDataResults?.[0]?.Values).toEqual([10, 25, 45 + 59]);
      for (const period of [1, 5, 10, 30, 60]) {
        await expect(h.cloudwatch.send(query(period))).resolves.toBeDefined();
      }
      for (const period of [2, 15, 45, 90]) {
        const e = await rejectionOf(h.cloudwatch.send(query(period)));
        expect(e.name).toBe("InvalidParameterValueException");
        expect(e.message).toContain("1, 5, 10, 20, 30 or a multiple of 60");
      }
    });
  });

  describe("PutMetricData", () => {
    it("rejects, and stores nothing of, what CloudWatch rejects", async () => {
      const now = h.clock.now();
      const datum = (d: Partial<MetricDatum>): MetricDatum => ({ MetricName: "Rejected", ...d });
      const table: [string, MetricDatum[], string, RegExp][] = [
        [
          "Values and Counts of different lengths",
          [datum({ Values: [1, 2, 3], Counts: [1, 2] })],
          "InvalidParameterValueException",
          /MetricData.member.1.Values and MetricData.member.1.Counts must be of the same size/,
        ],
        [
          "Value and Values together",
          [datum({ Value: 1, Values: [1, 2] })],
          "InvalidParameterCombinationException",
          /MetricData.member.1.Value and MetricData.member.1.Values are mutually exclusive/,
        ],
        [
          "Value and StatisticValues together",
          [
            datum({
              Value: 1,
              StatisticValues: { SampleCount: 1, Sum: 1, Minimum: 1, Maximum: 1 },
            }),
          ],
          "InvalidParameterCombinationException",
          /mutually exclusive/,
        ],
        [
          "more than 1,000 datums",
          Array.from({ length: 1001 }, (_, i) => datum({ Value: i })),
          "InvalidParameterValueException",
          /MetricData must not have a size greater than 1000/,
        ],
        [
          "more than 30 dimensions",
          [
            datum({
              Value: 1,
              Dimensions: Array.from({ length: 31 }, (_, i) => ({ Name: `d${i}`, Value: "v" })),
            }),
          ],
          "InvalidParameterValueException",
          /Dimensions must not have a size greater than 30/,
        ],
        [
          "a timestamp more than two weeks old",
          [datum({ Value: 1, Timestamp: new Date(now - 15 * 24 * 60 * MIN) })],
          "InvalidParameterValueException",
          /Timestamp must specify a time no more than two weeks in the past/,
        ],
        [
          "a timestamp more than two hours ahead",
          [datum({ Value: 1, Timestamp: new Date(now + 3 * 60 * MIN) })],
          "InvalidParameterValueException",
          /Timestamp must specify a time no more than two hours in the future/,
        ],
      ];
      for (const [what, MetricData, name, message] of table) {
        const e = await rejectionOf(
          h.cloudwatch.send(
            new PutMetricDataCommand({
              Namespace: "Keepwarm/Test",
              MetricData: [datum({ Value: 1 }), ...MetricData],
            }),
          ),
        );
        expect({ what, name: e.name }).toEqual({ what, name });
        expect(e.message.replaceAll("member.2", "member.1")).toMatch(message);
      }
      // The valid datum sent with each rejected one was not stored either.
      const listed = await h.cloudwatch.send(
        new ListMetricsCommand({ Namespace: "Keepwarm/Test" }),
      );
      expect(listed.Metrics).toEqual([]);
    });

    it("stores the edges of what CloudWatch accepts", async () => {
      const now = h.clock.now();
      await h.cloudwatch.send(
        new PutMetricDataCommand({
          Namespace: "Keepwarm/Test",
          MetricData: [
            { MetricName: "Edge", Value: 1, Timestamp: new Date(now - 14 * 24 * 60 * MIN + MIN) },
            { MetricName: "Edge", Value: 1, Timestamp: new Date(now + 2 * 60 * MIN - MIN) },
            { MetricName: "Edge", Values: [1, 2], Counts: [3, 4] },
            ...Array.from({ length: 997 }, () => ({ MetricName: "Edge", Value: 1 })),
          ],
        }),
      );
      const listed = await h.cloudwatch.send(
        new ListMetricsCommand({ Namespace: "Keepwarm/Test" }),
      );
      expect(listed.Metrics?.map((m) => m.MetricName)).toEqual(["Edge"]);
    });
  });

  describe("other protocols", () => {
    const script = (protocol: string, url: string) => `
import json, os, tempfile, datetime, boto3, botocore.session, botocore.config, botocore.exceptions
protocol = ${JSON.stringify(protocol)}
session = botocore.session.get_session()
if protocol != "default":
    # A copy of CloudWatch's model that speaks only one protocol, as older botocore did.
    model = session.get_component("data_loader").load_service_model("cloudwatch", "service-2")
    model["metadata"]["protocol"] = protocol
    model["metadata"]["protocols"] = [protocol]
    root = tempfile.mkdtemp()
    os.makedirs(os.path.join(root, "cloudwatch", "2010-08-01"))
    with open(os.path.join(root, "cloudwatch", "2010-08-01", "service-2.json"), "w") as f:
        json.dump(model, f)
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, root)
c = boto3.Session(botocore_session=session).client("cloudwatch", region_name="us-east-1",
    endpoint_url=${JSON.stringify(url)}, config=botocore.config.Config(retries={"max_attempts": 1}))
start = datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.timezone.utc)
try:
    r = c.get_metric_data(StartTime=start, EndTime=start + datetime.timedelta(minutes=20),
        MetricDataQueries=[{"Id": "m", "MetricStat": {"Metric": {"Namespace": "AWS/Bedrock",
        "MetricName": "ModelCopy", "Dimensions": [{"Name": "ModelId", "Value": ${JSON.stringify(ARN)}}]},
        "Period": 60, "Stat": "Maximum"}}])
    print(json.dumps({"protocol": c.meta.service_model.resolved_protocol, "values": len(r["MetricDataResults"][0]["Values"])}))
except botocore.exceptions.ClientError as e:
    print(json.dumps({"protocol": c.meta.service_model.resolved_protocol, "code": e.response["Error"]["Code"],
        "status": e.response["ResponseMetadata"]["HTTPStatusCode"], "message": e.response["Error"]["Message"]}))
`;

    it("serves botocore's default protocol, and answers awsQuery and RPC v2 CBOR with an error those clients parse", async () => {
      await wakeAndWait(h);
      expect(await runPython(script("default", h.server.url))).toEqual({
        protocol: "json",
        values: 18,
      });
      for (const protocol of ["query", "smithy-rpc-v2-cbor"]) {
        const out = await runPython(script(protocol, h.server.url));
        expect(out).toMatchObject({ protocol, code: "InvalidAction", status: 400 });
        expect(out.message).toMatch(/speaks CloudWatch's AWS JSON 1.0 protocol only/);
      }
    });
  });
});
