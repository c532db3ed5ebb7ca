import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  visit,
} from "yaml";
import type { z } from "zod";

/** A file larger than this is refused before the parser sees it. */
export const MAX_YAML_BYTES = 1_048_576;

/** How many alias expansions a document may make; more looks like a "billion laughs" bomb. */
export const MAX_YAML_ALIASES = 100;

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

export interface YamlLocation {
  readonly line: number;
  readonly column: number;
}

/** A document that passed its schema, with the means to report later problems at its nodes. */
export interface ParsedYaml<T> {
  readonly ok: true;
  readonly value: T;
  /** Where the node at `path` starts; the nearest existing ancestor when it does not exist. */
  locate(path: YamlPath): YamlLocation;
  problemAt(path: YamlPath, message: string): ConfigProblem;
}

export type YamlParseResult<T> =
  | ParsedYaml<T>
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

export interface YamlSchemaOptions {
  /** Default {@link MAX_YAML_BYTES}. */
  readonly maxBytes?: number;
  /** Default {@link MAX_YAML_ALIASES}. */
  readonly maxAliasCount?: number;
}

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

/**
 * Reads YAML bytes and checks them against a zod schema, reporting every problem at once with
 * the line and column of the node it concerns. YAML 1.2 core schema: dates and times stay
 * strings, `yes`/`no` stay strings, there are no merge keys.
 */
export function parseYamlWithSchema<T>(
  input: string | Uint8Array,
  file: string,
  schema: z.ZodType<T>,
  opts: YamlSchemaOptions = {},
): YamlParseResult<T> {
  const maxBytes = opts.maxBytes ?? MAX_YAML_BYTES;
  const fileProblem = (message: string, line = 1, column = 1): YamlParseResult<T> => ({
    ok: false,
    problems: [{ file, line, column, path: FILE_PATH, message }],
  });

  const size = typeof input === "string" ? Buffer.byteLength(input, "utf8") : input.byteLength;
  const tooLarge = checkSize(size, file, maxBytes);
  if (tooLarge) return { ok: false, problems: [tooLarge] };

  let text: string;
  if (typeof input === "string") text = input;
  else {
    const decoded = decodeUtf8(input);
    if (!decoded.ok) {
      return fileProblem(
        `invalid UTF-8 (byte 0x${decoded.byte.toString(16).padStart(2, "0")} at offset ${decoded.offset}); the file must be UTF-8 text`,
        decoded.line,
        decoded.column,
      );
    }
    text = decoded.text;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    schema: "core",
    version: "1.2",
    merge: false,
    uniqueKeys: true,
    prettyErrors: true,
  });
  const at = (offset: number): YamlLocation => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: columnOf(text, offset, pos) };
  };

  const syntax = [...doc.errors, ...doc.warnings].map((err): ConfigProblem => {
    const where = at(err.pos[0]);
    return { file, ...where, path: FILE_PATH, message: describeYamlError(err.message) };
  });
  if (syntax.length > 0) return { ok: false, problems: sortProblems(syntax) };

  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null && root.range[0] === root.range[1])) {
    return fileProblem(`file is empty; expected a mapping${describeKeys(schema)}`);
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: opts.maxAliasCount ?? MAX_YAML_ALIASES });
  } catch (err) {
    if (err instanceof ReferenceError) {
      const where = at(firstAliasOffset(doc) ?? 0);
      return fileProblem(
        `aliases expand too much (${err.message}); at most ${opts.maxAliasCount ?? MAX_YAML_ALIASES} alias expansions allowed`,
        where.line,
        where.column,
      );
    }
    throw err;
  }

  if (!isMap(root)) {
    const where = at(root.range?.[0] ?? 0);
    return fileProblem(
      `top level is ${describeValue(data)}; expected a mapping${describeKeys(schema)}`,
      where.line,
      where.column,
    );
  }

  const locate = (path: YamlPath): YamlLocation => at(offsetOf(doc, path));
  const problemAt = (path: YamlPath, message: string): ConfigProblem => ({
    file,
    ...locate(path),
    path: formatPath(path),
    message,
  });

  // The error map sees the schema instance behind an unknown-key issue; the final issue does
  // not, so the allowed keys are kept aside, keyed by the object they were found in.
  const allowedKeys = new WeakMap<object, string[]>();
  const result = schema.safeParse(data, {
    reportInput: true,
    error: (iss) => {
      if (iss.code === "unrecognized_keys" && typeof iss.input === "object" && iss.input) {
        const shape = (iss.inst as { _zod?: { def?: { shape?: object } } } | undefined)?._zod?.def
          ?.shape;
        if (shape) allowedKeys.set(iss.input, Object.keys(shape));
      }
      return describeIssue(iss as RawIssue);
    },
  });
  if (result.success) return { ok: true, value: result.data, locate, problemAt };

  const problems: ConfigProblem[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === "unrecognized_keys") {
      const allowed =
        typeof issue.input === "object" && issue.input ? allowedKeys.get(issue.input) : undefined;
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        problems.push({
          file,
          ...at(keyOffsetOf(doc, path)),
          path: formatPath(path),
          message: describeUnknownKey(key, allowed ?? []),
        });
      }
    } else if (issue.code === "invalid_key") {
      problems.push({
        file,
        ...at(keyOffsetOf(doc, issue.path)),
        path: formatPath(issue.path),
        message: issue.message,
      });
    } else {
      problems.push(problemAt(issue.path, issue.message));
    }
  }
  return { ok: false, problems: sortProblems(dedupe(problems)) };
}

