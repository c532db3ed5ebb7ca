import { ListImportedModelsCommand } from "@aws-sdk/client-bedrock";
import { CostExplorerClient, GetCostAndUsageCommand } from "@aws-sdk/client-cost-explorer";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/sim/clock.js";
import { parseSimConfigText } from "../../src/sim/config.js";
import { COST_EXPLORER_PAGE_GROUPS } from "../../src/sim/costExplorer.js";
import type { SimServer } from "../../src/sim/server.js";
import { Simulator } from "../../src/sim/simulator.js";
import { CREDENTIALS, EXACT, MIN, rejectionOf, runPython } from "./harness.js";

const LLAMA = "arn:aws:bedrock:us-east-1:123456789012:imported-model/llamallama01";
const QWEN = "arn:aws:bedrock:us-west-2:123456789012:imported-model/qwenqwenqw01";
const OSS = "arn:aws:bedrock:us-east-1:123456789012:imported-model/gptossgptos1";
const PING = '{"prompt":"ping","max_gen_len":1}';
const DAY = 24 * 60 * MIN;
const DEC1 = Date.UTC(2026, 11, 1);
const at = (day: number, hhmm: string) =>
  Date.parse(`2026-12-${String(day).padStart(2, "0")}T${hhmm}:00Z`);

/**
 * A simulator created at 1 December 00:00 with a Llama (4 CMU), a Qwen (2 CMU, us-west-2)
 * and a GPT-OSS (8 CMU, v2.0) import. Each day in `busyDays` the Llama is called at 09:00
 * (cold), 09:02 (first success: its run starts at 09:02) and every 10 minutes to 09:52,
 * so it is unloaded at 10:07: 65 minutes, 13 windows.
 */
function fleet(busyDays: readonly number[]): { sim: Simulator; clock: ManualClock } {
  const clock = new ManualClock(DEC1);
  const sim = new Simulator({
    clock,
    settings: EXACT,
    models: [
      { modelArn: LLAMA, customModelUnits: 4, architecture: "llama" },
      { modelArn: QWEN, customModelUnits: 2, architecture: "qwen2.5-vl" },
      { modelArn: OSS, customModelUnits: 8, architecture: "gpt-oss", cmuVersion: "v2.0" },
    ],
  });
  for (const day of busyDays) {
    for (const hhmm of ["09:00", "09:02", "09:12", "09:22", "09:32", "09:42", "09:52"]) {
      clock.set(at(day, hhmm));
      sim.invokeModel(LLAMA, PING);
    }
  }
  return { sim, clock };
}

/** 13 windows of 5 minutes at 4 CMU and $0.05718. */
const LLAMA_DAY_USD = 13 * 5 * 4 * 0.05718;
const storageUsd = (cmu: number) => (cmu * 1.95) / 31;

