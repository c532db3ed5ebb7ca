import { randomUUID } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import http2, { type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import net, { type AddressInfo, type Socket } from "node:net";
import { gunzipSync } from "node:zlib";
import type { AwsErrorShape } from "./errors.js";
import { awsErrors } from "./errors.js";
import { type FaultSpec, FaultSpecError } from "./faults.js";
import type { CloudWatchOperation, SimResponse, SimServer, Simulator } from "./simulator.js";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

const CLOUDWATCH_TARGET = "GraniteServiceVersion20100801.";
const CLOUDWATCH_OPERATIONS = new Set(["GetMetricData", "ListMetrics", "PutMetricData"]);
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export class SimServerError extends Error {
  override readonly name = "SimServerError";
}

/**
 * One TCP port for both protocols: the SDK's bedrock-runtime client speaks h2c (prior
 * knowledge, no upgrade), the other clients and curl speak HTTP/1.1. The first bytes of a
 * connection tell them apart, and the socket is handed to the matching server.
 */
export async function startSimServer(
  sim: Simulator,
  options: { host?: string; port?: number } = {},
): Promise<SimServer> {
  const host = options.host ?? "127.0.0.1";
  const handler = (req: Request, res: Response) => {
    handle(sim, req, res, pending).catch((cause) => {
      const error: AwsErrorShape = {
        type: "InternalServerException",
        status: 500,
        message: `simulator failure: ${cause instanceof Error ? cause.message : String(cause)}`,
      };
      if (!res.headersSent) sendRestJsonError(res, error);
    });
  };
  const h1 = http.createServer(handler);
  const h2 = http2.createServer(handler);
  const sockets = new Set<Socket>();
  const connections = { http1: 0, http2: 0 };
  const pending = new Set<NodeJS.Timeout>();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });

  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, H2_PREFACE.length);
      const isH2 = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2 && head.length < H2_PREFACE.length) return;
      socket.off("data", onData);
      socket.pause();
      socket.unshift(head);
      connections[isH2 ? "http2" : "http1"]++;
      (isH2 ? h2 : h1).emit("connection", socket);
      process.nextTick(() => socket.resume());
    };
    socket.on("data", onData);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) =>
      reject(
        new SimServerError(`cannot listen on ${host}:${options.port ?? 0}: ${err.message}`, {
          cause: err,
        }),
      );
    tcp.once("error", onError);
    tcp.listen(options.port ?? 0, host, () => {
      tcp.off("error", onError);
      resolve();
    });
  });
  const port = (tcp.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    get connections() {
      return { ...connections };
    },
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        for (const t of pending) clearTimeout(t);
        pending.clear();
        tcp.close(() => resolve());
        for (const s of sessions) s.destroy();
        for (const s of sockets) s.destroy();
        h1.closeAllConnections();
      });
      return closing;
    },
  };
}

/** Answers one HTTP request; also the dispatch of the in-process transport (inProcess.ts). */
export async function handle(
  sim: Simulator,
  req: Request,
  res: Response,
  pending: Set<NodeJS.Timeout>,
) {
  const rawUrl = req.url ?? "/";
  const q = rawUrl.indexOf("?");
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : rawUrl.slice(q + 1));
  const body = await readBody(req);

  if (req.method === "GET" && path === "/_sim/ledger") {
    const start = query.get("start");
    const end = query.get("end");
    const range =
      start !== null && end !== null
        ? { start: parseInstant(start), end: parseInstant(end) }
        : undefined;
    return sendJson(res, 200, "application/json", sim.ledger(range));
  }
  if (path === "/_sim/faults" || path.startsWith("/_sim/faults/")) {
    return handleFaults(sim, req, res, path, body);
  }
  if (req.method === "GET" && path === "/_sim/state") {
    const models = sim
      .models()
      .map((m) => ({ modelArn: m.modelArn, ...sim.modelState(m.modelArn) }));
    return sendJson(res, 200, "application/json", { now: sim.clock.now(), models });
  }

  const target = header(req, "x-amz-target");
  const signed = header(req, "authorization") !== undefined || query.has("X-Amz-Signature");
  if (target !== undefined) {
    if (!signed) return sendJsonRpcError(res, awsErrors.missingAuthentication());
    const op = target.startsWith(CLOUDWATCH_TARGET) ? target.slice(CLOUDWATCH_TARGET.length) : "";
    if (!CLOUDWATCH_OPERATIONS.has(op)) {
      return sendJsonRpcError(res, awsErrors.unknownCloudWatchOperation(target));
    }
    let input: Record<string, unknown>;
    try {
      input = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
    } catch {
      return sendJsonRpcError(res, {
        type: "com.amazon.coral.service#SerializationException",
        status: 400,
        message: "Start of structure or map found where not expected.",
      });
    }
    const answer = sim.cloudwatch(op as CloudWatchOperation, input);
    return respond(
      req,
      res,
      answer,
      pending,
      (value) => sendJson(res, 200, "application/x-amz-json-1.0", value),
      (error) => sendJsonRpcError(res, error),
    );
  }

  if (!signed) return sendRestJsonError(res, awsErrors.missingAuthentication());
  const invoke = /^\/model\/([^/]+)\/invoke$/.exec(path);
  if (invoke && req.method === "POST") {
    const modelArn = decodeURIComponent(invoke[1] as string);
    const answer = sim.invokeModel(modelArn, body);
    return respond(
      req,
      res,
      answer,
      pending,
      (value) => {
        res.writeHead(200, {
          "content-type": "application/json",
          "x-amzn-requestid": randomUUID(),
          "x-amzn-bedrock-input-token-count": String(value.inputTokens),
          "x-amzn-bedrock-output-token-count": String(value.outputTokens),
          "x-amzn-bedrock-invocation-latency": "1",
        });
        res.end(value.body);
      },
      (error) => sendRestJsonError(res, error),
    );
  }
  const imported = /^\/imported-models\/([^/]+)$/.exec(path);
  if (imported && req.method === "GET") {
    const answer = sim.getImportedModel(decodeURIComponent(imported[1] as string));
    return respond(
      req,
      res,
      answer,
      pending,
      (value) => sendJson(res, 200, "application/json", value),
      (error) => sendRestJsonError(res, error),
    );
  }
  return sendRestJsonError(res, awsErrors.unknownBedrockOperation());
}

