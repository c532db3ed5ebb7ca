import { z } from "zod";
import {
  CLOCK_FROM_PATTERN,
  CLOCK_TO_PATTERN,
  DAYS_PATTERN,
  parseClockMinutes,
  parseDays,
} from "../config/formats.js";
import { zone } from "../config/schemaFields.js";
import { is, wholeNumber } from "./schemaFields.js";
import type { TrafficProfile } from "./trafficProfile.js";

/** A model's users in a simulator config (`models[].traffic`), as written. */

const number = (min: number, max: number, description: string) =>
  z
    .number()
    .refine((n) => Number.isFinite(n) && n >= min && n <= max, {
      error: (iss) => `${is(iss.input)}; allowed: a number from ${min} to ${max}`,
    })
    .meta({ description });

const rateSchema = z
  .strictObject({
    days: z
      .string()
      .regex(DAYS_PATTERN, {
        error: (iss) =>
          `${is(iss.input)}; allowed: daily, weekdays, weekends, a day (mon ... sun), a range (mon-fri) or a list of these`,
      })
      .meta({ description: "Days on which the window starts, as a policy's days: mon-fri, sat." }),
    from: z
      .string()
      .regex(CLOCK_FROM_PATTERN, {
        error: (iss) => `${is(iss.input)}; allowed: "HH:MM" from 00:00 to 23:59`,
      })
      .meta({ description: 'Local time the users start calling, "HH:MM".' }),
    to: z
      .string()
      .regex(CLOCK_TO_PATTERN, {
        error: (iss) =>
          `${is(iss.input)}; allowed: "HH:MM" from 00:00 to 24:00 (not after from: the next day)`,
      })
      .meta({ description: 'Local time they stop, "HH:MM"; not after from: the next day.' }),
    perHour: number(0, 100_000, "Calls per hour on average (a Poisson process)."),
  })
  .meta({ description: "Users calling at a steady average rate inside a daily window." });

export const trafficSchema = z
  .strictObject({
    timezone: zone.meta({ description: "IANA zone the users' days and times are read in." }),
    rates: z.array(rateSchema).default([]),
    strayPerWeek: number(0, 100_000, "Calls at random instants of the week. Default 0.").default(0),
    dayToDay: number(
      0,
      1,
      "Each day's rates are scaled by a factor drawn from 1 +- this. Default 0.",
    ).default(0),
    seed: wholeNumber(0, 2 ** 31 - 1, "Seeds the calls; default the simulator's seed."),
  })
  .meta({
    description:
      "The model's users: their calls go through InvokeModel as keepwarm's pings do (a cold model answers ModelNotReadyException) and are counted in the same CloudWatch metrics.",
  });

export type RawTraffic = z.infer<typeof trafficSchema>;

/** The schema has vouched for every format: the parsers cannot fail here. */
export function toTrafficProfile(raw: RawTraffic): TrafficProfile {
  return {
    timezone: raw.timezone,
    rates: raw.rates.map((r) => ({
      days: parseDays(r.days) ?? new Set(),
      fromMinute: parseClockMinutes(r.from) ?? 0,
      toMinute: parseClockMinutes(r.to) ?? 0,
      perHour: r.perHour,
    })),
    strayPerWeek: raw.strayPerWeek,
    dayToDay: raw.dayToDay,
    ...(raw.seed !== undefined ? { seed: raw.seed } : {}),
  };
}
