import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { describeError, type Logger } from "./logger.js";

export const DEFAULT_HTTP_HOST = "127.0.0.1";
export const DEFAULT_HTTP_PORT = 9464;

/** What /readyz needs to know about the daemon. */
export interface ReadinessStatus {
  /** A valid configuration is loaded. */
  readonly configLoaded: boolean;
  /** Every controller has reconciled at least once since start-up. */
  readonly firstReconcileDone: boolean;
}

export interface HttpServerOptions {
  readonly host?: string;
  /** 0 picks a free port (tests). */
  readonly port?: number;
  readonly registry: Registry;
  readonly status: () => ReadinessStatus;
  readonly logger: Logger;
}

export interface HttpServer {
  /** e.g. "http://127.0.0.1:9464" */
  readonly url: string;
  close(): Promise<void>;
}

export class HttpListenError extends Error {
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

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, "application/json; charset=utf-8", `${JSON.stringify(body)}\n`);
}

/** Why the daemon is not ready yet, or undefined when it is. */
function notReadyReason(status: ReadinessStatus): string | undefined {
  if (!status.configLoaded) return "no valid configuration loaded yet";
  if (!status.firstReconcileDone) return "first reconcile not done yet";
  return undefined;
}

/**
 * /healthz (the process answers), /readyz (config loaded and first reconcile done, else
 * 503) and /metrics (Prometheus text format). Liveness deliberately ignores AWS: a
 * restart cures no outage of Bedrock or CloudWatch.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const host = options.host ?? DEFAULT_HTTP_HOST;
  const port = options.port ?? DEFAULT_HTTP_PORT;
  const { registry, status, logger } = options;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      sendJson(res, 405, { error: `method ${req.method} not allowed` });
      return;
    }
    switch (path) {
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
        sendJson(res, 404, { error: `no route ${path}; try /healthz, /readyz or /metrics` });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error(
        { event: "http-error", path: req.url, error: describeError(err) },
        "HTTP handler failed",
      );
      if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
      else res.destroy();
    });
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
  logger.info({ event: "http-listening", url }, `health and metrics on ${url}`);

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
