import { EventEmitter } from "node:events";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  createLogger,
  describeError,
  logProcessWarnings,
  printProcessWarnings,
} from "../../../src/runtime/infra/logger.js";

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
    logger.info({ event: "ping", ...fields });
    expect(lines[0]).toMatchObject(expected);
    expect(JSON.stringify(lines[0])).not.toMatch(/AKIA|AWS4-HMAC|"t"|"u"|"s"/);
  });
});

describe("process warnings", () => {
  // The AWS SDK's notice on Node.js 20, as it emits it: several lines.
  const NOTICE = new Error(
    "NodeVersionSupportWarning: The AWS SDK for JavaScript (v3)\nversions published after the first week of January 2027\nwill require node >=22.\n\nMore information can be found at: https://a.co/c895JFp",
  );
  NOTICE.name = "Warning";
  const ONE_LINE =
    "NodeVersionSupportWarning: The AWS SDK for JavaScript (v3) versions published after the first week of January 2027 will require node >=22. More information can be found at: https://a.co/c895JFp";

  /** A stand-in for `process` with Node's own printer of warnings listening. */
  function fakeProcess() {
    const proc = new EventEmitter() as unknown as NodeJS.Process;
    const printed: Error[] = [];
    proc.on("warning", (w: Error) => printed.push(w));
    return { proc, printed };
  }

  it("logs each as one node-warning line instead of Node's text, and can be undone", () => {
    const { logger, lines } = capture();
    const { proc, printed } = fakeProcess();
    const undo = logProcessWarnings(logger, proc);
    proc.emit("warning", NOTICE);
    expect(printed).toEqual([]);
    expect(lines).toEqual([
      expect.objectContaining({
        level: "warn",
        event: "node-warning",
        name: "Warning",
        message: ONE_LINE,
        msg: ONE_LINE,
      }),
    ]);
    undo();
    proc.emit("warning", NOTICE);
    expect(printed).toEqual([NOTICE]);
    expect(lines).toHaveLength(1);
  });

  it("prints each as one line for the commands that do not log", () => {
    const written: string[] = [];
    const { proc, printed } = fakeProcess();
    printProcessWarnings((line) => written.push(line), proc);
    proc.emit("warning", NOTICE);
    expect(written).toEqual([`keepwarm: warning: ${ONE_LINE}`]);
    expect(printed).toEqual([]);
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

  it("keeps the session token, key id and signature that AWS echoes in a signature error out of the message", () => {
    // The shape of AWS's InvalidSignatureException and IncompleteSignature messages.
    const token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDsecret";
    const error = Object.assign(
      new Error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.\n\n" +
          "The Canonical String for this request should have been\n'POST\n/model/x/invoke\n\nhost:bedrock-runtime.us-east-1.amazonaws.com\n" +
          `x-amz-date:20261125T120000Z\nx-amz-security-token:${token}\n\nhost;x-amz-date;x-amz-security-token\ne3b0'\n`,
      ),
      { name: "InvalidSignatureException" },
    );
    const incomplete = Object.assign(
      new Error(
        "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=ASIAXAMPLEKEY1234567/20261125/us-east-1/bedrock/aws4_request, Signature=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
      ),
      { name: "IncompleteSignature" },
    );
    const described = JSON.stringify([describeError(error), describeError(incomplete)]);
    expect(described).not.toContain(token);
    expect(described).not.toContain("ASIAXAMPLEKEY1234567");
    expect(described).not.toContain("0f1e2d3c4b5a6978");
    expect(describeError(error).message).toMatch(
      /^The request signature we calculated does not match/,
    );
  });

  it("describes a thrown non-error", () => {
    expect(describeError("boom")).toEqual({ name: "Error", message: "boom" });
  });
});
