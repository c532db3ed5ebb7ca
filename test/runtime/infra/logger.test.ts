import { EventEmitter } from "node:events";
import { Writable } from "node:stream";
import { stripVTControlCharacters } from "node:util";
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
        msg: "mimo-vl: hello",
      },
    ]);
  });

  it("starts the message of a model's lines with the model's name, once, and no other", () => {
    const { logger, lines } = capture();
    const model = logger.child({ model: "mimo-vl", policy: "business-hours" });
    model.info({ event: "ping", result: "ok" }, "ping ok");
    model.child({ region: "us-west-2" }).warn({ event: "ping-backoff" }, "throttled");
    model.info({ event: "ping" });
    logger.child({ region: "us-east-1" }).info({ event: "metrics-failed" }, "region line");
    logger.info({ event: "budget", model: "mimo-vl" }, "fleet line naming a model");
    expect(lines.map((l) => l.msg)).toEqual([
      "mimo-vl: ping ok",
      "mimo-vl: throttled",
      undefined,
      "region line",
      "fleet line naming a model",
    ]);
    expect(lines[0]).toEqual({
      level: "info",
      time: "2026-12-07T01:00:00.000Z",
      model: "mimo-vl",
      policy: "business-hours",
      event: "ping",
      result: "ok",
      msg: "mimo-vl: ping ok",
    });
  });
});

describe("createLogger({ pretty: true })", () => {
  /** Pretty text written for `write`'s lines, stamped at the instants of `times`. */
  async function prettyLines(
    write: (logger: ReturnType<typeof createLogger>, at: (t: number) => void) => void,
    timezone?: string,
  ): Promise<string[]> {
    let text = "";
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        done();
      },
    });
    let now = 0;
    const logger = createLogger({
      pretty: true,
      destination,
      now: () => now,
      ...(timezone ? { timezone } : {}),
    });
    write(logger, (t) => {
      now = t;
    });
    await new Promise((r) => setTimeout(r, 20));
    // Colours, when the terminal has them, are not what is checked.
    return stripVTControlCharacters(text).split("\n").slice(0, -1);
  }

  const DAY7_2359 = Date.UTC(2026, 11, 7, 15, 59, 30);

  it("writes one line per event: time in the config's zone, the model, what happened", async () => {
    const lines = await prettyLines((logger, at) => {
      const a = logger.child({ model: "mimo-vl", policy: "business-hours" });
      const b = logger.child({ model: "batch-llama", policy: "night-batch" });
      at(Date.UTC(2026, 11, 7, 5, 30, 0));
      a.info({ event: "ping", result: "ok", requests: 1, latencyMs: 12 }, "ping ok");
      at(Date.UTC(2026, 11, 7, 5, 30, 1));
      b.info({ event: "ping", result: "ok", requests: 1, latencyMs: 15 }, "ping ok");
      at(DAY7_2359);
      a.info(
        {
          event: "timings",
          previous: { cadence: { seconds: 240, source: "assumed" } },
          timings: { cadence: { seconds: 180, source: "learned" } },
          evictions: [1, 2, 3],
        },
        "timings: cadence 3m (learned)",
      );
      at(DAY7_2359 + 60_000);
      logger.info({ event: "daily-summary", models: [{ model: "mimo-vl", coldStarts: 2 }] });
    }, "Asia/Shanghai");
    expect(lines).toEqual([
      "2026-12-07 13:30:00 +08:00 INFO: mimo-vl: ping ok (ping)",
      "13:30:01 INFO: batch-llama: ping ok (ping)",
      "23:59:30 INFO: mimo-vl: timings: cadence 3m (learned) (timings)",
      "2026-12-08 00:00:30 +08:00 INFO: daily-summary",
    ]);
  });

  it("keeps what went wrong to one line, cut short, at warn and above", async () => {
    const long = `${"x".repeat(300)}`;
    const lines = await prettyLines((logger, at) => {
      at(Date.UTC(2026, 11, 7, 1));
      const m = logger.child({ model: "mimo-vl", policy: "business-hours" });
      m.error(
        {
          event: "ping-rejected",
          error: { name: "AccessDeniedException", message: `not authorized\n\nto ${long}` },
          remedy: "grant bedrock:InvokeModel",
        },
        "ping rejected:\n  AccessDeniedException",
      );
      m.info(
        { event: "cold-start", error: { name: "ModelNotReadyException", message: "wait" } },
        "cold start outside a window: the model is restoring",
      );
      logger.error(
        {
          event: "reload-rejected",
          problems: ['keepwarm.yaml:4:12: defaults.cadence: is "15m"', "keepwarm.yaml:9:3: x"],
        },
        "config rejected, 2 problems; the running config is kept",
      );
    });
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^2026-12-07 01:00:00 \+00:00 ERROR: mimo-vl: ping rejected: AccessDeniedException \(ping-rejected; AccessDeniedException: not authorized to x+\u2026; grant bedrock:InvokeModel\)$/,
    );
    expect(lines[0]?.length).toBeLessThan(320);
    expect(lines[1]).toBe(
      "01:00:00 INFO: mimo-vl: cold start outside a window: the model is restoring (cold-start)",
    );
    expect(lines[2]).toBe(
      '01:00:00 ERROR: config rejected, 2 problems; the running config is kept (reload-rejected; keepwarm.yaml:4:12: defaults.cadence: is "15m" (+1 more))',
    );
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