/** Scripts faults of a running simulator: the in-process `FaultSpec` as JSON, instants in epoch ms. */
function handleFaults(
  sim: Simulator,
  req: Request,
  res: Response,
  path: string,
  body: Buffer,
): void {
  const [status, answer] = scriptFaults(sim, req.method ?? "GET", path, body);
  sendJson(res, status, "application/json", answer);
}

function scriptFaults(
  sim: Simulator,
  method: string,
  path: string,
  body: Buffer,
): [number, unknown] {
  const id = path.slice("/_sim/faults/".length);
  if (method === "GET" && path === "/_sim/faults") return [200, sim.faults.list()];
  if (method === "POST" && path === "/_sim/faults") {
    try {
      return [201, { id: sim.faults.add(JSON.parse(body.toString("utf8")) as FaultSpec) }];
    } catch (err) {
      if (!(err instanceof FaultSpecError || err instanceof SyntaxError)) throw err;
      return [400, { message: err.message }];
    }
  }
  if (method === "DELETE" && path === "/_sim/faults") {
    sim.faults.clear();
    return [200, {}];
  }
  if (method === "DELETE" && /^\d+$/.test(id)) {
    return sim.faults.remove(Number(id)) ? [200, {}] : [404, { message: `no fault ${id}` }];
  }
  return [405, { message: `${method} ${path} is not supported` }];
}

async function respond<T>(
  req: Request,
  res: Response,
  answer: SimResponse<T>,
  pending: Set<NodeJS.Timeout>,
  ok: (value: T) => void,
  fail: (error: AwsErrorShape) => void,
): Promise<void> {
  if (answer.kind === "dropped") return drop(req);
  if (answer.delayMs > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        pending.delete(timer);
        resolve();
      }, answer.delayMs);
      pending.add(timer);
    });
    if (res.destroyed || res.writableEnded) return;
  }
  if (answer.kind === "ok") ok(answer.value);
  else fail(answer.error);
}

/** Closes the connection without an answer, as a dropped TCP connection shows to the client. */
function drop(req: Request): void {
  if ("stream" in req) {
    req.stream.session?.destroy();
  } else {
    req.socket.destroy();
  }
}

async function readBody(req: Request): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  // The SDK gzips PutMetricData bodies above 10 KiB (request compression).
  return header(req, "content-encoding") === "gzip" ? gunzipSync(raw) : raw;
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function parseInstant(v: string): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : Date.parse(v);
}

function sendJson(res: Response, status: number, contentType: string, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": String(Buffer.byteLength(text)),
    "x-amzn-requestid": randomUUID(),
  });
  res.end(text);
}

/** restJson1 errors (Bedrock): the name in x-amzn-ErrorType, the message in the body. */
function sendRestJsonError(res: Response, error: AwsErrorShape): void {
  const text = JSON.stringify({ message: error.message });
  res.writeHead(error.status, {
    "content-type": "application/json",
    "x-amzn-errortype": error.type,
    "x-amzn-requestid": randomUUID(),
  });
  res.end(text);
}

/** AWS JSON 1.0 errors (CloudWatch): `__type` in the body plus the query-compatible code header. */
function sendJsonRpcError(res: Response, error: AwsErrorShape): void {
  const type = error.type.includes("#") ? error.type : `com.amazon.coral.service#${error.type}`;
  const headers: Record<string, string> = {
    "content-type": "application/x-amz-json-1.0",
    "x-amzn-requestid": randomUUID(),
  };
  if (error.queryCode) {
    headers["x-amzn-query-error"] =
      `${error.queryCode};${error.status >= 500 ? "Receiver" : "Sender"}`;
  }
  res.writeHead(error.status, headers);
  res.end(JSON.stringify({ __type: type, message: error.message }));
}
