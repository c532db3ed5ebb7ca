import { Readable } from "node:stream";
import type {
  HeaderBag,
  HttpHandlerOptions,
  HttpRequest,
  HttpResponse,
  RequestHandler,
  RequestHandlerOutput,
} from "@smithy/types";
import { KeepwarmError } from "../domain/errors.js";
import { handle } from "./dispatch.js";
import type { Simulator } from "./simulator.js";

/**
 * A request the simulator dropped, as the SDK sees a reset connection: retryable
 * (code ECONNRESET) and named like Node's socket error.
 */
export class SimConnectionDroppedError extends KeepwarmError {
  override readonly name = "SimConnectionDroppedError";
  readonly code = "ECONNRESET";
}

/** The request was aborted by the caller before the simulator answered. */
export class SimRequestAbortedError extends KeepwarmError {
  override readonly name = "AbortError";
}

/**
 * The SDK's request handler (what `requestHandler` of a client takes) that hands each
 * signed, serialised request to the simulator's HTTP dispatch in this process and gives
 * the SDK a real response stream back. Everything above the socket stays the SDK's own:
 * serialisation, signing, retries, deserialisation, error parsing. It only saves the
 * loopback connection, which is most of the cost of a simulated month (BENCHMARKS.md).
 */
export class InProcessSimHandler
  implements RequestHandler<HttpRequest, HttpResponse, HttpHandlerOptions>
{
  readonly metadata = { handlerProtocol: "h2" };
  readonly #sim: Simulator;
  readonly #pending = new Set<NodeJS.Timeout>();
  /** Requests answered so far: lets a test prove that no socket was involved. */
  requests = 0;

  constructor(sim: Simulator) {
    this.#sim = sim;
  }

  async handle(
    request: HttpRequest,
    options: HttpHandlerOptions = {},
  ): Promise<RequestHandlerOutput<HttpResponse>> {
    const signal = options.abortSignal as AbortSignal | undefined;
    if (signal?.aborted) throw new SimRequestAbortedError("Request aborted");
    this.requests++;
    const sink = new ResponseSink();
    const req = toServerRequest(request, sink);
    // The dispatch reads a Node request and writes a Node response; these two carry the
    // part of each it uses (url, method, headers, body; writeHead, end, socket.destroy).
    const answered = handle(
      this.#sim,
      req as unknown as Parameters<typeof handle>[1],
      sink as unknown as Parameters<typeof handle>[2],
      this.#pending,
    );
    if (!signal) {
      await answered;
    } else {
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(new SimRequestAbortedError("Request aborted"));
        signal.addEventListener("abort", onAbort, { once: true });
      });
      try {
        await Promise.race([answered, aborted]);
      } finally {
        if (onAbort) signal.removeEventListener("abort", onAbort);
        sink.destroyed = signal.aborted;
      }
    }
    if (sink.dropped) throw new SimConnectionDroppedError("socket hang up");
    return {
      response: {
        statusCode: sink.status,
        headers: sink.headers,
        body: streamOf(sink.chunks),
      },
    };
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  /** Drops answers still held back by a `slow` fault. */
  destroy(): void {
    for (const t of this.#pending) clearTimeout(t);
    this.#pending.clear();
  }
}

/** The part of a Node request the dispatch reads: url, method, headers, the body as chunks. */
function toServerRequest(request: HttpRequest, sink: ResponseSink) {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
  const query = request.query
    ? new URLSearchParams(
        Object.entries(request.query).flatMap(([k, v]): [string, string][] =>
          v === null ? [[k, ""]] : Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v as string]],
        ),
      ).toString()
    : "";
  const body = bodyBytes(request.body);
  return {
    method: request.method,
    url: query ? `${request.path}?${query}` : request.path,
    headers,
    // A `dropConnection` fault destroys the socket: the SDK sees a reset connection.
    socket: { destroy: () => sink.drop() },
    async *[Symbol.asyncIterator]() {
      if (body.length > 0) yield body;
    },
  };
}

function bodyBytes(body: unknown): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.length);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  throw new TypeError(
    `in-process simulator transport: request body of type ${typeof body} is not supported`,
  );
}

/** One pushed chunk and its end, as an HTTP/2 stream delivers a small response. */
function streamOf(chunks: readonly Buffer[]): Readable {
  const stream = new Readable({ read() {} });
  for (const c of chunks) stream.push(c);
  stream.push(null);
  return stream;
}

/** Collects what the dispatch writes, in place of a Node response. */
class ResponseSink {
  status = 200;
  headers: HeaderBag = {};
  readonly chunks: Buffer[] = [];
  headersSent = false;
  writableEnded = false;
  destroyed = false;
  dropped = false;

  writeHead(status: number, headers: Record<string, string> = {}): this {
    this.status = status;
    for (const [k, v] of Object.entries(headers)) this.headers[k.toLowerCase()] = v;
    this.headersSent = true;
    return this;
  }

  write(chunk: string | Uint8Array): boolean {
    this.headersSent = true;
    this.chunks.push(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk));
    return true;
  }

  end(chunk?: string | Uint8Array): this {
    if (chunk !== undefined) this.write(chunk);
    this.writableEnded = true;
    return this;
  }

  drop(): void {
    this.dropped = true;
  }
}
