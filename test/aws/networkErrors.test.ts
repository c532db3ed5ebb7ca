import { mkdtempSync } from "node:fs";
import {
  createServer as createH2Server,
  type Http2Server,
  type ServerHttp2Stream,
} from "node:http2";
import { createServer as createTcpServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createRegionClients, RegionClientPool } from "../../src/aws/clients.js";
import {
  AwsCallError,
  errorNameOf,
  networkFailureOf,
  RequestTimeoutError,
} from "../../src/aws/errors.js";
import { readModelCopies } from "../../src/aws/metrics.js";
import { describeError } from "../../src/runtime/infra/logger.js";
import { installShutdown } from "../../src/runtime/infra/shutdown.js";
import { VirtualClock } from "../../src/runtime/infra/virtualClock.js";
import { Daemon } from "../../src/runtime/keep/daemon.js";
import {
  businessHoursYaml,
  collectingLogger,
  configOf,
  type LogLine,
  local,
  MIMO_VL,
} from "../e2e/daemonHarness.js";

const METRIC = {
  namespace: "AWS/Bedrock",
  metricName: "ModelCopy",
  dimensionName: "ModelId",
  dimensionValue: "arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel",
};
const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" };
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server: Server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An h2c server that does `onStream` with every request instead of answering it. */
async function h2Server(onStream: (stream: ServerHttp2Stream) => void): Promise<number> {
  const server: Http2Server = createH2Server();
  server.on("stream", onStream);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(async () => {
    server.close();
  });
  return (server.address() as { port: number }).port;
}

/** Clients whose Bedrock runtime goes to `runtime` and the rest to `others`. */
function poolOf(runtime: string, others: string): RegionClientPool {
  const pool = new RegionClientPool({ endpoint: others, credentials });
  const runtimeClients = createRegionClients("us-west-2", { endpoint: runtime, credentials });
  const base = pool.get("us-west-2");
  pool.get = () => ({ ...base, runtime: runtimeClients.runtime });
  closers.push(async () => {
    runtimeClients.runtime.destroy();
    pool.destroy();
  });
  return pool;
}

/** The daemon at 10:00 on a Monday (inside the window), so it pings at once. */
async function runDaemon(
  clients: RegionClientPool,
  options: { pingTimeoutMs?: number; cmu?: boolean } = {},
): Promise<LogLine[]> {
  const model = options.cmu === false ? { ...MIMO_VL, lines: [] } : MIMO_VL;
  const config = configOf(
    businessHoursYaml({ models: [model] }),
    mkdtempSync(join(tmpdir(), "kw-net-")),
  );
  const clock = new VirtualClock(local("10:00"));
  const { logger, lines } = collectingLogger(() => clock.now());
  const daemon = new Daemon(config, {
    clock,
    logger,
    clients,
    stateDir: config.daemon.stateDir,
    timing: options.pingTimeoutMs ? { pingTimeoutMs: options.pingTimeoutMs } : {},
  });
  closers.push(() => daemon.stop({ graceMs: 100 }));
  await daemon.start();
  return lines;
}

/** Waits (real time, a few hundred ms at most) for the first line of `event`. */
async function lineOf(lines: LogLine[], event: string): Promise<LogLine> {
  for (let i = 0; i < 100; i++) {
    const line = lines.find((l) => l.event === event);
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no ${event} line; got ${lines.map((l) => l.event).join(", ")}`);
}

describe("transport failures, as the daemon logs them", () => {
  it("a refused connection names the endpoint, for pings, ModelCopy and CMU discovery", async () => {
    const port = await closedPort();
    const endpoint = `http://127.0.0.1:${port}`;
    const lines = await runDaemon(poolOf(endpoint, endpoint), { cmu: false });
    const backoff = await lineOf(lines, "ping-backoff");
    expect(backoff.error).toMatchObject({
      name: "ConnectionRefused",
      endpoint,
      cause: "connection refused",
    });
    expect((backoff.error as { message: string }).message).toContain(endpoint);
    const metrics = await lineOf(lines, "metrics-failed");
    expect(metrics.errorName).toBe("ConnectionRefused");
    expect(metrics.error).toMatchObject({ endpoint, cause: "connection refused" });
    const cmu = await lineOf(lines, "cmu-unknown");
    expect(cmu.errorName).toBe("ConnectionRefused");
  });

  it("a ping the server never answers is a time-out of the ping's length, not an abort", async () => {
    const port = await h2Server(() => undefined);
    const sim = await closedPort();
    const lines = await runDaemon(poolOf(`http://127.0.0.1:${port}`, `http://127.0.0.1:${sim}`), {
      pingTimeoutMs: 200,
    });
    const backoff = await lineOf(lines, "ping-backoff");
    expect(backoff.error).toMatchObject({
      name: "RequestTimeout",
      endpoint: `http://127.0.0.1:${port}`,
      cause: "timed out after 200 ms",
    });
  });

  it("a server that destroys the HTTP/2 session is a connection reset, not a time-out", async () => {
    const port = await h2Server((stream) => stream.session?.destroy());
    const sim = await closedPort();
    const lines = await runDaemon(poolOf(`http://127.0.0.1:${port}`, `http://127.0.0.1:${sim}`));
    const backoff = await lineOf(lines, "ping-backoff");
    expect(backoff.error).toMatchObject({
      name: "ConnectionReset",
      endpoint: `http://127.0.0.1:${port}`,
    });
    expect((backoff.error as { cause: string }).cause).toMatch(/^connection reset/);
  });
});

