import type { Command } from "commander";
import { formatProblem, loadConfigFile } from "../config/load.js";
import { initialTimings } from "../domain/timings.js";
import type { ResolvedConfig } from "../domain/types.js";
import { ExitCode } from "./exitCodes.js";
import { rateNeedReport } from "./rateWarning.js";

export interface ValidateOptions {
  /** `--config`, else KEEPWARM_CONFIG. */
  readonly config: string | undefined;
  readonly stateDir?: string;
  /** Where the week the InvokeModel rate is checked over begins; default now. */
  readonly now?: number;
}

export interface CommandOutput {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("Check a config file and print every problem in it, one a line.")
    .option("-c, --config <file>", "the config file (default: $KEEPWARM_CONFIG)")
    .action(async (opts: { config?: string }) => {
      process.exitCode = await validateConfig(
        { config: opts.config ?? process.env.KEEPWARM_CONFIG },
        {
          stdout: (line) => process.stdout.write(`${line}\n`),
          stderr: (line) => process.stderr.write(`${line}\n`),
        },
      );
    });
}

/** Exit 0 with a one-line summary when the file is valid, else 2 with every problem. */
export async function validateConfig(opts: ValidateOptions, out: CommandOutput): Promise<number> {
  if (!opts.config) {
    out.stderr("keepwarm validate: no config file; pass --config FILE or set KEEPWARM_CONFIG");
    return ExitCode.badInput;
  }
  const result = await loadConfigFile(opts.config, { stateDir: opts.stateDir });
  if (!result.ok) {
    for (const problem of result.problems) out.stderr(formatProblem(problem));
    return ExitCode.badInput;
  }
  for (const warning of result.warnings) {
    out.stderr(formatProblem({ ...warning, message: `warning: ${warning.message}` }));
  }
  out.stdout(summarize(opts.config, result.config));
  // At the starting cadences (validate reads no learned timings): what a first week needs.
  const models = result.config.models.map((model) => ({ model, timings: initialTimings(model) }));
  const rate = rateNeedReport(result.config, models, opts.now ?? Date.now());
  if (rate.need.shortFrom !== undefined) out.stderr(`${opts.config}: ${rate.line}`);
  return ExitCode.ok;
}

function summarize(file: string, config: ResolvedConfig): string {
  const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  const models = config.models.map((m) => `${m.name} (${m.policy})`).join(", ");
  return `${file}: valid; ${count(config.models.length, "model")}: ${models}; ${count(config.policies.size, "policy", "policies")}, ${count(config.overrides.length, "override")}, zone ${config.timezone}`;
}
