import {
  BedrockClient,
  GetImportedModelCommand,
  ResourceNotFoundException,
} from "@aws-sdk/client-bedrock";
import {
  BedrockRuntimeClient,
  InvokeModelCommand,
  ModelNotReadyException,
  ValidationException,
} from "@aws-sdk/client-bedrock-runtime";
import {
  CloudWatchClient,
  ListMetricsCommand,
  PutMetricDataCommand,
} from "@aws-sdk/client-cloudwatch";
import type {
  FinalizeHandler,
  FinalizeRequestMiddleware,
  MetadataBearer,
  RelativeMiddlewareOptions,
} from "@smithy/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/sim/clock.js";
import type { SimServer } from "../../src/sim/server.js";
import { Simulator } from "../../src/sim/simulator.js";
import {
  CREDENTIALS,
  EXACT,
  MIN,
  modelCopyQuery,
  rejectionOf,
  runPython,
  sigv4Headers,
} from "./harness.js";

const EAST = "arn:aws:bedrock:us-east-1:123456789012:imported-model/eastmodel001";
const WEST = "arn:aws:bedrock:us-west-2:123456789012:imported-model/westmodel001";
// Months away from the host's clock, as `keepwarm simulate` of another month runs.
const T0 = Date.parse("2027-06-01T09:00:00Z");
const PING = JSON.stringify({ prompt: "ping", max_gen_len: 1 });
const YEAR = 365 * 24 * 60 * MIN;

let sim: Simulator;
let clock: ManualClock;
let server: SimServer;

beforeAll(async () => {
  clock = new ManualClock(T0);
  sim = new Simulator({
    clock,
    settings: EXACT,
    models: [
      { modelArn: EAST, customModelUnits: 4, modelName: "shared-name" },
      { modelArn: WEST, customModelUnits: 2, modelName: "shared-name" },
    ],
  });
  server = await sim.listen({ port: 0 });
});
afterAll(async () => {
  await server.close();
});

type ClientOptions = { region: string; systemClockOffset?: number };
const common = (o: ClientOptions) => ({
  endpoint: server.url,
  credentials: CREDENTIALS,
  maxAttempts: 1,
  ...o,
});
const runtime = (o: ClientOptions) => new BedrockRuntimeClient(common(o));
const cloudwatch = (o: ClientOptions) => new CloudWatchClient(common(o));

/** Any SDK client: each has its own middleware types, and this middleware fits them all. */
interface StackOwner {
  readonly middlewareStack: {
    addRelativeTo(middleware: never, options: RelativeMiddlewareOptions): void;
  };
}

/** Rewrites the signed request's headers, after the SDK signed it and before it is sent. */
function tamper<C extends StackOwner>(
  client: C,
  edit: (headers: Record<string, string>) => void,
): C {
  const mw: FinalizeRequestMiddleware<object, MetadataBearer> =
    (next: FinalizeHandler<object, MetadataBearer>) => async (args) => {
      edit((args.request as { headers: Record<string, string> }).headers);
      return next(args);
    };
  client.middlewareStack.addRelativeTo(mw as never, {
    relation: "after",
    toMiddleware: "httpSigningMiddleware",
    name: "tamperSignedRequest",
  });
  return client;
}

const ping = (modelId: string) =>
  new InvokeModelCommand({ modelId, body: PING, contentType: "application/json" });

