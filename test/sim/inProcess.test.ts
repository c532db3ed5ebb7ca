import { BedrockClient, GetImportedModelCommand } from "@aws-sdk/client-bedrock";
import { BedrockRuntimeClient, InvokeModelCommand } from "@aws-sdk/client-bedrock-runtime";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { afterEach, describe, expect, it } from "vitest";
import { classifyAwsError } from "../../src/aws/errors.js";
import { ManualClock } from "../../src/sim/clock.js";
import { InProcessSimHandler } from "../../src/sim/inProcess.js";
import { Simulator } from "../../src/sim/simulator.js";
import { ARN, CREDENTIALS, EXACT, MIN, modelCopyQuery, rejectionOf, T0 } from "./harness.js";

const PING = new TextEncoder().encode('{"prompt":"ping","max_gen_len":1}');

/** The three real SDK clients with the in-process handler: nothing listens anywhere. */
function inProcess() {
  const clock = new ManualClock(T0);
  const sim = new Simulator({
    clock,
    settings: EXACT,
    models: [{ modelArn: ARN, customModelUnits: 4, architecture: "qwen2.5-vl" }],
  });
  const handler = new InProcessSimHandler(sim);
  // Port 1 is closed: a request that went to the network would fail.
  const common = {
    region: "us-east-1",
    endpoint: "http://127.0.0.1:1",
    credentials: CREDENTIALS,
    maxAttempts: 1,
    requestHandler: handler,
  };
  const clients = {
    runtime: new BedrockRuntimeClient(common),
    bedrock: new BedrockClient(common),
    cloudwatch: new CloudWatchClient(common),
  };
  const ping = () =>
    clients.runtime.send(
      new InvokeModelCommand({ modelId: ARN, body: PING, contentType: "application/json" }),
    );
  return { clock, sim, handler, ping, ...clients };
}

let open: ReturnType<typeof inProcess> | undefined;
afterEach(() => {
  for (const c of [open?.runtime, open?.bedrock, open?.cloudwatch]) c?.destroy();
  open = undefined;
});

describe("InProcessSimHandler", () => {
  it("answers the real SDK clients through the simulator's dispatch, errors named as AWS names them", async () => {
    const h = inProcess();
    open = h;
    const cold = await rejectionOf(h.ping());
    expect(cold.name).toBe("ModelNotReadyException");
    expect(cold.$metadata.httpStatusCode).toBe(429);
    h.clock.set(T0 + 2 * MIN);
    const ok = await h.ping();
    expect(JSON.parse(new TextDecoder().decode(ok.body))).toHaveProperty("generation");
    const model = await h.bedrock.send(new GetImportedModelCommand({ modelIdentifier: ARN }));
    expect(model.customModelUnits?.customModelUnitsPerModelCopy).toBe(4);
    expect(model.modelArchitecture).toBe("qwen2.5-vl");
    h.clock.set(T0 + 10 * MIN);
    const copies = await h.cloudwatch.send(modelCopyQuery(T0, T0 + 10 * MIN, 60, "Maximum"));
    const series = copies.MetricDataResults?.[0];
    expect(series?.Timestamps?.map((d) => d.getTime())).toContain(T0 + 2 * MIN);
    expect(h.handler.requests).toBe(4);
  });

  it("plays request faults: throttling as ThrottlingException, a dropped connection as a network error", async () => {
    const h = inProcess();
    open = h;
    h.clock.set(T0);
    await rejectionOf(h.ping());
    h.clock.set(T0 + 2 * MIN);
    h.sim.faults.add({ kind: "throttling", modelArn: ARN, times: 1 });
    h.sim.faults.add({ kind: "dropConnection", modelArn: ARN, times: 1 });
    const throttled = await rejectionOf(h.ping());
    expect(throttled.name).toBe("ThrottlingException");
    expect(classifyAwsError(throttled)).toBe("throttled");
    const dropped = await rejectionOf(h.ping());
    expect(dropped.$metadata?.httpStatusCode).toBeUndefined();
    expect((dropped as unknown as { code: string }).code).toBe("ECONNRESET");
    expect(classifyAwsError(dropped)).toBe("unavailable");
    await expect(h.ping()).resolves.toBeDefined();
  });

  it("gives up an answer held back by a slow fault when the caller aborts", async () => {
    const h = inProcess();
    open = h;
    await rejectionOf(h.ping());
    h.clock.set(T0 + 2 * MIN);
    h.sim.faults.add({ kind: "slow", delayMs: 5_000, modelArn: ARN, times: 1 });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    const started = performance.now();
    const err = await rejectionOf(
      h.runtime.send(new InvokeModelCommand({ modelId: ARN, body: PING }), {
        abortSignal: abort.signal,
      }),
    );
    expect(err.name).toBe("AbortError");
    expect(performance.now() - started).toBeLessThan(2_000);
    h.handler.destroy();
  });
});
