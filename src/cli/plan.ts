import type { Command } from "commander";

export function registerPlan(program: Command): void {
  program.command("plan").description("(not yet available)");
}
