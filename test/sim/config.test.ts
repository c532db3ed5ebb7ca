import { readFile } from "node:fs/promises";
import net from "node:net";
import { CloudWatchClient, ListMetricsCommand } from "@aws-sdk/client-cloudwatch";
import { describe, expect, it } from "vitest";
import { startSim } from "../../src/cli/sim.js";
import { parseSimConfigText } from "../../src/sim/config.js";
import { DEFAULT_SIM_SETTINGS } from "../../src/sim/settings.js";
import { CREDENTIALS } from "./harness.js";

function capture() {
  const lines = { stdout: [] as string[], stderr: [] as string[] };
  return {
    lines,
    out: {
      stdout: (l: string) => lines.stdout.push(l),
      stderr: (l: string) => lines.stderr.push(l),
    },
  };
}

describe("parseSimConfigText", () => {
  it("reads the sample config/sim.yaml as the defaults plus two models", async () => {
    const result = parseSimConfigText(await readFile("config/sim.yaml"), "config/sim.yaml");
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.config.settings).toEqual(DEFAULT_SIM_SETTINGS);
    expect(result.config.models.map((m) => m.customModelUnits)).toEqual([4, 2]);
    expect(result.config.speed).toBe(1);
  });

  it("turns durations into milliseconds and a clock start into an instant", () => {
    const result = parseSimConfigText(
      "clock: {speed: 60, start: 2026-12-01T08:00:00Z}\nsettings: {restore: 6m, restoreJitter: 0s, evictionDelay: 1h}\n",
      "sim.yaml",
    );
    expect(result.ok && result.config).toMatchObject({
      speed: 60,
      start: Date.parse("2026-12-01T08:00:00Z"),
      settings: { restoreMs: 360_000, restoreJitterMs: 0, evictionDelayMs: 3_600_000 },
    });
  });

  it("reports every problem with its line, column, path and what is allowed", () => {
    const text = [
      "settings:",
      "  restore: 9x",
      "  maxCopies: 0",
      "  bogus: 1",
      "models:",
      "  - modelArn: arn:aws:bedrock:us-east-1:123456789012:foundation-model/x",
      "    customModelUnits: 2",
      "",
    ].join("\n");
    const result = parseSimConfigText(text, "sim.yaml");
    expect(result.ok).toBe(false);
    const problems = result.ok
      ? []
      : result.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
    expect(problems).toEqual([
      '2:12 settings.restore: is "9x"; allowed: a duration such as 0s, 90s, 15m or 1h',
      "3:14 settings.maxCopies: is 0; allowed: a whole number from 1 to 100",
      expect.stringMatching(/^4:3 settings\.bogus: unknown key "bogus"/),
      expect.stringMatching(/^6:15 models\[0\]\.modelArn: .*allowed: arn:aws:bedrock:<region>/),
    ]);
  });

  it("reads scripted faults with instants and durations", () => {
    const arn = "arn:aws:bedrock:us-east-1:123456789012:imported-model/abcdefghijkl";
    const result = parseSimConfigText(
      [
        "faults:",
        `  - { kind: throttling, modelArn: "${arn}", from: 2026-12-01T09:00:00Z, until: 2026-12-01T10:00:00Z, times: 3 }`,
        "  - { kind: slowRestore, restore: 7m }",
        "  - { kind: evict, at: 2026-12-01T12:07:00+08:00 }",
        "  - { kind: slow, delay: 2s, operations: [GetMetricData] }",
        "  - { kind: evictAfter, delay: 5m, from: 2026-12-10T00:00:00Z }",
        "",
      ].join("\n"),
      "sim.yaml",
    );
    expect(result.ok && result.config.faults).toEqual([
      {
        kind: "throttling",
        modelArn: arn,
        from: Date.parse("2026-12-01T09:00:00Z"),
        until: Date.parse("2026-12-01T10:00:00Z"),
        times: 3,
      },
      { kind: "slowRestore", restoreMs: 420_000 },
      { kind: "evict", at: Date.parse("2026-12-01T04:07:00Z") },
      { kind: "slow", delayMs: 2000, operations: ["GetMetricData"] },
      { kind: "evictAfter", delayMs: 300_000, from: Date.parse("2026-12-10T00:00:00Z") },
    ]);
  });

  it("names what a fault lacks or gets wrong", () => {
    const result = parseSimConfigText(
      "faults:\n  - { kind: slow }\n  - { kind: evict, at: tomorrow }\n  - { kind: melt }\n" +
        "  - { kind: evictAfter }\n  - { kind: evictAfter, delay: 0s }\n",
      "sim.yaml",
    );
    const problems = result.ok
      ? []
      : result.problems.map((p) => `${p.line} ${p.path}: ${p.message}`);
    expect(problems).toEqual([
      "2 faults[0].delay: is missing; a slow fault needs delay",
      expect.stringMatching(/^3 faults\[1\]\.at: is "tomorrow"; allowed: ISO 8601 with an offset/),
      expect.stringMatching(/^4 faults\[2\]\.kind: /),
      "5 faults[3].delay: is missing; an evictAfter fault needs delay",
      "6 faults[4].delay: is 0s; allowed: a duration above 0s (the idle time before the unload)",
    ]);
  });

  it("refuses a restore jitter longer than the restore", () => {
    const result = parseSimConfigText(
      "settings:\n  restore: 30s\n  restoreJitter: 1m\n",
      "sim.yaml",
    );
    expect(result.ok ? [] : result.problems.map((p) => [p.line, p.path])).toEqual([
      [3, "settings.restoreJitter"],
    ]);
  });

  it("reads an eviction jitter and refuses one that reaches the eviction delay", () => {
    const ok = parseSimConfigText("settings: {evictionDelay: 10m, evictionJitter: 5m}\n", "s.yaml");
    expect(ok.ok && ok.config.settings).toMatchObject({
      evictionDelayMs: 600_000,
      evictionJitterMs: 300_000,
    });
    const bad = parseSimConfigText(
      "settings:\n  evictionDelay: 5m\n  evictionJitter: 5m\n",
      "s.yaml",
    );
    expect(bad.ok ? [] : bad.problems.map((p) => `${p.line} ${p.path}: ${p.message}`)).toEqual([
      "3 settings.evictionJitter: evictionJitter 300s is not shorter than evictionDelay 300s; allowed: a jitter shorter than evictionDelay",
    ]);
  });
});

