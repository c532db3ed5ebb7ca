import type { Command } from "commander";
import { RegionClientPool } from "../aws/clients.js";
import { FIVE_MINUTE_RETENTION_MS } from "../aws/copyHistory.js";
import { AwsCallError } from "../aws/errors.js";
import { formatProblem } from "../config/load.js";
import { dayStart, FIRST_TRY_DAYS, utcDate } from "../domain/reconcileSchedule.js";
import { DAY_MS } from "../domain/units.js";
import { type DayRange, reconcileDays } from "../reconcile/reconcile.js";
import type { ReconcileReport } from "../reconcile/types.js";
import { loadSimConfigFile, type SimConfig, type SimServer } from "../sim/index.js";
import { parseSimulateMode, readEnv, type SimulateMode, UsageError } from "./env.js";
import { ExitCode } from "./exitCodes.js";
import { loadCommandConfig } from "./loadConfig.js";
import { simulatedAccount } from "./reconcileSimulation.js";
import { reconcileJson, reconcileTable } from "./reconcileTable.js";
import { credentialsResolve } from "./run.js";
import type { CommandOutput } from "./validate.js";

/** Days reconciled when --from is not given. */
const DEFAULT_DAYS = 7;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export interface ReconcileOptions {
  /** `--config`, else KEEPWARM_CONFIG. */
  readonly config: string | undefined;
  readonly from?: string;
  readonly to?: string;
  readonly json?: boolean;
  /** `--simulate [mode]`, else KEEPWARM_SIMULATE. */
  readonly simulate?: string | boolean;
  /** Where `simulate` came from, for messages: "--simulate" or "KEEPWARM_SIMULATE". */
  readonly simulateFrom?: string;
  /** `--sim-config`: the simulated account's further imports, settings and faults. */
  readonly simConfig?: string;
  /** The instant the command runs at. */
  readonly now: number;
}

