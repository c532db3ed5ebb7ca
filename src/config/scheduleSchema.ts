import { z } from "zod";
import {
  CLOCK_FROM_PATTERN,
  CLOCK_TO_PATTERN,
  DATE_TIME_PATTERN,
  DAY_ITEM_PATTERN,
  DAYS_PATTERN,
  HOLIDAY_PATTERN,
  isValidDate,
  parseDateTime,
} from "./formats.js";
import { is, name, zone } from "./schemaFields.js";

/** The `policies` and `overrides` sections: when models are warm, and temporary switches of it. */

const daysMessage = (input: unknown) => {
  const lower = typeof input === "string" ? input.toLowerCase() : undefined;
  if (lower !== undefined && lower !== input && DAYS_PATTERN.test(lower)) {
    return `${is(input)}; day names are lower case: ${lower}`;
  }
  return `${is(input)}; allowed: daily, weekdays, weekends, a day (mon, tue, wed, thu, fri, sat, sun), a range (mon-fri, fri-mon) or a list of these`;
};

const days = z
  .union(
    [
      z
        .string()
        .regex(DAYS_PATTERN, { error: (iss) => daysMessage(iss.input) })
        .meta({ description: "One item or several separated by commas, e.g. `mon-wed, fri`." }),
      z
        .array(z.string().regex(DAY_ITEM_PATTERN, { error: (iss) => daysMessage(iss.input) }))
        .min(1)
        .meta({ description: "A list of items, e.g. [mon, wed, fri-sun]." }),
    ],
    { error: (iss) => daysMessage(iss.input) },
  )
  .meta({
    description:
      "Days on which the window starts: daily, weekdays, weekends, a day (mon), a range (mon-fri; fri-mon wraps over the weekend), or a list of these.",
  });

const windowRule = z
  .strictObject({
    days: days,
    from: z
      .string()
      .regex(CLOCK_FROM_PATTERN, {
        error: (iss) => `${is(iss.input)}; allowed: "HH:MM" from 00:00 to 23:59, e.g. "09:00"`,
      })
      .meta({ description: 'When the window opens, local time "HH:MM" (00:00-23:59).' }),
    to: z
      .string()
      .regex(CLOCK_TO_PATTERN, {
        error: (iss) =>
          `${is(iss.input)}; allowed: "HH:MM" from 00:00 to 24:00, e.g. "18:00" (earlier than from: ends the next day)`,
      })
      .meta({
        description:
          'When the window closes, local time "HH:MM" (00:00-24:00). Not later than `from`: the window ends the next day.',
      }),
  })
  .meta({ description: "A recurring daily window." });

const holiday = z
  .string()
  .regex(HOLIDAY_PATTERN, {
    error: (iss) =>
      `${is(iss.input)}; allowed: a date 2026-12-25 or a range of dates 2027-02-16..2027-02-18`,
  })
  .superRefine((text, ctx) => {
    const m = HOLIDAY_PATTERN.exec(text);
    if (!m) return;
    const [, first = "", last = first] = m;
    const bad = [first, last].find((d) => !isValidDate(d));
    if (bad) {
      ctx.addIssue({
        code: "custom",
        message: `${is(text)}: ${bad} is not a date; allowed: real calendar dates`,
      });
    } else if (last < first) {
      ctx.addIssue({
        code: "custom",
        message: `${is(text)}, a range that ends before it starts; allowed: first..last with first not after last`,
      });
    }
  })
  .meta({ description: "A local date, or an inclusive range `first..last`." });

export const policySchema = z
  .strictObject({
    timezone: zone.optional().meta({
      description:
        "IANA zone of the windows and holidays; default: the zone of the policy it extends, else the top-level timezone.",
    }),
    windows: z.array(windowRule).min(1).optional().meta({
      description:
        "When the model should be warm. Overlapping or touching windows merge. Required unless the policy extends another.",
    }),
    extends: name("policy name").optional().meta({
      description:
        "A policy whose windows, zone and holidays this one takes, adding its own holidays: business-hours or a defined policy. A policy named business-hours that extends business-hours extends the built-in.",
    }),
    holidays: z.array(holiday).optional().meta({
      description:
        "Local dates on which no window of the policy starts; a window begun the day before runs to its end. With extends: added to those of the policy extended.",
    }),
  })
  .superRefine(
    (policy, ctx) => {
      if (typeof policy !== "object" || policy === null) return;
      const both = policy.windows !== undefined && policy.extends !== undefined;
      if (both || (policy.windows === undefined && policy.extends === undefined)) {
        ctx.addIssue({
          code: "custom",
          path: both ? ["extends"] : [],
          input: policy,
          message: both
            ? "is set together with windows; allowed: windows for a schedule of its own, or extends to add holidays to another policy's"
            : "has neither windows nor extends; allowed: windows, or extends with the policy whose windows it takes",
        });
      }
    },
    // Reported with the file's other problems, even when a window is malformed.
    { when: () => true },
  )
  .meta({
    description: "A named schedule of warm windows, or another policy's with more holidays.",
    oneOf: [{ required: ["windows"] }, { required: ["extends"] }],
  });

const dateTime = (field: string) =>
  z
    .string()
    .regex(DATE_TIME_PATTERN, {
      error: (iss) =>
        `${is(iss.input)}; allowed: a date-time such as 2026-12-01T08:00 (the config's zone) or 2026-12-01T08:00+08:00`,
    })
    .refine((text) => DATE_TIME_PATTERN.test(text) === false || parseDateTime(text, "UTC").ok, {
      error: (iss) =>
        `${is(iss.input)}, not a real date and time; allowed: a date-time such as 2026-12-01T08:00`,
    })
    .meta({
      description: `${field}: local time in the top-level timezone (yyyy-MM-ddTHH:mm), or ISO 8601 with an offset.`,
    });

export const overrideSchema = z
  .strictObject({
    models: z
      .array(name("model name"))
      .min(1)
      .meta({ description: "Names of the models that follow `policy` for the duration." }),
    policy: name("policy name").meta({ description: "The policy they follow meanwhile." }),
    from: dateTime("Start (inclusive)"),
    until: dateTime("End (exclusive); after `from`"),
  })
  .meta({ description: "A temporary switch of some models to another policy; reverts by itself." });
