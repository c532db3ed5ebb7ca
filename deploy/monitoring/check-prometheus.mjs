#!/usr/bin/env node
// Proves the monitoring mixin against a real Prometheus: starts `keepwarm run --simulate on`
// and a Prometheus scraping it every 5 s (both on 127.0.0.1), waits, then evaluates every
// PromQL expression of keepwarm.rules.yaml and keepwarm.dashboard.json through the HTTP API.
// It fails when one does not parse, when a rule is unhealthy, or when an expression that must
// return series returns none.
//
//   node deploy/monitoring/check-prometheus.mjs          the check (needs `npm run build`)
//   node deploy/monitoring/check-prometheus.mjs --list   the expressions as JSON, no Prometheus
//
// Environment: PROMETHEUS (the binary, default `prometheus`), KEEPWARM_CHECK_SECONDS (how long
// Prometheus scrapes, default 200), KEEPWARM_CHECK_BUDGETS=1 (configure budgets, which makes
// the budget expressions must-have; needs a keepwarm whose YAML accepts `budgets:`),
// KEEPWARM_CHECK_CONFIG (a keepwarm.yaml of your own instead of the generated one),
// KEEPWARM_CHECK_TARGET (host:port of a keepwarm already running: scrape it, start none).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, "..", "..");
const RULES = join(HERE, "keepwarm.rules.yaml");
const DASHBOARD = join(HERE, "keepwarm.dashboard.json");
const MAIN = join(ROOT, "dist", "cli", "main.js");

const SCRAPE_SECONDS = 5;
/** What Grafana would put in for its variables, sized for a run of a few minutes. */
const GRAFANA_VARIABLES = {
  $__rate_interval: "1m",
  $__interval: "15s",
  $__range: "1h",
  $model: ".*",
};

/**
 * Series that exist only after something happened that a healthy run on the simulator does
 * not do: an AWS call failing, or a UTC day becoming final in Cost Explorer (two days after
 * it) and being reconciled. Budget series exist only when budgets are configured.
 */
const ONLY_AFTER_AN_ERROR = /keepwarm_aws_errors_total/;
const ONLY_AFTER_A_FINAL_DAY = /keepwarm_reconcile_/;
const ONLY_WITH_BUDGETS = /keepwarm_budget_(projected_)?usd/;

class CheckError extends Error {
  name = "CheckError";
}

/** Grafana's variables replaced by what Grafana would send for the run. */
function substituteVariables(expr) {
  return expr.replace(/\$\{?(\w+)\}?/g, (whole, name) => {
    const value = GRAFANA_VARIABLES[`$${name}`];
    if (value === undefined) {
      throw new CheckError(
        `unknown Grafana variable ${whole} in ${expr}; known: ${Object.keys(GRAFANA_VARIABLES).join(", ")}`,
      );
    }
    return value;
  });
}

/** The metric selectors of an expression (`name` or `name{matchers}`), ranges dropped. */
function selectorsOf(expr) {
  const found = new Set();
  for (const m of expr.matchAll(/\b(keepwarm_[a-z0-9_]+|up)\b(\{[^}]*\})?(?!\s*\()/g)) {
    found.add(`${m[1]}${m[2] ?? ""}`);
  }
  return [...found];
}

/**
 * Every expression to evaluate, with why an empty result would be acceptable. Alert
 * expressions are empty while nothing is wrong, so each rule's selectors are checked too:
 * they catch a misspelt metric or label that would keep an alert silent for ever.
 */
function expressions({ budgets }) {
  const list = [];
  const add = (source, expr, emptyBecause) => {
    const query = substituteVariables(expr.trim());
    let reason = emptyBecause;
    if (!reason && ONLY_AFTER_AN_ERROR.test(query)) reason = "only after an AWS call failed";
    if (!reason && ONLY_AFTER_A_FINAL_DAY.test(query)) reason = "only once a day is reconciled";
    if (!reason && !budgets && ONLY_WITH_BUDGETS.test(query)) reason = "only with budgets";
    list.push({ source, query, mayBeEmpty: reason ?? null });
  };
  const rules = parse(readFileSync(RULES, "utf8"));
  for (const group of rules.groups) {
    for (const rule of group.rules) {
      const name = rule.alert ?? rule.record;
      add(`rule ${name}`, rule.expr, rule.alert ? "an alert that is not firing" : undefined);
      for (const s of selectorsOf(rule.expr)) add(`rule ${name} selector`, s);
    }
  }
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8"));
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) {
      add(`panel "${panel.title}" ${target.refId}`, target.expr);
    }
  }
  for (const variable of dashboard.templating.list) {
    const q = /^label_values\((.+),\s*(\w+)\)$/.exec(variable.definition ?? "");
    if (!q) throw new CheckError(`variable ${variable.name}: not a label_values() query`);
    add(`variable $${variable.name}`, `count by (${q[2]}) (${q[1]})`);
  }
  const seen = new Set();
  return list.filter((e) => (seen.has(e.query) ? false : seen.add(e.query)));
}

