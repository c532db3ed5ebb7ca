import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type Child, MAIN, SAMPLE, startNode } from "../runtime/childProcess.js";

const TOKEN = "s3cret-token-of-20chars";

describe("keepwarm run with KEEPWARM_HTTP_TOKEN", () => {
  let child: Child | undefined;
  afterEach(async () => {
    child?.proc.kill("SIGTERM");
    await child?.exited;
    child = undefined;
  });

  it("asks for the token on the status page and the API, and leaves probes and metrics open", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "kw-token-"));
    child = startNode(
      ["--import", "tsx", MAIN, "run", "--config", SAMPLE, "--simulate", "on", "--http-port", "0"],
      { KEEPWARM_HTTP_TOKEN: TOKEN, KEEPWARM_STATE_DIR: stateDir },
    );
    const listening = await child.until(
      "http-listening",
      (l) => l.event === "http-listening",
      20_000,
    );
    const url = String(listening.url);
    const get = (path: string, token?: string) =>
      fetch(`${url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    expect((await get("/")).status).toBe(401);
    expect((await get("/api/status")).status).toBe(401);
    expect((await get("/api/status", "wrong-token-of-20chars")).status).toBe(401);
    expect((await get("/api/status", TOKEN)).status).toBe(200);
    expect((await get("/healthz")).status).toBe(200);
    expect((await get("/metrics")).status).toBe(200);
  }, 40_000);
});
