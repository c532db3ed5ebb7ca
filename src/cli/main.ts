#!/usr/bin/env node
import { Command } from "commander";
import { registerDiscover } from "./discover.js";
import { ExitCode } from "./exitCodes.js";
import { registerPlan } from "./plan.js";
import { registerReport } from "./report.js";
import { registerRun } from "./run.js";
import { registerSim } from "./sim.js";
import { registerSimulate } from "./simulate.js";
import { registerValidate } from "./validate.js";

export function buildProgram(): Command {
  const program = new Command("keepwarm")
    .description(
      "Keeps Amazon Bedrock imported models warm on a schedule and reports what it costs.",
    )
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
    registerDiscover,
    registerSim,
  ]) {
    register(program);
  }
  return program;
}

await buildProgram().parseAsync(process.argv);