/** A config whose window opens a minute into the run, so that window series exist. */
function checkConfig(now, budgets) {
  // The simulated clock starts just before the first planned ping; a window two hours from
  // now (UTC) is never open already, whatever the time of day.
  const start = new Date(now + 2 * 3600_000).getUTCHours();
  const hh = (h) => `${String(h % 24).padStart(2, "0")}:00`;
  const lines = [
    "timezone: UTC",
    "defaults:",
    "  cadence: 2m",
    "  leadTime: 1m",
    "policies:",
    "  check-window:",
    "    windows:",
    `      - { days: daily, from: "${hh(start)}", to: "${start + 1 === 24 ? "24:00" : hh(start + 1)}" }`,
    "models:",
    "  - name: check-warm",
    "    modelArn: arn:aws:bedrock:us-east-1:123456789012:imported-model/chkwarm00001",
    "    policy: check-window",
    "    customModelUnits: 2",
    "    request: { prompt: ping, max_gen_len: 1 }",
    "  - name: check-late",
    "    modelArn: arn:aws:bedrock:us-west-2:123456789012:imported-model/chklate00001",
    "    policy: check-window",
    "    leadTime: 0s",
    "    customModelUnits: 4",
    "    request: { messages: [{ role: user, content: ping }], max_tokens: 1 }",
  ];
  // 100 USD is below any projection, so KeepwarmOverBudget must go pending.
  if (budgets) lines.push("budgets:", "  fleet: 100", "  models:", "    check-warm: 5000");
  return `${lines.join("\n")}\n`;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(url, what, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new CheckError(`${what} exited with ${child.exitCode}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(500);
  }
  throw new CheckError(`${what} not ready at ${url} within ${timeoutMs / 1000} s`);
}

function start(command, args, logFile) {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  const chunks = [];
  child.stdout.on("data", (c) => chunks.push(c));
  child.stderr.on("data", (c) => chunks.push(c));
  child.log = () => Buffer.concat(chunks).toString("utf8");
  child.saveLog = () => writeFileSync(logFile, child.log());
  return child;
}

async function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const killed = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
  if (!killed) {
    child.kill("SIGKILL");
    await exited;
  }
}

async function query(base, promql) {
  const res = await fetch(`${base}/api/v1/query?${new URLSearchParams({ query: promql })}`, {
    signal: AbortSignal.timeout(10_000),
  });
  return res.json();
}

/** `keepwarm run --simulate on` on a free loopback port, returned once it is ready. */
async function startKeepwarm(tmp, budgets) {
  if (!existsSync(MAIN)) throw new CheckError(`${MAIN} missing: run npm run build first`);
  const configPath = process.env.KEEPWARM_CHECK_CONFIG ?? join(tmp, "keepwarm.yaml");
  if (!process.env.KEEPWARM_CHECK_CONFIG) {
    writeFileSync(configPath, checkConfig(Date.now(), budgets));
  }
  const port = await freePort();
  const child = start(
    process.execPath,
    [
      MAIN,
      "run",
      "--config",
      configPath,
      "--simulate",
      "on",
      "--http-host",
      "127.0.0.1",
      "--http-port",
      String(port),
      "--state-dir",
      join(tmp, "state"),
    ],
    join(tmp, "keepwarm.log"),
  );
  child.target = `127.0.0.1:${port}`;
  try {
    await waitFor(`http://${child.target}/readyz`, "keepwarm", child, 60_000);
  } catch (error) {
    child.saveLog();
    await stop(child);
    throw error;
  }
  console.log(`keepwarm ready on ${child.target}`);
  return child;
}

async function check() {
  const budgets = process.env.KEEPWARM_CHECK_BUDGETS === "1";
  const seconds = Number(process.env.KEEPWARM_CHECK_SECONDS ?? 200);
  if (!Number.isFinite(seconds) || seconds < 15) {
    throw new CheckError(
      `KEEPWARM_CHECK_SECONDS: "${process.env.KEEPWARM_CHECK_SECONDS}"; allowed: 15 or more`,
    );
  }
  const list = expressions({ budgets });

  const tmp = mkdtempSync(join(tmpdir(), "keepwarm-prom-"));
  let keepwarm;
  let prometheus;
  let passed = false;
  try {
    let target = process.env.KEEPWARM_CHECK_TARGET;
    if (target) console.log(`scraping the keepwarm at ${target}`);
    else {
      keepwarm = await startKeepwarm(tmp, budgets);
      target = keepwarm.target;
    }

    const promPort = await freePort();
    const promConfig = join(tmp, "prometheus.yml");
    writeFileSync(
      promConfig,
      [
        "global:",
        `  scrape_interval: ${SCRAPE_SECONDS}s`,
        `  evaluation_interval: ${SCRAPE_SECONDS}s`,
        "rule_files:",
        `  - ${JSON.stringify(RULES)}`,
        "scrape_configs:",
        "  - job_name: keepwarm",
        "    static_configs:",
        `      - targets: [${JSON.stringify(target)}]`,
        "",
      ].join("\n"),
    );
    prometheus = start(
      process.env.PROMETHEUS ?? "prometheus",
      [
        `--config.file=${promConfig}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        `--storage.tsdb.path=${join(tmp, "tsdb")}`,
        "--log.level=warn",
      ],
      join(tmp, "prometheus.log"),
    );
    const base = `http://127.0.0.1:${promPort}`;
    await waitFor(`${base}/-/ready`, "prometheus", prometheus, 60_000);
    console.log(`prometheus ready on ${base}; scraping for ${seconds} s`);
    for (let waited = 0; waited < seconds; waited += 5) {
      await sleep(5_000);
      if (keepwarm && keepwarm.exitCode !== null)
        throw new CheckError(`keepwarm exited with ${keepwarm.exitCode}`);
      if (prometheus.exitCode !== null)
        throw new CheckError(`prometheus exited with ${prometheus.exitCode}`);
    }

    const failures = [];
    const up = await query(base, 'up{job="keepwarm"} == 1');
    if (up.data?.result?.length !== 1) failures.push("target keepwarm is not up");

    const rules = await (await fetch(`${base}/api/v1/rules`)).json();
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    const inFile = parse(readFileSync(RULES, "utf8")).groups.flatMap((g) => g.rules);
    console.log(`rules: ${loaded.length} loaded of ${inFile.length} in keepwarm.rules.yaml`);
    if (loaded.length !== inFile.length)
      failures.push(`${loaded.length} rules loaded, ${inFile.length} in the file`);
    // The generated config's fleet budget is far below any projection: the alert must see it.
    const overBudget = loaded.find((r) => r.name === "KeepwarmOverBudget");
    const generated = !process.env.KEEPWARM_CHECK_CONFIG && !process.env.KEEPWARM_CHECK_TARGET;
    if (budgets && generated && overBudget?.state === "inactive") {
      failures.push("KeepwarmOverBudget inactive although the fleet budget is 100 USD");
    }
    for (const r of loaded) {
      if (r.health !== "ok") failures.push(`rule ${r.name}: health ${r.health}: ${r.lastError}`);
      if (r.state === "firing" || r.state === "pending")
        console.log(`  note: ${r.name} is ${r.state} on the simulator run`);
    }

    for (const e of list) {
      const answer = await query(base, e.query);
      let line;
      if (answer.status !== "success") {
        line = `FAIL   parse/eval: ${answer.errorType}: ${answer.error}`;
        failures.push(`${e.source}: ${answer.error}`);
      } else {
        const n = answer.data.result.length;
        if (n > 0) line = `ok     ${n} series`;
        else if (e.mayBeEmpty) line = `ok     0 series (may be empty: ${e.mayBeEmpty})`;
        else {
          line = "FAIL   0 series (must return series)";
          failures.push(`${e.source}: no series for ${e.query}`);
        }
      }
      console.log(`${line.padEnd(62)} ${e.source}: ${e.query.replace(/\s+/g, " ")}`);
    }
    if (failures.length > 0) {
      throw new CheckError(`${failures.length} failure(s):\n  ${failures.join("\n  ")}`);
    }
    console.log(`all ${list.length} expressions ok`);
    passed = true;
  } finally {
    await Promise.all([stop(prometheus), stop(keepwarm)]);
    if (passed) rmSync(tmp, { recursive: true, force: true });
    else {
      keepwarm?.saveLog();
      prometheus?.saveLog();
      console.error(`check-prometheus: logs and data of this run kept in ${tmp}`);
    }
  }
}

async function main() {
  try {
    if (process.argv.includes("--list")) {
      const budgets = process.env.KEEPWARM_CHECK_BUDGETS === "1";
      process.stdout.write(`${JSON.stringify(expressions({ budgets }), null, 2)}\n`);
      return;
    }
    await check();
  } catch (error) {
    console.error(`check-prometheus: ${error instanceof CheckError ? error.message : error.stack}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
