import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegionClientPool } from "../../src/aws/clients.js";
import { suggestCommand } from "../../src/cli/suggest.js";
import { ManualClock } from "../../src/sim/clock.js";
import { parseSimConfigText } from "../../src/sim/config.js";
import { InProcessSimHandler, Simulator } from "../../src/sim/index.js";

const ARN = (id: string) => `arn:aws:bedrock:us-west-2:123456789012:imported-model/${id}`;
const NOW = Date.parse("2027-03-22T06:00:00Z");

describe("suggestCommand", () => {
  let file: string;
  let stateDir: string;
  let sim: Simulator;
  let clients: RegionClientPool;

  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), "kw-suggest-cli-"));
    stateDir = join(dir, "state");
    file = join(dir, "keepwarm.yaml");
    writeFileSync(
      file,
      `timezone: Asia/Shanghai
models:
  - name: mimo-vl
    modelArn: ${ARN("km5b98xhpqel")}
    policy: business-hours
    customModelUnits: 4
  - name: llama
    modelArn: ${ARN("a1b2c3d4e5f6")}
    policy: business-hours
daemon:
  stateDir: ${stateDir}
`,
    );
    const users = parseSimConfigText(
      `models:
  - modelArn: ${ARN("km5b98xhpqel")}
    customModelUnits: 4
    traffic:
      timezone: Asia/Shanghai
      rates:
        - { days: mon-fri, from: "19:00", to: "21:00", perHour: 30 }
  - modelArn: ${ARN("a1b2c3d4e5f6")}
    customModelUnits: 2
`,
      "sim.yaml",
    );
    if (!users.ok) throw new Error(JSON.stringify(users.problems));
    const clock = new ManualClock(NOW - 11 * 7 * 86_400_000);
    sim = new Simulator({ clock, models: users.config.models });
    clock.set(NOW);
    clients = new RegionClientPool({
      endpoint: "http://127.0.0.1:1",
      credentials: { accessKeyId: "AKIDSUGGEST", secretAccessKey: "x" },
      retryBackoffMs: 0,
      requestHandler: new InProcessSimHandler(sim),
    });
  });

  afterAll(() => clients.destroy());

  async function run(extra: { model?: string; weeks?: string; json?: boolean; colour?: boolean }) {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const code = await suggestCommand(
      { config: file, now: NOW, clients, stateDir, ...extra },
      { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l) },
    );
    return { code, stdout, stderr };
  }

  it.each([
    [{ weeks: "0" }, '--weeks: "0" is not a number of weeks; allowed: an integer 1..65'],
    [{ weeks: "66" }, '--weeks: "66" is not a number of weeks; allowed: an integer 1..65'],
    [{ model: "nope" }, '--model "nope" is not in'],
  ])("refuses %j with exit 2, naming what is allowed", async (flags, message) => {
    const r = await run(flags);
    expect(r.code).toBe(2);
    expect(r.stderr.join("\n")).toContain(`keepwarm suggest: ${message}`);
  });

  it("prints the heatmap, the candidates and the 99% block, and looks the CMU up where the config has none", async () => {
    const r = await run({});
    expect(r.code).toBe(0);
    const text = r.stdout.join("\n");
    expect(text).toMatch(
      /^mimo-vl: [\d,]+ users' calls in the 4 weeks to 2027-03-22T13:50 \([\d,]+ a week\), Asia\/Shanghai$/m,
    );
    expect(text).toMatch(/^Mon {2}\s+██/m);
    expect(text).toMatch(/^\* current \(business-hours\) +0\.0% +[\d,]+ +\$[\d,.]+$/m);
    expect(text).toContain('          from: "19:00"\n          to: "21:00"');
    // llama has no customModelUnits: GetImportedModel's 2, priced as the config prices v1.0.
    expect(text).toMatch(/^\s+always-on +100\.0% +0 +\$4,944\.25$/m);
    expect(r.stderr.join("\n")).toContain("no ping counts read from");
  });

  it("gives the JSON of the issue: one model's candidates, in 2 metrics requested", async () => {
    const before = sim.getMetricDataUsage();
    const r = await run({ model: "mimo-vl", json: true });
    const json = JSON.parse(r.stdout.join(""));
    expect(Object.keys(json.models[0])).toEqual([
      "name",
      "zone",
      "weeks",
      "from",
      "to",
      "calls",
      "month",
      "candidates",
    ]);
    expect(json.models[0].candidates.map((c: { label: string }) => c.label)).toEqual([
      "current (business-hours)",
      "90% of calls",
      "99% of calls",
      "100% of calls",
      "always-on",
      "off",
    ]);
    expect(json.models[0].candidates[2]).toMatchObject({
      current: false,
      coveragePct: 100,
      coldCallsPerWeek: 0,
      policy: { name: "mimo-vl-99pct", windows: [{ days: "mon-fri", from: "19:00", to: "21:00" }] },
    });
    expect(json.cloudwatch).toEqual({ calls: 1, metricsRequested: 2 });
    expect(sim.getMetricDataUsage().metricsRequested - before.metricsRequested).toBe(2);
  });

  it("reads hourly data beyond 63 days: 10 weeks in two reads of both metrics", async () => {
    const r = await run({ weeks: "10", json: true });
    const json = JSON.parse(r.stdout.join(""));
    expect(json.cloudwatch).toEqual({ calls: 2, metricsRequested: 8 });
    // The evenings read hourly are spread over their quarter-hours as evenly as they fell.
    const mimo = json.models[0];
    expect(mimo.weeks).toBe(10);
    expect(mimo.candidates[2].policy.windows).toEqual([
      { days: "mon-fri", from: "19:00", to: "21:00" },
    ]);
  });
});
