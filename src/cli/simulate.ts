import { openSync } from "node:fs";
import type { Command } from "commander";
import pino from "pino";
import { formatProblem, loadConfigFile } from "../config/load.js";
import { formatUsd } from "../domain/format.js";
import { monthOf, monthRange } from "../domain/spend.js";
import { createLogger } from "../runtime/infra/logger.js";
import {
  DEFAULT_SIM_SETTINGS,
  loadSimConfigFile,
  type SimConfig,
  type SimSettings,
} from "../sim/index.js";
import {
  type ModelSimulation,
  type MonthSimulation,
  type Scenario,
  type ScenarioResult,
  type SimulateProgress,
  simulateMonth,
} from "../whatif/simulate.js";
import { ExitCode } from "./exitCodes.js";
import type { CommandOutput } from "./validate.js";

export interface SimulateCommandOptions {
  /** `--config`, else KEEPWARM_CONFIG. */
  readonly config: string | undefined;
  /** `--month`, else the current UTC month. */
  readonly month: string | undefined;
  readonly json?: boolean;
  /** `--days`: only the month's first n days. */
  readonly days?: string;
  /** `--sim-config`: the simulator's settings, per-model settings and faults (`keepwarm sim --config`). */
  readonly simConfig?: string;
  /** `--daemon-log`: the keepwarm run's daemon log (JSON lines on simulated time) goes here. */
  readonly daemonLog?: string;
  /** The instant the default month is taken from. */
  readonly now: number;
  /** A line per simulated day on stderr, rewritten in place: only when stderr is a terminal. */
  readonly progress?: (line: string) => void;
}

export function registerSimulate(program: Command): void {
  program
    .command("simulate")
    .description(
      `Run keepwarm's daemon for a month on virtual time against the built-in simulator, next to a */14 keep-alive cron (the one of the seed article, ${SEED_ARTICLE_URL}) and always-on: coverage, cold starts, billed minutes, USD.`,
    )
    .option("-c, --config <file>", "the config file (default: $KEEPWARM_CONFIG)")
    .option("--month <yyyy-mm>", "the UTC month to simulate (default: the current one)")
    .option("--json", "print JSON instead of tables")
    .option("--days <n>", "simulate only the first n days of the month (a quick what-if)")
    .option(
      "--sim-config <file>",
      "simulator settings, per-model settings and faults: the file `keepwarm sim --config` takes",
    )
    .option(
      "--daemon-log <file>",
      "write the keepwarm run's daemon log to FILE: JSON lines at info, stamped with the simulated time",
    )
    .action(
      async (opts: {
        config?: string;
        month?: string;
        json?: boolean;
        days?: string;
        simConfig?: string;
        daemonLog?: string;
      }) => {
        const tty = process.stderr.isTTY === true;
        process.exitCode = await simulateCommand(
          {
            ...opts,
            config: opts.config ?? process.env.KEEPWARM_CONFIG,
            month: opts.month,
            now: Date.now(),
            ...(tty
              ? { progress: (line: string) => process.stderr.write(`\r\x1b[2K${line}`) }
              : {}),
          },
          {
            stdout: (line) => process.stdout.write(`${line}\n`),
            stderr: (line) => process.stderr.write(`${line}\n`),
          },
        );
      },
    );
}

