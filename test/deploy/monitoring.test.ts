import { execFile, execFileSync } from "node:child_process";
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PromMetrics } from "../../src/runtime/http/promMetrics.js";
import { type HttpServer, startHttpServer } from "../../src/runtime/http/server.js";
import { createLogger } from "../../src/runtime/infra/logger.js";
import { skipWithout } from "../requiredTools.js";
import { daemonStatus } from "../runtime/http/statusPageFixture.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MON = `${ROOT}deploy/monitoring/`;
const CHECK = `${MON}check-prometheus.mjs`;

// biome-ignore lint/suspicious/noExplicitAny: rules and dashboard are untyped documents
type Doc = any;

const rulesText = readFileSync(`${MON}keepwarm.rules.yaml`, "utf8");
const alerts: Doc[] = parse(rulesText).groups.flatMap((g: Doc) => g.rules);
const ruleTests: Doc[] = parse(readFileSync(`${MON}keepwarm.rules.test.yaml`, "utf8")).tests;
const dashboard: Doc = JSON.parse(readFileSync(`${MON}keepwarm.dashboard.json`, "utf8"));
const targets: { panel: string; expr: string }[] = dashboard.panels.flatMap((p: Doc) =>
  (p.targets ?? []).map((t: Doc) => ({ panel: p.title, expr: t.expr })),
);
/** Where each alert's runbook_url points, and the metric reference. */
const runbooks = readFileSync(`${ROOT}docs/runbooks.md`, "utf8");
const metricsDoc = readFileSync(`${ROOT}docs/metrics.md`, "utf8");

/** The label names of each series keepwarm exports, as its registry declares them. */
const exported = new Map<string, string[]>();
for (const m of new PromMetrics({ processMetrics: false }).registry.getMetricsAsArray()) {
  const { name, type, labelNames } = m as unknown as {
    name: string;
    type: string;
    labelNames: string[];
  };
  if (type === "histogram") {
    exported.set(`${name}_bucket`, [...labelNames, "le"]);
    exported.set(`${name}_sum`, labelNames);
    exported.set(`${name}_count`, labelNames);
  } else exported.set(name, labelNames);
}
exported.set("up", []);
/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = ["job", "instance"];

/** Metric selectors of a PromQL expression: name and the label names it matches on. */
function selectors(expr: string): { name: string; labels: string[] }[] {
  return [...expr.matchAll(/\b(keepwarm_[a-z0-9_]+|up)\b(?:\{([^}]*)\})?/g)].map((m) => ({
    name: m[1] as string,
    labels: [...(m[2] ?? "").matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1] as string),
  }));
}

/** GitHub's anchor of a Markdown heading. */
const anchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\w\- ]/g, "")
    .replace(/ /g, "-");
