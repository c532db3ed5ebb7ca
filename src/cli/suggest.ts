import type { Command } from "commander";
import { RegionClientPool } from "../aws/clients.js";
import { getImportedModel } from "../aws/importedModel.js";
import { formatProblem, loadConfigFile } from "../config/load.js";
import { cents, formatUsd, round1 } from "../domain/format.js";
import {
  configuredUnits,
  DEFAULT_CMU_VERSION,
  type PricedUnits,
  versionPrice,
} from "../domain/price.js";
import { resolveTimings } from "../domain/timings.js";
import type { ModelConfig } from "../domain/types.js";
import { isoInZone } from "../domain/zone.js";
import { readPingCounts } from "../runtime/state/pingCounts.js";
import type { Candidate, ModelSuggestion } from "../suggest/candidates.js";
import { renderHeatmap } from "../suggest/heatmap.js";
import { type FleetSuggestion, suggestFleet } from "../suggest/suggestFleet.js";
import { policyJson, policyYaml } from "../suggest/windowRules.js";
import { parseInteger, readEnv, UsageError } from "./env.js";
import { ExitCode } from "./exitCodes.js";
import { configuredStateDir, findStateDir, readLearnedTimings } from "./stateDir.js";
import type { CommandOutput } from "./validate.js";

const DEFAULT_WEEKS = 4;
/** CloudWatch keeps hourly data 455 days: 65 weeks. */
const MAX_WEEKS = 65;

export interface SuggestOptions {
  /** `--config`, else KEEPWARM_CONFIG. */
  readonly config: string | undefined;
  readonly model?: string;
  readonly weeks?: string;
  readonly json?: boolean;
  readonly stateDir?: string;
  readonly envStateDir?: string;
  readonly serviceStateDir?: string;
  readonly now: number;
  /** Colour the heatmap (a terminal). */
  readonly colour?: boolean;
  /** The clients of a region; the SDK's default chain and endpoints unless a test gives its own. */
  readonly clients?: RegionClientPool;
}

export function registerSuggest(program: Command): void {
  program
    .command("suggest")
    .description(
      "Read the last weeks of each model's Invocations from CloudWatch, take keepwarm's own pings out, and suggest the windows users need, with what each choice covers and costs.",
    )
    .option("-c, --config <file>", "the config file (default: $KEEPWARM_CONFIG)")
    .option("-m, --model <name>", "one model of the config (default: all)")
    .option("--weeks <n>", `weeks of history to read, 1-${MAX_WEEKS} (default ${DEFAULT_WEEKS})`)
    .option("--json", "print JSON instead of the heatmap and tables")
    .option(
      "--state-dir <dir>",
      "where the daemon keeps pings.json and timings.json (default: as `keepwarm plan` finds it)",
    )
    .action(
      async (opts: {
        config?: string;
        model?: string;
        weeks?: string;
        json?: boolean;
        stateDir?: string;
      }) => {
        const env = readEnv();
        process.exitCode = await suggestCommand(
          {
            ...opts,
            config: opts.config ?? env.config,
            ...(env.stateDir !== undefined ? { envStateDir: env.stateDir } : {}),
            now: Date.now(),
            colour: process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
          },
          {
            stdout: (line) => process.stdout.write(`${line}\n`),
            stderr: (line) => process.stderr.write(`${line}\n`),
          },
        );
      },
    );
}

/** Exit 0 with the suggestions; 2 for a bad config or flag; 1 when CloudWatch could not be read. */
export async function suggestCommand(opts: SuggestOptions, out: CommandOutput): Promise<number> {
  const fail = (message: string, code: number = ExitCode.badInput) => {
    out.stderr(`keepwarm suggest: ${message}`);
    return code;
  };
  if (!opts.config) return fail("no config file; pass --config FILE or set KEEPWARM_CONFIG");
  let weeks: number;
  try {
    weeks =
      opts.weeks === undefined
        ? DEFAULT_WEEKS
        : parseInteger(opts.weeks, "--weeks", {
            min: 1,
            max: MAX_WEEKS,
            what: "a number of weeks",
          });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return fail(error.message);
  }
  const loaded = await loadConfigFile(opts.config);
  if (!loaded.ok) {
    for (const problem of loaded.problems) out.stderr(formatProblem(problem));
    return ExitCode.badInput;
  }
  const config = loaded.config;
  const models = config.models.filter((m) => opts.model === undefined || m.name === opts.model);
  if (models.length === 0) {
    return fail(
      `--model "${opts.model}" is not in ${opts.config}; allowed: ${config.models.map((m) => m.name).join(", ")}`,
    );
  }
  const stateDir = findStateDir({
    flag: opts.stateDir,
    env: opts.envStateDir,
    config: { file: opts.config, stateDir: configuredStateDir(config.daemon.stateDir) },
    ...(opts.serviceStateDir !== undefined ? { serviceDir: opts.serviceStateDir } : {}),
  });
  out.stderr(`keepwarm suggest: state directory ${stateDir.dir} (${stateDir.note})`);
  const learned = await readLearnedTimings(stateDir.dir);
  const pings = await readPingCounts(stateDir.dir);
  out.stderr(
    pings.problem === undefined
      ? `keepwarm suggest: keepwarm's own pings from ${pings.path}`
      : `keepwarm suggest: no ping counts read from ${pings.path} (${pings.problem}); the plan's pings are taken out instead`,
  );
  const clients = opts.clients ?? new RegionClientPool();
  let result: FleetSuggestion;
  try {
    const units = await unitsOfModels(models, clients, out);
    result = await suggestFleet({
      config,
      models,
      weeks,
      now: opts.now,
      cloudwatchOf: (region) => clients.get(region).cloudwatch,
      timingsOf: (m) => resolveTimings(m.timing, learned.observationsOf(m), opts.now),
      ownOf: (m) => pings.countsOf(m.name, m.modelArn),
      unitsOf: (m) => units.get(m.name),
    });
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error), ExitCode.failure);
  } finally {
    if (!opts.clients) clients.destroy();
  }
  out.stderr(
    `keepwarm suggest: ${result.usage.calls} GetMetricData call(s), ${result.usage.metricsRequested} metrics requested ($${(result.usage.metricsRequested / 100_000).toFixed(5)} at $0.01 per 1,000)`,
  );
  const lines = opts.json
    ? [JSON.stringify(suggestJson(result))]
    : result.models.flatMap((m) => suggestText(m, opts.colour ?? false));
  for (const line of lines) out.stdout(line);
  return ExitCode.ok;
}

