import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { gunzipSync } from "node:zlib";
import { realClock } from "./clock.js";
import { controlAnswer } from "./controlRoutes.js";
import { type AwsErrorShape, awsErrors } from "./errors.js";
import {
  type NodeResponse,
  sendInvokeAnswer,
  sendInvokeStream,
  sendJson,
  sendJsonRpcError,
  sendQueryError,
  sendRestJsonError,
} from "./protocols.js";
import type { CloudWatchOperation, SimResponse, SimService } from "./service.js";
import { parseImportedModelArn } from "./settings.js";
import { checkRequestAuth, type RequestAuth, type SignedRequest } from "./sigv4.js";
import { answerSts } from "./sts.js";

/** An HTTP/1.1 or h2 request: the dispatch reads both alike. */
export type NodeRequest = IncomingMessage | Http2ServerRequest;

const CLOUDWATCH_TARGET = "GraniteServiceVersion20100801.";
const COST_EXPLORER_TARGET = "AWSInsightsIndexService.";
const CLOUDWATCH_OPERATIONS = new Set(["GetMetricData", "ListMetrics", "PutMetricData"]);

/** Answers one HTTP request; also the dispatch of the in-process transport (inProcess.ts). */
export async function handle(
  sim: SimService,
  req: NodeRequest,
  res: NodeResponse,
  pending: Set<NodeJS.Timeout>,
) {
  const rawUrl = req.url ?? "/";
  const q = rawUrl.indexOf("?");
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : rawUrl.slice(q + 1));
  const body = await readBody(req);

  const control = controlAnswer(sim, req.method, path, query, body);
  if (control) return sendJson(res, control[0], "application/json", control[1]);
  const stsRequest = { path, query, body, header: (n: string) => header(req, n) };
  if (answerSts(sim, stsRequest, res, realClock.now())) return;

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
  if (target?.startsWith(COST_EXPLORER_TARGET)) {
    // Cost Explorer speaks AWS JSON 1.1, signed as `ce`; its one endpoint has every region's bill.
    const auth = checkRequestAuth(signed, { service: "ce", allowBearer: false }, wallNow);
    if ("type" in auth) return sendJsonRpcError(res, auth, "json1.1");
    if (target !== `${COST_EXPLORER_TARGET}GetCostAndUsage`) {
      return sendJsonRpcError(res, awsErrors.unknownCostExplorerOperation(target), "json1.1");
    }
    const parsed = jsonInput(body);
    if ("error" in parsed) return sendJsonRpcError(res, parsed.error, "json1.1");
    return respond(
      req,
      res,
      sim.costAndUsage(parsed.input),
      pending,
      (value) => sendJson(res, 200, "application/x-amz-json-1.1", value),
      (error) => sendJsonRpcError(res, error, "json1.1"),
    );
  }
  if (target !== undefined) {
    const auth = checkRequestAuth(signed, { service: "monitoring", allowBearer: false }, wallNow);
    if ("type" in auth) return sendJsonRpcError(res, auth);
    const op = target.startsWith(CLOUDWATCH_TARGET) ? target.slice(CLOUDWATCH_TARGET.length) : "";
    if (!CLOUDWATCH_OPERATIONS.has(op)) {
      return sendJsonRpcError(res, awsErrors.unknownCloudWatchOperation(target));
    }
    const parsed = jsonInput(body);
    if ("error" in parsed) return sendJsonRpcError(res, parsed.error);
    const input = parsed.input;
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
  if (path === "/imported-models" && req.method === "GET") {
    return respond(
      req,
      res,
      sim.listImportedModels(query, region),
      pending,
      (value) => sendJson(res, 200, "application/json", value),
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

/** The JSON body of an AWS JSON 1.0 or 1.1 call, or the error its service answers to bad JSON. */
function jsonInput(
  body: Buffer,
): { readonly input: Record<string, unknown> } | { readonly error: AwsErrorShape } {
  try {
    return { input: body.length === 0 ? {} : JSON.parse(body.toString("utf8")) };
  } catch {
    return {
      error: {
        type: "com.amazon.coral.service#SerializationException",
        status: 400,
        message: "Start of structure or map found where not expected.",
      },
    };
  }
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
  sim: SimService,
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
  req: NodeRequest,
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

async function respond<T>(
  req: NodeRequest,
  res: NodeResponse,
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
function drop(req: NodeRequest): void {
  if ("stream" in req) {
    req.stream.session?.destroy();
  } else {
    req.socket.destroy();
  }
}

async function readBody(req: NodeRequest): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  // The SDK gzips PutMetricData bodies above 10 KiB (request compression).
  return header(req, "content-encoding") === "gzip" ? gunzipSync(raw) : raw;
}

function header(req: NodeRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
