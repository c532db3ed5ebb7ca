import { readFile, stat } from "node:fs/promises";
import type { ResolvedConfig } from "../domain/types.js";
import { type ConfigProblem, FILE_PATH } from "./problems.js";
import { type ConfigEnv, resolveConfig } from "./resolve.js";
import { configSchema } from "./schema.js";
import { checkSize, parseYamlWithSchema } from "./yamlSchema.js";

export { type ConfigProblem, formatProblem } from "./problems.js";
export type { ConfigEnv } from "./resolve.js";

export type LoadResult =
  | { readonly ok: true; readonly config: ResolvedConfig; readonly warnings: ConfigProblem[] }
  | { readonly ok: false; readonly problems: ConfigProblem[] };

/** Validates and resolves config text; `file` is only used to label problems. */
export function parseConfigText(
  text: string | Uint8Array,
  file: string,
  env: ConfigEnv = {},
): LoadResult {
  const parsed = parseYamlWithSchema(text, file, configSchema);
  if (!parsed.ok) return { ok: false, problems: [...parsed.problems] };
  return resolveConfig(parsed, env);
}

/** Reads, validates and resolves a config file. A file too large is refused before it is read. */
export async function loadConfigFile(path: string, env: ConfigEnv = {}): Promise<LoadResult> {
  const fail = (message: string): LoadResult => ({
    ok: false,
    problems: [{ file: path, line: 1, column: 1, path: FILE_PATH, message }],
  });
  let bytes: Uint8Array;
  try {
    const info = await stat(path);
    if (!info.isFile()) return fail("is not a regular file; allowed: a YAML file");
    const tooLarge = checkSize(info.size, path);
    if (tooLarge) return { ok: false, problems: [tooLarge] };
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return fail(
      `cannot be read (${code ?? (err as Error).message}); allowed: a readable YAML file`,
    );
  }
  return parseConfigText(bytes, path, env);
}