/**
 * Each model's CMUs at their version's price: from the config, else GetImportedModel. A
 * model whose lookup fails is costed as unknown, said on stderr.
 */
async function unitsOfModels(
  models: readonly ModelConfig[],
  clients: RegionClientPool,
  out: CommandOutput,
): Promise<Map<string, PricedUnits>> {
  const units = new Map<string, PricedUnits>();
  for (const m of models) {
    const configured = configuredUnits(m);
    if (configured) {
      units.set(m.name, configured);
      continue;
    }
    try {
      const info = await getImportedModel(clients.get(m.region), m.modelArn);
      const version = info.unitsVersion ?? DEFAULT_CMU_VERSION;
      const price = versionPrice(m, version);
      if (price) units.set(m.name, { cmu: info.customModelUnits, price });
      else
        out.stderr(
          `keepwarm suggest: ${m.name}: CMU version ${version} has no price; costs unknown`,
        );
    } catch (error) {
      out.stderr(
        `keepwarm suggest: ${m.name}: ${error instanceof Error ? error.message : String(error)}; costs unknown`,
      );
    }
  }
  return units;
}

function candidateJson(model: ModelSuggestion, c: Candidate) {
  return {
    label: c.label,
    current: c.current,
    coveragePct: round1(c.coveragePct),
    coldCallsPerWeek: round1(c.coldCallsPerWeek),
    monthlyUsd: c.monthlyUsd === undefined ? null : cents(c.monthlyUsd),
    policy: policyJson(c.policy),
    yaml: policyYaml(model.model.name, c.policy),
  };
}

export function suggestJson(result: FleetSuggestion) {
  return {
    models: result.models.map((m) => ({
      name: m.model.name,
      zone: m.zone,
      weeks: m.weeks,
      from: isoInZone(m.range.start, m.zone),
      to: isoInZone(m.range.end, m.zone),
      calls: Math.round(m.calls),
      month: m.month,
      candidates: m.candidates.map((c) => candidateJson(m, c)),
    })),
    cloudwatch: { ...result.usage },
  };
}

const count = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** The heatmap, the candidates and the 99% candidate's YAML, for people. */
function suggestText(m: ModelSuggestion, colour: boolean): string[] {
  const current = m.candidates.find((c) => c.current);
  const perWeek = m.weeks > 0 ? m.calls / m.weeks : 0;
  const lines = [
    `${m.model.name}: ${count.format(m.calls)} users' calls in the ${m.weeks} weeks to ${isoInZone(m.range.end, m.zone).slice(0, 16)} (${count.format(perWeek)} a week), ${m.zone}`,
    "",
  ];
  if (current) lines.push(...renderHeatmap(m.profile, current.policy, { colour, zone: m.zone }));
  const rows = [
    ["", "coverage", "cold calls/week", `${m.month} (UTC)`],
    ...m.candidates.map((c) => [
      `${c.current ? "*" : " "} ${c.label}`,
      `${c.coveragePct.toFixed(1)}%`,
      count.format(c.coldCallsPerWeek),
      c.monthlyUsd === undefined ? "CMU unknown" : formatUsd(c.monthlyUsd),
    ]),
  ];
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  lines.push(
    "",
    ...rows.map((r) =>
      r
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join("  "),
    ),
    "",
    "coverage: users' calls of those weeks that fell in the windows; cold calls: those that fell outside",
    "(each could have met a cold model); month: the plan's projection with each policy (storage included).",
  );
  const pick = m.candidates.find((c) => c.label === "99% of calls");
  if (pick) {
    lines.push(
      "",
      `To keep 99% of calls warm:`,
      ...policyYaml(m.model.name, pick.policy)
        .trimEnd()
        .split("\n")
        .map((l) => `  ${l}`),
    );
  }
  lines.push("");
  return lines;
}