describe("parseSimConfigText eviction and per-model settings", () => {
  const arn = "arn:aws:bedrock:us-east-1:123456789012:imported-model/abcdefghijkl";
  const arn2 = "arn:aws:bedrock:us-east-1:123456789012:imported-model/mnopqrstuvwx";

  it("keeps the reference defaults: 15 minutes after the last call, 90 s restore, 10 s jitter", () => {
    const result = parseSimConfigText("settings: {}\n", "sim.yaml");
    expect(result.ok && result.config.settings).toMatchObject({
      evictionRule: "afterLastCall",
      evictionDelayMs: 15 * 60_000,
      evictionIdleWindows: 2,
      restoreMs: 90_000,
      restoreJitterMs: 10_000,
    });
  });

  it("reads the billing-window rule and each model's own restore and eviction", () => {
    const result = parseSimConfigText(
      [
        "settings: {eviction: billingWindows, evictionIdleWindows: 3}",
        "models:",
        `  - modelArn: ${arn}`,
        "    customModelUnits: 4",
        "    settings: {restore: 1m, restoreJitter: 0s, eviction: afterLastCall, evictionDelay: 5m}",
        `  - modelArn: ${arn2}`,
        "    customModelUnits: 2",
        "",
      ].join("\n"),
      "sim.yaml",
    );
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.config.settings).toMatchObject({
      evictionRule: "billingWindows",
      evictionIdleWindows: 3,
    });
    expect(result.config.models).toEqual([
      {
        modelArn: arn,
        customModelUnits: 4,
        settings: {
          restoreMs: 60_000,
          restoreJitterMs: 0,
          evictionRule: "afterLastCall",
          evictionDelayMs: 300_000,
        },
      },
      { modelArn: arn2, customModelUnits: 2 },
    ]);
  });

  it("reports a bad rule, a bad per-model field and a per-model jitter above its restore, each at line:col", () => {
    const text = [
      "settings:",
      "  eviction: hourly",
      "  evictionJitter: 12m",
      "models:",
      `  - modelArn: ${arn}`,
      "    customModelUnits: 4",
      "    settings:",
      "      evictionIdleWindows: -1",
      "      maxCopies: 2",
      `  - modelArn: ${arn2}`,
      "    customModelUnits: 2",
      "    settings: {restore: 5s, evictionDelay: 10m}",
      "",
    ].join("\n");
    const problems = (r: ReturnType<typeof parseSimConfigText>) =>
      r.ok ? [] : r.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
    expect(problems(parseSimConfigText(text, "sim.yaml"))).toEqual([
      '2:13 settings.eviction: is "hourly"; allowed: afterLastCall or billingWindows',
      "8:28 models[0].settings.evictionIdleWindows: is -1; allowed: a whole number from 0 to 1000",
      expect.stringMatching(/^9:7 models\[0\]\.settings\.maxCopies: unknown key "maxCopies"/),
    ]);
    // The schema is fine once the first two are fixed; the jitter check needs the merged settings.
    const fixed = text
      .replace("eviction: hourly", "eviction: billingWindows")
      .replace("evictionIdleWindows: -1", "evictionIdleWindows: 1")
      .replace("      maxCopies: 2\n", "");
    // 12 minutes of jitter is allowed by the 15-minute default, not by a model's 10 minutes.
    expect(problems(parseSimConfigText(fixed, "sim.yaml"))).toEqual([
      "11:25 models[1].settings.restore: restoreJitter 10s is longer than restore 5s (restoreJitter from settings); allowed: a jitter of at most restore",
      "11:44 models[1].settings.evictionDelay: evictionJitter 720s is not shorter than evictionDelay 600s (evictionJitter from settings); allowed: a jitter shorter than evictionDelay",
    ]);
  });
});

