import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ResolvedConfig } from "../domain/types.js";
import { mergeConfigSources } from "./mergeConfigSources.js";
import { type ConfigProblem, FILE_PATH, sortProblems } from "./problems.js";
import { type ConfigEnv, resolveConfig } from "./resolve.js";
import { configSchema } from "./schema.js";
import {
  checkSize,
  checkWithSchema,
  describeBytes,
  locatorOf,
  MAX_YAML_BYTES,
  readYamlMapping,
  type YamlLocator,
  type YamlSource,
} from "./yamlSchema.js";

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
  const read = readYamlMapping(text, file, configSchema);
  if (!read.ok) return { ok: false, problems: [...read.problems] };
  return checkAndResolve(read.source.data, locatorOf(read.source), [], env);
}

/**
 * Reads, validates and resolves a config file, or a directory of them (every `*.yaml` in it,
 * in name order, read as one config). Too large a config is refused before it is read.
 * Without `env.now`, overrides are held against the wall clock.
 */
export async function loadConfigFile(path: string, env: ConfigEnv = {}): Promise<LoadResult> {
  const at: ConfigEnv = { ...env, now: env.now ?? Date.now() };
  let bytes: Uint8Array;
  try {
    const info = await stat(path);
    if (info.isDirectory()) return loadConfigDirectory(path, at);
    if (!info.isFile()) {
      return unreadable(
        path,
        "is not a file or a directory; allowed: a YAML file or a directory of them",
      );
    }
    const tooLarge = checkSize(info.size, path);
    if (tooLarge) return { ok: false, problems: [tooLarge] };
    bytes = await readFile(path);
  } catch (err) {
    return unreadable(path, describeFileError(err));
  }
  return parseConfigText(bytes, path, at);
}

async function loadConfigDirectory(dir: string, env: ConfigEnv): Promise<LoadResult> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    return unreadable(dir, describeFileError(err));
  }
  // Hidden entries are skipped: editors' swap files, Kubernetes' `..data` of a ConfigMap.
  const names = entries
    .filter((n) => n.endsWith(".yaml") && !n.startsWith("."))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files = names.map((n) => join(dir, n));
  if (files.length === 0) {
    return unreadable(dir, "has no *.yaml files; allowed: a directory with one or more");
  }

  const problems: ConfigProblem[] = [];
  const sizes = await Promise.all(
    files.map(async (file) => {
      try {
        const info = await stat(file);
        if (info.isFile()) return info.size;
        problems.push(problemOf(file, "is not a file; allowed: a YAML file"));
      } catch (err) {
        problems.push(problemOf(file, describeFileError(err)));
      }
      return 0;
    }),
  );
  if (problems.length > 0) return { ok: false, problems };
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total > MAX_YAML_BYTES) {
    return unreadable(
      dir,
      `its ${files.length} *.yaml files are ${total.toLocaleString("en-US")} bytes together; at most ${MAX_YAML_BYTES.toLocaleString("en-US")} bytes (${describeBytes(MAX_YAML_BYTES)}) allowed`,
    );
  }

  const sources: YamlSource[] = [];
  for (const file of files) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (err) {
      problems.push(problemOf(file, describeFileError(err)));
      continue;
    }
    const read = readYamlMapping(bytes, file, configSchema);
    if (read.ok) sources.push(read.source);
    else problems.push(...read.problems);
  }
  const [first, ...rest] = sources;
  if (problems.length > 0 || first === undefined) return { ok: false, problems };
  const merged = mergeConfigSources([first, ...rest]);
  return checkAndResolve(merged.data, merged.locator, merged.problems, env);
}

/** The schema check and the resolution, failing with `earlier` problems too. */
function checkAndResolve(
  data: unknown,
  locator: YamlLocator,
  earlier: readonly ConfigProblem[],
  env: ConfigEnv,
): LoadResult {
  const checked = checkWithSchema(data, configSchema, locator);
  if (!checked.ok || earlier.length > 0) {
    const problems = [...earlier, ...(checked.ok ? [] : checked.problems)];
    return { ok: false, problems: sortProblems(problems) };
  }
  return resolveConfig(checked, env);
}

/** What a failed stat, readdir or read means, in the words of `ls` rather than errno. */
const FILE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: "no such file",
  ENOTDIR: "no such file (a part of the path is not a directory)",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EISDIR: "is a directory",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "file name too long",
  EMFILE: "too many open files",
  ENFILE: "too many open files",
  EIO: "input/output error",
};

function describeFileError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return (code && FILE_ERRORS[code]) ?? `cannot be read (${code ?? (err as Error).message ?? err})`;
}

/** A problem of a file that could not be read: there is no line in it to point at. */
function problemOf(file: string, message: string): ConfigProblem {
  return { file, path: FILE_PATH, message };
}

function unreadable(file: string, message: string): LoadResult {
  return { ok: false, problems: [problemOf(file, message)] };
}
