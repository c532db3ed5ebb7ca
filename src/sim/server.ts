import http from "node:http";
import http2 from "node:http2";
import net, { type AddressInfo, type Socket } from "node:net";
import { KeepwarmError } from "../domain/errors.js";
import { handle, type NodeRequest } from "./dispatch.js";
import type { AwsErrorShape } from "./errors.js";
import { type NodeResponse, sendRestJsonError } from "./protocols.js";
import type { SimService } from "./service.js";

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export class SimServerError extends KeepwarmError {
  override readonly name = "SimServerError";
}

export interface SimServer {
  readonly url: string;
  readonly port: number;
  /** Connections accepted so far, by protocol. */
  readonly connections: { readonly http1: number; readonly http2: number };
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/**
 * One TCP port for both protocols: the SDK's bedrock-runtime client speaks h2c (prior
 * knowledge, no upgrade), the other clients and curl speak HTTP/1.1. The first bytes of a
 * connection tell them apart, and the socket is handed to the matching server.
 */
export async function startSimServer(
  sim: SimService,
  options: { host?: string; port?: number } = {},
): Promise<SimServer> {
  const host = options.host ?? "127.0.0.1";
  const handler = (req: NodeRequest, res: NodeResponse) => {
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
          subject: `${host}:${options.port ?? 0}`,
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
