import { performance } from "node:perf_hooks";
import { loadConfigFile } from "../src/config/load.js";
import { simulateMonth } from "../src/whatif/simulate.js";
import {
  commandOf,
  judge,
  limitsOf,
  loadRuleCase,
  REFERENCE_CASE,
  REFERENCE_LIMITS,
  RULE_CASES,
  SAMPLE_CONFIG,
} from "./rules/cases.js";

// `keepwarm simulate` on the sample config over December 2026 under each idle rule and
// restore time of bench/rules/, at the default ModelCopy poll: one row per case and model
// with the thresholds it is held to. KEEPWARM_BENCH_RULES selects cases by name
// (comma-separated). Exits 1 when a row of an acceptance case misses a threshold; the cases
// of our own (`acceptance: false`) are reported as "miss".
const STATE_DIR = "/tmp/keepwarm-bench-state";

const loaded = await loadConfigFile(SAMPLE_CONFIG, { stateDir: STATE_DIR });
if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
const config = loaded.config;

const chosen = process.env.KEEPWARM_BENCH_RULES?.split(",");
const rows: string[] = [];
let failed = false;
for (const c of RULE_CASES) {
  if (chosen && !chosen.includes(c.name)) continue;
  const sim = await loadRuleCase(c);
  const t0 = performance.now();
  const r = await simulateMonth({
    config,
    month: "2026-12",
    sim: sim.settings,
    simModels: sim.models,
    faults: sim.faults,
  });
  const seconds = (performance.now() - t0) / 1000;
  console.log(`rules: ${c.name}: ${c.rule}; ${seconds.toFixed(1)} s; ${commandOf(c)}`);
  for (const m of r.models) {
    const limits = limitsOf(c);
    const v = judge(m, limits, c.projectionOn);
    const on = c.projectionOn ? ` on ${c.projectionOn}` : "";
    const referenceLimits = c.name === REFERENCE_CASE ? REFERENCE_LIMITS[m.model] : undefined;
    const reference = referenceLimits ? judge(m, referenceLimits) : undefined;
    const misses = [...v.misses, ...(reference?.misses.map((s) => `reference: ${s}`) ?? [])];
    if (misses.length > 0 && c.acceptance) failed = true;
    const missed = c.acceptance ? "FAIL" : "miss";
    const verdict = misses.length === 0 ? "pass" : `${missed} (${misses.join("; ")})`;
    console.log(
      `rules:   ${m.model.padEnd(11)} coverage ${v.coveragePct.toFixed(2)}%, cold starts ${v.coldStarts}, ` +
        `billed/window ${v.billedPerWindow.toFixed(3)} (${m.keepwarm.billedMinutes}/${m.keepwarm.windowMinutes}), ` +
        `projection${on} ${v.projectionErrorPct >= 0 ? "+" : ""}${v.projectionErrorPct.toFixed(2)}%: ${verdict}`,
    );
    rows.push(
      `| \`${c.name}\` | ${m.model} | ${v.coveragePct.toFixed(2)}% | ${v.coldStarts} | ` +
        `${v.billedPerWindow.toFixed(3)} (<= ${limits.maxBilledPerWindow}) | ` +
        `${v.projectionErrorPct >= 0 ? "+" : ""}${v.projectionErrorPct.toFixed(2)}%${on} | ${misses.length === 0 ? "pass" : c.acceptance ? "**FAIL**" : "miss"} |`,
    );
  }
}
console.log("rules: the table, as Markdown:");
console.log("| case | model | coverage | cold starts | billed / window | projection vs ledger | |");
console.log("|---|---|---|---|---|---|---|");
for (const row of rows) console.log(row);
process.exit(failed ? 1 : 0);