/** The problem with a file of `size` bytes, if it is too large to parse. */
export function checkSize(
  size: number,
  file: string,
  maxBytes = MAX_YAML_BYTES,
): ConfigProblem | undefined {
  if (size <= maxBytes) return undefined;
  return {
    file,
    line: 1,
    column: 1,
    path: FILE_PATH,
    message: `file is ${size.toLocaleString("en-US")} bytes; at most ${maxBytes.toLocaleString("en-US")} bytes (${describeBytes(maxBytes)}) allowed`,
  };
}

/** The closest candidate to `word` when it is a plausible typo of it. */
export function suggestClosest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  // One edit in a three-letter word is a different word; in a long one it is a typo.
  const tolerance = word.length < 3 ? 0 : Math.max(1, Math.floor(word.length / 3));
  return best !== undefined && bestDistance <= tolerance && best !== word ? best : undefined;
}

/** A short description of a YAML value for messages: `"15m"`, `4`, `a list`, `empty`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "empty";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

/** Optimal string alignment distance: insertions, deletions, substitutions, transpositions. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array(rows * cols).fill(0);
  const get = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(get(i - 1, j) + 1, get(i, j - 1) + 1, get(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, get(i - 2, j - 2) + 1);
      }
      d[i * cols + j] = v;
    }
  }
  return get(rows - 1, cols - 1);
}

interface RawIssue {
  readonly code: string;
  readonly input?: unknown;
  readonly expected?: string;
  readonly values?: readonly unknown[];
  readonly origin?: string;
  readonly minimum?: number | bigint;
  readonly maximum?: number | bigint;
  readonly inclusive?: boolean;
  readonly pattern?: string;
  readonly divisor?: number;
  readonly message?: string;
  readonly keys?: readonly string[];
  readonly issues?: readonly { readonly message: string }[];
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  object: "a mapping",
  record: "a mapping",
  array: "a list",
  null: "nothing",
};

/** Turns a zod issue into "what is wrong; what is allowed" without naming zod's internals. */
function describeIssue(iss: RawIssue): string {
  const got = describeValue(iss.input);
  switch (iss.code) {
    case "invalid_type": {
      const expected = TYPE_NAMES[iss.expected ?? ""] ?? iss.expected ?? "a value";
      if (iss.input === undefined) return `missing; required: ${expected}`;
      if (iss.expected === "int" && typeof iss.input === "number") {
        return `is ${got}; expected a whole number`;
      }
      return `is ${got}; expected ${expected}`;
    }
    case "invalid_value": {
      const values = (iss.values ?? []).map((v) => String(v));
      const hint = typeof iss.input === "string" ? suggestClosest(iss.input, values) : undefined;
      return `is ${got}; ${hint ? `did you mean "${hint}"? ` : ""}allowed: ${values.join(", ")}`;
    }
    case "too_small":
    case "too_big": {
      const small = iss.code === "too_small";
      const bound = String(small ? iss.minimum : iss.maximum);
      if (iss.origin === "array" || iss.origin === "set") {
        const n = Array.isArray(iss.input) ? iss.input.length : 0;
        return `has ${n} ${n === 1 ? "entry" : "entries"}; ${small ? "at least" : "at most"} ${bound} allowed`;
      }
      if (iss.origin === "string") {
        return `is ${got}; ${small ? "at least" : "at most"} ${bound} characters allowed`;
      }
      const relation = small
        ? iss.inclusive
          ? "at least"
          : "more than"
        : iss.inclusive
          ? "at most"
          : "less than";
      return `is ${got}; must be ${relation} ${bound}`;
    }
    case "invalid_format":
      return iss.pattern ? `is ${got}; must match ${iss.pattern}` : `is ${got}; not a valid format`;
    case "not_multiple_of":
      return `is ${got}; must be a multiple of ${iss.divisor}`;
    case "invalid_union":
      return `is ${got}; does not match any allowed form`;
    case "invalid_key":
      return `key ${iss.issues?.[0]?.message ?? "is not allowed"}`;
    default:
      return iss.message ?? `is ${got}; not allowed`;
  }
}

