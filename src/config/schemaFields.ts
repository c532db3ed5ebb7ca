import { z } from "zod";
import { formatDuration } from "../domain/format.js";
import { AUTO } from "./defaults.js";
import { DURATION_PATTERN, NAME_PATTERN, parseDurationMs } from "./formats.js";
import { describeValue } from "./issueMessages.js";
import { describeZoneProblem, IANA_ZONE_PATTERN, isIanaZoneName } from "./zones.js";

/**
 * Field schemas several sections of keepwarm.yaml share, each with its own "what is wrong;
 * what is allowed" message, so a duration or a name is worded alike wherever it appears.
 */

/** `is "15m"`: how a message names the value it refuses. */
export const is = (input: unknown): string => `is ${describeValue(input)}`;

interface DurationBounds {
  readonly min: number;
  readonly minInclusive: boolean;
  readonly max: number;
  readonly maxInclusive: boolean;
}

function describeBounds(b: DurationBounds): string {
  const low = b.minInclusive ? formatDuration(b.min) : `more than ${formatDuration(b.min)}`;
  if (b.minInclusive && b.maxInclusive) return `${low} to ${formatDuration(b.max)}`;
  return `${low} and ${b.maxInclusive ? "at most" : "less than"} ${formatDuration(b.max)}`;
}

/** A duration within `bounds`; with `auto`, also the word `auto` (a timing keepwarm learns). */
export function duration(
  bounds: DurationBounds,
  description: string,
  options: { auto?: boolean } = {},
) {
  const auto = options.auto ?? false;
  const allowed = `${auto ? "auto, or " : ""}a duration such as 90s, 14m or 1h, ${describeBounds(bounds)}`;
  const pattern = auto
    ? new RegExp(`^(?:${AUTO}|${DURATION_PATTERN.source.slice(1, -1)})$`)
    : DURATION_PATTERN;
  return z
    .string({
      error: (iss) =>
        typeof iss.input === "number"
          ? `is ${iss.input}, a number without a unit; allowed: ${allowed}`
          : undefined,
    })
    .regex(pattern, { error: (iss) => `${is(iss.input)}; allowed: ${allowed}` })
    .refine(
      (text) => {
        const ms = parseDurationMs(text);
        if (ms === undefined) return true;
        const aboveMin = bounds.minInclusive ? ms >= bounds.min : ms > bounds.min;
        const belowMax = bounds.maxInclusive ? ms <= bounds.max : ms < bounds.max;
        return aboveMin && belowMax;
      },
      {
        error: (iss) =>
          `${is(iss.input)}; allowed: ${auto ? "auto, or " : ""}${describeBounds(bounds)}`,
      },
    )
    .meta({
      description: `${description} ${auto ? "`auto` (the default) or a" : "A"} duration such as 90s, 14m or 1h; ${describeBounds(bounds)}.`,
    });
}

export function wholeNumber(min: number, max: number, description: string) {
  return z
    .number()
    .refine((n) => Number.isInteger(n) && n >= min && n <= max, {
      error: (iss) => `${is(iss.input)}; allowed: a whole number from ${min} to ${max}`,
    })
    .meta({ type: "integer", minimum: min, maximum: max, description });
}

export function money(description: string, positive: boolean) {
  return z
    .number()
    .refine((n) => Number.isFinite(n) && (positive ? n > 0 : n >= 0), {
      error: (iss) =>
        `${is(iss.input)}; allowed: a number of US dollars ${positive ? "more than 0" : "of 0 or more"}`,
    })
    .meta({ description });
}

export const name = (what: string) =>
  z.string().regex(NAME_PATTERN, {
    error: (iss) =>
      `${is(iss.input)}; allowed: a ${what} of letters, digits, ".", "_" and "-", starting with a letter or digit`,
  });

/** An IANA zone name; an abbreviation such as `CST` is refused with the zones it may mean. */
export const zone = z
  .string()
  .refine(isIanaZoneName, { error: (iss) => describeZoneProblem(iss.input) })
  .meta({
    description: "An IANA time zone name (Region/City, UTC or Etc/...), e.g. Asia/Shanghai.",
    pattern: IANA_ZONE_PATTERN.source,
    examples: ["UTC"],
  });
