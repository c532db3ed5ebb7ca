import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Registry } from "prom-client";
import { KeepwarmError } from "../../domain/errors.js";
import { describeError, type Logger } from "../infra/logger.js";
import type { DaemonStatus } from "../keep/status.js";
import { statusJson } from "./statusJson.js";
import { renderStatusPage, STATUS_PAGE_CSP } from "./statusPage.js";

export const DEFAULT_HTTP_HOST = "127.0.0.1";
export const DEFAULT_HTTP_PORT = 9464;

/** How much the listener accepts, so that no local client can starve the daemon. */
export interface HttpLimits {
  /** Open connections at most; more are closed as they arrive. */
  readonly maxConnections: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** A connection silent this long, or without a request's headers by then, is closed. */
  readonly headersTimeoutMs: number;
  /** A request not received in full by then is answered 408 and closed. */
  readonly requestTimeoutMs: number;
  /** Client errors and dropped connections are logged at most this often, with a count. */
  readonly problemLogEveryMs: number;
}

/**
 * 64 connections: a scraper, a load balancer's probes and a few browsers need a handful;
 * the daemon's AWS clients need file descriptors that 1,100 idle sockets once took.
 */
export const DEFAULT_HTTP_LIMITS: HttpLimits = Object.freeze({
  maxConnections: 64,
  keepAliveTimeoutMs: 5_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  problemLogEveryMs: 60_000,
});

export interface HttpServerOptions {
  readonly host?: string;
  /** 0 picks a free port (tests). */
  readonly port?: number;
  readonly registry: Registry;
  readonly status: () => DaemonStatus;
  readonly logger: Logger;
  readonly limits?: Partial<HttpLimits>;
  /** The clock of the log rate limits; the wall clock when omitted. */
  readonly now?: () => number;
  /**
   * When set, the status page and /api/status answer 401 to a request without it, as a
   * bearer token (or as the password of HTTP Basic, for a browser's login box). /healthz,
   * /readyz and /metrics stay open to probes and scrapers.
   */
  readonly token?: string | undefined;
}

/** Shorter tokens are refused: one that can be guessed protects nothing. */
export const MIN_HTTP_TOKEN_LENGTH = 16;

export class HttpTokenError extends KeepwarmError {
  override readonly name = "HttpTokenError";
}

/**
 * The token of the status page and /api/status, read once at start-up: KEEPWARM_HTTP_TOKEN,
 * or the first line of the file KEEPWARM_HTTP_TOKEN_FILE names (a mounted Secret);
 * undefined when neither is set. Throws HttpTokenError for both at once, an unreadable
 * file or a token shorter than MIN_HTTP_TOKEN_LENGTH.
 */
