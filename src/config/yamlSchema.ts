import { type Document, isMap, isScalar, LineCounter, parseDocument, type YAMLError } from "yaml";
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
  type ConfigPlace,
  type ConfigProblem,
  FILE_PATH,
  formatPath,
  formatPlace,
  formatProblem,
  RELATED_PLACE,
  sortProblems,
  type YamlPath,
} from "./problems.js";
import { columnCounter, decodeUtf8 } from "./utf8.js";
import { duplicateKeyOffsets, firstAliasOffset, keyOffsetOf, offsetOf } from "./yamlNodes.js";

/**
 * A file larger than this is refused before the parser sees it: 20,000 models of about 150
 * bytes each fit with room to spare, and parsing it takes seconds, not minutes
 * (docs/configuration.md has the measurements).
 */
export const MAX_YAML_BYTES = 4 * 1_048_576;

/** How many alias expansions a document may make; more looks like a "billion laughs" bomb. */
export const MAX_YAML_ALIASES = 100;

/**
 * How deep flow collections (`[ ]`, `{ }`) may nest. The parser's time and memory grow with
 * the depth: a megabyte of `[` alone takes it most of a minute and a gigabyte.
 */
export const MAX_YAML_DEPTH = 64;

export interface YamlLocation {
  readonly line: number;
  readonly column: number;
}

/** A YAML file read into plain data, with the means to find where each part of it was written. */
export interface YamlSource {
  readonly file: string;
  /** The top-level mapping as plain data. */
  readonly data: Record<string, unknown>;
  /** Where the node at `path` starts; the nearest existing ancestor when it does not exist. */
  locate(path: YamlPath): YamlLocation;
  /** Where the key of the entry at `path` starts; else as `locate`. */
  locateKey(path: YamlPath): YamlLocation;
}

/** Places a path into the data checked (one file's, or several merged) in the file that holds it. */
export interface YamlLocator {
  place(path: YamlPath): ConfigPlace;
  placeOfKey(path: YamlPath): ConfigPlace;
}

/** A document that passed its schema, with the means to report later problems at its nodes. */
export interface ParsedYaml<T> {
  readonly ok: true;
  readonly value: T;
  /** Where the node at `path` starts; the nearest existing ancestor when it does not exist. */
  locate(path: YamlPath): YamlLocation;
  /** The file, line, column and path (as written in that file) of the node at `path`. */
  place(path: YamlPath): ConfigPlace;
  problemAt(path: YamlPath, message: string): ConfigProblem;
  /** A problem at the key of the entry at `path` rather than at its value. */
  problemAtKey(path: YamlPath, message: string): ConfigProblem;
}

export type YamlProblems = { readonly ok: false; readonly problems: readonly ConfigProblem[] };

export type YamlParseResult<T> = ParsedYaml<T> | YamlProblems;

export type YamlReadResult = { readonly ok: true; readonly source: YamlSource } | YamlProblems;

export interface YamlSchemaOptions {
  /** Default {@link MAX_YAML_BYTES}. */
  readonly maxBytes?: number;
  /** Default {@link MAX_YAML_ALIASES}. */
  readonly maxAliasCount?: number;
}

const PARSE_OPTIONS = {
  schema: "core",
  version: "1.2",
  merge: false,
  // Repeated keys are found by `duplicateKeyOffsets` in one pass instead.
  uniqueKeys: false,
  prettyErrors: true,
} as const;

/** yaml's own words for a repeated key, so it reads like the parser's other errors. */
const DUPLICATE_KEY = "Map keys must be unique";

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
  const read = readYamlMapping(input, file, schema, opts);
  if (!read.ok) return read;
  return checkWithSchema(read.source.data, schema, locatorOf(read.source));
}

/**
 * Reads one YAML file whose top level must be a mapping (the keys of `schema`, for messages).
 * When the YAML does not parse, only its syntax problems are reported: one for each top-level
 * section that has one, since what follows a syntax error in a section cannot be read reliably.
 */
