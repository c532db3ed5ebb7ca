import { CloudWatchClient, ListMetricsCommand } from "@aws-sdk/client-cloudwatch";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/sim/clock.js";
import type { SimServer } from "../../src/sim/server.js";
import { Simulator } from "../../src/sim/simulator.js";
import { SIMULATED_ACCOUNT, SIMULATED_USER } from "../../src/sim/sts.js";
import { CREDENTIALS, rejectionOf, runPython, sigv4Headers, T0 } from "./harness.js";

const WEST = "arn:aws:bedrock:us-west-2:111122223333:imported-model/westmodel001";

describe("the simulator's STS", () => {
  const clock = new ManualClock(T0);
  const sim = new Simulator({ clock, models: [{ modelArn: WEST, customModelUnits: 4 }] });
  let server: SimServer;
  const clients: { destroy(): void }[] = [];
  const sts = (region = "us-west-2") => {
    const client = new STSClient({ region, endpoint: server.url, credentials: CREDENTIALS });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await sim.listen();
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server.close();
  });

  describe("GetCallerIdentity", () => {
    it("answers the SDK with the account of the models it serves", async () => {
      const out = await sts().send(new GetCallerIdentityCommand({}));
      expect(out).toMatchObject({
        Account: "111122223333",
        Arn: `arn:aws:iam::111122223333:user/${SIMULATED_USER}`,
        UserId: expect.stringMatching(/^AIDA[A-Z2-7]{17}$/),
      });
    });

    it("answers the same user id for the same key, whatever the region", async () => {
      const [a, b] = await Promise.all([
        sts("us-west-2").send(new GetCallerIdentityCommand({})),
        sts("eu-central-1").send(new GetCallerIdentityCommand({})),
      ]);
      expect(a.UserId).toBe(b.UserId);
    });

    it("answers boto3 (awsQuery, XML) alike", async () => {
      const out = await runPython(`
import json, boto3
sts = boto3.client("sts", region_name="us-east-1", endpoint_url=${JSON.stringify(server.url)})
me = sts.get_caller_identity()
print(json.dumps({"Account": me["Account"], "Arn": me["Arn"]}))
`);
      expect(out).toEqual({
        Account: "111122223333",
        Arn: `arn:aws:iam::111122223333:user/${SIMULATED_USER}`,
      });
    });

    it("names the documentation's example account when it serves no model", async () => {
      const empty = new Simulator({ clock });
      const alone = await empty.listen();
      const client = new STSClient({
        region: "us-east-1",
        endpoint: alone.url,
        credentials: CREDENTIALS,
      });
      try {
        expect((await client.send(new GetCallerIdentityCommand({}))).Account).toBe(
          SIMULATED_ACCOUNT,
        );
      } finally {
        client.destroy();
        await alone.close();
      }
    });
  });

  describe("what it refuses, as STS does", () => {
    const post = (body: string, headers: Record<string, string>) =>
      fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
        body,
      });

    it("an unsigned call: 403 MissingAuthenticationToken", async () => {
      const res = await post("Action=GetCallerIdentity&Version=2011-06-15", {});
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("<Code>MissingAuthenticationToken</Code>");
    });

    it("a call signed for another service: 403 SignatureDoesNotMatch", async () => {
      const res = await post(
        "Action=GetCallerIdentity&Version=2011-06-15",
        sigv4Headers("monitoring", "us-east-1"),
      );
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("<Code>SignatureDoesNotMatch</Code>");
    });

    it("an STS action it does not serve: 400 InvalidAction", async () => {
      const res = await post(
        "Action=AssumeRole&Version=2011-06-15",
        sigv4Headers("sts", "us-east-1"),
      );
      expect(res.status).toBe(400);
      expect(await res.text()).toContain("<Code>InvalidAction</Code>");
    });

    it("leaves CloudWatch's calls to CloudWatch, awsQuery ones included", async () => {
      const cloudwatch = new CloudWatchClient({
        region: "us-west-2",
        endpoint: server.url,
        credentials: CREDENTIALS,
      });
      clients.push(cloudwatch);
      const listed = await cloudwatch.send(new ListMetricsCommand({ Namespace: "AWS/Bedrock" }));
      expect(listed.Metrics).toBeDefined();
      const res = await post(
        "Action=ListMetrics&Version=2010-08-01",
        sigv4Headers("monitoring", "us-west-2"),
      );
      expect(await res.text()).toContain("this request is awsQuery");
    });

    it("refuses a signature more than 15 minutes off the host's clock", async () => {
      const skewed = new STSClient({
        region: "us-east-1",
        endpoint: server.url,
        credentials: CREDENTIALS,
        systemClockOffset: -20 * 60_000,
        maxAttempts: 1,
      });
      clients.push(skewed);
      const error = await rejectionOf(skewed.send(new GetCallerIdentityCommand({})));
      expect(error.name).toBe("SignatureDoesNotMatch");
    });
  });
});