export function readHttpToken(
  source: { readonly httpToken?: string | undefined; readonly httpTokenFile?: string | undefined },
  readFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
): string | undefined {
  const { httpToken, httpTokenFile } = source;
  if (httpToken !== undefined && httpTokenFile !== undefined) {
    throw new HttpTokenError(
      "KEEPWARM_HTTP_TOKEN and KEEPWARM_HTTP_TOKEN_FILE are both set; set one",
    );
  }
  let token = httpToken;
  let from = "KEEPWARM_HTTP_TOKEN";
  if (httpTokenFile !== undefined) {
    from = `KEEPWARM_HTTP_TOKEN_FILE (${httpTokenFile})`;
    try {
      token = readFile(httpTokenFile).split(/\r?\n/)[0];
    } catch (error) {
      throw new HttpTokenError(`${from}: cannot read it: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  if (token === undefined) return undefined;
  token = token.trim();
  if (token.length < MIN_HTTP_TOKEN_LENGTH || /\s/.test(token)) {
    throw new HttpTokenError(
      `${from}: the token must be at least ${MIN_HTTP_TOKEN_LENGTH} characters without blanks, e.g. the output of \`openssl rand -hex 32\``,
    );
  }
  return token;
}

/** SHA-256 of a token: equal lengths for timingSafeEqual, whatever was sent. */
const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/** The token a request carries: `Bearer <token>`, or the password of `Basic <user:token>`. */
function presentedToken(header: string | undefined): string | undefined {
  const parts = header === undefined ? null : /^(\S+)\s+(\S+)$/.exec(header.trim());
  if (!parts) return undefined;
  const [, scheme = "", value = ""] = parts;
  if (scheme.toLowerCase() === "bearer") return value;
  if (scheme.toLowerCase() === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon < 0 ? undefined : decoded.slice(colon + 1);
  }
  return undefined;
}

export interface HttpServer {
  /** e.g. "http://127.0.0.1:9464" */
  readonly url: string;
  close(): Promise<void>;
}

export class HttpListenError extends KeepwarmError {
  override readonly name = "HttpListenError";
  constructor(
    readonly host: string,
    readonly port: number,
    options: { cause: unknown },
  ) {
    super(
      `cannot listen on ${host}:${port}: ${(options.cause as Error)?.message ?? options.cause}; set --http-host/--http-port (KEEPWARM_HTTP_HOST/KEEPWARM_HTTP_PORT)`,
      options,
    );
  }
}

/** Sent with every answer: nothing here is meant to be sniffed, cached or followed from. */
const COMMON_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const PAGE_HEADERS = {
  "content-security-policy": STATUS_PAGE_CSP,
  "x-frame-options": "DENY",
};

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...COMMON_HEADERS, ...headers, "content-type": contentType });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, "application/json; charset=utf-8", `${JSON.stringify(body)}\n`);
}

/** Why the daemon is not ready yet, or undefined when it is. */
function notReadyReason(status: DaemonStatus): string | undefined {
  if (!status.configLoaded) return "no valid configuration loaded yet";
  if (!status.firstReconcileDone) return "first reconcile not done yet";
  return undefined;
}

/** The path of an origin-form request target ("/x?y"), or undefined for anything else. */
function pathOf(target: string | undefined): string | undefined {
  if (target === undefined || !target.startsWith("/")) return undefined;
  try {
    // Appended, not resolved: "//x" is then the path "//x", not a URL of host x.
    return new URL(`http://localhost${target}`).pathname;
  } catch {
    return undefined;
  }
}

/**
 * Logs one line per `everyMs` at most; the next line says how many were left out, so a
 * flood of bad requests costs the log one line a minute.
 */
class RateLimitedLog {
  #lastAt: number | undefined;
  #suppressed = 0;

  constructor(
    private readonly write: (fields: Record<string, unknown>) => void,
    private readonly everyMs: number,
    private readonly now: () => number,
  ) {}

