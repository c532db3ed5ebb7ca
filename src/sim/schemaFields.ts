import { z } from "zod";
import { DATE_TIME_PATTERN, DURATION_PATTERN } from "../config/formats.js";
import { describeValue } from "../config/issueMessages.js";

/** Field schemas the simulator's settings, models and faults share, worded like keepwarm.yaml's. */

/** `is "15m"`: how a message names the value it refuses. */
export const is = (input: unknown): string => `is ${describeValue(input)}`;

export function duration(description: string, fallbackMs: number) {
  return z
    .string()
    .regex(DURATION_PATTERN, {
      error: (iss) => `${is(iss.input)}; allowed: a duration such as 0s, 90s, 15m or 1h`,
    })
    .optional()
    .meta({ description: `${description} Default ${fallbackMs / 1000}s.` });
}

export function wholeNumber(min: number, max: number, description: string) {
  return z
    .number()
    .refine((n) => Number.isInteger(n) && n >= min && n <= max, {
      error: (iss) => `${is(iss.input)}; allowed: a whole number from ${min} to ${max}`,
    })
    .optional()
    .meta({ description });
}

export const instant = z
  .string()
  .regex(DATE_TIME_PATTERN, {
    error: (iss) => `${is(iss.input)}; allowed: ISO 8601 with an offset, e.g. 2026-12-01T08:00:00Z`,
  })
  .refine((s) => !Number.isNaN(Date.parse(s)) && /(Z|[+-]\d{2}:?\d{2})$/.test(s), {
    error: (iss) => `${is(iss.input)}; allowed: ISO 8601 with an offset, e.g. 2026-12-01T08:00:00Z`,
  });
