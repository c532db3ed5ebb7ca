import { formatProblem, loadConfigFile } from "../config/load.js";
import type { ResolvedConfig } from "../domain/types.js";

/**
 * Loads the config of a one-shot command: every problem on stderr and undefined (the
 * command runs nothing), or the config, its warnings on stderr first.
 */
export async function loadCommandConfig(
  path: string,
  stderr: (line: string) => void,
): Promise<ResolvedConfig | undefined> {
  const loaded = await loadConfigFile(path);
  if (!loaded.ok) {
    for (const problem of loaded.problems) stderr(formatProblem(problem));
    return undefined;
  }
  for (const warning of loaded.warnings) {
    stderr(formatProblem({ ...warning, message: `warning: ${warning.message}` }));
  }
  return loaded.config;
}
