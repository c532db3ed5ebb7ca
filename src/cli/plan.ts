/**
 * The `keepwarm plan` command: its flags, the range they give, the learned timings read from
 * the state directory, and the per-model report that planOutput.ts prints.
 */
import type { Command } from "commander";
import { DateTime } from "luxon";
import { parseOffsetMinutes } from "../config/formats.js";
import { KeepwarmError } from "../domain/errors.js";
import { type Interval, planModel } from "../domain/plan.js";
import { configuredUnits } from "../domain/price.js";
import { monthOf, monthRange, planMonthMinutes, priceMonth } from "../domain/spend.js";
import { type ModelObservations, type ModelTimings, resolveTimings } from "../domain/timings.js";
import type { ModelConfig, ResolvedConfig } from "../domain/types.js";
import { isoInZone as iso } from "../domain/zone.js";
import { readEnv } from "./env.js";
import { ExitCode } from "./exitCodes.js";
import { loadCommandConfig } from "./loadConfig.js";
import { type ModelReport, monthsTouched, planJson, planText } from "./planOutput.js";
import { rateNeedReport } from "./rateWarning.js";
import { configuredStateDir, findStateDir, readLearnedTimings } from "./stateDir.js";
import type { CommandOutput } from "./validate.js";

export interface PlanOptions {
  /** `--config`, else KEEPWARM_CONFIG. */
  readonly config: string | undefined;
  readonly from?: string;
  readonly to?: string;
  readonly json?: boolean;
  /** `--state-dir`: where learned timings are read; else as `findStateDir` decides. */
  readonly stateDir?: string;
  /** KEEPWARM_STATE_DIR, else systemd's STATE_DIRECTORY. */
  readonly envStateDir?: string;
  /** The systemd and container default looked for before ./.state (a test's own). */
  readonly serviceStateDir?: string;
  /** The instant `--from` defaults to. */
  readonly now: number;
}

/** A command-line value that cannot be used; the message names the flag. */
export class PlanUsageError extends KeepwarmError {
  override readonly name = "PlanUsageError";
}

export function registerPlan(program: Command): void {
  program
    .command("plan")
    .description(
      "Show when each model would be pinged and what each UTC month would cost. Calls no AWS API.",
    )
    .option("-c, --config <file>", "the config file (default: $KEEPWARM_CONFIG)")
    .option(
      "--from <iso>",
      "start, ISO 8601 with an offset, e.g. 2026-12-01T00:00+08:00 (default: now)",
    )
    .option(
      "--to <iso>",
      "end, ISO 8601 with an offset (default: the end of the UTC month of --from)",
    )
    .option("--json", "print JSON instead of tables")
    .option(
      "--state-dir <dir>",
      "where the daemon keeps learned timings (default: $KEEPWARM_STATE_DIR, $STATE_DIRECTORY, the config's daemon.stateDir, /var/lib/keepwarm if it exists, ./.state)",
    )
    .action(
      async (opts: {
        config?: string;
        from?: string;
        to?: string;
        json?: boolean;
        stateDir?: string;
      }) => {
        const env = readEnv();
        process.exitCode = await planCommand(
          {
            ...opts,
            config: opts.config ?? env.config,
            ...(env.stateDir !== undefined ? { envStateDir: env.stateDir } : {}),
            now: Date.now(),
          },
          {
            stdout: (line) => process.stdout.write(`${line}\n`),
            stderr: (line) => process.stderr.write(`${line}\n`),
          },
        );
      },
    );
}

const ISO_WITH_OFFSET =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/** An instant from `--from`/`--to`; a time without an offset is ambiguous and refused. */
export function parseInstantFlag(flag: string, text: string): number {
  if (!ISO_WITH_OFFSET.test(text)) {
    const hint = /^\d{4}-\d{2}-\d{2}(T[\d:.]+)?$/.test(text)
      ? " has no UTC offset"
      : " is not an ISO 8601 date-time";
    throw new PlanUsageError(
      `${flag} "${text}"${hint}; allowed: ISO 8601 with an offset, e.g. 2026-12-01T00:00Z or 2026-12-01T09:00+08:00`,
    );
  }
  const offset = /(z|[+-][\d:]+)$/i.exec(text)?.[1] ?? "";
  if (parseOffsetMinutes(offset) === undefined) {
    throw new PlanUsageError(
      `${flag} "${text}" has the offset ${offset}, which no zone has; allowed: -12:00 to +14:00`,
    );
  }
  const parsed = DateTime.fromISO(text, { setZone: true });
  if (!parsed.isValid) {
    throw new PlanUsageError(
      `${flag} "${text}" is not a real date-time (${parsed.invalidExplanation})`,
    );
  }
  return parsed.toMillis();
}