describe("the SDK's own time-outs over the wire", () => {
  it("a GetMetricData the server never answers is a RequestTimeout of the client's length", async () => {
    const silent: Server = createTcpServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    closers.push(async () => {
      silent.close();
    });
    const endpoint = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const clients = createRegionClients("us-west-2", {
      endpoint,
      credentials,
      requestTimeoutMs: 300,
    });
    closers.push(async () => clients.cloudwatch.destroy());
    const query = { start: 0, end: 60_000, periodSeconds: 60 };
    const error = await readModelCopies(
      clients.cloudwatch,
      [{ key: "m", metric: METRIC }],
      query,
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AwsCallError);
    const failure = error as AwsCallError;
    expect(failure.awsName).toBe("RequestTimeout");
    expect(describeError(failure.cause)).toMatchObject({
      name: "RequestTimeout",
      endpoint,
      cause: "timed out after 300 ms (no answer)",
    });
  });
});

describe("Daemon.stop with a ping the server never answers", () => {
  it("logs shutdown-grace-expired, aborts the ping and reports it unfinished", async () => {
    const port = await h2Server(() => undefined);
    const sim = await closedPort();
    const clients = poolOf(`http://127.0.0.1:${port}`, `http://127.0.0.1:${sim}`);
    const config = configOf(
      businessHoursYaml({ models: [MIMO_VL] }),
      mkdtempSync(join(tmpdir(), "kw-stop-")),
    );
    const clock = new VirtualClock(local("10:00"));
    const { logger, lines } = collectingLogger(() => clock.now());
    const daemon = new Daemon(config, { clock, logger, clients, stateDir: config.daemon.stateDir });
    await daemon.start();
    await daemon.stop({ graceMs: 150 });
    expect(lines.find((l) => l.event === "shutdown-grace-expired")).toMatchObject({
      level: "warn",
      graceMs: 150,
      inFlightPings: 1,
    });
    expect(lines.find((l) => l.event === "stopped")).toMatchObject({
      finishedInTime: false,
      inFlightPings: 1,
    });
  });

  it("through the SIGTERM path, logs shutdown-grace-expired once, from the daemon", async () => {
    const port = await h2Server(() => undefined);
    const sim = await closedPort();
    const clients = poolOf(`http://127.0.0.1:${port}`, `http://127.0.0.1:${sim}`);
    const config = configOf(
      businessHoursYaml({ models: [MIMO_VL] }),
      mkdtempSync(join(tmpdir(), "kw-stop-")),
    );
    const clock = new VirtualClock(local("10:00"));
    const { logger, lines } = collectingLogger(() => clock.now());
    const daemon = new Daemon(config, { clock, logger, clients, stateDir: config.daemon.stateDir });
    await daemon.start();
    const shutdown = installShutdown({ daemon, logger, graceMs: 200, exit: () => undefined });
    closers.push(async () => shutdown.uninstall());
    expect(await shutdown.shutdown("request")).toBe(0);
    const expired = lines.filter((l) => l.event === "shutdown-grace-expired");
    expect(expired).toHaveLength(1);
    expect(expired[0]).toMatchObject({ graceMs: 200, inFlightPings: 1 });
    expect(lines.map((l) => l.event).slice(-2)).toEqual(["stopped", "shutdown"]);
  });
});

describe("networkFailureOf", () => {
  it("says the default 60 s ping time-out in seconds", () => {
    const aborted = Object.assign(new Error("Request aborted"), {
      name: "AbortError",
      cause: new RequestTimeoutError(60_000),
    });
    expect(networkFailureOf(aborted)).toEqual({
      name: "RequestTimeout",
      cause: "timed out after 60 s",
    });
  });

  it("tells a shutdown's abort from a time-out", () => {
    const aborted = Object.assign(new Error("Request aborted"), { name: "AbortError" });
    expect(networkFailureOf(aborted)?.name).toBe("RequestAborted");
  });

  it("leaves AWS errors to their own names", () => {
    const e = Object.assign(new Error("denied"), { name: "AccessDeniedException" });
    expect(networkFailureOf(e)).toBeUndefined();
    expect(errorNameOf(e)).toBe("AccessDeniedException");
    expect(describeError(e)).toEqual({ name: "AccessDeniedException", message: "denied" });
    expect(new AwsCallError("bedrock:InvokeModel", "arn", e).kind).toBe("denied");
  });
});