/** Exit 0 with the month's figures; 2 for a bad config or flag, 1 if the run itself failed. */
export async function simulateCommand(
  opts: SimulateCommandOptions,
  out: CommandOutput,
): Promise<number> {
  if (!opts.config) {
    out.stderr("keepwarm simulate: no config file; pass --config FILE or set KEEPWARM_CONFIG");
    return ExitCode.badInput;
  }
  const month = opts.month ?? monthOf(opts.now);
  try {
    monthRange(month);
  } catch {
    out.stderr(`keepwarm simulate: --month "${month}" is not YYYY-MM; allowed: e.g. 2026-12`);
    return ExitCode.badInput;
  }
  const days = opts.days === undefined ? undefined : Number(opts.days);
  if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 31)) {
    out.stderr(`keepwarm simulate: --days "${opts.days}" is not an integer from 1 to 31`);
    return ExitCode.badInput;
  }
  const loaded = await loadConfigFile(opts.config);
  let sim: SimConfig | undefined;
  const simLoaded =
    opts.simConfig === undefined ? undefined : await loadSimConfigFile(opts.simConfig);
  if (!loaded.ok || (simLoaded && !simLoaded.ok)) {
    for (const problem of loaded.ok ? [] : loaded.problems) out.stderr(formatProblem(problem));
    for (const problem of simLoaded?.ok === false ? simLoaded.problems : []) {
      out.stderr(formatProblem(problem));
    }
    return ExitCode.badInput;
  }
  if (simLoaded?.ok) sim = simLoaded.config;
  let log: ReturnType<typeof pino.destination> | undefined;
  if (opts.daemonLog !== undefined) {
    try {
      log = pino.destination({ dest: openSync(opts.daemonLog, "w"), minLength: 8 * 1024 });
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? String(error);
      out.stderr(
        `keepwarm simulate: --daemon-log "${opts.daemonLog}" cannot be written (${reason})`,
      );
      return ExitCode.badInput;
    }
  }
  const destination = log;
  const progress = opts.progress;
  let result: MonthSimulation;
  try {
    result = await simulateMonth({
      config: loaded.config,
      month,
      ...(days !== undefined ? { days } : {}),
      ...(sim ? { sim: sim.settings, simModels: sim.models, faults: sim.faults } : {}),
      ...(progress ? { onProgress: (p: SimulateProgress) => progress(progressLine(p)) } : {}),
      ...(destination
        ? { logger: (now: () => number) => createLogger({ level: "info", destination, now }) }
        : {}),
    });
  } catch (error) {
    if (progress) progress("");
    out.stderr(`keepwarm simulate: ${error instanceof Error ? error.message : String(error)}`);
    return ExitCode.failure;
  } finally {
    destination?.flushSync();
    destination?.end();
  }
  if (progress) progress("");
  const settings = sim?.settings ?? DEFAULT_SIM_SETTINGS;
  if (opts.json) out.stdout(JSON.stringify(toJson(opts.config, result, settings, sim), null, 2));
  else {
    // A model's own settings from the sim config, by the name the keepwarm config gives it.
    const own = new Map<string, SimSettings>();
    for (const m of loaded.config.models) {
      const spec = sim?.models.find((s) => s.modelArn === m.modelArn);
      if (spec?.settings) own.set(m.name, { ...settings, ...spec.settings });
    }
    for (const line of formatSimulation(opts.config, result, settings, own)) out.stdout(line);
  }
  return ExitCode.ok;
}

/**
 * The seed article: "Running the Mimo-VL model on Amazon Bedrock by importing it" (in
 * Chinese), which measured the idle rule and keeps its model warm with a cron every 14 minutes.
 */
export const SEED_ARTICLE_URL = "https://blog.bitipcman.com/post/bedrock-import-model-mimo-vl";

const SCENARIO_LABELS: Record<Scenario, string> = {
  keepwarm: "keepwarm",
  cron: "cron */14",
  alwaysOn: "always-on",
};

/** `keepwarm simulate: keepwarm day 12/32 (run 1 of 3)`: the day counts the preroll. */
export function progressLine(p: SimulateProgress): string {
  const run = Object.keys(SCENARIO_LABELS).indexOf(p.scenario) + 1;
  return `keepwarm simulate: ${SCENARIO_LABELS[p.scenario]} day ${p.day}/${p.days} (run ${run} of 3)`;
}

/** The eviction rule and restore, as the header prints them. */
export function describeSimSettings(s: SimSettings): string {
  const eviction =
    s.evictionRule === "afterLastCall"
      ? `idle eviction ${s.evictionDelayMs / 60_000} min${s.evictionJitterMs > 0 ? ` +-${s.evictionJitterMs / 60_000} min` : ""} after the last call`
      : `idle eviction at the end of the last call's billing window + ${s.evictionIdleWindows} idle windows`;
  return `restore ${s.restoreMs / 1000} s +-${s.restoreJitterMs / 1000} s, ${eviction}, billing windows ${s.billingWindowMs / 60_000} min`;
}

function toJson(
  file: string,
  r: MonthSimulation,
  settings: SimSettings,
  sim: SimConfig | undefined,
): unknown {
  return {
    config: file,
    month: r.month,
    from: new Date(r.range.start).toISOString(),
    to: new Date(r.range.end).toISOString(),
    simulator: settings,
    ...(sim
      ? {
          simulatorModels: sim.models
            .filter((m) => m.settings)
            .map((m) => ({ modelArn: m.modelArn, settings: m.settings })),
        }
      : {}),
    overhead: r.overhead,
    elapsedMs: r.elapsedMs,
    scenarioMs: r.scenarioMs,
    models: r.models,
  };
}

const count = new Intl.NumberFormat("en-US");

function pct(x: number): string {
  return `${x.toFixed(2)}%`;
}

function signedPct(x: number): string {
  return `${x >= 0 ? "+" : ""}${x.toFixed(2)}%`;
}

