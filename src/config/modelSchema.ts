import { z } from "zod";
import { MINUTE_MS } from "../domain/units.js";
import { cmuVersion } from "./costSchema.js";
import {
  DEFAULT_CADENCE,
  DEFAULT_EVICTION_DELAY,
  DEFAULT_LEAD_TIME,
  DEFAULT_METRIC,
  DEFAULT_WARMUP_TIMEOUT,
  TOKEN_CAP_KEYS,
} from "./defaults.js";
import { IMPORTED_MODEL_ARN_PATTERN, REGION_PATTERN } from "./formats.js";
import { duration, is, name, wholeNumber } from "./schemaFields.js";
import { suggestClosest } from "./suggest.js";

/**
 * The `models` section and the `defaults` a model falls back on: which imported model, how
 * it is pinged, and the timings of its keep-alive.
 */

const ARN_SHAPE = "arn:aws:bedrock:<region>:<12 digits>:imported-model/<12 of [a-z0-9]>";

const cadence = duration(
  { min: 0, minInclusive: false, max: 15 * MINUTE_MS, maxInclusive: false },
  "Keep-alive interval inside a window. `auto` pings before the shortest eviction measured on the model runs out, at most every 14m; a fixed value is obeyed.",
  { auto: true },
);
const leadTime = duration(
  { min: 0, minInclusive: true, max: 30 * MINUTE_MS, maxInclusive: true },
  "How long before a window opens the first ping goes out, so a cold start is over by opening time. `auto` is the longest restore measured plus a margin.",
  { auto: true },
);
const evictionDelay = duration(
  { min: 1000, minInclusive: true, max: 24 * 60 * MINUTE_MS, maxInclusive: true },
  "Idle time after the last successful call before Bedrock releases the copy: it places the closing ping, bridges windows closer than it, and bills the warm tail. `auto` is the shortest eviction measured on the model.",
  { auto: true },
);
const warmupTimeout = duration(
  { min: 1000, minInclusive: true, max: 60 * MINUTE_MS, maxInclusive: true },
  "How long a cold start (ModelNotReadyException) is ridden out before the ping is given up.",
);

const request = z
  .record(z.string(), z.unknown())
  .superRefine((body, ctx) => {
    const present = TOKEN_CAP_KEYS.filter((k) => k in body);
    if (present.length === 0) {
      const near = Object.keys(body).find((k) => suggestClosest(k, TOKEN_CAP_KEYS));
      const hint = near ? ` (${near} is not one)` : "";
      ctx.addIssue({
        code: "custom",
        message: `has no token cap${hint}; allowed: a body with max_tokens: 1 (OpenAI chat or completion) or max_gen_len: 1 (Llama, Bedrock completion), since an unknown parameter is ignored and the model would answer at full length`,
      });
    }
    for (const key of present) {
      const cap = body[key];
      if (typeof cap !== "number" || !Number.isInteger(cap) || cap < 1) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `${is(cap)}; allowed: a whole number of at least 1 (1 is enough to keep a model warm)`,
        });
      }
    }
  })
  .meta({
    description:
      "The keep-alive InvokeModel body, sent as JSON. Must cap the answer with max_tokens or max_gen_len. Default: {messages: [{role: user, content: ping}], max_tokens: 1}.",
  });

const metric = z
  .strictObject({
    namespace: z
      .string()
      .min(1)
      .default(DEFAULT_METRIC.namespace)
      .meta({ description: "CloudWatch namespace of the copy-count metric." }),
    name: z
      .string()
      .min(1)
      .default(DEFAULT_METRIC.name)
      .meta({ description: "Metric giving the number of running copies." }),
    dimension: z
      .string()
      .min(1)
      .default(DEFAULT_METRIC.dimension)
      .meta({ description: "Name of the dimension that identifies the model." }),
    dimensionValue: z
      .string()
      .min(1)
      .optional()
      .meta({ description: "Value of that dimension; default: the model ARN." }),
  })
  .meta({
    description:
      "Where the ModelCopy metric of the model is read; `keepwarm discover` finds the real one with ListMetrics.",
  });

function describeArnProblem(arn: string): string | undefined {
  if (IMPORTED_MODEL_ARN_PATTERN.test(arn)) return undefined;
  const parts = arn.split(":");
  if (parts[0] !== "arn" || parts.length < 6) return `${is(arn)}, not an ARN`;
  const [, partition, service, region = "", account = ""] = parts;
  const resource = parts.slice(5).join(":");
  const type = resource.split("/")[0] ?? "";
  if (service !== "bedrock") return `${is(arn)}, an ARN of service "${service}", not bedrock`;
  if (type === "foundation-model") {
    return `${is(arn)}, a foundation-model ARN; keepwarm warms imported models, foundation models are always served`;
  }
  if (type !== "imported-model")
    return `${is(arn)}, a bedrock ${type || "resource"} ARN, not an imported model`;
  if (partition !== "aws") return `${is(arn)}, partition "${partition}" instead of aws`;
  if (!REGION_PATTERN.test(region))
    return `${is(arn)}, with region "${region}" instead of one like us-east-1`;
  if (!/^\d{12}$/.test(account))
    return `${is(arn)}, with account "${account}" instead of 12 digits`;
  return `${is(arn)}, with model id "${resource.slice(type.length + 1)}" instead of 12 of [a-z0-9]`;
}

const modelArn = z
  .string()
  .superRefine((arn, ctx) => {
    const wrong = describeArnProblem(arn);
    if (wrong) ctx.addIssue({ code: "custom", message: `${wrong}; allowed: ${ARN_SHAPE}` });
  })
  .meta({
    pattern: IMPORTED_MODEL_ARN_PATTERN.source,
    description: `The imported model's ARN, ${ARN_SHAPE}; the region comes from it.`,
  });

export const modelSchema = z
  .strictObject({
    name: name("model name").meta({
      description: "Unique name used in logs, metrics and overrides.",
    }),
    modelArn,
    policy: name("policy name").meta({ description: "Name of the policy the model follows." }),
    customModelUnits: wholeNumber(
      1,
      1000,
      "CMUs per model copy; read from GetImportedModel when omitted.",
    ).optional(),
    customModelUnitsVersion: cmuVersion().optional().meta({
      description:
        "CMU version of customModelUnits (GetImportedModel's customModelUnitsVersion: v2.0 for GPT-OSS), which selects the price; only next to customModelUnits, default v1.0. Without customModelUnits both are read from GetImportedModel.",
    }),
    cadence: cadence.optional(),
    leadTime: leadTime.optional(),
    evictionDelay: evictionDelay.optional(),
    warmupTimeout: warmupTimeout.optional(),
    request: request.optional(),
    metric: metric.optional(),
  })
  .meta({ description: "An imported model to keep warm." });

export const defaultsSchema = z
  .strictObject({
    cadence: cadence.default(DEFAULT_CADENCE),
    leadTime: leadTime.default(DEFAULT_LEAD_TIME),
    evictionDelay: evictionDelay.default(DEFAULT_EVICTION_DELAY),
    warmupTimeout: warmupTimeout.default(DEFAULT_WARMUP_TIMEOUT),
  })
  .meta({ description: "Model settings that a model does not set itself." });
