import { spawn } from "node:child_process";
import { connect, createServer, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { PromMetrics } from "../../../src/runtime/http/promMetrics.js";
import {
  type HttpLimits,
  HttpListenError,
  type HttpServer,
  HttpTokenError,
  readHttpToken,
  startHttpServer,
} from "../../../src/runtime/http/server.js";
import type { DaemonStatus } from "../../../src/runtime/keep/status.js";
import {
  businessHoursYaml,
  collectingLogger,
  configOf,
  eventsOf,
  local,
  MIMO_VL,
  startHarness,
} from "../../e2e/daemonHarness.js";
import { daemonStatus, modelStatus } from "./statusPageFixture.js";

type Readiness = Pick<DaemonStatus, "configLoaded" | "firstReconcileDone">;

const open: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function start(
  readiness: Readiness = { configLoaded: true, firstReconcileDone: true },
  limits: Partial<HttpLimits> = {},
  clock: { now: number } = { now: Date.now() },
  token?: string,
) {
  const metrics = new PromMetrics();
  const state = { current: daemonStatus(readiness) };
  const { logger, lines } = collectingLogger(() => clock.now);
  const server = await startHttpServer({
    host: "127.0.0.1",
    port: 0,
    registry: metrics.registry,
    status: () => state.current,
    logger,
    limits,
    now: () => clock.now,
    token,
  });
  open.push(server);
  return { server, metrics, state, lines };
}

/** Writes `text` on a fresh loopback socket and resolves with all the server answered. */
function raw(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(text));
    let answer = "";
    socket.on("data", (d) => {
      answer += d.toString("latin1");
    });
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
  });
}

/** An idle connection: connected, sending nothing; `closed` settles when the server ends it. */
async function idleConnection(
  url: string,
): Promise<{ socket: Socket; closed: Promise<number>; isClosed: () => boolean }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on("error", () => {});
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  let done = false;
  const closed = new Promise<number>((resolve) =>
    socket.once("close", () => {
      done = true;
      resolve(Date.now());
    }),
  );
  return { socket, closed, isClosed: () => done };
}

/** Polls `check` every 20 ms until it holds or `ms` pass; says whether it held. */
async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

const settledWithin = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

const FLOOD_CHILD = fileURLToPath(new URL("./httpFloodChild.ts", import.meta.url));

/**
 * Runs httpFloodChild.ts with at most `fileLimit` open files, opens `connections` idle
 * connections to its HTTP port, then lets its daemon warm the model and returns its report.
 */
