import { GetImportedModelCommand } from "@aws-sdk/client-bedrock";
import {
  AccessDeniedException,
  InvokeModelCommand,
  ModelNotReadyException,
  ServiceUnavailableException,
  ThrottlingException,
} from "@aws-sdk/client-bedrock-runtime";
import { ListMetricsCommand } from "@aws-sdk/client-cloudwatch";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FaultSpec, FaultSpecError } from "../../src/sim/faults.js";
import {
  ARN,
  ARN2,
  at,
  MIN,
  modelCopyQuery,
  rejectionOf,
  type SdkHarness,
  startHarness,
} from "./harness.js";

const ping = (modelId = ARN) =>
  new InvokeModelCommand({ modelId, body: JSON.stringify({ prompt: "ping", max_gen_len: 1 }) });

const copiesQuery = (start: number, end: number) =>
  modelCopyQuery(start, end, 60, "Maximum", { ScanBy: "TimestampAscending" });

describe("FaultSchedule through the SDK", () => {
  let h: SdkHarness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  /** Wakes the model at 09:00 and serves its first call at 09:02. */
  async function warm(): Promise<void> {
    h.clock.set(at("09:00:00"));
    await rejectionOf(h.runtime.send(ping()));
    h.clock.set(at("09:02:00"));
    await h.runtime.send(ping());
  }

  it("throttling: ThrottlingException 429 for that model and range only", async () => {
    await warm();
    h.sim.faults.add({
      kind: "throttling",
      modelArn: ARN,
      from: at("09:03:00"),
      until: at("09:04:00"),
    });
    h.clock.set(at("09:03:00"));
    const err = await rejectionOf(h.runtime.send(ping()));
    expect(err).toBeInstanceOf(ThrottlingException);
    expect(err.$metadata.httpStatusCode).toBe(429);
    h.clock.set(at("09:04:00"));
    await expect(h.runtime.send(ping())).resolves.toBeDefined();
  });

  it("serviceUnavailable: ServiceUnavailableException 503, lapsing after `times` calls", async () => {
    await warm();
    h.sim.faults.add({ kind: "serviceUnavailable", times: 2 });
    for (let i = 0; i < 2; i++) {
      const err = await rejectionOf(h.runtime.send(ping()));
      expect(err).toBeInstanceOf(ServiceUnavailableException);
      expect(err.$metadata.httpStatusCode).toBe(503);
    }
    await expect(h.runtime.send(ping())).resolves.toBeDefined();
  });

  it("slow: the answer arrives late but whole", async () => {
    await warm();
    h.sim.faults.add({ kind: "slow", delayMs: 250, modelArn: ARN });
    const started = performance.now();
    const out = await h.runtime.send(ping());
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
    expect(JSON.parse(new TextDecoder().decode(out.body)).generation).toBe("ok");
  });

  it("dropConnection: the SDK sees a network error, not a service error, over h2c and HTTP/1.1", async () => {
    await warm();
    h.sim.faults.add({ kind: "dropConnection", modelArn: ARN, times: 1 });
    h.sim.faults.add({
      kind: "dropConnection",
      operations: ["GetImportedModel"],
      modelArn: ARN,
      times: 1,
    });
    const h2 = await rejectionOf(h.runtime.send(ping()));
    const h1 = await rejectionOf(
      h.bedrock.send(new GetImportedModelCommand({ modelIdentifier: ARN })),
    );
    for (const err of [h2, h1]) {
      expect(err.$metadata?.httpStatusCode).toBeUndefined();
      expect(err.$fault).toBeUndefined();
    }
    // The dropped call never reached the model; the next ones are served normally.
    expect(h.sim.invokeCount(ARN)).toBe(1);
    await expect(h.runtime.send(ping())).resolves.toBeDefined();
    await expect(
      h.bedrock.send(new GetImportedModelCommand({ modelIdentifier: ARN })),
    ).resolves.toBeDefined();
  });

  it("accessDenied: AccessDeniedException 403 naming the action and the model", async () => {
    h.sim.faults.add({ kind: "accessDenied", modelArn: ARN });
    const invoke = await rejectionOf(h.runtime.send(ping()));
    expect(invoke).toBeInstanceOf(AccessDeniedException);
    expect(invoke.$metadata.httpStatusCode).toBe(403);
    expect(invoke.message).toContain(`bedrock:InvokeModel on resource: ${ARN}`);
    const get = await rejectionOf(
      h.bedrock.send(new GetImportedModelCommand({ modelIdentifier: ARN })),
    );
    expect(get.name).toBe("AccessDeniedException");
    // Another model is unaffected.
    expect(await rejectionOf(h.runtime.send(ping(ARN2)))).toBeInstanceOf(ModelNotReadyException);
  });

  it("expiredToken: ExpiredTokenException 403 from Bedrock and CloudWatch alike", async () => {
    h.sim.faults.add({ kind: "expiredToken" });
    const invoke = await rejectionOf(h.runtime.send(ping()));
    const metrics = await rejectionOf(h.cloudwatch.send(new ListMetricsCommand({})));
    for (const err of [invoke, metrics]) {
      expect(err.$metadata.httpStatusCode).toBe(403);
      expect(err.message).toBe("The security token included in the request is expired");
    }
    expect(invoke.name).toBe("ExpiredTokenException");
    expect(metrics.name).toBe("ExpiredToken");
  });

  it("cloudwatchThrottling: CloudWatch answers Throttling (Rate exceeded) while Bedrock is served", async () => {
    await warm();
    h.sim.faults.add({ kind: "cloudwatchThrottling", from: at("09:02:00"), until: at("09:10:00") });
    const err = await rejectionOf(h.cloudwatch.send(copiesQuery(at("09:00:00"), at("09:10:00"))));
    expect(err.name).toBe("Throttling");
    expect(err.message).toBe("Rate exceeded");
    expect(err.$metadata.httpStatusCode).toBe(400);
    await expect(h.runtime.send(ping())).resolves.toBeDefined();
    h.clock.set(at("09:10:00"));
    await expect(
      h.cloudwatch.send(copiesQuery(at("09:00:00"), at("09:10:00"))),
    ).resolves.toBeDefined();
  });

  it("metricsLate and metricsMissing: minutes published late or never", async () => {
    await warm();
    h.sim.faults.add({
      kind: "metricsLate",
      modelArn: ARN,
      delayMs: 10 * MIN,
      from: at("09:03:00"),
      until: at("09:04:00"),
    });
    h.sim.faults.add({
      kind: "metricsMissing",
      modelArn: ARN,
      from: at("09:05:00"),
      until: at("09:07:00"),
    });
    const minutes = async () => {
      const out = await h.cloudwatch.send(copiesQuery(at("09:00:00"), at("09:30:00")));
      return (out.MetricDataResults?.[0]?.Timestamps ?? []).map((t) =>
        t.toISOString().slice(14, 16),
      );
    };
    h.clock.set(at("09:10:00")); // normally minutes up to 09:07 are readable
    expect(await minutes()).toEqual(["00", "01", "02", "04", "07"]);
    h.clock.set(at("09:16:00")); // 09:03 is readable 2 + 10 minutes after it ends
    expect(await minutes()).toEqual([
      "00",
      "01",
      "02",
      "03",
      "04",
      "07",
      "08",
      "09",
      "10",
      "11",
      "12",
      "13",
    ]);
  });

  it("slowRestore: a restore longer than 5 minutes keeps answering ModelNotReadyException", async () => {
    h.sim.faults.add({ kind: "slowRestore", modelArn: ARN, restoreMs: 7 * MIN });
    for (const [time, ready] of [
      ["09:00:00", false],
      ["09:05:00", false],
      ["09:06:59", false],
      ["09:07:00", true],
    ] as const) {
      h.clock.set(at(time));
      if (ready) await expect(h.runtime.send(ping())).resolves.toBeDefined();
      else expect(await rejectionOf(h.runtime.send(ping()))).toBeInstanceOf(ModelNotReadyException);
    }
  });

  it("evictAfter: a copy last called in range idles out after the fault's delay, one called before it keeps the rule's", async () => {
    // Restore 90 s, evicted 15 min after the last call; from 10:00 Bedrock unloads after 5.
    h.sim.faults.add({ kind: "evictAfter", modelArn: ARN, delayMs: 5 * MIN, from: at("10:00:00") });
    h.clock.set(at("09:40:00"));
    await rejectionOf(h.runtime.send(ping()));
    h.clock.set(at("09:42:00"));
    await h.runtime.send(ping());
    h.clock.set(at("09:55:00"));
    await h.runtime.send(ping());
    h.clock.set(at("10:09:59"));
    expect(h.sim.modelState(ARN).state).toBe("warm");
    h.clock.set(at("10:10:00"));
    expect(h.sim.modelState(ARN)).toEqual({ state: "cold", copies: 0 });
    expect(await rejectionOf(h.runtime.send(ping()))).toBeInstanceOf(ModelNotReadyException);
    h.clock.set(at("10:12:00"));
    await h.runtime.send(ping());
    h.clock.set(at("10:16:59"));
    expect(h.sim.modelState(ARN).state).toBe("warm");
    h.clock.set(at("10:17:00"));
    expect(h.sim.modelState(ARN).state).toBe("cold");
    // The other model is not in the fault's scope.
    h.clock.set(at("10:20:00"));
    await rejectionOf(h.runtime.send(ping(ARN2)));
    h.clock.set(at("10:22:00"));
    await h.runtime.send(ping(ARN2));
    h.clock.set(at("10:36:59"));
    expect(h.sim.modelState(ARN2).state).toBe("warm");
    h.clock.set(at("10:37:00"));
    expect(h.sim.modelState(ARN2).state).toBe("cold");
    // The bill follows the copy: 09:42-10:10 and 10:12-10:17, in whole 5-minute windows.
    const bill = h.sim.ledger({ start: at("09:00:00"), end: at("10:20:00") });
    expect(bill.models.find((m) => m.modelArn === ARN)?.billedMinutes).toBe(30 + 5);
  });

  it("evict: copies unloaded mid-window; ModelCopy falls to 0 and the next call is a cold start", async () => {
    await warm();
    h.sim.faults.add({ kind: "evict", modelArn: ARN, at: at("09:09:00") });
    h.clock.set(at("09:08:00"));
    await h.runtime.send(ping());
    h.clock.set(at("09:09:00"));
    expect(h.sim.modelState(ARN)).toEqual({ state: "cold", copies: 0 });
    expect(await rejectionOf(h.runtime.send(ping()))).toBeInstanceOf(ModelNotReadyException);
    h.clock.set(at("09:20:00"));
    const out = await h.cloudwatch.send(copiesQuery(at("09:00:00"), at("09:20:00")));
    // Readable at 09:20: 09:00-09:17. Restoring 09:00-09:01, one copy 09:02-09:08, unloaded
    // at 09:09 and restoring (then restored, idle) 09:09-09:17.
    expect(out.MetricDataResults?.[0]?.Values).toEqual([
      0,
      0,
      ...Array(7).fill(1),
      ...Array(9).fill(0),
    ]);
    // 09:02 -> 09:09 is 7 minutes: billed 10.
    expect(h.sim.ledger().models[0]?.billedMinutes).toBe(10);
  });

  it("adds a second copy under concurrent calls, visible in ModelCopy", async () => {
    await warm();
    h.clock.set(at("09:05:00"));
    const burst = await Promise.all(Array.from({ length: 5 }, () => h.runtime.send(ping())));
    expect(burst).toHaveLength(5);
    expect(h.sim.modelState(ARN)).toEqual({ state: "warm", copies: 2 });
    h.clock.set(at("09:30:00"));
    const out = await h.cloudwatch.send(copiesQuery(at("09:04:00"), at("09:07:00")));
    expect(out.MetricDataResults?.[0]?.Values).toEqual([1, 2, 2]);
  });

  it("takes faults over HTTP at /_sim/faults, as the in-process FaultSpec in JSON", async () => {
    const post = (spec: object) =>
      fetch(`${h.server.url}/_sim/faults`, { method: "POST", body: JSON.stringify(spec) });
    const added = await post({ kind: "throttling", modelArn: ARN, from: at("09:00:00") });
    expect(added.status).toBe(201);
    const { id } = (await added.json()) as { id: number };
    expect(await rejectionOf(h.runtime.send(ping()))).toBeInstanceOf(ThrottlingException);
    const bad = await post({ kind: "throttling", from: "yesterday" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/from must be an instant/);
    const removed = await fetch(`${h.server.url}/_sim/faults/${id}`, { method: "DELETE" });
    expect(removed.status).toBe(200);
    expect(await rejectionOf(h.runtime.send(ping()))).toBeInstanceOf(ModelNotReadyException);
  });

  it("rejects a fault that cannot happen", () => {
    expect(() => h.sim.faults.add({ kind: "throttling", from: 10, until: 5 })).toThrow(
      FaultSpecError,
    );
    expect(() => h.sim.faults.add({ kind: "slow", delayMs: -1 })).toThrow(FaultSpecError);
    expect(() => h.sim.faults.add({ kind: "melt" } as unknown as FaultSpec)).toThrow(
      /unknown kind/,
    );
  });
});
