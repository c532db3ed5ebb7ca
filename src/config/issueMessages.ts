import type { z } from "zod";
import { suggestClosest } from "./suggest.js";

/**
 * The wording of schema and YAML problems: what is wrong, then what is allowed, in the
 * terms of the file rather than of zod.
 */

/** A short description of a YAML value for messages: `"15m"`, `4`, `a list`, `empty`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "empty";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

/** The fields of a zod issue the wording reads, whichever kind of issue it is. */
export interface RawIssue {
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
export function describeIssue(iss: RawIssue): string {
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

export function describeUnknownKey(key: string, allowed: readonly string[]): string {
  const hint = suggestClosest(key, allowed);
  if (hint) return `unknown key "${key}"; did you mean "${hint}"?`;
  if (allowed.length === 0) return `unknown key "${key}"`;
  return `unknown key "${key}"; allowed keys: ${allowed.join(", ")}`;
}

export function describeKeys(schema: z.ZodType): string {
  const shape = (schema as { _zod?: { def?: { shape?: object } } })._zod?.def?.shape;
  return shape ? ` with the keys ${Object.keys(shape).join(", ")}` : "";
}

/** yaml's first message line, without the position it repeats and the code frame below it. */
export function describeYamlError(message: string): string {
  const first = (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "");
  return `YAML syntax error: ${first}; the file must be valid YAML 1.2`;
}
