import { execFile } from "node:child_process";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const SCRIPT = fileURLToPath(new URL("../../deploy/healthcheck.mjs", import.meta.url));

interface Probe {
  readonly code: number;
  readonly stderr: string;
}

/** Runs the image's HEALTHCHECK script as docker would, with only the given environment. */
function probe(env: Record<string, string>): Promise<Probe> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT], { env }, (error, _stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stderr });
    });
  });
}

const servers: Server[] = [];
const paths: string[] = [];

/** A real HTTP server on 127.0.0.1 answering /healthz as `answer` says. */
async function serve(answer: (res: ServerResponse) => void): Promise<number> {
  const server = createServer((req, res) => {
    paths.push(req.url ?? "");
    if (req.url === "/healthz") answer(res);
    else res.writeHead(404).end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  paths.length = 0;
});

describe("deploy/healthcheck.mjs", () => {
  describe("against a listening daemon", () => {
    it("exits 0 when GET /healthz answers 200, probing loopback for a 0.0.0.0 bind", async () => {
      const port = await serve((res) => res.writeHead(200).end("ok"));
      const result = await probe({
        KEEPWARM_HTTP_HOST: "0.0.0.0",
        KEEPWARM_HTTP_PORT: String(port),
      });
      expect(result).toEqual({ code: 0, stderr: "" });
      expect(paths).toEqual(["/healthz"]);
    });

    it("probes the bind address itself when it is a specific one", async () => {
      const port = await serve((res) => res.writeHead(200).end("ok"));
      const result = await probe({
        KEEPWARM_HTTP_HOST: "127.0.0.1",
        KEEPWARM_HTTP_PORT: String(port),
      });
      expect(result.code).toBe(0);
    });

    it("exits 1 naming the status when /healthz answers 503", async () => {
      const port = await serve((res) => res.writeHead(503).end("stopping"));
      const result = await probe({ KEEPWARM_HTTP_PORT: String(port) });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`http://127.0.0.1:${port}/healthz answered 503`);
    });

    it("exits 1 when the daemon accepts the connection but never answers", async () => {
      const port = await serve(() => {});
      const result = await probe({
        KEEPWARM_HTTP_PORT: String(port),
        KEEPWARM_HEALTHCHECK_TIMEOUT_MS: "200",
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("gave no answer in 200 ms");
    });
  });

  describe("with nothing listening", () => {
    it("exits 1 with the connection error", async () => {
      const port = await serve(() => {});
      await new Promise((resolve) => servers.pop()?.close(resolve));
      const result = await probe({ KEEPWARM_HTTP_PORT: String(port) });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("ECONNREFUSED");
    });
  });
});