const anchors = new Set(
  [...runbooks.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor((m[1] as string).replace(/`/g, ""))),
);

function hasCommand(command: string): boolean {
  try {
    execFileSync(command, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const NO_PROMETHEUS = "skipped: prometheus/promtool not installed (apt-get install prometheus)";
const havePromtool = hasCommand("promtool");
const havePrometheus = hasCommand("prometheus");
if (!havePromtool || !havePrometheus)
  console.warn(`test/deploy/monitoring.test.ts: ${NO_PROMETHEUS}`);

function run(cmd: string, args: string[], options: { timeout: number; env?: NodeJS.ProcessEnv }) {
  return new Promise<{ code: number; out: string }>((resolve) => {
    execFile(cmd, args, { ...options, maxBuffer: 16 * 2 ** 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

describe("deploy/monitoring", () => {
  describe("keepwarm.rules.yaml", () => {
    it.each(alerts.map((a) => [a.alert, a]))(
      "%s has a summary, a description and a runbook in docs/runbooks.md",
      (_name, alert) => {
        expect(alert.annotations.summary).toBeTruthy();
        expect(alert.annotations.description).toBeTruthy();
        const url = new URL(alert.annotations.runbook_url);
        expect(url.pathname.endsWith("/docs/runbooks.md")).toBe(true);
        expect(anchors, `docs/runbooks.md heading for ${url.hash}`).toContain(url.hash.slice(1));
      },
    );

    it("covers what the operator must hear about", () => {
      expect(alerts.map((a) => a.alert).sort()).toEqual([
        "KeepwarmBillMismatch",
        "KeepwarmConfigReloadRejected",
        "KeepwarmDown",
        "KeepwarmModelCopyMissing",
        "KeepwarmModelCopyStale",
        "KeepwarmModelNotWarmInWindow",
        "KeepwarmOverBudget",
        "KeepwarmRejectedByAws",
        "KeepwarmWindowOpenedCold",
      ]);
    });

    it("uses only series keepwarm exports, with labels they have", () => {
      for (const a of alerts) {
        for (const s of selectors(a.expr)) {
          expect(exported.has(s.name), `${a.alert}: ${s.name}`).toBe(true);
          for (const l of s.labels) {
            expect(
              [...(exported.get(s.name) ?? []), ...TARGET_LABELS],
              `${a.alert}: ${s.name}{${l}}`,
            ).toContain(l);
          }
        }
      }
    });

    it("has a promtool test per alert where it fires and one where it must not", () => {
      const cases = ruleTests.flatMap((t: Doc) => t.alert_rule_test ?? []);
      for (const a of alerts) {
        const mine = cases.filter((c: Doc) => c.alertname === a.alert);
        expect(
          mine.some((c: Doc) => c.exp_alerts.length > 0),
          `${a.alert} fires`,
        ).toBe(true);
        expect(
          mine.some((c: Doc) => c.exp_alerts.length === 0),
          `${a.alert} stays quiet`,
        ).toBe(true);
      }
    });

    it.skipIf(skipWithout(havePromtool, "promtool (Debian: prometheus)"))(
      `pass promtool check rules and test rules (${havePromtool ? "promtool found" : NO_PROMETHEUS})`,
      async () => {
        const check = await run("promtool", ["check", "rules", `${MON}keepwarm.rules.yaml`], {
          timeout: 30_000,
        });
        expect(check.out).toContain(`SUCCESS: ${alerts.length} rules found`);
        expect(check.code).toBe(0);
        const test = await run("promtool", ["test", "rules", `${MON}keepwarm.rules.test.yaml`], {
          timeout: 60_000,
        });
        expect(test.out).toContain("SUCCESS");
        expect(test.code).toBe(0);
      },
    );

    it.skipIf(skipWithout(havePromtool, "promtool (Debian: prometheus)"))(
      "fail promtool test rules when a threshold moves",
      async () => {
        const dir = mkdtempSync(join(tmpdir(), "keepwarm-rules-"));
        try {
          copyFileSync(`${MON}keepwarm.rules.test.yaml`, join(dir, "keepwarm.rules.test.yaml"));
          const moved = rulesText.replace(
            'seconds{job="keepwarm"} > 600',
            'seconds{job="keepwarm"} > 900',
          );
          expect(moved).not.toBe(rulesText);
          writeFileSync(join(dir, "keepwarm.rules.yaml"), moved);
          const test = await run(
            "promtool",
            ["test", "rules", join(dir, "keepwarm.rules.test.yaml")],
            { timeout: 60_000 },
          );
          expect(test.code).not.toBe(0);
          expect(test.out).toContain("KeepwarmModelCopyStale");
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    );
  });

  describe("keepwarm.dashboard.json", () => {
    it("imports with a Prometheus datasource input that every panel uses", () => {
      expect(dashboard.__inputs).toEqual([
        expect.objectContaining({
          name: "DS_PROMETHEUS",
          type: "datasource",
          pluginId: "prometheus",
        }),
      ]);
      for (const p of dashboard.panels.filter((p: Doc) => p.type !== "row")) {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's input reference, not a template
        expect(p.datasource, p.title).toEqual({ type: "prometheus", uid: "${DS_PROMETHEUS}" });
        for (const t of p.targets) expect(t.datasource, p.title).toEqual(p.datasource);
      }
      expect(dashboard.id).toBeNull();
      const ids = dashboard.panels.map((p: Doc) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it("has a model variable over keepwarm's models that every per-model query honours", () => {
      const variable = dashboard.templating.list.find((v: Doc) => v.name === "model");
      expect(variable).toMatchObject({
        definition: "label_values(keepwarm_warm_state, model)",
        includeAll: true,
        allValue: ".*",
      });
      for (const t of targets) {
        for (const s of selectors(t.expr)) {
          if (
            (exported.get(s.name) ?? []).includes("model") &&
            !/scope="fleet"/.test(t.expr) &&
            /\{/.test(t.expr)
          ) {
            expect(t.expr, t.panel).toContain('model=~"$model"');
          }
        }
      }
    });

    it("shows warm state against the plan, copies, pings, cold starts, restores, timings and spend", () => {
      const used = new Set(targets.flatMap((t) => selectors(t.expr).map((s) => s.name)));
      expect(dashboard.panels.some((p: Doc) => p.type === "state-timeline")).toBe(true);
      for (const name of [
        "keepwarm_warm_state",
        "keepwarm_in_window",
        "keepwarm_planned_warm",
        "keepwarm_model_copies",
        "keepwarm_pings_total",
        "keepwarm_cold_starts_total",
        "keepwarm_windows_opened_total",
        "keepwarm_restore_seconds_bucket",
        "keepwarm_restore_time_seconds",
        "keepwarm_cadence_seconds",
        "keepwarm_lead_time_seconds",
        "keepwarm_eviction_delay_seconds",
        "keepwarm_month_to_date_usd",
        "keepwarm_projected_month_usd",
        "keepwarm_always_on_month_usd",
        "keepwarm_budget_usd",
        "keepwarm_saving_month_usd",
      ]) {
        expect(used, name).toContain(name);
      }
    });

    it("uses only series keepwarm exports, with labels they have", () => {
      for (const t of targets) {
        for (const s of selectors(t.expr)) {
          expect(exported.has(s.name), `${t.panel}: ${s.name}`).toBe(true);
          for (const l of s.labels) {
            expect(
              [...(exported.get(s.name) ?? []), ...TARGET_LABELS],
              `${t.panel}: ${s.name}{${l}}`,
            ).toContain(l);
          }
        }
      }
    });
  });

  describe("docs/metrics.md", () => {
    const start = metricsDoc.indexOf("\n## Prometheus metrics");
    const end = metricsDoc.indexOf("\n## ", start + 1);
    const rows = metricsDoc
      .slice(start, end === -1 ? undefined : end)
      .split("\n")
      .filter((l) => l.startsWith("| `keepwarm_"));

    it("documents every metric keepwarm exports with each of its labels", () => {
      expect(start).toBeGreaterThan(-1);
      for (const [name, labels] of exported) {
        if (name === "up" || /_(sum|count)$/.test(name)) continue;
        const base = name.replace(/_bucket$/, "");
        const row = rows.find((l) => l.split("|")[1]?.includes(`\`${base}\``));
        expect(row, base).toBeDefined();
        for (const l of labels.filter((l) => l !== "le"))
          expect(row, `${base} label ${l}`).toContain(`\`${l}\``);
      }
    });

    it("documents no metric keepwarm does not export, and each one once", () => {
      const documented = rows.flatMap((l) =>
        [...(l.split("|")[1] ?? "").matchAll(/`(keepwarm_[a-z0-9_]+)`/g)].map(
          (m) => m[1] as string,
        ),
      );
      const names = new Set(
        [...exported.keys()]
          .map((n) => n.replace(/_(bucket|sum|count)$/, ""))
          .filter((n) => n !== "up"),
      );
      expect(documented.filter((n) => !names.has(n))).toEqual([]);
      expect(documented.length).toBe(new Set(documented).size);
      expect(new Set(documented)).toEqual(names);
    });

    it("is the only metric table: no other document lists keepwarm's metrics", () => {
      const docs = readdirSync(`${ROOT}docs`)
        .filter((f) => f.endsWith(".md") && f !== "metrics.md")
        .map((f) => `docs/${f}`);
      for (const doc of ["README.md", "CONTRIBUTING.md", ...docs]) {
        const text = readFileSync(`${ROOT}${doc}`, "utf8");
        expect(text, doc).not.toMatch(/^\| `keepwarm_[a-z0-9_]+` \| (counter|gauge|histogram) \|/m);
      }
    });
  });

  describe("check-prometheus.mjs --list", () => {
    const list = async (env: NodeJS.ProcessEnv = {}) => {
      const r = await run(process.execPath, [CHECK, "--list"], {
        timeout: 15_000,
        env: { ...process.env, ...env },
      });
      expect(r.code, r.out).toBe(0);
      return JSON.parse(r.out) as { source: string; query: string; mayBeEmpty: string | null }[];
    };

    it("evaluates every panel target and every rule with Grafana's variables filled in", async () => {
      const exprs = await list();
      for (const t of targets) {
        const q = t.expr
          .replaceAll("$model", ".*")
          .replaceAll("$__rate_interval", "1m")
          .replaceAll("$__range", "1h");
        expect(
          exprs.map((e) => e.query),
          t.panel,
        ).toContain(q);
      }
      for (const a of alerts) expect(exprs.map((e) => e.source)).toContain(`rule ${a.alert}`);
      for (const e of exprs) expect(e.query, e.source).not.toContain("$");
    });

    it("requires series of everything but budgets, AWS errors and reconciled days, and of budgets once configured", async () => {
      const mayBeEmpty = (exprs: Doc[]) =>
        exprs
          .filter((e) => e.mayBeEmpty && !e.mayBeEmpty.startsWith("an alert"))
          .map((e) => e.query);
      const without = mayBeEmpty(await list());
      expect(without.length).toBeGreaterThan(0);
      for (const q of without) {
        expect(q).toMatch(/keepwarm_budget_|keepwarm_aws_errors_total|keepwarm_reconcile_/);
      }
      expect(without.some((q) => q.includes("keepwarm_budget_usd"))).toBe(true);
      expect(without.some((q) => q.includes("keepwarm_reconcile_mismatch_days"))).toBe(true);
      const withBudgets = mayBeEmpty(await list({ KEEPWARM_CHECK_BUDGETS: "1" }));
      for (const q of withBudgets)
        expect(q).toMatch(/keepwarm_aws_errors_total|keepwarm_reconcile_/);
    });
  });

  describe("against a real Prometheus scraping every series keepwarm can export", () => {
    let server: HttpServer;
    beforeAll(async () => {
      const m = new PromMetrics({ processMetrics: false });
      const now = Date.now();
      for (const model of ["mimo-vl", "batch-llama"]) {
        m.pingResult(model, "ok");
        m.pingResult(model, "not-ready");
        m.coldStart(model);
        m.restoreSeconds(model, 80);
        m.modelCopies(model, 1);
        m.warmState(model, "warm");
        m.projectedMonthUsd(model, 2900);
        m.spend(model, {
          monthToDateUsd: 10,
          projectedMonthUsd: 2900,
          alwaysOnMonthUsd: 10_217,
          savingUsd: 7317,
        });
        m.planState(model, { inWindow: true, planWarm: true });
        m.timings(model, {
          cadenceSeconds: 840,
          leadTimeSeconds: 300,
          evictionDelaySeconds: 900,
          restoreSeconds: 90,
        });
        m.pingOkAt(model, now);
        m.copyDatapointAt(model, now - 180_000);
        m.windowOpened(model, true);
        m.budget({ scope: "model", model }, 3000, 2900);
      }
      m.budget({ scope: "fleet" }, 5000, 5800);
      m.usageReconciled({
        usageType: "USW2-Qwen2-CustomModelImport-Inference-v1:0",
        dayStart: now - 2 * 86_400_000,
        keepwarmUsd: 125.8,
        awsUsd: 131,
        mismatchDays: 2,
      });
      m.awsError("bedrock:InvokeModel", "ThrottlingException", "throttled");
      m.configReload(true, now);
      server = await startHttpServer({
        port: 0,
        registry: m.registry,
        status: () => daemonStatus({ models: [] }),
        logger: createLogger({ level: "silent" }),
      });
    });
    afterAll(() => server?.close());

    // The same check, scraping a registry fed through every observer method: each
    // expression of the mixin returns series once the daemon feeds what it declares.
    it.skipIf(skipWithout(havePrometheus, "prometheus"))(
      `every expression, budgets included, returns series (${havePrometheus ? "prometheus found" : NO_PROMETHEUS})`,
      async () => {
        const r = await run(process.execPath, [CHECK], {
          timeout: 120_000,
          env: {
            ...process.env,
            KEEPWARM_CHECK_TARGET: new URL(server.url).host,
            KEEPWARM_CHECK_BUDGETS: "1",
            KEEPWARM_CHECK_SECONDS: "20",
          },
        });
        expect(r.out).not.toContain("FAIL");
        expect(r.out).toMatch(/all \d+ expressions ok/);
        expect(r.code, r.out).toBe(0);
      },
      150_000,
    );
  });

  describe("against a real Prometheus scraping keepwarm on the simulator", () => {
    // About 4 minutes: the check scrapes for KEEPWARM_CHECK_SECONDS (default 200 s).
    it.skipIf(skipWithout(havePrometheus, "prometheus"))(
      `every expression parses and returns the series it must (${havePrometheus ? "prometheus found" : NO_PROMETHEUS})`,
      async () => {
        // Budgets configured: their series must be there too.
        const r = await run(process.execPath, [CHECK], {
          timeout: 360_000,
          env: { ...process.env, KEEPWARM_CHECK_BUDGETS: "1" },
        });
        console.log(r.out);
        expect(r.out).toContain("all");
        expect(r.code, r.out).toBe(0);
      },
      400_000,
    );
  });
});
