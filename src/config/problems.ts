/** How a problem found in a YAML file is located and printed, whichever schema found it. */

/** Path of problems that concern the file as a whole rather than one field. */
export const FILE_PATH = "(file)";

/** One thing wrong with a YAML file, located at the node that carries it. */
export interface ConfigProblem {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based, in characters (code points) from the start of the line. */
  readonly column: number;
  /** Dotted path to the field, e.g. `models[1].policy`, or `(file)`. */
  readonly path: string;
  /** "what is wrong; what is allowed". */
  readonly message: string;
}

export type YamlPath = readonly PropertyKey[];

/** `FILE:LINE:COL: path.to.field: message`, the form editors and CI annotate from. */
export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.path}: ${p.message}`;
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
