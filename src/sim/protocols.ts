import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import type { AwsErrorShape } from "./errors.js";
import { answerChunks, chunkEvent, EVENT_STREAM_CONTENT_TYPE } from "./eventStream.js";
import type { InvokeAnswer } from "./service.js";

/**
 * How an answer is written in each AWS protocol the simulator speaks or must refuse in
 * kind: restJson1 (Bedrock), AWS JSON 1.0 (CloudWatch), AWS JSON 1.1 (Cost Explorer), awsQuery
 * and Smithy RPC v2 CBOR.
 */

/** An HTTP/1.1 or h2 response: the dispatch writes both alike. */
export type NodeResponse = ServerResponse | Http2ServerResponse;

export function sendJson(
  res: NodeResponse,
  status: number,
  contentType: string,
  value: unknown,
): void {
  const text = JSON.stringify(value);
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": String(Buffer.byteLength(text)),
    "x-amzn-requestid": randomUUID(),
  });
  res.end(text);
}

export function sendInvokeAnswer(res: NodeResponse, value: InvokeAnswer): void {
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
export function sendInvokeStream(res: NodeResponse, value: InvokeAnswer): void {
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

/** restJson1 errors (Bedrock): the name in x-amzn-ErrorType, the message in the body. */
export function sendRestJsonError(res: NodeResponse, error: AwsErrorShape): void {
  const text = JSON.stringify({ message: error.message });
  res.writeHead(error.status, {
    "content-type": "application/json",
    "x-amzn-errortype": error.type,
    "x-amzn-requestid": randomUUID(),
  });
  res.end(text);
}

/**
 * AWS JSON 1.0 errors (CloudWatch), AWS JSON 1.1 errors (Cost Explorer), or the same in RPC
 * v2 CBOR: `__type` and `message` in the body plus the query-compatible code header.
 */
export function sendJsonRpcError(
  res: NodeResponse,
  error: AwsErrorShape,
  encoding: "json" | "json1.1" | "cbor" = "json",
): void {
  const type = error.type.includes("#") ? error.type : `com.amazon.coral.service#${error.type}`;
  const headers: Record<string, string> =
    encoding === "cbor"
      ? { "content-type": "application/cbor", "smithy-protocol": "rpc-v2-cbor" }
      : { "content-type": `application/x-amz-json-${encoding === "json" ? "1.0" : "1.1"}` };
  headers["x-amzn-requestid"] = randomUUID();
  if (error.queryCode) {
    headers["x-amzn-query-error"] =
      `${error.queryCode};${error.status >= 500 ? "Receiver" : "Sender"}`;
  }
  res.writeHead(error.status, headers);
  const body = { __type: type, message: error.message };
  res.end(encoding === "cbor" ? cborTextMap(body) : JSON.stringify(body));
}

/** awsQuery errors: the `ErrorResponse` XML that query clients parse. */
export function sendQueryError(res: NodeResponse, error: AwsErrorShape): void {
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
