import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  HttpListenError,
  type HttpServer,
  type ReadinessStatus,
  startHttpServer,
} from "../../src/runtime/http.js";
import { PromMetrics } from "../../src/runtime/promMetrics.js";
import { collectingLogger } from "../e2e/daemonHarness.js";

const open: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function start(status: ReadinessStatus = { configLoaded: true, firstReconcileDone: true }) {
  const metrics = new PromMetrics();
  const state = { current: status };
  const { logger, lines } = collectingLogger(Date.now);
  const server = await startHttpServer({
    host: "127.0.0.1",
    port: 0,
    registry: metrics.registry,
    status: () => state.current,
    logger,
  });
  open.push(server);
  return { server, metrics, state, lines };
}

describe("startHttpServer", () => {
  describe("listening", () => {
    it("listens on the given host and an ephemeral port, and logs its url", async () => {
      const { server, lines } = await start();
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(lines).toContainEqual(
        expect.objectContaining({ event: "http-listening", url: server.url }),
      );
    });

    it("fails with HttpListenError naming host and port when the port is taken", async () => {
      const blocker = createServer();
      await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
      const port = (blocker.address() as { port: number }).port;
      const { logger } = collectingLogger(Date.now);
      const registry = new PromMetrics({ processMetrics: false }).registry;
      const attempt = startHttpServer({
        host: "127.0.0.1",
        port,
        registry,
        status: () => ({ configLoaded: true, firstReconcileDone: true }),
        logger,
      });
      await expect(attempt).rejects.toBeInstanceOf(HttpListenError);
      await expect(attempt).rejects.toThrow(
        `cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`,
      );
      await new Promise((r) => blocker.close(r));
    });

    it("stops answering after close()", async () => {
      const { server } = await start();
      await fetch(`${server.url}/healthz`);
      await open.pop()?.close();
      await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    });
  });

  describe("/healthz", () => {
    it("answers 200 while the process runs, even before the daemon is ready", async () => {
      const { server } = await start({ configLoaded: false, firstReconcileDone: false });
      const res = await fetch(`${server.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: "ok" });
    });
  });

  describe("/readyz", () => {
    it.each([
      [
        { configLoaded: false, firstReconcileDone: false },
        503,
        { status: "not-ready", reason: "no valid configuration loaded yet" },
      ],
      [
        { configLoaded: true, firstReconcileDone: false },
        503,
        { status: "not-ready", reason: "first reconcile not done yet" },
      ],
      [{ configLoaded: true, firstReconcileDone: true }, 200, { status: "ready" }],
    ])("for %o answers %i", async (status, code, body) => {
      const { server } = await start(status);
      const res = await fetch(`${server.url}/readyz`);
      expect(res.status).toBe(code);
      expect(await res.json()).toEqual(body);
    });

    it("reads the status at each request", async () => {
      const { server, state } = await start({ configLoaded: true, firstReconcileDone: false });
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
      state.current = { configLoaded: true, firstReconcileDone: true };
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    });
  });

  describe("/metrics", () => {
    it("serves the registry in the Prometheus text format", async () => {
      const { server, metrics } = await start();
      metrics.pingResult("mimo-vl", "ok");
      const res = await fetch(`${server.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
      const text = await res.text();
      expect(text).toContain('keepwarm_pings_total{model="mimo-vl",result="ok"} 1');
      expect(text).toContain("# TYPE process_resident_memory_bytes gauge");
    });
  });

  describe("other requests", () => {
    it("answers 404 for an unknown path and 405 for a method other than GET or HEAD", async () => {
      const { server } = await start();
      expect((await fetch(`${server.url}/nope`)).status).toBe(404);
      const post = await fetch(`${server.url}/metrics`, { method: "POST" });
      expect(post.status).toBe(405);
      expect(post.headers.get("allow")).toBe("GET, HEAD");
    });

    it("answers HEAD without a body", async () => {
      const { server } = await start();
      const res = await fetch(`${server.url}/healthz`, { method: "HEAD" });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("");
    });
  });
});