/** The range to plan: `--from` (default now) to `--to` (default the end of that UTC month). */
export function planRange(opts: Pick<PlanOptions, "from" | "to" | "now">): Interval {
  const start = opts.from === undefined ? opts.now : parseInstantFlag("--from", opts.from);
  const end =
    opts.to === undefined ? monthRange(monthOf(start)).end : parseInstantFlag("--to", opts.to);
  if (end <= start) {
    throw new PlanUsageError(
      `--to must be later than --from (${iso(start, "UTC")} .. ${iso(end, "UTC")})`,
    );
  }
  return { start, end };
}

function reportModel(
  config: ResolvedConfig,
  model: ModelConfig,
  range: Interval,
  timings: ModelTimings,
): ModelReport {
  const plan = planModel(config, model, range, timings);
  const minutes = monthsTouched(range).map((month) =>
    planMonthMinutes(config, model, month, timings, { from: range.start, to: range.end }),
  );
  const units = configuredUnits(model);
  const costs = units === undefined ? undefined : minutes.map((m) => priceMonth(units, m));
  return { model, timings, plan, minutes, costs };
}

/**
 * The measurements the daemon has kept in the state directory, so `plan` shows what `run`
 * does; when they cannot be read, the plan uses the configured and assumed timings and
 * says why on stderr.
 */
async function learnedFrom(
  stateDir: string,
  out: CommandOutput,
): Promise<(model: ModelConfig) => ModelObservations> {
  const learned = await readLearnedTimings(stateDir);
  out.stderr(
    learned.problem === undefined
      ? `keepwarm plan: learned timings from ${learned.path} (${learned.models} model(s))`
      : `keepwarm plan: no learned timings read from ${learned.path} (${learned.problem}); planning with the configured and assumed timings`,
  );
  return learned.observationsOf;
}

/** Exit 0 with the plan on stdout; 2 for a bad config or flag. */
export async function planCommand(opts: PlanOptions, out: CommandOutput): Promise<number> {
  if (!opts.config) {
    out.stderr("keepwarm plan: no config file; pass --config FILE or set KEEPWARM_CONFIG");
    return ExitCode.badInput;
  }
  let range: Interval;
  try {
    range = planRange(opts);
  } catch (err) {
    if (!(err instanceof PlanUsageError)) throw err;
    out.stderr(`keepwarm plan: ${err.message}`);
    return ExitCode.badInput;
  }
  const config = await loadCommandConfig(opts.config, (line) => out.stderr(line));
  if (!config) return ExitCode.badInput;
  const stateDir = findStateDir({
    flag: opts.stateDir,
    env: opts.envStateDir,
    config: { file: opts.config, stateDir: configuredStateDir(config.daemon.stateDir) },
    ...(opts.serviceStateDir !== undefined ? { serviceDir: opts.serviceStateDir } : {}),
  });
  out.stderr(`keepwarm plan: state directory ${stateDir.dir} (${stateDir.note})`);
  const observationsOf = await learnedFrom(stateDir.dir, out);
  const reports = config.models.map((m) =>
    reportModel(config, m, range, resolveTimings(m.timing, observationsOf(m), opts.now)),
  );
  const { budgets } = config;
  // The rate over the week from --from, at the timings planned with (learned ones included).
  const rate = rateNeedReport(config, reports, range.start);
  out.stderr(`keepwarm plan: ${rate.line}`);
  const lines = opts.json
    ? [JSON.stringify({ ...planJson(range, reports, budgets), invokeRate: rate.json })]
    : planText(range, reports, budgets);
  for (const line of lines) out.stdout(line);
  return ExitCode.ok;
}
