import {
  AccessDeniedException,
  InvokeModelWithResponseStreamCommand,
  ModelNotReadyException,
  ThrottlingException,
  ValidationException,
} from "@aws-sdk/client-bedrock-runtime";
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

const stream = (body: object, modelId = ARN) =>
  new InvokeModelWithResponseStreamCommand({
    modelId,
    body: JSON.stringify(body),
    contentType: "application/json",
  });

/** Every chunk of a streamed answer, decoded from its `bytes`. */
async function chunksOf(h: SdkHarness, body: object): Promise<Record<string, unknown>[]> {
  const out = await h.runtime.send(stream(body));
  expect(out.$metadata.httpStatusCode).toBe(200);
  expect(out.contentType).toBe("application/json");
  const chunks: Record<string, unknown>[] = [];
  for await (const event of out.body ?? []) {
    if (!event.chunk?.bytes) throw new Error(`unexpected event ${JSON.stringify(event)}`);
    chunks.push(JSON.parse(Buffer.from(event.chunk.bytes).toString("utf8")));
  }
  return chunks;
}

describe("InvokeModelWithResponseStream", () => {
  let h: SdkHarness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("answers ModelNotReadyException (429, before any event) while the model is cold or restoring", async () => {
    for (const time of ["09:00:00", "09:01:00"]) {
      h.clock.set(at(time));
      const e = await rejectionOf(h.runtime.send(stream({ prompt: "ping", max_gen_len: 1 })));
      expect(e).toBeInstanceOf(ModelNotReadyException);
      expect(e.$metadata.httpStatusCode).toBe(429);
    }
    expect(h.sim.modelState(ARN).state).toBe("restoring");
  });

  it("streams a warm model's answer as chunk events, one token each, in the request's dialect", async () => {
    await rejectionOf(h.runtime.send(stream({ prompt: "ping", max_gen_len: 1 })));
    h.clock.set(at("09:01:30"));

    const llama = await chunksOf(h, { prompt: "ping", max_gen_len: 3 });
    expect(llama.map((c) => c.generation).join("")).toBe("ok ok ok");
    expect(llama.map((c) => c.stop_reason)).toEqual([null, null, "length"]);
    expect(llama.at(-1)?.["amazon-bedrock-invocationMetrics"]).toMatchObject({
      outputTokenCount: 3,
    });

    const chat = await chunksOf(h, {
      messages: [{ role: "user", content: "ping" }],
      max_tokens: 2,
    });
    expect(chat.map((c) => c.object)).toEqual(["chat.completion.chunk", "chat.completion.chunk"]);
    const deltas = chat.map((c) => (c.choices as { delta: { content: string } }[])[0]?.delta);
    expect(deltas.map((d) => d?.content).join("")).toBe("ok ok");
    expect(chat.at(-1)?.usage).toMatchObject({ completion_tokens: 2 });

    const completion = await chunksOf(h, { prompt: "ping", max_tokens: 1 });
    expect(completion).toHaveLength(1);
    expect(completion[0]).toMatchObject({ choices: [{ text: "ok", finish_reason: "length" }] });
  });

  it("has the effects of InvokeModel: billed, counted in Invocations, seen in ModelCopy", async () => {
    await rejectionOf(h.runtime.send(stream({ prompt: "ping", max_gen_len: 1 })));
    h.clock.set(at("09:01:30"));
    await chunksOf(h, { prompt: "ping", max_gen_len: 1 });
    h.clock.set(at("09:02:10"));
    await chunksOf(h, { prompt: "ping", max_gen_len: 1 });

    expect(h.sim.invokeCount(ARN)).toBe(2);
    h.clock.set(at("09:10:00"));
    const ledger = h.sim.ledger({ start: T0, end: T0 + 60 * MIN });
    const model = ledger.models.find((m) => m.modelArn === ARN);
    // Billed from the first successful call, in 5-minute windows, as InvokeModel is.
    expect(model?.copies[0]?.runs[0]?.start).toBe(at("09:01:30"));
    expect(model?.billedMinutes).toBe(10);

    const copies = await h.cloudwatch.send(modelCopyQuery(T0, at("09:06:00"), 60, "Maximum"));
    expect(copies.MetricDataResults?.[0]?.Values?.slice().reverse()).toEqual([0, 1, 1, 1, 1, 1]);
  });

  it("refuses a bad body of a warm model, and a model of another region, as InvokeModel does", async () => {
    await rejectionOf(h.runtime.send(stream({ prompt: "ping", max_gen_len: 1 })));
    h.clock.set(at("09:01:30"));
    const bad = await rejectionOf(h.runtime.send(stream({ text: "no prompt" })));
    expect(bad).toBeInstanceOf(ValidationException);
    const other = ARN.replace("us-east-1", "eu-central-1");
    const elsewhere = await rejectionOf(h.runtime.send(stream({ prompt: "p" }, other)));
    expect(elsewhere).toBeInstanceOf(ValidationException);
    expect(elsewhere.message).toBe("The provided model identifier is invalid.");
  });

  it("takes InvokeModel's faults, naming its own IAM action", async () => {
    h.sim.faults.add({ kind: "throttling", times: 1 });
    h.sim.faults.add({ kind: "accessDenied", times: 1 });
    expect(await rejectionOf(h.runtime.send(stream({ prompt: "p" })))).toBeInstanceOf(
      ThrottlingException,
    );
    const denied = await rejectionOf(h.runtime.send(stream({ prompt: "p" })));
    expect(denied).toBeInstanceOf(AccessDeniedException);
    expect(denied.message).toContain("bedrock:InvokeModelWithResponseStream");
  });

  it("is parsed by botocore's invoke_model_with_response_stream, cold and warm", async () => {
    const script = `
import json, boto3, botocore
c = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=${JSON.stringify(h.server.url)},
    config=botocore.config.Config(retries={"max_attempts": 1}))
body = json.dumps({"prompt": "ping", "max_gen_len": 2})
try:
    r = c.invoke_model_with_response_stream(modelId=${JSON.stringify(ARN)}, body=body)
    parts = [json.loads(e["chunk"]["bytes"]) for e in r["body"]]
    print(json.dumps({"text": "".join(p["generation"] for p in parts), "chunks": len(parts)}))
except botocore.exceptions.ClientError as e:
    print(json.dumps({"error": e.response["Error"]["Code"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}))
`;
    expect(await runPython(script)).toEqual({ error: "ModelNotReadyException", status: 429 });
    h.clock.set(at("09:01:30"));
    expect(await runPython(script)).toEqual({ text: "ok ok", chunks: 2 });
  });
});
