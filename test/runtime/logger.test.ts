import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, describeError } from "../../src/runtime/logger.js";

function capture(base?: Record<string, unknown>) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  const logger = createLogger({
    destination,
    now: () => Date.UTC(2026, 11, 7, 1),
    ...(base ? { base } : {}),
  });
  return { logger, lines };
}

describe("createLogger", () => {
  it("writes JSON lines stamped with the injected clock and the base fields", () => {
    const { logger, lines } = capture({ simulated: true });
    logger
      .child({ model: "mimo-vl", policy: "business-hours" })
      .info({ event: "spend", cmu: 4 }, "hello");
    expect(lines).toEqual([
      {
        level: "info",
        time: "2026-12-07T01:00:00.000Z",
        simulated: true,
        model: "mimo-vl",
        policy: "business-hours",
        event: "spend",
        cmu: 4,
        msg: "hello",
      },
    ]);
  });

  it.each([
    [{ credentials: { accessKeyId: "AKIA", secretAccessKey: "s" } }, { credentials: "[redacted]" }],
    [
      { request: { authorization: "AWS4-HMAC-SHA256 ..." } },
      { request: { authorization: "[redacted]" } },
    ],
    [
      { headers: { "x-amz-security-token": "t" } },
      { headers: { "x-amz-security-token": "[redacted]" } },
    ],
    [
      { sessionToken: "t", token: "u" },
      { sessionToken: "[redacted]", token: "[redacted]" },
    ],
  ])("redacts credential-like fields: %o", (fields, expected) => {
    const { logger, lines } = capture();
    logger.info({ event: "x", ...fields });
    expect(lines[0]).toMatchObject(expected);
    expect(JSON.stringify(lines[0])).not.toMatch(/AKIA|AWS4-HMAC|"t"|"u"|"s"/);
  });
});

describe("describeError", () => {
  it("keeps name, message, request id and status, and nothing else of an AWS error", () => {
    const error = Object.assign(new Error("Rate exceeded"), {
      name: "ThrottlingException",
      $metadata: { requestId: "req-1", httpStatusCode: 429 },
      $response: { headers: { authorization: "secret" } },
    });
    expect(describeError(error)).toEqual({
      name: "ThrottlingException",
      message: "Rate exceeded",
      requestId: "req-1",
      httpStatus: 429,
    });
  });

  it("describes a thrown non-error", () => {
    expect(describeError("boom")).toEqual({ name: "Error", message: "boom" });
  });
});
