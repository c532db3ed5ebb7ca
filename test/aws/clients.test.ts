import { Writable } from "node:stream";
import { GetImportedModelCommand } from "@aws-sdk/client-bedrock";
import { afterEach, describe, expect, it } from "vitest";
import {
  createRegionClients,
  RegionClientPool,
  type RegionClients,
} from "../../src/aws/clients.js";
import { createLogger } from "../../src/runtime/infra/logger.js";
import { ManualClock } from "../../src/sim/clock.js";
import type { SimServer } from "../../src/sim/server.js";
import { Simulator } from "../../src/sim/simulator.js";
import { ARN, CREDENTIALS, modelCopyQuery, T0 } from "../sim/harness.js";

describe("createRegionClients", () => {
  let server: SimServer | undefined;
  let clients: RegionClients | undefined;
  afterEach(async () => {
    clients?.runtime.destroy();
    clients?.bedrock.destroy();
    clients?.cloudwatch.destroy();
    await server?.close();
  });

  async function throttledSimulator(): Promise<SimServer> {
    const sim = new Simulator({
      clock: new ManualClock(T0),
      models: [{ modelArn: ARN, customModelUnits: 4 }],
    });
    sim.faults.add({ kind: "cloudwatchThrottling", operations: ["GetMetricData"] });
    return sim.listen({ port: 0 });
  }

  async function stalledSimulator(): Promise<SimServer> {
    const sim = new Simulator({
      clock: new ManualClock(T0),
      models: [{ modelArn: ARN, customModelUnits: 4 }],
    });
    // Answers arrive 3 s late: far beyond the timeout the clients are given below.
    sim.faults.add({ kind: "slow", delayMs: 3_000, operations: ["GetMetricData"] });
    sim.faults.add({ kind: "slow", delayMs: 3_000, operations: ["GetImportedModel"] });
    return sim.listen({ port: 0 });
  }

  describe("the CloudWatch and Bedrock clients", () => {
    it("abandon a call that does not answer within the request timeout", async () => {
      server = await stalledSimulator();
      clients = createRegionClients("us-east-1", {
        endpoint: server.url,
        credentials: CREDENTIALS,
        requestTimeoutMs: 100,
      });
      clients.cloudwatch.config.maxAttempts = async () => 1;
      clients.bedrock.config.maxAttempts = async () => 1;
      await expect(
        clients.cloudwatch.send(modelCopyQuery(T0 - 600_000, T0, 60, "Maximum")),
      ).rejects.toMatchObject({ name: "TimeoutError" });
      await expect(
        clients.bedrock.send(new GetImportedModelCommand({ modelIdentifier: ARN })),
      ).rejects.toMatchObject({ name: "TimeoutError" });
    });

    it("retry a throttled call as often as the SDK does, without its backoff when told 0", async () => {
      server = await throttledSimulator();
      clients = createRegionClients("us-east-1", {
        endpoint: server.url,
        credentials: CREDENTIALS,
        retryBackoffMs: 0,
      });
      const failed = await clients.cloudwatch
        .send(modelCopyQuery(T0 - 600_000, T0, 60, "Maximum"))
        .then(
          () => undefined,
          (e: { name?: string; $metadata?: { attempts?: number; totalRetryDelay?: number } }) => e,
        );
      // By default the SDK waits a jittered backoff (half a second base for throttling).
      expect(failed).toMatchObject({
        name: "Throttling",
        $metadata: { attempts: 3, totalRetryDelay: 0 },
      });
    });
  });
});

describe("RegionClientPool", () => {
  let server: SimServer | undefined;
  let pool: RegionClientPool | undefined;
  afterEach(async () => {
    pool?.destroy();
    await server?.close();
  });

  it("signs every region's clients with one CredentialSource, which SIGHUP makes read again", async () => {
    const sim = new Simulator({
      clock: new ManualClock(T0),
      models: [{ modelArn: ARN, customModelUnits: 4 }],
    });
    server = await sim.listen({ port: 0 });
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({
      destination: new Writable({
        write(chunk, _enc, done) {
          lines.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    });
    pool = new RegionClientPool({ endpoint: server.url, credentials: CREDENTIALS, logger });
    await pool.get("us-east-1").bedrock.send(new GetImportedModelCommand({ modelIdentifier: ARN }));
    await pool.get("us-west-2").cloudwatch.send(modelCopyQuery(T0 - 600_000, T0, 60, "Maximum"));
    pool.refreshCredentials();
    await pool.get("us-west-2").cloudwatch.send(modelCopyQuery(T0 - 600_000, T0, 60, "Maximum"));
    expect(pool.credentials.describe()).toBe("given");
    // Keys given in code come from no chain: the refresh is logged, no `credentials` line.
    expect(lines.map((l) => [l.event, l.reason, l.source, l.changed, l.keyIdSuffix])).toEqual([
      ["credentials-refresh", "SIGHUP", "given", undefined, "ATOR"],
    ]);
  });
});