async function floodChild(fileLimit: number, connections: number) {
  const proc = spawn(
    "bash",
    ["-c", `ulimit -n ${fileLimit} && exec "$0" --import tsx "$1"`, process.execPath, FLOOD_CHILD],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines: Record<string, unknown>[] = [];
  let buffered = "";
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const seen = lines.length;
      const onData = (chunk: Buffer) => {
        buffered += chunk.toString("utf8");
        const parts = buffered.split("\n");
        buffered = parts.pop() ?? "";
        for (const p of parts) lines.push(JSON.parse(p) as Record<string, unknown>);
        if (lines.length > seen) {
          proc.stdout.off("data", onData);
          resolve(lines[seen] as Record<string, unknown>);
        }
      };
      proc.stdout.on("data", onData);
      proc.once("exit", (code) => reject(new Error(`flood child exited with ${code}`)));
    });
  const { url } = (await next()) as { url: string };
  const flood = await Promise.all(Array.from({ length: connections }, () => idleConnection(url)));
  try {
    const stillOpen = () => flood.filter((c) => !c.isClosed()).length;
    await eventually(() => stillOpen() <= 64, 3_000);
    const open = stillOpen();
    proc.stdin.write("go\n");
    const report = (await next()) as { pings: string[]; warm: number; emfile: number };
    return { ...report, open };
  } finally {
    for (const c of flood) c.socket.destroy();
    proc.kill();
  }
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
        status: () => daemonStatus(),
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
      state.current = daemonStatus({ configLoaded: true, firstReconcileDone: true });
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

  describe("/ (the status page)", () => {
    it("serves the page as HTML under a policy that loads nothing from anywhere", async () => {
      const { server } = await start();
      const res = await fetch(`${server.url}/`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/]+=*'/);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain("unsafe");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("cache-control")).toBe("no-store");
      const html = await res.text();
      expect(html).toMatch(/^<!doctype html>/);
      expect(html).toContain('data-model="mimo-vl"');
      expect(html).not.toMatch(/<script/i);
    });

    it("renders the status of the moment of each request", async () => {
      const { server, state } = await start();
      expect(await (await fetch(`${server.url}/`)).text()).toContain('data-state="warm"');
      state.current = daemonStatus({ models: [modelStatus({ state: "cold" })] });
      expect(await (await fetch(`${server.url}/`)).text()).toContain('data-state="cold"');
    });
  });

  describe("with a token", () => {
    const TOKEN = "3f9c2a7be1d04c55a6f1e8b2d7c90a14";
    const withToken = () => start(undefined, {}, undefined, TOKEN);
    const basic = (user: string, password: string) =>
      `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

    it("answers 401 with a Bearer challenge to the page and /api/status without the token", async () => {
      const { server } = await withToken();
      for (const path of ["/", "/api/status", "/api/status?x=1"]) {
        for (const authorization of [
          undefined,
          "Bearer ",
          `Bearer ${TOKEN.slice(0, -1)}`,
          `Bearer ${TOKEN}x`,
          `Bearer ${TOKEN} ${TOKEN}`,
          `Token ${TOKEN}`,
          basic(TOKEN, "wrong"),
          "Basic !!!",
        ]) {
          const res = await fetch(`${server.url}${path}`, {
            headers: authorization === undefined ? {} : { authorization },
          });
          expect(res.status, `${path} ${authorization}`).toBe(401);
          expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="keepwarm"/);
          expect(res.headers.get("cache-control")).toBe("no-store");
          const body = await res.text();
          expect(body).not.toContain("mimo-vl");
          expect(body).not.toContain(TOKEN);
        }
      }
      expect((await fetch(`${server.url}/`, { method: "HEAD" })).status).toBe(401);
    });

    it("serves them to a request with the token, as Bearer or as a browser's Basic password", async () => {
      const { server } = await withToken();
      for (const authorization of [`Bearer ${TOKEN}`, `bearer  ${TOKEN}`, basic("me", TOKEN)]) {
        const page = await fetch(`${server.url}/`, { headers: { authorization } });
        expect(page.status).toBe(200);
        expect(await page.text()).toContain('data-model="mimo-vl"');
        const api = await fetch(`${server.url}/api/status`, { headers: { authorization } });
        expect(api.status).toBe(200);
      }
    });

    it("leaves /healthz, /readyz and /metrics open to probes and scrapers", async () => {
      const { server } = await withToken();
      for (const path of ["/healthz", "/readyz", "/metrics"]) {
        expect((await fetch(`${server.url}${path}`)).status, path).toBe(200);
      }
      expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    });

    it("leaves everything open without one", async () => {
      const { server } = await start();
      expect((await fetch(`${server.url}/`)).status).toBe(200);
      expect((await fetch(`${server.url}/api/status`)).status).toBe(200);
    });
  });

  describe("readHttpToken", () => {
    const files: Record<string, string> = {
      "/run/secrets/token": "0123456789abcdef0123\n",
      "/run/secrets/crlf": "0123456789abcdef0123\r\nsecond line\n",
      "/run/secrets/short": "abc\n",
    };
    const read = (path: string) => {
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: no such file, open '${path}'`);
      return text;
    };

    it("reads KEEPWARM_HTTP_TOKEN, or the first line of KEEPWARM_HTTP_TOKEN_FILE; none is none", () => {
      expect(readHttpToken({}, read)).toBeUndefined();
      expect(readHttpToken({ httpToken: " 0123456789abcdef " }, read)).toBe("0123456789abcdef");
      expect(readHttpToken({ httpTokenFile: "/run/secrets/token" }, read)).toBe(
        "0123456789abcdef0123",
      );
      expect(readHttpToken({ httpTokenFile: "/run/secrets/crlf" }, read)).toBe(
        "0123456789abcdef0123",
      );
    });

    it.each([
      [{ httpToken: "0123456789abcdef", httpTokenFile: "/run/secrets/token" }, /both set/],
      [{ httpTokenFile: "/run/secrets/missing" }, /cannot read it: ENOENT/],
      [{ httpTokenFile: "/run/secrets/short" }, /at least 16 characters/],
      [{ httpToken: "short" }, /^KEEPWARM_HTTP_TOKEN: the token must be at least 16/],
      [{ httpToken: "0123456789 abcdef" }, /without blanks/],
    ])("refuses %o", (source, message) => {
      expect(() => readHttpToken(source, read)).toThrow(HttpTokenError);
      expect(() => readHttpToken(source, read)).toThrow(message);
    });
  });

  describe("/api/status", () => {
    it("answers the status as JSON, instants in ISO 8601", async () => {
      const { server } = await start();
      const res = await fetch(`${server.url}/api/status?pretty`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      const body = (await res.json()) as { now: string; models: { name: string }[] };
      expect(body.now).toBe("2026-12-07T05:30:00.000Z");
      expect(body.models.map((m) => m.name)).toEqual(["mimo-vl"]);
    });
  });

  describe("other requests", () => {
    it("answers 404 for an unknown path and 405 for a method other than GET or HEAD", async () => {
      const { server } = await start();
      expect((await fetch(`${server.url}/nope`)).status).toBe(404);
      expect(
        await raw(server.url, "GET //healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
      ).toMatch(/^HTTP\/1\.1 404 /);
      const post = await fetch(`${server.url}/metrics`, { method: "POST" });
      expect(post.status).toBe(405);
      expect(post.headers.get("allow")).toBe("GET, HEAD");
    });

    it("answers HEAD without a body", async () => {
      const { server } = await start();
      for (const path of ["/healthz", "/", "/api/status"]) {
        const res = await fetch(`${server.url}${path}`, { method: "HEAD" });
        expect(res.status).toBe(200);
        expect(await res.text()).toBe("");
      }
    });

    it.each(["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])(
      "refuses %s on every path with 405: the port is read-only",
      async (method) => {
        const { server } = await start();
        for (const path of ["/", "/api/status", "/healthz"]) {
          const res = await fetch(`${server.url}${path}`, { method });
          expect(res.status).toBe(405);
          expect(res.headers.get("allow")).toBe("GET, HEAD");
        }
      },
    );
  });

  describe("malformed requests", () => {
    it("answers a request target that is no path with 400 and logs it at debug, once a minute", async () => {
      const clock = { now: Date.now() };
      const { server, lines } = await start(undefined, {}, clock);
      const request = "GET http://[::1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
      for (let i = 0; i < 20; i++) {
        expect(await raw(server.url, request)).toMatch(/^HTTP\/1\.1 400 /);
      }
      clock.now += 60_000;
      expect(await raw(server.url, request)).toMatch(/^HTTP\/1\.1 400 /);

      expect(lines.filter((l) => l.level === "error")).toEqual([]);
      const logged = lines.filter((l) => l.event === "http-client-error");
      expect(logged).toHaveLength(2);
      expect(logged.map((l) => l.level)).toEqual(["debug", "debug"]);
      expect(logged[0]).toMatchObject({ target: "http://[::1", suppressedSinceLast: 0 });
      expect(logged[1]).toMatchObject({ suppressedSinceLast: 19 });
      // And the server still serves.
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    });

    it("answers a request the parser rejects with 400, logged at debug", async () => {
      const { server, lines } = await start();
      const answer = await raw(server.url, "GET /healthz HTTP/1.1\r\nHost x\r\n\r\n");
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(lines.filter((l) => l.event === "http-client-error").map((l) => l.level)).toEqual([
        "debug",
      ]);
    });
  });

  describe("connection cap", () => {
    it("closes connections beyond maxConnections on arrival and idle ones after the header timeout", async () => {
      const { server, lines } = await start(undefined, {
        maxConnections: 8,
        headersTimeoutMs: 1_000,
        requestTimeoutMs: 1_000,
      });
      const opened = Date.now();
      const held = await Promise.all(Array.from({ length: 8 }, () => idleConnection(server.url)));
      await new Promise((r) => setTimeout(r, 50));
      const extra = await Promise.all(Array.from({ length: 12 }, () => idleConnection(server.url)));
      for (const c of extra) expect(await settledWithin(c.closed, 3_000)).toBe(true);
      expect(lines.filter((l) => l.event === "http-connections-dropped")).toHaveLength(1);
      // The held ones are closed once they have been silent for a second.
      // Generous bounds: a loaded machine checks connections late, never early.
      for (const c of held) expect(await settledWithin(c.closed, 15_000)).toBe(true);
      expect(Date.now() - opened).toBeGreaterThanOrEqual(1_000);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    }, 40_000);

    it("closes a keep-alive connection idle after its answer once keepAliveTimeoutMs passes", async () => {
      const { server } = await start(undefined, { keepAliveTimeoutMs: 200 });
      const c = await idleConnection(server.url);
      let answer = "";
      c.socket.on("data", (d) => {
        answer += d.toString("latin1");
      });
      const sent = Date.now();
      c.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      expect(await settledWithin(c.closed, 5_000)).toBe(true);
      expect(answer).toMatch(/^HTTP\/1\.1 200 [\s\S]*keep-alive/i);
      expect(Date.now() - sent).toBeGreaterThanOrEqual(150);
    });

    it("keeps the daemon's own AWS calls working while idle connections flood the port", async () => {
      const h = await startHarness({
        config: configOf(businessHoursYaml({ models: [MIMO_VL] })),
        start: local("08:50"),
      });
      const { logger } = collectingLogger(Date.now);
      const server = await startHttpServer({
        host: "127.0.0.1",
        port: 0,
        registry: new PromMetrics({ processMetrics: false }).registry,
        status: () => h.daemon.status(),
        logger,
        limits: { maxConnections: 16 },
      });
      const flood = await Promise.all(
        Array.from({ length: 200 }, () => idleConnection(server.url)),
      );
      try {
        // The server holds no more sockets than its cap: the rest are closed on arrival.
        const stillOpen = () => flood.filter((c) => !c.isClosed()).length;
        await eventually(() => stillOpen() <= 16, 3_000);
        expect(stillOpen()).toBeLessThanOrEqual(16);

        await h.daemon.start();
        await h.clock.runUntil(local("09:10"));
        const pings = eventsOf(h.lines, "ping", "mimo-vl");
        expect(pings.length).toBeGreaterThan(0);
        expect(pings.at(-1)?.result).toBe("ok");
        expect(eventsOf(h.lines, "warm", "mimo-vl")).toHaveLength(1);
        expect(h.daemon.status().models[0]?.copies).toBe(1);
      } finally {
        for (const c of flood) c.socket.destroy();
        await server.close();
        await h.close();
      }
    });

    it("leaves the daemon file descriptors for its AWS calls when 300 connections meet a limit of 200 open files", async () => {
      const report = await floodChild(200, 300);
      expect(report.open).toBeLessThanOrEqual(64);
      expect(report.emfile).toBe(0);
      expect(report.pings.length).toBeGreaterThan(0);
      expect(report.pings.at(-1)).toBe("ok");
      expect(report.warm).toBe(1);
    });
  });
});