describe("SigV4 credential scope", () => {
  describe("region", () => {
    it("serves a model only to calls signed for the region of its ARN", async () => {
      const west = runtime({ region: "us-west-2" });
      const wrong = await rejectionOf(west.send(ping(EAST)));
      expect(wrong).toBeInstanceOf(ValidationException);
      expect(wrong.message).toBe("The provided model identifier is invalid.");
      // The call never reached the model: it is still cold, with no restore started.
      expect(sim.modelState(EAST)).toEqual({ state: "cold", copies: 0 });

      const right = await rejectionOf(west.send(ping(WEST)));
      expect(right).toBeInstanceOf(ModelNotReadyException);
      expect(sim.modelState(WEST).state).toBe("restoring");
      west.destroy();
    });

    it("finds an imported model by ARN, id or name only in the region the call is signed for", async () => {
      const east = new BedrockClient(common({ region: "us-east-1" }));
      for (const modelIdentifier of [WEST, "westmodel001"]) {
        const e = await rejectionOf(east.send(new GetImportedModelCommand({ modelIdentifier })));
        expect(e).toBeInstanceOf(ResourceNotFoundException);
      }
      const byName = await east.send(
        new GetImportedModelCommand({ modelIdentifier: "shared-name" }),
      );
      expect(byName.modelArn).toBe(EAST);
      const west = new BedrockClient(common({ region: "us-west-2" }));
      const westByName = await west.send(
        new GetImportedModelCommand({ modelIdentifier: "shared-name" }),
      );
      expect(westByName.modelArn).toBe(WEST);
      east.destroy();
      west.destroy();
    });

    it("refuses a scope that names no AWS region", async () => {
      const moon = runtime({ region: "moon-base-1" });
      const e = await rejectionOf(moon.send(ping(EAST)));
      expect(e.name).toBe("InvalidSignatureException");
      expect(e.$metadata.httpStatusCode).toBe(403);
      expect(e.message).toBe("Credential should be scoped to a valid region, not 'moon-base-1'. ");
      moon.destroy();
    });

    it("keeps CloudWatch regional: a model's metrics and custom metrics are seen only in their region", async () => {
      // Wake the us-west-2 model and let its first ModelCopy minutes be published.
      const west = runtime({ region: "us-west-2" });
      clock.set(T0 + 2 * MIN);
      await west.send(ping(WEST));
      clock.set(T0 + 10 * MIN);
      west.destroy();

      const query = modelCopyQuery(T0, T0 + 10 * MIN, 60, "Maximum", {}, WEST);
      const cwWest = cloudwatch({ region: "us-west-2" });
      const cwEast = cloudwatch({ region: "us-east-1" });
      const seen = await cwWest.send(query);
      expect(seen.MetricDataResults?.[0]?.Values?.length).toBeGreaterThan(0);
      const unseen = await cwEast.send(query);
      expect(unseen.MetricDataResults?.[0]?.Values).toEqual([]);
      const listed = await cwEast.send(new ListMetricsCommand({ Namespace: "AWS/Bedrock" }));
      expect(listed.Metrics?.some((m) => m.Dimensions?.[0]?.Value === WEST)).toBe(false);

      await cwWest.send(
        new PutMetricDataCommand({
          Namespace: "Keepwarm/Test",
          MetricData: [{ MetricName: "Regional", Value: 1, Timestamp: new Date(clock.now()) }],
        }),
      );
      const custom = new ListMetricsCommand({ Namespace: "Keepwarm/Test" });
      expect((await cwWest.send(custom)).Metrics?.map((m) => m.MetricName)).toEqual(["Regional"]);
      expect((await cwEast.send(custom)).Metrics).toEqual([]);
      cwWest.destroy();
      cwEast.destroy();
    });
  });

  describe("service", () => {
    it("refuses a Bedrock call signed for another service, naming the right one", async () => {
      const client = tamper(runtime({ region: "us-east-1" }), (h) => {
        h.authorization = (h.authorization as string).replace("/bedrock/", "/sagemaker/");
      });
      const e = await rejectionOf(client.send(ping(EAST)));
      expect(e.name).toBe("InvalidSignatureException");
      expect(e.$metadata.httpStatusCode).toBe(403);
      expect(e.message).toBe("Credential should be scoped to correct service: 'bedrock'. ");
      client.destroy();
    });

    it("refuses a CloudWatch call signed for bedrock with the query-compatible code", async () => {
      const client = tamper(cloudwatch({ region: "us-east-1" }), (h) => {
        h.authorization = (h.authorization as string).replace("/monitoring/", "/bedrock/");
      });
      const e = await rejectionOf(client.send(new ListMetricsCommand({})));
      expect(e.name).toBe("SignatureDoesNotMatch");
      expect(e.$metadata.httpStatusCode).toBe(403);
      expect(e.message).toBe("Credential should be scoped to correct service: 'monitoring'. ");
      client.destroy();
    });
  });

  describe("malformed Authorization", () => {
    it("answers IncompleteSignatureException listing what the header lacks", async () => {
      const client = tamper(runtime({ region: "us-east-1" }), (h) => {
        h.authorization = "garbage";
      });
      const e = await rejectionOf(client.send(ping(EAST)));
      expect(e.name).toBe("IncompleteSignatureException");
      expect(e.message).toBe(
        "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=garbage",
      );
      client.destroy();
    });

    it("answers a credential that is not key/date/region/service/aws4_request", async () => {
      const client = tamper(cloudwatch({ region: "us-east-1" }), (h) => {
        h.authorization = (h.authorization as string).replace(
          /Credential=[^,]+/,
          "Credential=AKID",
        );
      });
      const e = await rejectionOf(client.send(new ListMetricsCommand({})));
      expect(e.name).toBe("IncompleteSignature");
      expect(e.$metadata.httpStatusCode).toBe(400);
      expect(e.message).toContain("Credential must have exactly 5 slash-delimited elements");
      client.destroy();
    });
  });

  describe("date", () => {
    it("checks X-Amz-Date against the host's clock, not the simulated one months away", async () => {
      expect(Math.abs(clock.now() - Date.now())).toBeGreaterThan(30 * 24 * 60 * MIN);
      const cw = cloudwatch({ region: "us-east-1" });
      await expect(cw.send(new ListMetricsCommand({}))).resolves.toBeDefined();
      cw.destroy();
    });

    it("refuses a request signed in 2020 as expired", async () => {
      const offset = Date.parse("2020-03-01T12:00:00Z") - Date.now();
      const client = runtime({ region: "us-east-1", systemClockOffset: offset });
      const e = await rejectionOf(client.send(ping(EAST)));
      expect(e.name).toBe("InvalidSignatureException");
      expect(e.$metadata.httpStatusCode).toBe(403);
      expect(e.message).toMatch(
        /^Signature expired: 202003\d\dT\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/,
      );
      client.destroy();
    });

    it("refuses a request signed ahead of the clock as not yet current", async () => {
      const client = cloudwatch({ region: "us-east-1", systemClockOffset: YEAR });
      const e = await rejectionOf(client.send(new ListMetricsCommand({})));
      expect(e.name).toBe("SignatureDoesNotMatch");
      expect(e.message).toMatch(/^Signature not yet current: .* \+ 15 min\.\)$/);
      client.destroy();
    });

    it("allows Bedrock 5 minutes of skew and CloudWatch 15", async () => {
      const table: [number, "bedrock" | "monitoring", boolean][] = [
        [-4 * MIN, "bedrock", true],
        [-6 * MIN, "bedrock", false],
        [4 * MIN, "bedrock", true],
        [6 * MIN, "bedrock", false],
        [-14 * MIN, "monitoring", true],
        [-16 * MIN, "monitoring", false],
      ];
      for (const [skew, service, accepted] of table) {
        const o = { region: "us-east-1", systemClockOffset: skew };
        const client = service === "bedrock" ? runtime(o) : cloudwatch(o);
        const call =
          client instanceof BedrockRuntimeClient
            ? client.send(ping(EAST))
            : client.send(new ListMetricsCommand({}));
        const e = await call.then(
          () => undefined,
          (err: Error) => err,
        );
        const signatureError =
          e?.name === "InvalidSignatureException" || e?.name === "SignatureDoesNotMatch";
        expect({ skew: skew / MIN, service, refused: signatureError }).toEqual({
          skew: skew / MIN,
          service,
          refused: !accepted,
        });
        client.destroy();
      }
    });

    it("refuses a scope date that is not the day of X-Amz-Date", async () => {
      const headers = sigv4Headers("bedrock", "us-east-1");
      headers.authorization = headers.authorization?.replace(/\/\d{8}\//, "/20200101/") ?? "";
      const res = await fetch(`${server.url}/model/${encodeURIComponent(EAST)}/invoke`, {
        method: "POST",
        headers,
        body: PING,
      });
      expect(res.status).toBe(403);
      expect(res.headers.get("x-amzn-errortype")).toBe("InvalidSignatureException");
      expect(((await res.json()) as { message: string }).message).toMatch(
        /^Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20200101' != '\d{8}'/,
      );
    });
  });

  describe("another SDK", () => {
    it("gives botocore the same errors by name (wrong region, wrong date)", async () => {
      const out = await runPython(
        `
import json, datetime, boto3, botocore
from unittest import mock
url = ${JSON.stringify(server.url)}
result = {}
west = boto3.client("bedrock-runtime", region_name="us-west-2", endpoint_url=url,
    config=botocore.config.Config(retries={"max_attempts": 1}))
try:
    west.invoke_model(modelId=${JSON.stringify(EAST)}, body=${JSON.stringify(PING)})
except botocore.exceptions.ClientError as e:
    result["region"] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]
old = datetime.datetime(2020, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
with mock.patch("botocore.auth.get_current_datetime", return_value=old):
    try:
        west.invoke_model(modelId=${JSON.stringify(WEST)}, body=${JSON.stringify(PING)})
    except botocore.exceptions.ClientError as e:
        result["date"] = [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
print(json.dumps(result))
`,
      );
      expect(out).toEqual({
        region: ["ValidationException", "The provided model identifier is invalid."],
        date: ["InvalidSignatureException", 403],
      });
    });
  });
});