  note(fields: Record<string, unknown>): void {
    const t = this.now();
    if (this.#lastAt !== undefined && t - this.#lastAt < this.everyMs) {
      this.#suppressed++;
      return;
    }
    this.write({ ...fields, suppressedSinceLast: this.#suppressed });
    this.#lastAt = t;
    this.#suppressed = 0;
  }
}

const ROUTES = "/, /api/status, /healthz, /readyz or /metrics";

/** The paths a token guards when one is set; the others serve probes and scrapers. */
const GUARDED = new Set(["/", "/api/status"]);

/** Bearer for scripts; Basic too, so that a browser asks for it (any user name, the token as password). */
const CHALLENGE = ['Bearer realm="keepwarm"', 'Basic realm="keepwarm", charset="UTF-8"'];

/**
 * / (the status page), /api/status (the same as JSON), /healthz (the process answers),
 * /readyz (config loaded and first reconcile done, else 503) and /metrics (Prometheus
 * text format). Read-only: GET and HEAD only. Liveness deliberately ignores AWS: a
 * restart cures no outage of Bedrock or CloudWatch. With a `token`, the page and the API
 * answer 401 to a request that does not carry it.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const host = options.host ?? DEFAULT_HTTP_HOST;
  const port = options.port ?? DEFAULT_HTTP_PORT;
  const limits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
  const { registry, status, logger } = options;
  const now = options.now ?? Date.now;
  const tokenDigest = options.token === undefined ? undefined : digest(options.token);

  /** Whether the request carries the token; compared in constant time. */
  function authorized(req: IncomingMessage): boolean {
    if (tokenDigest === undefined) return true;
    const presented = presentedToken(req.headers.authorization);
    // Compared even when absent, so that the answer takes as long either way.
    const match = timingSafeEqual(digest(presented ?? ""), tokenDigest);
    return presented !== undefined && match;
  }

  const clientErrors = new RateLimitedLog(
    (fields) =>
      logger.debug({ event: "http-client-error", ...fields }, "HTTP request refused as malformed"),
    limits.problemLogEveryMs,
    now,
  );
  const drops = new RateLimitedLog(
    (fields) =>
      logger.warn(
        { event: "http-connections-dropped", maxConnections: limits.maxConnections, ...fields },
        `HTTP connection closed on arrival: ${limits.maxConnections} already open`,
      ),
    limits.problemLogEveryMs,
    now,
  );

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      sendJson(res, 405, { error: `method ${req.method} not allowed; this port is read-only` });
      return;
    }
    const path = pathOf(req.url);
    if (path === undefined) {
      // The target is the client's own text: a log line carries only its start.
      clientErrors.note({
        reason: "request target is not an absolute path",
        target: req.url?.slice(0, 200),
      });
      sendJson(res, 400, { error: "bad request target; allowed: a path such as /healthz" });
      return;
    }
    if (GUARDED.has(path) && !authorized(req)) {
      res.setHeader("www-authenticate", CHALLENGE);
      sendJson(res, 401, {
        error: "this page needs the token: Authorization: Bearer <KEEPWARM_HTTP_TOKEN>",
      });
      return;
    }
    switch (path) {
      case "/":
        send(res, 200, "text/html; charset=utf-8", renderStatusPage(status()), PAGE_HEADERS);
        return;
      case "/api/status":
        sendJson(res, 200, statusJson(status()));
        return;
      case "/healthz":
        sendJson(res, 200, { status: "ok" });
        return;
      case "/readyz": {
        const reason = notReadyReason(status());
        if (reason === undefined) sendJson(res, 200, { status: "ready" });
        else sendJson(res, 503, { status: "not-ready", reason });
        return;
      }
      case "/metrics":
        send(res, 200, registry.contentType, await registry.metrics());
        return;
      default:
        sendJson(res, 404, { error: `no route ${path}; try ${ROUTES}` });
    }
  }

  const server = createServer(
    {
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // How often the two timeouts above are enforced; node's default is 30 s.
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        logger.error(
          { event: "http-error", path: req.url, error: describeError(err) },
          "HTTP handler failed",
        );
        if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
        else res.destroy();
      });
    },
  );
  server.maxConnections = limits.maxConnections;
  // headersTimeout only starts with a request's first byte; a socket that sends nothing
  // is closed by this inactivity timeout instead.
  server.timeout = limits.headersTimeoutMs;
  server.on("drop", (data?: { remoteAddress?: string }) => {
    drops.note({ remoteAddress: data?.remoteAddress });
  });
  // Without a listener node answers 400 itself; with one, the log line is ours to limit.
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const timedOut = err.code === "ERR_HTTP_REQUEST_TIMEOUT";
    // A connection that never sent a byte has nothing to be answered. Ending it with a 408
    // instead was seen, on Node 20.20, to leave some such sockets open for good, each
    // holding a place under maxConnections.
    if (timedOut && socket.bytesRead === 0) {
      socket.destroy();
      return;
    }
    if (!timedOut) clientErrors.note({ reason: err.code ?? err.message });
    socket.end(
      timedOut
        ? "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        : "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    );
    // Closed even if the answer cannot be flushed.
    const closing = setTimeout(() => socket.destroy(), 1_000);
    closing.unref();
    socket.once("close", () => clearTimeout(closing));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: unknown) => reject(new HttpListenError(host, port, { cause: err }));
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });

  const address = server.address() as AddressInfo;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${urlHost}:${address.port}`;
  logger.info(
    { event: "http-listening", url, maxConnections: limits.maxConnections },
    `status page, health and metrics on ${url}${tokenDigest ? "; the page and /api/status need the token" : ""}`,
  );

  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive connections of a scraper would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}