/** Columns padded to their widest cell; numbers right-aligned, the first and last column left. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) =>
        i === 0 || i === r.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0),
      )
      .join("  ")
      .trimEnd(),
  );
}

function scenarioRow(label: string, s: ScenarioResult, note: string): string[] {
  return [
    label,
    pct(s.coveragePct),
    count.format(s.coldStartsInWindows),
    count.format(s.invocations),
    count.format(s.billedMinutes),
    formatUsd(s.computeUsd),
    formatUsd(s.totalUsd),
    note,
  ];
}

function modelBlock(m: ModelSimulation): string[] {
  const kw = m.keepwarm;
  const projection =
    kw.projectedUsd === undefined
      ? "no projection"
      : kw.projectionErrorPct === undefined
        ? `projected ${formatUsd(kw.projectedUsd)} for the whole month`
        : `projected ${formatUsd(kw.projectedUsd)} (${signedPct(kw.projectionErrorPct)} vs ledger)`;
  // Said in words both ways: "keepwarm costs $53.18" read as the bill, not the difference.
  const versus = (s: ScenarioResult) => {
    const d = kw.totalUsd - s.totalUsd;
    if (formatUsd(Math.abs(d)) === formatUsd(0)) return "keepwarm costs the same";
    return `keepwarm costs ${formatUsd(Math.abs(d))} ${d > 0 ? "more" : "less"}`;
  };
  return [
    `${m.model}  (${m.policy}, ${m.region}, ${m.cmu} CMU ${m.cmuVersion} at $${m.usdPerCmuMinute}/CMU-minute; ${count.format(kw.windowMinutes)} window minutes)`,
    ...table([
      ["", "coverage", "cold starts", "pings ok", "billed min", "compute", "total", ""],
      scenarioRow("  keepwarm", kw, projection),
      scenarioRow("  cron */14", m.cron, versus(m.cron)),
      scenarioRow("  always-on", m.alwaysOn, versus(m.alwaysOn)),
    ]),
    ...usersLine(m),
  ];
}

/** With users (the sim config's `traffic`): how many of their calls met a cold model, each way. */
function usersLine(m: ModelSimulation): string[] {
  if (m.keepwarm.userCalls === 0) return [];
  const met = (s: ScenarioResult) =>
    `${count.format(s.userColdCalls)} (${pct((s.userColdCalls / s.userCalls) * 100)})`;
  return [
    `  users: ${count.format(m.keepwarm.userCalls)} calls; met a cold model: keepwarm ${met(m.keepwarm)}, cron */14 ${met(m.cron)}, always-on ${met(m.alwaysOn)}`,
  ];
}

/** The human report: one block per model, then totals. */
export function formatSimulation(
  file: string,
  r: MonthSimulation,
  settings: SimSettings = DEFAULT_SIM_SETTINGS,
  modelSettings: ReadonlyMap<string, SimSettings> = new Map(),
): string[] {
  const total = (pick: (m: ModelSimulation) => ScenarioResult) =>
    r.models.reduce((sum, m) => sum + pick(m).totalUsd, 0);
  const lines = [
    `keepwarm simulate: ${file}, ${r.month} (UTC), simulated: ${describeSimSettings(settings)}`,
    "coverage: window minutes in which a user's call would have been answered; cold starts: stretches of window minutes without a copy up; billed minutes and USD: the simulator's ledger (storage included in total).",
    `cron */14: a ping at minutes 0, 14, 28, 42 and 56 of every hour inside a window, the keep-alive of the seed article (${SEED_ARTICLE_URL}).`,
    "",
  ];
  for (const m of r.models) {
    const own = modelSettings.get(m.model);
    const block = modelBlock(m);
    if (own) block.splice(1, 0, `  simulated for this model: ${describeSimSettings(own)}`);
    lines.push(...block, "");
  }
  const kw = total((m) => m.keepwarm);
  lines.push(
    `total: keepwarm ${formatUsd(kw)}, cron */14 ${formatUsd(total((m) => m.cron))}, always-on ${formatUsd(total((m) => m.alwaysOn))}`,
    `keepwarm's own CloudWatch reads: ${count.format(r.overhead.metricsRequested)} GetMetricData metrics in ${count.format(r.overhead.getMetricDataCalls)} calls (${r.overhead.metricsPerModelMinute.toFixed(2)} per model-minute), ${formatUsd(r.overhead.usd)}`,
    `ran in ${(r.elapsedMs / 1000).toFixed(1)} s (keepwarm ${(r.scenarioMs.keepwarm / 1000).toFixed(1)} s, cron ${(r.scenarioMs.cron / 1000).toFixed(1)} s, always-on ${(r.scenarioMs.alwaysOn / 1000).toFixed(1)} s)`,
  );
  return lines;
}
