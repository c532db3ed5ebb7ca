import { randomUUID } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import http2, { type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import net, { type AddressInfo, type Socket } from "node:net";
import { gunzipSync } from "node:zlib";
import { realClock } from "./clock.js";
import type { AwsErrorShape } from "./errors.js";
import { awsErrors } from "./errors.js";
import { answerChunks, chunkEvent, EVENT_STREAM_CONTENT_TYPE } from "./eventStream.js";
import { type FaultSpec, FaultSpecError } from "./faults.js";
import { parseImportedModelArn } from "./settings.js";
import { checkRequestAuth, type RequestAuth, type SignedRequest } from "./sigv4.js";
import type {
  CloudWatchOperation,
  InvokeAnswer,
  SimResponse,
  SimServer,
  Simulator,
} from "./simulator.js";

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

  const foreign = foreignCloudWatchProtocol(req, path, query, body);
  if (foreign === "awsQuery") {
    return sendQueryError(res, awsErrors.unsupportedCloudWatchProtocol("awsQuery"));
  }
  if (foreign === "rpcv2Cbor") {
    return sendJsonRpcError(
      res,
      awsErrors.unsupportedCloudWatchProtocol("Smithy RPC v2 CBOR"),
      "cbor",
    );
  }

  const signed: SignedRequest = { header: (name) => header(req, name), query };
  // The SDK signs with the host's wall clock, whatever time the simulator is at.
  const wallNow = realClock.now();
  const target = header(req, "x-amz-target");
  if (target !== undefined) {
    const auth = checkRequestAuth(signed, { service: "monitoring", allowBearer: false }, wallNow);
    if ("type" in auth) return sendJsonRpcError(res, auth);
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
    const answer = sim.cloudwatch(op as CloudWatchOperation, input, regionOf(auth));
    return respond(
      req,
      res,
      answer,
      pending,
      (value) => sendJson(res, 200, "application/x-amz-json-1.0", value),
      (error) => sendJsonRpcError(res, error),
    );
  }

  const auth = checkRequestAuth(signed, { service: "bedrock", allowBearer: true }, wallNow);
  if ("type" in auth) return sendRestJsonError(res, auth);
  const region = regionOf(auth);
  const invoke = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream)$/.exec(path);
  if (invoke && req.method === "POST") {
    const modelArn = decodeURIComponent(invoke[1] as string);
    // A regional endpoint knows only its own region's models.
    const arnRegion = parseImportedModelArn(modelArn)?.region;
    if (region !== undefined && arnRegion !== undefined && arnRegion !== region) {
      return sendRestJsonError(res, awsErrors.invalidModelIdentifier());
    }
    const streaming = invoke[2] === "invoke-with-response-stream";
    const answer = sim.invokeModel(
      modelArn,
      body,
      streaming ? "InvokeModelWithResponseStream" : "InvokeModel",
    );
    return respond(
      req,
      res,
      answer,
      pending,
      (value) => (streaming ? sendInvokeStream(res, value) : sendInvokeAnswer(res, value)),
      (error) => sendRestJsonError(res, error),
    );
  }
  const imported = /^\/imported-models\/([^/]+)$/.exec(path);
  if (imported && req.method === "GET") {
    const identifier = decodeURIComponent(imported[1] as string);
    const local = importedModelIn(sim, identifier, region);
    if (local === undefined) {
      return sendRestJsonError(res, awsErrors.importedModelNotFound(identifier));
    }
    const answer = sim.getImportedModel(local);
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

function sendInvokeAnswer(res: Response, value: InvokeAnswer): void {
  res.writeHead(200, {
    "content-type": "application/json",
    "x-amzn-requestid": randomUUID(),
    "x-amzn-bedrock-input-token-count": String(value.inputTokens),
    "x-amzn-bedrock-output-token-count": String(value.outputTokens),
    "x-amzn-bedrock-invocation-latency": "1",
  });
  res.end(value.body);
}

/** InvokeModelWithResponseStream's answer: the event stream of its chunks. */
function sendInvokeStream(res: Response, value: InvokeAnswer): void {
  res.writeHead(200, {
    "content-type": EVENT_STREAM_CONTENT_TYPE,
    "x-amzn-requestid": randomUUID(),
    "x-amzn-bedrock-content-type": "application/json",
  });
  // Both response types are writable streams; their write overloads just differ.
  const stream = res as NodeJS.WritableStream;
  for (const part of answerChunks(value, 1)) stream.write(chunkEvent(part));
  res.end();
}

function regionOf(auth: RequestAuth): string | undefined {
  return auth.kind === "sigv4" ? auth.region : undefined;
}

/**
 * What GetImportedModel should look up when the call is signed for `region`: an id or a
 * name names that region's model; a model of another region is not found there
 * (undefined).
 */
function importedModelIn(
  sim: Simulator,
  identifier: string,
  region: string | undefined,
): string | undefined {
  if (region === undefined) return identifier;
  const arn = parseImportedModelArn(identifier);
  if (arn) return arn.region === region ? identifier : undefined;
  const named = sim.models().filter((m) => {
    const parts = parseImportedModelArn(m.modelArn);
    return parts?.modelId === identifier || m.modelName === identifier;
  });
  // Naming no model at all, it goes to the simulator as given (faults, then not found).
  if (named.length === 0) return identifier;
  return named.find((m) => parseImportedModelArn(m.modelArn)?.region === region)?.modelArn;
}

/**
 * CloudWatch clients that chose another of its protocols: awsQuery (form-encoded
 * `Action=...`) or Smithy RPC v2 CBOR (`/service/.../operation/...`). They get an error in
 * their own format, which they can parse, instead of one in JSON they cannot.
 */
function foreignCloudWatchProtocol(
  req: Request,
  path: string,
  query: URLSearchParams,
  body: Buffer,
): "awsQuery" | "rpcv2Cbor" | undefined {
  if (header(req, "x-amz-target") !== undefined) return undefined;
  if (header(req, "smithy-protocol") === "rpc-v2-cbor" || path.startsWith("/service/")) {
    return "rpcv2Cbor";
  }
  const form = (header(req, "content-type") ?? "").startsWith("application/x-www-form-urlencoded");
  if (
    path === "/" &&
    (query.has("Action") || (form && /(^|&)Action=/.test(body.toString("utf8"))))
  ) {
    return "awsQuery";
  }
  return undefined;
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

/**
 * AWS JSON 1.0 errors (CloudWatch), or the same in RPC v2 CBOR: `__type` and `message` in
 * the body plus the query-compatible code header.
 */
function sendJsonRpcError(
  res: Response,
  error: AwsErrorShape,
  encoding: "json" | "cbor" = "json",
): void {
  const type = error.type.includes("#") ? error.type : `com.amazon.coral.service#${error.type}`;
  const headers: Record<string, string> =
    encoding === "json"
      ? { "content-type": "application/x-amz-json-1.0" }
      : { "content-type": "application/cbor", "smithy-protocol": "rpc-v2-cbor" };
  headers["x-amzn-requestid"] = randomUUID();
  if (error.queryCode) {
    headers["x-amzn-query-error"] =
      `${error.queryCode};${error.status >= 500 ? "Receiver" : "Sender"}`;
  }
  res.writeHead(error.status, headers);
  const body = { __type: type, message: error.message };
  res.end(encoding === "json" ? JSON.stringify(body) : cborTextMap(body));
}

/** awsQuery errors: the `ErrorResponse` XML that query clients parse. */
function sendQueryError(res: Response, error: AwsErrorShape): void {
  const requestId = randomUUID();
  const xml = [
    '<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">',
    `<Error><Type>${error.status >= 500 ? "Receiver" : "Sender"}</Type>`,
    `<Code>${escapeXml(error.queryCode ?? error.type)}</Code>`,
    `<Message>${escapeXml(error.message)}</Message></Error>`,
    `<RequestId>${requestId}</RequestId></ErrorResponse>`,
  ].join("");
  res.writeHead(error.status, { "content-type": "text/xml", "x-amzn-requestid": requestId });
  res.end(xml);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A CBOR map of text strings (RFC 8949 major types 5 and 3), all an error body needs. */
function cborTextMap(entries: Record<string, string>): Buffer {
  const head = (major: number, n: number): Buffer => {
    if (n < 24) return Buffer.from([(major << 5) | n]);
    if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
    if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
    const b = Buffer.alloc(5);
    b[0] = (major << 5) | 26;
    b.writeUInt32BE(n, 1);
    return b;
  };
  const text = (s: string) => {
    const bytes = Buffer.from(s, "utf8");
    return Buffer.concat([head(3, bytes.length), bytes]);
  };
  const pairs = Object.entries(entries);
  return Buffer.concat([head(5, pairs.length), ...pairs.flatMap(([k, v]) => [text(k), text(v)])]);
}
