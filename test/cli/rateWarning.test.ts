import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planCommand } from "../../src/cli/plan.js";
import { validateConfig } from "../../src/cli/validate.js";

/** Monday 2026-12-07 00:00 in Shanghai. */
const MONDAY = Date.parse("2026-12-06T16:00:00Z");

let dir: string;

/** `n` models on business hours in Shanghai under `daemon.invokeRatePerSecond: rate`. */
async function fleetFile(name: string, n: number, rate: number): Promise<string> {
  const file = join(dir, name);
  const models = Array.from(
    { length: n },
    (_, i) =>
      `  - name: m${i}\n    modelArn: arn:aws:bedrock:us-east-1:123456789012:imported-model/${i.toString(36).padStart(12, "0")}\n    policy: business-hours\n    customModelUnits: 2\n`,
  ).join("");
  await writeFile(
    file,
    `timezone: Asia/Shanghai\ndaemon:\n  invokeRatePerSecond: ${rate}\nmodels:\n${models}`,
  );
  return file;
}

function capture() {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: { stdout: (l: string) => stdout.push(l), stderr: (l: string) => stderr.push(l) },
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "keepwarm-rate-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true });
});

describe("validateConfig", () => {
  it("warns, naming daemon.invokeRatePerSecond and the rate needed, from when it is short", async () => {
    const file = await fleetFile("short.yaml", 30, 0.05);
    const c = capture();
    expect(await validateConfig({ config: file, now: MONDAY }, c.out)).toBe(0);
    expect(c.stdout).toHaveLength(1);
    expect(c.stderr).toEqual([
      `${file}: warning: daemon.invokeRatePerSecond 0.05/s is short from 2026-12-07 08:54 (Asia/Shanghai): the fleet needs 0.23/s (30 model(s) warm at 2026-12-07 08:54: 0.125/s of keep-alives at their cadences and 0.0833/s to wake, plus 10% for restore retries; 30 at the starting cadence until an eviction is measured). At 0.05/s about 10 of the 30 model(s) warm at once are kept warm and 20 left cold. Raise daemon.invokeRatePerSecond to 0.23 or more, within the account's InvokeModel quota.`,
    ]);
  });

  it("says nothing more when the rate is enough", async () => {
    const file = await fleetFile("enough.yaml", 30, 5);
    const c = capture();
    expect(await validateConfig({ config: file, now: MONDAY }, c.out)).toBe(0);
    expect(c.stderr).toEqual([]);
  });
});

describe("planCommand", () => {
  it("prints the rate the fleet needs on stderr, and in the JSON", async () => {
    const file = await fleetFile("plan.yaml", 30, 0.05);
    const c = capture();
    const code = await planCommand(
      { config: file, now: MONDAY, stateDir: dir, json: true, to: "2026-12-08T00:00+08:00" },
      c.out,
    );
    expect(code).toBe(0);
    expect(c.stderr.filter((l) => l.includes("invokeRatePerSecond"))).toEqual([
      expect.stringMatching(
        /^keepwarm plan: warning: daemon\.invokeRatePerSecond 0\.05\/s is short from 2026-12-07 08:54 \(Asia\/Shanghai\): the fleet needs 0\.23\/s/,
      ),
    ]);
    const json = JSON.parse(c.stdout.join("\n"));
    expect(json.invokeRate).toMatchObject({
      ratePerSecond: 0.05,
      neededPerSecond: 0.23,
      short: true,
      shortFrom: "2026-12-07T00:54:00.000Z",
      carried: 10,
    });
  });
});
