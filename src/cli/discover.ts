import type { Command } from "commander";

export function registerDiscover(program: Command): void {
  program.command("discover").description("(not yet available)");
}