describe("startSim", () => {
  it("serves the configured models where AWS_ENDPOINT_URL points the SDK", async () => {
    const { out, lines } = capture();
    const started = await startSim(
      { port: 0, host: "127.0.0.1", config: "config/sim.yaml", speed: undefined, start: undefined },
      out,
    );
    if (!started.ok) throw new Error(lines.stderr.join("\n"));
    const previous = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = started.server.url;
    const client = new CloudWatchClient({ region: "us-east-1", credentials: CREDENTIALS });
    try {
      await expect(client.send(new ListMetricsCommand({}))).resolves.toMatchObject({ Metrics: [] });
      expect(started.sim.models()).toHaveLength(2);
      expect(lines.stdout[0]).toContain(`listening on ${started.server.url}`);
    } finally {
      client.destroy();
      if (previous === undefined) delete process.env.AWS_ENDPOINT_URL;
      else process.env.AWS_ENDPOINT_URL = previous;
      await started.server.close();
    }
  });

  it("exits 2 on an invalid config and 1 when the port is taken", async () => {
    const bad = capture();
    expect(
      await startSim(
        {
          port: 0,
          host: "127.0.0.1",
          config: "/nonexistent/sim.yaml",
          speed: undefined,
          start: undefined,
        },
        bad.out,
      ),
    ).toEqual({ ok: false, exitCode: 2 });
    expect(bad.lines.stderr[0]).toMatch(/^\/nonexistent\/sim\.yaml:1:1: \(file\): cannot be read/);

    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", r));
    const port = (holder.address() as net.AddressInfo).port;
    const taken = capture();
    try {
      expect(
        await startSim(
          { port, host: "127.0.0.1", config: undefined, speed: undefined, start: undefined },
          taken.out,
        ),
      ).toEqual({ ok: false, exitCode: 1 });
      expect(taken.lines.stderr[0]).toContain(`cannot listen on 127.0.0.1:${port}`);
    } finally {
      holder.close();
    }
  });
});
