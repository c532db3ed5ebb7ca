import {
  AccessDeniedException,
  BedrockRuntimeClient,
  InternalServerException,
  InvokeModelCommand,
  ModelErrorException,
  ModelNotReadyException,
  ModelTimeoutException,
  ServiceUnavailableException,
  ThrottlingException,
  ValidationException,
} from "@aws-sdk/client-bedrock-runtime";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { AwsCallError, classifyAwsError, isTransient } from "../../src/aws/errors.js";
import { invokePing } from "../../src/aws/invoke.js";

const ARN = "arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel";
const meta = (status: number) => ({ $metadata: { httpStatusCode: status, requestId: "r-1" } });

describe("invokePing", () => {
  const runtime = mockClient(BedrockRuntimeClient);
  afterEach(() => runtime.reset());

  it("sends the configured body as JSON to the model ARN", async () => {
    runtime
      .on(InvokeModelCommand)
      .resolves({ body: new Uint8Array(), contentType: "application/json" } as never);
    await invokePing(new BedrockRuntimeClient({ region: "us-west-2" }), ARN, {
      prompt: "ping",
      max_gen_len: 1,
    });
    const call = runtime.commandCalls(InvokeModelCommand)[0];
    expect(call?.args[0].input).toMatchObject({
      modelId: ARN,
      body: '{"prompt":"ping","max_gen_len":1}',
      contentType: "application/json",
    });
  });

  // Both are 429: only the name tells a cold start from a quota.
  it.each([
    [
      "ModelNotReadyException",
      new ModelNotReadyException({ message: "not ready", ...meta(429) }),
      "not-ready",
    ],
    [
      "ThrottlingException",
      new ThrottlingException({ message: "slow down", ...meta(429) }),
      "throttled",
    ],
    [
      "ServiceUnavailableException",
      new ServiceUnavailableException({ message: "x", ...meta(503) }),
      "unavailable",
    ],
    [
      "InternalServerException",
      new InternalServerException({ message: "x", ...meta(500) }),
      "unavailable",
    ],
    ["AccessDeniedException", new AccessDeniedException({ message: "no", ...meta(403) }), "denied"],
    ["ValidationException", new ValidationException({ message: "bad", ...meta(400) }), "invalid"],
    [
      "ModelErrorException",
      new ModelErrorException({ message: "boom", ...meta(424) }),
      "model-error",
    ],
    [
      "ModelTimeoutException",
      new ModelTimeoutException({ message: "slow", ...meta(408) }),
      "model-error",
    ],
  ])("classifies %s by its name", async (_name, error, kind) => {
    runtime.on(InvokeModelCommand).rejects(error);
    const failure = await invokePing(
      new BedrockRuntimeClient({ region: "us-west-2" }),
      ARN,
      {},
    ).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(AwsCallError);
    expect(failure).toMatchObject({
      name: "AwsCallError",
      kind,
      action: "bedrock:InvokeModel",
      resource: ARN,
    });
    expect((failure as AwsCallError).cause).toBe(error);
  });

  it("names the permission and the ARN when access is denied", async () => {
    runtime
      .on(InvokeModelCommand)
      .rejects(new AccessDeniedException({ message: "no", ...meta(403) }));
    const failure = (await invokePing(
      new BedrockRuntimeClient({ region: "us-west-2" }),
      ARN,
      {},
    ).catch((e: unknown) => e)) as AwsCallError;
    expect(failure.remedy).toBe(
      `grant bedrock:InvokeModel on ${ARN} to the credentials keepwarm runs with, or renew them`,
    );
    expect(failure.message).toContain("AccessDeniedException");
  });

  it("names the config field when the request is invalid", async () => {
    runtime
      .on(InvokeModelCommand)
      .rejects(new ValidationException({ message: "bad", ...meta(400) }));
    const failure = (await invokePing(
      new BedrockRuntimeClient({ region: "us-west-2" }),
      ARN,
      {},
    ).catch((e: unknown) => e)) as AwsCallError;
    expect(failure.remedy).toContain("models[].request");
  });
});

describe("classifyAwsError", () => {
  it.each([
    [{ name: "ExpiredTokenException" }, "denied"],
    [{ name: "UnrecognizedClientException" }, "denied"],
    [{ name: "Throttling" }, "throttled"],
    [Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), "unavailable"],
    [{ name: "SomethingNew", $fault: "server" }, "unavailable"],
    [{ name: "SomethingNew", $fault: "client" }, "invalid"],
    [{ name: "TimeoutError" }, "unavailable"],
  ])("%o is %s", (error, kind) => {
    expect(classifyAwsError(error)).toBe(kind);
  });

  // Status codes lie: a 429 is a cold start or a quota, a 503 could carry any name.
  it("ignores the HTTP status", () => {
    expect(
      classifyAwsError({ name: "ModelNotReadyException", $metadata: { httpStatusCode: 503 } }),
    ).toBe("not-ready");
    expect(
      classifyAwsError({ name: "ThrottlingException", $metadata: { httpStatusCode: 500 } }),
    ).toBe("throttled");
  });
});

describe("isTransient", () => {
  it.each([
    ["throttled", true],
    ["unavailable", true],
    ["not-ready", false],
    ["denied", false],
    ["invalid", false],
    ["model-error", false],
  ] as const)("%s -> %s", (kind, transient) => {
    expect(isTransient(kind)).toBe(transient);
  });
});