describe("the simulator's Cost Explorer", () => {
  let server: SimServer | undefined;
  let ce: CostExplorerClient | undefined;
  afterEach(async () => {
    ce?.destroy();
    await server?.close();
    server = undefined;
    ce = undefined;
  });

  async function serve(sim: Simulator): Promise<CostExplorerClient> {
    server = await sim.listen({ port: 0 });
    ce = new CostExplorerClient({
      region: "us-east-1",
      endpoint: server.url,
      credentials: CREDENTIALS,
      maxAttempts: 1,
    });
    return ce;
  }

  const dailyByUsageType = (start: string, end: string, token?: string) =>
    new GetCostAndUsageCommand({
      TimePeriod: { Start: start, End: end },
      Granularity: "DAILY",
      Metrics: ["UnblendedCost", "UsageQuantity"],
      Filter: { Dimensions: { Key: "SERVICE", Values: ["Amazon Bedrock"] } },
      GroupBy: [{ Type: "DIMENSION", Key: "USAGE_TYPE" }],
      ...(token ? { NextPageToken: token } : {}),
    });

  it("bills each day by usage type, a day late, estimated until the day is final (botocore parses it)", async () => {
    const { sim, clock } = fleet([2, 3]);
    // 3 December 12:00: the 2nd is final, the 3rd is half visible, the 4th not at all.
    clock.set(at(4, "12:00"));
    server = await sim.listen({ port: 0 });
    const out = await runPython(`
import json, boto3
ce = boto3.client("ce", endpoint_url=${JSON.stringify(server.url)}, region_name="us-east-1")
r = ce.get_cost_and_usage(TimePeriod={"Start": "2026-12-02", "End": "2026-12-05"}, Granularity="DAILY",
    Metrics=["UnblendedCost", "UsageQuantity"],
    Filter={"Dimensions": {"Key": "SERVICE", "Values": ["Amazon Bedrock"]}},
    GroupBy=[{"Type": "DIMENSION", "Key": "USAGE_TYPE"}])
print(json.dumps({"days": [{"start": d["TimePeriod"]["Start"], "estimated": d["Estimated"],
    "groups": {g["Keys"][0]: [g["Metrics"]["UnblendedCost"]["Amount"], g["Metrics"]["UnblendedCost"]["Unit"],
    g["Metrics"]["UsageQuantity"]["Amount"]] for g in d["Groups"]}} for d in r["ResultsByTime"]],
    "token": r.get("NextPageToken")}))
`);
    const days = out.days as {
      start: string;
      estimated: boolean;
      groups: Record<string, string[]>;
    }[];
    expect(days.map((d) => [d.start, d.estimated])).toEqual([
      ["2026-12-02", false],
      ["2026-12-03", true],
      ["2026-12-04", true],
    ]);
    const [second, third, fourth] = days as [(typeof days)[0], (typeof days)[0], (typeof days)[0]];
    expect(Object.keys(second.groups).sort()).toEqual([
      "USE1-Llama-CustomModelImport-Inference-v1:0",
      "USE1-Llama-CustomModelImport-Storage-v1:0",
      "USE1-OSS-CustomModelImport-Storage-v2:0",
      "USW2-Qwen2-CustomModelImport-Storage-v1:0",
    ]);
    const inference = second.groups["USE1-Llama-CustomModelImport-Inference-v1:0"] as string[];
    expect(Number(inference[0])).toBeCloseTo(LLAMA_DAY_USD, 8);
    expect(inference[1]).toBe("USD");
    expect(Number(inference[2])).toBe(13 * 5 * 4);
    expect(Number(second.groups["USE1-OSS-CustomModelImport-Storage-v2:0"]?.[0])).toBeCloseTo(
      storageUsd(8),
      8,
    );
    // Half of the 3rd shows: its morning run and half a day of storage.
    expect(Number(third.groups["USE1-Llama-CustomModelImport-Inference-v1:0"]?.[0])).toBeCloseTo(
      LLAMA_DAY_USD,
      8,
    );
    expect(Number(third.groups["USE1-Llama-CustomModelImport-Storage-v1:0"]?.[0])).toBeCloseTo(
      storageUsd(4) / 2,
      8,
    );
    expect(fourth.groups).toEqual({});
    expect(out.token).toBeNull();
  });

  it("bills 10-minute windows under a billingWindow fault and a new price under a priceChange fault", async () => {
    const { sim, clock } = fleet([2, 3, 4]);
    sim.faults.add({
      kind: "billingWindow",
      windowMs: 10 * MIN,
      from: at(3, "00:00"),
      until: at(4, "00:00"),
    });
    sim.faults.add({ kind: "priceChange", usdPerCmuMinute: 0.07, from: at(4, "00:00") });
    clock.set(at(6, "00:00"));
    const client = await serve(sim);
    const r = await client.send(dailyByUsageType("2026-12-02", "2026-12-05"));
    const inference = (r.ResultsByTime ?? []).map((d) =>
      Number(
        d.Groups?.find((g) => g.Keys?.[0] === "USE1-Llama-CustomModelImport-Inference-v1:0")
          ?.Metrics?.UnblendedCost?.Amount,
      ),
    );
    // 65 minutes: 13 windows of 5, or 7 of 10 (70 minutes); then 65 minutes at $0.07.
    expect(inference[0]).toBeCloseTo(65 * 4 * 0.05718, 8);
    expect(inference[1]).toBeCloseTo(70 * 4 * 0.05718, 8);
    expect(inference[2]).toBeCloseTo(65 * 4 * 0.07, 8);
  });

  it("pages whole days with NextPageToken when the groups pass a page, and refuses a token of another request", async () => {
    const { sim, clock } = fleet([]);
    clock.set(DEC1 + 300 * DAY);
    const client = await serve(sim);
    // Three storage usage types a day for 300 days.
    const days: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await client.send(dailyByUsageType("2026-12-01", "2027-09-28", token));
      pages++;
      const groups = (r.ResultsByTime ?? []).reduce((n, d) => n + (d.Groups?.length ?? 0), 0);
      expect(groups).toBeLessThanOrEqual(COST_EXPLORER_PAGE_GROUPS);
      for (const d of r.ResultsByTime ?? []) days.push(d.TimePeriod?.Start ?? "");
      token = r.NextPageToken;
    } while (token);
    expect(days).toHaveLength(301);
    expect(new Set(days).size).toBe(301);
    // The last two days show nothing yet; the others 3 groups each, whole days to a page.
    expect(pages).toBe(Math.ceil(299 / Math.floor(COST_EXPLORER_PAGE_GROUPS / 3)));
    expect(pages).toBeGreaterThan(1);
    const first = await client.send(dailyByUsageType("2026-12-01", "2027-09-28"));
    const error = await rejectionOf(
      client.send(dailyByUsageType("2026-12-02", "2027-09-28", first.NextPageToken)),
    );
    expect(error.name).toBe("InvalidNextTokenException");
  });

  it("honours the SERVICE filter and totals without GroupBy", async () => {
    const { sim, clock } = fleet([2]);
    clock.set(at(4, "00:00"));
    const client = await serve(sim);
    const other = await client.send(
      new GetCostAndUsageCommand({
        TimePeriod: { Start: "2026-12-02", End: "2026-12-03" },
        Granularity: "DAILY",
        Metrics: ["UnblendedCost"],
        Filter: {
          Dimensions: { Key: "SERVICE", Values: ["Amazon Elastic Compute Cloud - Compute"] },
        },
      }),
    );
    expect(other.ResultsByTime?.[0]?.Total?.UnblendedCost?.Amount).toBe("0");
    const total = await client.send(
      new GetCostAndUsageCommand({
        TimePeriod: { Start: "2026-12-02", End: "2026-12-03" },
        Granularity: "DAILY",
        Metrics: ["UnblendedCost"],
        Filter: { Dimensions: { Key: "SERVICE", Values: ["Amazon Bedrock"] } },
      }),
    );
    const expected = LLAMA_DAY_USD + storageUsd(4) + storageUsd(2) + storageUsd(8);
    expect(Number(total.ResultsByTime?.[0]?.Total?.UnblendedCost?.Amount)).toBeCloseTo(expected, 8);
    expect(total.ResultsByTime?.[0]?.Groups).toEqual([]);
  });

  it("answers AccessDeniedException naming ce:GetCostAndUsage under an accessDenied fault", async () => {
    const { sim, clock } = fleet([]);
    sim.faults.add({ kind: "accessDenied", operations: ["GetCostAndUsage"] });
    clock.set(at(3, "00:00"));
    const client = await serve(sim);
    const error = await rejectionOf(client.send(dailyByUsageType("2026-12-01", "2026-12-02")));
    expect(error.name).toBe("AccessDeniedException");
    expect(error.message).toContain("ce:GetCostAndUsage");
  });

  it("refuses a start after today and a bad granularity as Cost Explorer does", async () => {
    const { sim, clock } = fleet([]);
    clock.set(at(3, "00:00"));
    const client = await serve(sim);
    const late = await rejectionOf(client.send(dailyByUsageType("2026-12-04", "2026-12-05")));
    expect([late.name, late.$metadata.httpStatusCode]).toEqual(["ValidationException", 400]);
    const hourly = await rejectionOf(
      client.send(
        new GetCostAndUsageCommand({
          TimePeriod: { Start: "2026-12-01", End: "2026-12-02" },
          Granularity: "HOURLY",
          Metrics: ["UnblendedCost"],
        }),
      ),
    );
    expect(hourly.message).toContain("Granularity");
  });

  it("serves ListImportedModels by region, without deleted models", async () => {
    const { sim, clock } = fleet([]);
    clock.set(at(2, "00:00"));
    sim.deleteModel(OSS);
    server = await sim.listen({ port: 0 });
    const { BedrockClient } = await import("@aws-sdk/client-bedrock");
    const bedrock = new BedrockClient({
      region: "us-east-1",
      endpoint: server.url,
      credentials: CREDENTIALS,
      maxAttempts: 1,
    });
    try {
      const r = await bedrock.send(new ListImportedModelsCommand({}));
      expect(
        (r.modelSummaries ?? []).map((m) => [
          m.modelArn,
          m.modelArchitecture,
          m.creationTime?.getTime(),
        ]),
      ).toEqual([[LLAMA, "llama", DEC1]]);
    } finally {
      bedrock.destroy();
    }
  });
});