export function readYamlMapping(
  input: string | Uint8Array,
  file: string,
  schema: z.ZodType,
  opts: YamlSchemaOptions = {},
): YamlReadResult {
  const maxBytes = opts.maxBytes ?? MAX_YAML_BYTES;
  const fileProblem = (message: string, line = 1, column = 1): YamlProblems => ({
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

  const columnOf = columnCounter(text);
  const tooDeep = offsetTooDeep(text, MAX_YAML_DEPTH);
  if (tooDeep !== undefined) {
    // Not parsed, so the position is counted here rather than by the parser's line counter.
    const lineStart = text.lastIndexOf("\n", tooDeep - 1) + 1;
    const line = text.slice(0, lineStart).split("\n").length;
    return fileProblem(
      `brackets nested more than ${MAX_YAML_DEPTH} deep; at most ${MAX_YAML_DEPTH} levels of [ ] and { } allowed`,
      line,
      columnOf(tooDeep, { line, col: tooDeep - lineStart + 1 }),
    );
  }

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { ...PARSE_OPTIONS, lineCounter });
  const at = (offset: number): YamlLocation => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: columnOf(offset, pos) };
  };

  const errors = syntaxErrorOffsets(text, doc);
  if (errors.length === 0) {
    for (const offset of duplicateKeyOffsets(doc)) errors.push({ offset, message: DUPLICATE_KEY });
  }
  const syntax = errors.map(
    ({ offset, message }): ConfigProblem => ({
      file,
      ...at(offset),
      path: FILE_PATH,
      message: describeYamlError(message),
    }),
  );
  if (syntax.length > 0) return { ok: false, problems: sortProblems(syntax) };

  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null && root.range[0] === root.range[1])) {
    return fileProblem(`file is empty; expected a mapping${describeKeys(schema)}`);
  }

  let data: unknown;
  const maxAliasCount = opts.maxAliasCount ?? MAX_YAML_ALIASES;
  try {
    data = doc.toJS({ maxAliasCount });
  } catch (err) {
    if (err instanceof ReferenceError) {
      const where = at(firstAliasOffset(doc) ?? 0);
      return fileProblem(
        `aliases expand too much (${err.message}); at most ${maxAliasCount} alias expansions allowed`,
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

  return {
    ok: true,
    source: {
      file,
      data: data as Record<string, unknown>,
      locate: (path) => at(offsetOf(doc, path)),
      locateKey: (path) => at(keyOffsetOf(doc, path)),
    },
  };
}

/** The locator of a single file: paths are the file's own. */
export function locatorOf(source: YamlSource): YamlLocator {
  return {
    place: (path) => ({ file: source.file, ...source.locate(path), path: formatPath(path) }),
    placeOfKey: (path) => ({
      file: source.file,
      ...source.locateKey(path),
      path: formatPath(path),
    }),
  };
}

/** Checks data read from YAML against `schema`; every problem is placed through `locator`. */
export function checkWithSchema<T>(
  data: unknown,
  schema: z.ZodType<T>,
  locator: YamlLocator,
): YamlParseResult<T> {
  const problemAt = (path: YamlPath, message: string): ConfigProblem => ({
    ...locator.place(path),
    message,
  });
  const problemAtKey = (path: YamlPath, message: string): ConfigProblem => ({
    ...locator.placeOfKey(path),
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
  if (result.success) {
    return {
      ok: true,
      value: result.data,
      locate: (path) => {
        const { line, column } = locator.place(path);
        return { line, column };
      },
      place: locator.place,
      problemAt,
      problemAtKey,
    };
  }

  const problems: ConfigProblem[] = [];
  for (const issue of result.error.issues) {
    const related = (issue as { params?: { related?: YamlPath } }).params?.related;
    const message = related
      ? issue.message.replaceAll(RELATED_PLACE, formatPlace(locator.place(related)))
      : issue.message;
    if (issue.code === "unrecognized_keys") {
      const allowed =
        typeof issue.input === "object" && issue.input ? allowedKeys.get(issue.input) : undefined;
      for (const key of issue.keys) {
        problems.push(problemAtKey([...issue.path, key], describeUnknownKey(key, allowed ?? [])));
      }
    } else if (issue.code === "invalid_key") {
      problems.push(problemAtKey(issue.path, message));
    } else {
      problems.push(problemAt(issue.path, message));
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

export function describeBytes(n: number): string {
  return n % 1_048_576 === 0 ? `${n / 1_048_576} MiB` : `${Math.round(n / 1024)} KiB`;
}

/**
 * One syntax error per top-level section. The parser reports every token it cannot place
 * after the first error, often the whole rest of the file; a section parsed on its own
 * (its lines kept where they are) says whether it has a mistake of its own.
 */
function syntaxErrorOffsets(
  text: string,
  doc: Document,
): { readonly offset: number; readonly message: string }[] {
  const first = earliest([...doc.errors, ...doc.warnings]);
  if (!first) return [];
  const found = [{ offset: first.pos[0], message: first.message }];
  const sections = topLevelSections(text);
  const after = sections.findIndex((s) => s.start <= first.pos[0] && first.pos[0] < s.end);
  if (after < 0) return found;
  for (const section of sections.slice(after + 1)) {
    const padding = "\n".repeat(section.line);
    const alone = parseDocument(padding + text.slice(section.start, section.end), PARSE_OPTIONS);
    const error = earliest([...alone.errors, ...alone.warnings]);
    if (error) {
      found.push({
        offset: section.start + error.pos[0] - padding.length,
        message: error.message,
      });
    }
  }
  return found;
}

/**
 * Where a `[` or `{` first opens a level deeper than `max`, counting every bracket outside
 * comments: an upper bound of the flow nesting, as a bracket in a plain string counts too.
 */
function offsetTooDeep(text: string, max: number): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if (c === 0x5d || c === 0x7d) {
      if (depth > 0) depth--;
    } else if (c === 0x23 && (i === 0 || /\s/.test(text[i - 1] ?? ""))) {
      const end = text.indexOf("\n", i);
      if (end < 0) break;
      i = end;
    }
  }
  return undefined;
}

function earliest(errors: readonly YAMLError[]): YAMLError | undefined {
  return errors.reduce<YAMLError | undefined>(
    (a, b) => (a === undefined || b.pos[0] < a.pos[0] ? b : a),
    undefined,
  );
}

/**
 * The spans of text that begin at column 1 (a top-level key, list item or `---`), each with
 * its 0-based first line. Comments, blank lines and the closing brackets of a flow
 * collection belong to the section before them.
 */
function topLevelSections(
  text: string,
): { readonly start: number; readonly end: number; readonly line: number }[] {
  const starts: { start: number; line: number }[] = [{ start: 0, line: 0 }];
  let offset = 0;
  let line = 0;
  for (const content of text.split("\n")) {
    if (offset > 0 && /^[^\s#\]},]/.test(content)) starts.push({ start: offset, line });
    offset += content.length + 1;
    line++;
  }
  return starts.map((s, i) => ({ ...s, end: starts[i + 1]?.start ?? text.length }));
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