function describeUnknownKey(key: string, allowed: readonly string[]): string {
  const hint = suggestClosest(key, allowed);
  if (hint) return `unknown key "${key}"; did you mean "${hint}"?`;
  if (allowed.length === 0) return `unknown key "${key}"`;
  return `unknown key "${key}"; allowed keys: ${allowed.join(", ")}`;
}

function describeKeys(schema: z.ZodType): string {
  const shape = (schema as { _zod?: { def?: { shape?: object } } })._zod?.def?.shape;
  return shape ? ` with the keys ${Object.keys(shape).join(", ")}` : "";
}

function describeBytes(n: number): string {
  return n % 1_048_576 === 0 ? `${n / 1_048_576} MiB` : `${Math.round(n / 1024)} KiB`;
}

/** yaml's first message line, without the position it repeats and the code frame below it. */
function describeYamlError(message: string): string {
  const first = (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "");
  return `YAML syntax error: ${first}; the file must be valid YAML 1.2`;
}

type Utf8Result =
  | { ok: true; text: string }
  | { ok: false; offset: number; byte: number; line: number; column: number };

function decodeUtf8(bytes: Uint8Array): Utf8Result {
  try {
    return { ok: true, text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    const offset = firstInvalidUtf8(bytes);
    let lineStart = 0;
    let line = 1;
    for (let i = 0; i < offset; i++) {
      if (bytes[i] === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    const before = new TextDecoder("utf-8").decode(bytes.subarray(lineStart, offset));
    return { ok: false, offset, byte: bytes[offset] ?? 0, line, column: [...before].length + 1 };
  }
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return bytes.length;
}

/** yaml counts UTF-16 units; a column a person reads counts characters. */
function columnOf(text: string, offset: number, pos: { line: number; col: number }): number {
  const lineStart = offset - (pos.col - 1);
  return [...text.slice(lineStart, offset)].length + 1;
}

function firstAliasOffset(doc: Document): number | undefined {
  let found: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      found = node.range?.[0];
      return visit.BREAK;
    },
  });
  return found;
}

interface Located {
  readonly key?: Node | undefined;
  readonly value: Node | null | undefined;
}

/** The deepest node along `path` that exists, with the key node it hangs from. */
function walk(doc: Document, path: YamlPath): { found: Located; complete: boolean } {
  let current: Located = { value: doc.contents as Node | null };
  for (const step of path) {
    let node = current.value;
    if (isAlias(node)) node = node.resolve(doc) ?? null;
    let next: Located | undefined;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && String(isScalar(p.key) ? p.key.value : p.key) === String(step),
      );
      if (pair) next = { key: pair.key as Node, value: (pair.value as Node | null) ?? null };
    } else if (isSeq(node) && typeof step === "number") {
      const item = node.items[step];
      if (item !== undefined) next = { value: item as Node };
    }
    if (!next) return { found: current, complete: false };
    current = next;
  }
  return { found: current, complete: true };
}

function offsetOf(doc: Document, path: YamlPath): number {
  const { found } = walk(doc, path);
  return found.value?.range?.[0] ?? found.key?.range?.[0] ?? 0;
}

function keyOffsetOf(doc: Document, path: YamlPath): number {
  const { found, complete } = walk(doc, path);
  if (complete && found.key?.range) return found.key.range[0];
  return found.value?.range?.[0] ?? 0;
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

function dedupe(problems: readonly ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = formatProblem(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
