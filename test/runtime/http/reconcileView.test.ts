import { describe, expect, it } from "vitest";
import { formatReconciled } from "../../../src/cli/reportReconcile.js";
import { reconcileFacts, reconciliationJson } from "../../../src/runtime/http/reconcileView.js";
import { statusJson } from "../../../src/runtime/http/statusJson.js";
import { renderStatusPage } from "../../../src/runtime/http/statusPage.js";
import type { UsageStanding } from "../../../src/runtime/spend/reconcileState.js";
import type { ReconciliationStatus } from "../../../src/runtime/spend/reconcileStatus.js";
import type { DailySummary } from "../../../src/runtime/state/summaries.js";
import { at, daemonStatus } from "./statusPageFixture.js";

const QWEN = "USW2-Qwen2-CustomModelImport-Inference-v1:0";
const LLAMA = "USE1-Llama-CustomModelImport-Inference-v1:0";

function standing(over: Partial<UsageStanding> = {}): UsageStanding {
  return {
    usageType: QWEN,
    kind: "inference",
    date: "2026-12-05",
    models: ["mimo-vl"],
    unmanaged: [],
    keepwarmUsd: 125.8,
    awsUsd: 131,
    diffPct: 4.13,
    status: "mismatch",
    mismatchDays: 2,
    ...over,
  };
}

function reconciliation(over: Partial<ReconciliationStatus> = {}): ReconciliationStatus {
  return {
    phase: "waiting",
    reason: "nothing pending; 2026-12-06 is due at 2026-12-08T00:00:00.000Z",
    pendingDays: [],
    nextRequestAt: Date.parse("2026-12-08T00:00:00Z"),
    lastRequestAt: at("08:00"),
    usage: [
      standing(),
      standing({
        usageType: LLAMA,
        models: [],
        unmanaged: ["arn:aws:bedrock:us-east-1:123456789012:imported-model/forgotten001"],
        keepwarmUsd: null,
        awsUsd: 40.2,
        diffPct: null,
        status: "unmanaged",
        mismatchDays: 0,
      }),
    ],
    ...over,
  };
}

describe("reconcileFacts", () => {
  it("says where reconciliation stands and each usage type's newest final day", () => {
    const facts = reconcileFacts(reconciliation(), (t) => new Date(t).toISOString());
    expect(facts.map((f) => [f.label, f.text, f.bad])).toEqual([
      [
        "Reconciliation",
        "waiting: nothing pending; 2026-12-06 is due at 2026-12-08T00:00:00.000Z",
        false,
      ],
      ["Last request", new Date(at("08:00")).toISOString(), false],
      ["Days not final yet", "none", false],
      [
        "2026-12-05",
        `${QWEN} (mimo-vl): keepwarm $125.80, AWS $131.00 (+4.1%): mismatch, 2 days running`,
        true,
      ],
      [
        "2026-12-05",
        `${LLAMA} (arn:aws:bedrock:us-east-1:123456789012:imported-model/forgotten001): keepwarm unknown, AWS $40.20: imports the config does not name`,
        true,
      ],
    ]);
  });

  it("marks a pause as a problem", () => {
    const facts = reconcileFacts(
      reconciliation({
        phase: "paused",
        reason: "AccessDeniedException on ce:GetCostAndUsage",
        usage: [],
      }),
      String,
    );
    expect(facts[0]).toMatchObject({
      text: "PAUSED: AccessDeniedException on ce:GetCostAndUsage",
      bad: true,
    });
    expect(facts.at(-1)?.text).toBe("no final day reconciled yet");
  });
});

describe("the status page and /api/status", () => {
  it("show the reconciliation card and field where a daemon reconciles", () => {
    const status = daemonStatus({ reconciliation: reconciliation() });
    const html = renderStatusPage(status);
    expect(html).toContain('<section class="reconciliation"');
    expect(html).toContain(
      `<span class="bad">${QWEN} (mimo-vl): keepwarm $125.80, AWS $131.00 (+4.1%): mismatch, 2 days running</span>`,
    );
    const json = statusJson(status);
    expect(json.reconciliation).toEqual({
      phase: "waiting",
      reason: "nothing pending; 2026-12-06 is due at 2026-12-08T00:00:00.000Z",
      pendingDays: [],
      nextRequestAt: "2026-12-08T00:00:00.000Z",
      lastRequestAt: new Date(at("08:00")).toISOString(),
      usageTypes: reconciliation().usage,
    });
  });

  it("show nothing of it where no daemon reconciles", () => {
    const status = daemonStatus();
    expect(renderStatusPage(status)).not.toContain("reconciliation");
    expect(statusJson(status).reconciliation).toBeNull();
    expect(reconciliationJson(undefined)).toBeNull();
  });
});

describe("formatReconciled", () => {
  const summary = (date: string, reconciled: DailySummary["reconciled"]): DailySummary =>
    ({ date, reconciled }) as unknown as DailySummary;
  const group = (over: object) => ({
    usageType: QWEN,
    kind: "inference",
    models: ["mimo-vl"],
    unmanaged: [],
    keepwarmUsd: 125.8,
    awsUsd: 125.8,
    diffPct: 0,
    status: "match",
    ...over,
  });

  it("prints a row per usage type and final day, the latest figures of a day reconciled twice", () => {
    const lines = formatReconciled([
      summary("2026-12-05", [{ date: "2026-12-03", groups: [group({})] }]),
      summary("2026-12-06", [
        { date: "2026-12-03", groups: [group({ awsUsd: 126 })] },
        {
          date: "2026-12-04",
          groups: [group({ awsUsd: 131, diffPct: 4.13, status: "mismatch" })],
        },
      ]),
    ]);
    expect(lines).toEqual([
      "",
      "AWS's bill (Cost Explorer) against keepwarm's figures, final UTC days:",
      "UTC day     usage type                                   models   keepwarm      AWS   diff  status",
      "----------  -------------------------------------------  -------  --------  -------  -----  --------",
      `2026-12-03  ${QWEN}  mimo-vl   $125.80  $126.00  +0.0%  match`,
      `2026-12-04  ${QWEN}  mimo-vl   $125.80  $131.00  +4.1%  mismatch`,
      "",
      "1 mismatch(es): the daemon's reconcile log lines give the likely causes; see docs/runbooks.md#aws-bills-differently-from-keepwarm",
    ]);
  });

  it("prints nothing for summaries without a reconciled day", () => {
    expect(formatReconciled([summary("2026-12-05", undefined)])).toEqual([]);
  });
});
