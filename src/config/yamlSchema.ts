import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import {
  describeIssue,
  describeKeys,
  describeUnknownKey,
  describeValue,
  describeYamlError,
  type RawIssue,
} from "./issueMessages.js";
import {
  type ConfigProblem,
  FILE_PATH,
  formatPath,
  formatProblem,
  type YamlPath,
} from "./problems.js";
import { columnOf, decodeUtf8 } from "./utf8.js";
import { firstAliasOffset, keyOffsetOf, offsetOf } from "./yamlNodes.js";

/** A file larger than this is refused before the parser sees it. */
export const MAX_YAML_BYTES = 1_048_576;

/** How many alias expansions a document may make; more looks like a "billion laughs" bomb. */
export const MAX_YAML_ALIASES = 100;

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

function describeBytes(n: number): string {
  return n % 1_048_576 === 0 ? `${n / 1_048_576} MiB` : `${Math.round(n / 1024)} KiB`;
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
