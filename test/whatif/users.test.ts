import { describe, expect, it } from "vitest";
import { formatSimulation } from "../../src/cli/simulate.js";
import { parseConfigText } from "../../src/config/load.js";
import { parseSimConfigText } from "../../src/sim/config.js";
import { simulateMonth } from "../../src/whatif/simulate.js";

const ARN = "arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel";

describe("simulateMonth", () => {
  it("says how many of the users' calls met a cold model with keepwarm, the cron and always-on", async () => {
    const config = parseConfigText(
      `timezone: Asia/Shanghai
models:
  - name: mimo-vl
    modelArn: ${ARN}
    policy: business-hours
    customModelUnits: 4
`,
      "keepwarm.yaml",
      { stateDir: "/nonexistent" },
    );
    const sim = parseSimConfigText(
      `models:
  - modelArn: ${ARN}
    customModelUnits: 4
    traffic:
      timezone: Asia/Shanghai
      rates:
        - { days: mon-fri, from: "10:00", to: "17:00", perHour: 10 }
        - { days: mon-fri, from: "20:00", to: "21:00", perHour: 20 }
`,
      "sim.yaml",
    );
    if (!config.ok || !sim.ok) throw new Error("invalid test config");
    // Monday 7 to Wednesday 9 December 2026.
    const r = await simulateMonth({
      config: config.config,
      month: "2026-12",
      days: 9,
      simModels: sim.config.models,
    });
    const m = r.models[0];
    if (!m) throw new Error("no model");
    // The same users in each run: 7 weekdays of 7 h x 10 and 1 h x 20, about 630 calls.
    expect(m.keepwarm.userCalls).toBeGreaterThan(500);
    expect(m.cron.userCalls).toBe(m.keepwarm.userCalls);
    expect(m.alwaysOn.userCalls).toBe(m.keepwarm.userCalls);
    // Always-on never lets it go cold; inside business hours keepwarm keeps it warm, so only
    // the evening's first callers met a restore, at least one an evening.
    expect(m.alwaysOn.userColdCalls).toBe(0);
    expect(m.keepwarm.userColdCalls).toBeGreaterThanOrEqual(7);
    expect(m.keepwarm.userColdCalls).toBeLessThan(m.keepwarm.userCalls * 0.1);
    // Users' calls are not keepwarm's pings.
    expect(m.alwaysOn.invocations).toBeLessThan(9 * 24 * 6);
    const text = formatSimulation("keepwarm.yaml", r).join("\n");
    expect(text).toContain(
      `users: ${m.keepwarm.userCalls} calls; met a cold model: keepwarm ${m.keepwarm.userColdCalls} (`,
    );
  }, 120_000);
});
