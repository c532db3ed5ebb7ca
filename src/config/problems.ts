/** How a problem found in a YAML file is located and printed, whichever schema found it. */

/** Path of problems that concern the file as a whole rather than one field. */
export const FILE_PATH = "(file)";

/** One thing wrong with a YAML file, located at the node that carries it. */
export interface ConfigProblem {
  readonly file: string;
  /** 1-based; absent when the file could not be read, so there is no place in it to point at. */
  readonly line?: number;
  /** 1-based, in characters (code points) from the start of the line. */
  readonly column?: number;
  /** Dotted path to the field, e.g. `models[1].policy`, or `(file)`. */
  readonly path: string;
  /** "what is wrong; what is allowed". */
  readonly message: string;
}

/** Where a problem is: the file, the line and column of its node, and the path printed. */
export type ConfigPlace = Required<Omit<ConfigProblem, "message">>;

export type YamlPath = readonly PropertyKey[];

/**
 * Stands in a message for the place of another node, named by the issue's `params.related`:
 * a rule that sees only values (a name used twice) can still say where the first one is.
 */
export const RELATED_PLACE = "{related}";

/**
 * `FILE:LINE:COL: path.to.field: message`, the form editors and CI annotate from; a file that
 * could not be read at all is `FILE: message`.
 */
export function formatProblem(p: ConfigProblem): string {
  if (p.line === undefined) return `${p.file}: ${p.message}`;
  return `${p.file}:${p.line}:${p.column ?? 1}: ${p.path}: ${p.message}`;
}

/** `FILE:LINE:COL`, how a message points at another place. */
export function formatPlace(p: ConfigPlace): string {
  return `${p.file}:${p.line}:${p.column}`;
}

/** `["models", 1, "policy"]` -> `models[1].policy`. */
export function formatPath(path: YamlPath): string {
  let out = "";
  for (const step of path) {
    if (typeof step === "number") out += `[${step}]`;
    else {
      const key = String(step);
      if (/^[A-Za-z_$][\w$-]*$/.test(key)) out += out === "" ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out === "" ? FILE_PATH : out;
}

/** By file, then line and column; problems of a whole file first. */
export function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems.sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0),
  );
}
