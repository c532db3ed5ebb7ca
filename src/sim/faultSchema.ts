import { z } from "zod";
import { IMPORTED_MODEL_ARN_PATTERN, parseDurationMs } from "../config/formats.js";
import type { FaultKind, FaultSpec, SimOperation } from "./faults.js";
import { duration, instant, is, wholeNumber } from "./schemaFields.js";

/** The `faults` section of a simulator config, and its entries as the `FaultSpec`s they script. */

const FAULT_KINDS = [
  "throttling",
  "serviceUnavailable",
  "slow",
  "dropConnection",
  "accessDenied",
  "expiredToken",
  "cloudwatchThrottling",
  "metricsLate",
  "metricsMissing",
  "slowRestore",
  "evictAfter",
  "evict",
  "billingWindow",
  "priceChange",
] as const satisfies readonly FaultKind[];

const OPERATIONS = [
  "InvokeModel",
  "GetImportedModel",
  "GetMetricData",
  "ListMetrics",
  "PutMetricData",
  "ListImportedModels",
  "GetCostAndUsage",
] as const satisfies readonly SimOperation[];

/** What each kind needs besides its scope. */
const FAULT_NEEDS: Partial<
  Record<FaultKind, "delay" | "restore" | "at" | "window" | "usdPerCmuMinute">
> = {
  slow: "delay",
  metricsLate: "delay",
  slowRestore: "restore",
  evictAfter: "delay",
  evict: "at",
  billingWindow: "window",
  priceChange: "usdPerCmuMinute",
};

export const faultSchema = z
  .strictObject({
    kind: z.enum(FAULT_KINDS),
    modelArn: z
      .string()
      .regex(IMPORTED_MODEL_ARN_PATTERN, {
        error: (iss) =>
          `${is(iss.input)}; allowed: arn:aws:bedrock:<region>:<12 digits>:imported-model/<12 of [a-z0-9]>`,
      })
      .optional(),
    from: instant.optional(),
    until: instant.optional(),
    at: instant.optional(),
    delay: duration("slow, metricsLate: how late; evictAfter: idle time before the unload.", 0),
    restore: duration("slowRestore: how long the restore takes.", 0),
    window: duration(
      "billingWindow: the billing window Cost Explorer bills copy runs starting in range in.",
      0,
    ),
    usdPerCmuMinute: z
      .number()
      .refine((n) => Number.isFinite(n) && n >= 0, {
        error: (iss) => `${is(iss.input)}; allowed: a price in US dollars, 0 or more`,
      })
      .optional()
      .meta({
        description: "priceChange: the price per CMU-minute of billing windows starting in range.",
      }),
    times: wholeNumber(1, 1_000_000, "Hits only this many calls."),
    operations: z.array(z.enum(OPERATIONS)).min(1).optional(),
  })
  .superRefine((f, ctx) => {
    const need = FAULT_NEEDS[f.kind];
    if (need && f[need] === undefined) {
      ctx.addIssue({
        code: "custom",
        path: [need],
        message: `is missing; ${/^[aeiou]/.test(f.kind) ? "an" : "a"} ${f.kind} fault needs ${need}`,
      });
    }
    if (f.kind === "billingWindow" && f.window !== undefined && parseDurationMs(f.window) === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["window"],
        message: `is ${f.window}; allowed: a duration above 0s (the billing window, e.g. 10m)`,
      });
    }
    if (f.kind === "evictAfter" && f.delay !== undefined && parseDurationMs(f.delay) === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["delay"],
        message: `is ${f.delay}; allowed: a duration above 0s (the idle time before the unload)`,
      });
    }
    if (
      f.from !== undefined &&
      f.until !== undefined &&
      Date.parse(f.until) <= Date.parse(f.from)
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["until"],
        message: `is ${f.until}; allowed: after from (${f.from})`,
      });
    }
  });

type RawFault = z.output<typeof faultSchema>;

export function toFaultSpec(f: RawFault): FaultSpec {
  const ms = (d: string | undefined) => (d === undefined ? 0 : (parseDurationMs(d) as number));
  const scope = {
    ...(f.modelArn !== undefined ? { modelArn: f.modelArn } : {}),
    ...(f.from !== undefined ? { from: Date.parse(f.from) } : {}),
    ...(f.until !== undefined ? { until: Date.parse(f.until) } : {}),
  };
  const request = {
    ...scope,
    ...(f.times !== undefined ? { times: f.times } : {}),
    ...(f.operations !== undefined ? { operations: f.operations } : {}),
  };
  switch (f.kind) {
    case "slow":
      return { kind: f.kind, delayMs: ms(f.delay), ...request };
    case "metricsLate":
      return { kind: f.kind, delayMs: ms(f.delay), ...scope };
    case "metricsMissing":
      return { kind: f.kind, ...scope };
    case "slowRestore":
      return { kind: f.kind, restoreMs: ms(f.restore), ...scope };
    case "evictAfter":
      return { kind: f.kind, delayMs: ms(f.delay), ...scope };
    case "billingWindow":
      return { kind: f.kind, windowMs: ms(f.window), ...scope };
    case "priceChange":
      return { kind: f.kind, usdPerCmuMinute: f.usdPerCmuMinute as number, ...scope };
    case "evict":
      return {
        kind: f.kind,
        at: Date.parse(f.at as string),
        ...(f.modelArn !== undefined ? { modelArn: f.modelArn } : {}),
      };
    default:
      return { kind: f.kind, ...request };
  }
}
