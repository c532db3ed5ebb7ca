import { z } from "zod";
import { COLD_CALL_METRIC_NAMES } from "../domain/types.js";
import { MINUTE_MS } from "../domain/units.js";
import {
  DEFAULT_HTTP_HOST,
  DEFAULT_HTTP_PORT,
  DEFAULT_SELF_HOSTING_USD_PER_MONTH,
} from "./defaults.js";
import { duration, is, money, wholeNumber } from "./schemaFields.js";

/** The `daemon` section: the listener, the spend log and the invoke rate of the long-running process. */

export const daemonSchema = z
  .strictObject({
    stateDir: z.string().min(1).optional().meta({
      description:
        "Directory for summaries.jsonl, used when neither KEEPWARM_STATE_DIR nor systemd's STATE_DIRECTORY is set; default ./.state.",
    }),
    http: z
      .strictObject({
        host: z
          .string()
          .min(1)
          .default(DEFAULT_HTTP_HOST)
          .meta({ description: "Address of the /healthz, /readyz and /metrics listener." }),
        port: wholeNumber(0, 65535, "Port of that listener; 0 picks a free one.").default(
          DEFAULT_HTTP_PORT,
        ),
      })
      .prefault({})
      .meta({ description: "The health and metrics HTTP listener." }),
    selfHostingUsdPerMonth: money(
      "Monthly cost of self-hosting the models; a projection above it adds a hint to the daily summary.",
      false,
    ).default(DEFAULT_SELF_HOSTING_USD_PER_MONTH),
    spendLog: z
      .strictObject({
        perModel: z
          .enum(["every-minute", "on-change"], {
            error: (iss) => `${is(iss.input)}; allowed: every-minute or on-change`,
          })
          .default("every-minute")
          .meta({
            description:
              "every-minute: a spend line per model every minute. on-change: for large fleets, one spend-total line every minute, and a model's spend line only when its state, copies or CMU change and every `refresh`.",
          }),
        refresh: duration(
          { min: MINUTE_MS, minInclusive: true, max: 24 * 60 * MINUTE_MS, maxInclusive: true },
          "With perModel: on-change, how often each model's spend line is logged even without a change.",
        ).default("15m"),
      })
      .prefault({})
      .meta({ description: "How much the minute's spend is logged." }),
    // Bedrock's quotas are per model and count tokens per minute; some regions start as low
    // as 20 requests a minute per model. Keep-alives of many models share this one rate.
    invokeRatePerSecond: z
      .number()
      .refine((n) => Number.isFinite(n) && n > 0 && n <= 1000, {
        error: (iss) =>
          `${is(iss.input)}; allowed: a number of requests per second above 0, at most 1000`,
      })
      .meta({
        description:
          "InvokeModel requests per second at most, across all models and retries (a token bucket).",
      })
      .default(5),
    invokeBurst: wholeNumber(
      1,
      1000,
      "InvokeModel requests that may go out at once before the rate applies; in any second at most rate + burst - 1 go out.",
    ).default(10),
    coldCallMetric: z
      .enum(COLD_CALL_METRIC_NAMES, {
        error: (iss) => `${is(iss.input)}; allowed: ${COLD_CALL_METRIC_NAMES.join(", ")}`,
      })
      .default("InvocationThrottles")
      .meta({
        description:
          "The AWS/Bedrock metric that counts calls which met a restoring model (ModelNotReadyException, HTTP 429); AWS does not document it. keepwarm suggest and the weekly demand line count them as users' demand, and each restore is checked against it (one another caller began first is not learned from); none: Invocations only, no check (docs/suggest.md).",
      }),
    reconcile: z
      .strictObject({
        enabled: z
          .boolean({ error: (iss) => `${is(iss.input)}; allowed: true or false` })
          .default(true)
          .meta({
            description:
              "Compare each final UTC day with AWS's bill (Cost Explorer GetCostAndUsage, $0.01 a request, a handful a day; needs ce:GetCostAndUsage). false: never ask.",
          }),
      })
      .prefault({})
      .meta({ description: "The daemon's daily reconciliation with AWS's bill." }),
  })
  .meta({ description: "Settings of the long-running daemon." });
