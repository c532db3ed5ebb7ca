import { readFileSync } from "node:fs";
import { Command } from "commander";
import { printProcessWarnings } from "../runtime/infra/logger.js";
import { registerDiscover } from "./discover.js";
import { ExitCode } from "./exitCodes.js";
import { registerPlan } from "./plan.js";
import { registerReconcile } from "./reconcile.js";
import { registerReport } from "./report.js";
import { registerRun } from "./run.js";
import { registerSim } from "./sim.js";
import { registerSimulate } from "./simulate.js";
import { registerSuggest } from "./suggest.js";
import { registerValidate } from "./validate.js";

/** The version of package.json, which sits two levels up in src/ and in dist/ alike. */
export function packageVersion(): string {
  const file = new URL("../../package.json", import.meta.url);
  return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}

export function buildProgram(): Command {
  const program = new Command("keepwarm")
    .description(
      "Keeps Amazon Bedrock imported models warm on a schedule and reports what it costs.",
    )
    .version(packageVersion(), "-V, --version", "print keepwarm's version")
    .showHelpAfterError()
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? ExitCode.ok : ExitCode.badInput);
    });
  for (const register of [
    registerValidate,
    registerPlan,
    registerRun,
    registerSimulate,
    registerReport,
    registerReconcile,
    registerSuggest,
    registerDiscover,
    registerSim,
  ]) {
    register(program);
  }
  return program;
}

// A reader that goes away (`keepwarm plan | head`) ends a command quietly, as other Unix
// tools do; the daemon exits 1 instead, so that its service manager restarts it.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(process.argv[2] === "run" ? ExitCode.failure : ExitCode.ok);
});

// Node prints a process warning (the AWS SDK's notice of the Node.js versions it will support)
// as several lines of text; a command prints it as one, and `run` logs it as a JSON line.
printProcessWarnings((line) => process.stderr.write(`${line}\n`));

await buildProgram().parseAsync(process.argv);