describe("a simulator config's models", () => {
  it("answer their YAML name as modelName", () => {
    const result = parseSimConfigText(
      `models:\n  - { modelArn: "${OSS}", customModelUnits: 8, name: gpt-oss-trial }\n`,
      "sim.yaml",
    );
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.config.models[0]?.modelName).toBe("gpt-oss-trial");
  });
});

describe("the billing faults in a simulator config", () => {
  it("reads billingWindow and priceChange, with their scope", () => {
    const result = parseSimConfigText(
      `faults:
  - { kind: billingWindow, window: 10m, from: 2026-12-03T00:00:00Z, until: 2026-12-05T00:00:00Z }
  - { kind: priceChange, usdPerCmuMinute: 0.075, from: 2026-12-06T00:00:00Z }
  - { kind: accessDenied, operations: [GetCostAndUsage] }
`,
      "sim.yaml",
    );
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.config.faults).toEqual([
      { kind: "billingWindow", windowMs: 10 * MIN, from: DEC1 + 2 * DAY, until: DEC1 + 4 * DAY },
      { kind: "priceChange", usdPerCmuMinute: 0.075, from: DEC1 + 5 * DAY },
      { kind: "accessDenied", operations: ["GetCostAndUsage"] },
    ]);
  });

  it("names what a billing fault is missing", () => {
    const result = parseSimConfigText(
      "faults:\n  - { kind: billingWindow }\n  - { kind: priceChange, usdPerCmuMinute: -1 }\n",
      "sim.yaml",
    );
    expect(result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      "faults[0].window: is missing; a billingWindow fault needs window",
      "faults[1].usdPerCmuMinute: is -1; allowed: a price in US dollars, 0 or more",
    ]);
  });
});