export function registerReconcile(program: Command): void {
  program
    .command("reconcile")
    .description(
      "Compare what keepwarm's rule bills each model, day by day, with AWS's bill in Cost Explorer.",
    )
    .option("-c, --config <file>", "the config file (default: $KEEPWARM_CONFIG)")
    .option("--from <date>", "first UTC day, yyyy-MM-dd (default: 7 days before --to)")
    .option(
      "--to <date>",
      "the UTC day after the last, yyyy-MM-dd (default: yesterday, so the last day is the last final one)",
    )
    .option("--json", "print JSON instead of a table")
    .option(
      "--simulate [mode]",
      "on: against the built-in simulator, the config's models pinged on their plan; off: AWS; auto: the simulator unless AWS credentials are configured (default: $KEEPWARM_SIMULATE, else off)",
    )
    .option(
      "--sim-config <file>",
      "with --simulate: further imports, settings and faults for the simulated account (the file `keepwarm sim --config` takes)",
    )
    .action(
      async (opts: {
        config?: string;
        from?: string;
        to?: string;
        json?: boolean;
        simulate?: string | boolean;
        simConfig?: string;
      }) => {
        const env = readEnv();
        process.exitCode = await reconcileCommand(
          {
            ...opts,
            config: opts.config ?? env.config,
            simulate: opts.simulate ?? env.simulate,
            simulateFrom: opts.simulate !== undefined ? "--simulate" : "KEEPWARM_SIMULATE",
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

/**
 * The days `--from` and `--to` name; by default the last 7 days Cost Explorer has final
 * (a day is final a day after it ends).
 */
export function reconcileRange(opts: Pick<ReconcileOptions, "from" | "to" | "now">): DayRange {
  const today = Math.floor(opts.now / DAY_MS) * DAY_MS;
  const to =
    opts.to === undefined ? today - (FIRST_TRY_DAYS - 1) * DAY_MS : dateFlag("--to", opts.to);
  const from = opts.from === undefined ? to - DEFAULT_DAYS * DAY_MS : dateFlag("--from", opts.from);
  if (to <= from) {
    throw new UsageError(
      `--to ${utcDate(to)} must be after --from ${utcDate(from)} (--to is the day after the last)`,
    );
  }
  if (from > today) {
    throw new UsageError(
      `--from ${utcDate(from)} is after today (${utcDate(today)}): AWS has billed nothing yet`,
    );
  }
  return { from: utcDate(from), to: utcDate(to) };
}

function dateFlag(flag: string, text: string): number {
  const t = DATE.test(text) ? dayStart(text) : Number.NaN;
  if (Number.isNaN(t) || utcDate(t) !== text) {
    throw new UsageError(
      `${flag} "${text}" is not a date; allowed: a UTC day yyyy-MM-dd, e.g. 2026-12-01`,
    );
  }
  return t;
}

/**
 * Exit 0 when no day mismatches, 3 when one does, 1 when AWS could not be read, 2 for bad
 * input. `given` replaces the clients (a test's, against its own simulator).
 */
export async function reconcileCommand(
  opts: ReconcileOptions,
  out: CommandOutput,
  given?: RegionClientPool,
): Promise<number> {
  if (!opts.config) {
    out.stderr("keepwarm reconcile: no config file; pass --config FILE or set KEEPWARM_CONFIG");
    return ExitCode.badInput;
  }
  let range: DayRange;
  let mode: SimulateMode;
  try {
    range = reconcileRange(opts);
    mode = parseSimulateMode(opts.simulate, opts.simulateFrom ?? "--simulate");
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    out.stderr(`keepwarm reconcile: ${error.message}`);
    return ExitCode.badInput;
  }
  const config = await loadCommandConfig(opts.config, (line) => out.stderr(line));
  if (!config) return ExitCode.badInput;
  const simulated =
    given === undefined && (mode === "on" || (mode === "auto" && !(await credentialsResolve())));
  let simConfig: SimConfig | undefined;
  if (opts.simConfig !== undefined) {
    if (!simulated) {
      out.stderr("keepwarm reconcile: --sim-config needs --simulate on");
      return ExitCode.badInput;
    }
    const read = await loadSimConfigFile(opts.simConfig);
    if (!read.ok) {
      for (const p of read.problems) out.stderr(formatProblem(p));
      return ExitCode.badInput;
    }
    simConfig = read.config;
  }
  const oldest = opts.now - FIVE_MINUTE_RETENTION_MS;
  if (dayStart(range.from) < oldest) {
    out.stderr(
      `keepwarm reconcile: warning: CloudWatch keeps ModelCopy 63 days: keepwarm's figure of days before ${utcDate(oldest + DAY_MS)} is unknown`,
    );
  }
  let server: SimServer | undefined;
  let clients = given;
  if (!clients && simulated) {
    const sim = simulatedAccount(config, simConfig, dayStart(range.from) - DAY_MS, opts.now);
    server = await sim.listen({ port: 0 });
    clients = new RegionClientPool({
      endpoint: server.url,
      credentials: { accessKeyId: "AKIAKEEPWARMSIMULATED", secretAccessKey: "simulated" },
    });
    out.stderr(
      `keepwarm reconcile: SIMULATED: the built-in simulator at ${server.url} stands in for Bedrock, CloudWatch and Cost Explorer; the config's models were pinged on their plan from ${range.from}`,
    );
  }
  const pool = clients ?? new RegionClientPool();
  out.stderr(`keepwarm reconcile: UTC days ${range.from} to ${range.to} (--to excluded)`);
  try {
    const report = await reconcileDays({ config: config, clients: pool, now: opts.now }, range);
    const lines = opts.json ? [JSON.stringify(reconcileJson(report))] : reconcileTable(report);
    for (const line of lines) out.stdout(line);
    return hasMismatch(report) ? ExitCode.mismatch : ExitCode.ok;
  } catch (error) {
    if (!(error instanceof AwsCallError)) throw error;
    out.stderr(`keepwarm reconcile: ${describeFailure(error)}`);
    return ExitCode.failure;
  } finally {
    if (pool !== given) pool.destroy();
    await server?.close();
  }
}

function hasMismatch(report: ReconcileReport): boolean {
  return report.days.some((d) => d.groups.some((g) => g.status === "mismatch"));
}

/** What failed and what to do; a refusal names the IAM action to grant. */
function describeFailure(error: AwsCallError): string {
  if (error.kind === "denied") {
    return `${error.action} was refused (${error.awsName}): grant ${error.action} to the credentials keepwarm runs with (docs/install.md#iam-policy); ${error.message}`;
  }
  return `${error.action} failed (${error.awsName}): ${error.remedy}; ${error.message}`;
}
