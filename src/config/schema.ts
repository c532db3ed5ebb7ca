import { z } from "zod";
import { formatDuration } from "../domain/format.js";
import { MINUTE_MS } from "../domain/units.js";
import {
  CLOCK_FROM_PATTERN,
  CLOCK_TO_PATTERN,
  DATE_TIME_PATTERN,
  DAY_ITEM_PATTERN,
  DAYS_PATTERN,
  DURATION_PATTERN,
  HOLIDAY_PATTERN,
  IMPORTED_MODEL_ARN_PATTERN,
  isValidDate,
  isValidZone,
  knownZones,
  NAME_PATTERN,
  parseDateTime,
  parseDurationMs,
  REGION_PATTERN,
} from "./formats.js";
import { describeMissingPrice, resolvePrice } from "./pricing.js";
import { describeValue, suggestClosest } from "./yamlSchema.js";

/**
 * The one schema of keepwarm.yaml: its raw types, its validation and messages, and (through
 * `z.toJSONSchema`) the published JSON Schema. Cross-field rules sit in `checkReferences` at
 * the root so they report at the offending node like any other problem.
 *
 * Refinements never `abort` and integers are checked by refinement rather than `z.int()`:
 * either would mark the parse as aborted and silence the cross-field checks, and the file's
 * every problem must be reported at once.
 */

export const BUILT_IN_POLICY_NAMES = ["always-on", "business-hours", "off"] as const;

/** `auto`: learned per model from measured evictions and restores (domain/timings.ts). */
export const AUTO = "auto";
export const DEFAULT_CADENCE = AUTO;
export const DEFAULT_LEAD_TIME = AUTO;
export const DEFAULT_EVICTION_DELAY = AUTO;
export const DEFAULT_WARMUP_TIMEOUT = "10m";
export const DEFAULT_TIMEZONE = "UTC";
export const DEFAULT_HTTP_HOST = "127.0.0.1";
export const DEFAULT_HTTP_PORT = 9464;
/** Two g6e.2xlarge reserved instances, the self-hosted alternative (bedrock-facts.md §2). */
export const DEFAULT_SELF_HOSTING_USD_PER_MONTH = 2062.26;
export const DEFAULT_METRIC = {
  namespace: "AWS/Bedrock",
  name: "ModelCopy",
  dimension: "ModelId",
} as const;
/** The cheapest ping an OpenAI-chat-compatible import answers: one generated token. */
export const DEFAULT_REQUEST: Readonly<Record<string, unknown>> = {
  messages: [{ role: "user", content: "ping" }],
  max_tokens: 1,
};
/** Parameters that cap the generated tokens; a body without one may get a full-length answer. */
export const TOKEN_CAP_KEYS = ["max_tokens", "max_gen_len"] as const;

const ARN_SHAPE = "arn:aws:bedrock:<region>:<12 digits>:imported-model/<12 of [a-z0-9]>";

const is = (input: unknown): string => `is ${describeValue(input)}`;

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
function duration(bounds: DurationBounds, description: string, options: { auto?: boolean } = {}) {
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

function wholeNumber(min: number, max: number, description: string) {
  return z
    .number()
    .refine((n) => Number.isInteger(n) && n >= min && n <= max, {
      error: (iss) => `${is(iss.input)}; allowed: a whole number from ${min} to ${max}`,
    })
    .meta({ type: "integer", minimum: min, maximum: max, description });
}

function money(description: string, positive: boolean) {
  return z
    .number()
    .refine((n) => Number.isFinite(n) && (positive ? n > 0 : n >= 0), {
      error: (iss) =>
        `${is(iss.input)}; allowed: a number of US dollars ${positive ? "more than 0" : "of 0 or more"}`,
    })
    .meta({ description });
}

const name = (what: string) =>
  z.string().regex(NAME_PATTERN, {
    error: (iss) =>
      `${is(iss.input)}; allowed: a ${what} of letters, digits, ".", "_" and "-", starting with a letter or digit`,
  });

const zone = z
  .string()
  .refine(isValidZone, {
    error: (iss) => {
      const hint =
        typeof iss.input === "string" ? suggestClosest(iss.input, knownZones()) : undefined;
      return `${is(iss.input)}, not a known time zone; ${hint ? `did you mean "${hint}"? ` : ""}allowed: an IANA zone name such as Europe/Berlin, America/New_York or UTC`;
    },
  })
  .meta({ description: "An IANA time zone name, e.g. Asia/Shanghai.", examples: ["UTC"] });

const daysMessage = (input: unknown) =>
  `${is(input)}; allowed: daily, weekdays, weekends, a day (mon, tue, wed, thu, fri, sat, sun), a range (mon-fri, fri-mon) or a list of these`;

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

const policy = z
  .strictObject({
    timezone: zone.optional().meta({
      description: "IANA zone of the windows and holidays; default: the top-level timezone.",
    }),
    windows: z.array(windowRule).min(1).meta({
      description: "When the model should be warm. Overlapping or touching windows merge.",
    }),
    holidays: z.array(holiday).optional().meta({
      description:
        "Local dates on which no window of the policy starts; a window begun the day before runs to its end.",
    }),
  })
  .meta({ description: "A named schedule of warm windows." });

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

const override = z
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

const model = z
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
    cadence: cadence.optional(),
    leadTime: leadTime.optional(),
    evictionDelay: evictionDelay.optional(),
    warmupTimeout: warmupTimeout.optional(),
    request: request.optional(),
    metric: metric.optional(),
  })
  .meta({ description: "An imported model to keep warm." });

const price = z.strictObject({
  usdPerCmuMinute: money("Compute price, US dollars per CMU per minute.", true).optional(),
  storageUsdPerCmuMonth: money("Storage price, US dollars per CMU per month.", false).optional(),
});

const pricing = z
  .strictObject({
    usdPerCmuMinute: money(
      "Compute price for every region, US dollars per CMU per minute; overrides the built-in table.",
      true,
    ).optional(),
    storageUsdPerCmuMonth: money(
      "Storage price for every region, US dollars per CMU per month; overrides the built-in table.",
      false,
    ).optional(),
    regions: z
      .record(
        z.string().regex(REGION_PATTERN, {
          error: (iss) => `${is(iss.input)}; allowed: an AWS region name such as us-east-1`,
        }),
        price.meta({ description: "Prices of one region; override the global ones." }),
      )
      .optional()
      .meta({ description: "Prices per region, e.g. ap-northeast-1: {usdPerCmuMinute: 0.07}." }),
  })
  .meta({
    description:
      "Prices: a region's own entry, else the global figure, else the built-in dated table.",
  });

const daemon = z
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
  })
  .meta({ description: "Settings of the long-running daemon." });

const budgets = z
  .strictObject({
    fleet: money(
      "Monthly budget of all models together, US dollars per UTC calendar month; held against the sum of their projections.",
      true,
    ).optional(),
    models: z
      .record(
        name("model name"),
        money("Monthly budget of the model, US dollars per UTC calendar month.", true),
      )
      .optional()
      .meta({ description: "Budgets per model, by model name, e.g. mimo-vl: 3000." }),
  })
  .meta({
    description:
      "Monthly budgets in USD (UTC calendar months, as AWS bills): a projection at 80% and at 100% of one is logged as event budget.",
  });

const defaults = z
  .strictObject({
    cadence: cadence.default(DEFAULT_CADENCE),
    leadTime: leadTime.default(DEFAULT_LEAD_TIME),
    evictionDelay: evictionDelay.default(DEFAULT_EVICTION_DELAY),
    warmupTimeout: warmupTimeout.default(DEFAULT_WARMUP_TIMEOUT),
  })
  .meta({ description: "Model settings that a model does not set itself." });

export const configSchema = z
  .strictObject({
    timezone: zone.default(DEFAULT_TIMEZONE).meta({
      description: "Zone of policies without their own, of overrides and daily summaries.",
    }),
    defaults: defaults.prefault({}),
    pricing: pricing.prefault({}),
    policies: z.record(name("policy name"), policy).default({}).meta({
      description:
        "Named schedules. always-on, business-hours (mon-fri 09:00-18:00) and off are built in; defining one of those names replaces it.",
    }),
    overrides: z
      .array(override)
      .default([])
      .meta({ description: "Temporary policy switches; a later entry wins where two overlap." }),
    models: z.array(model).min(1).meta({ description: "The imported models to keep warm." }),
    daemon: daemon.prefault({}),
    budgets: budgets.optional(),
  })
  .superRefine(checkReferences, { when: () => true })
  .meta({
    title: "keepwarm configuration",
    description:
      "Policies and models of keepwarm, the keep-alive daemon for Bedrock imported models.",
  });

/** The configuration as written, defaults of single fields applied. */
export type RawConfig = z.output<typeof configSchema>;
export type RawModel = RawConfig["models"][number];
export type RawPolicy = RawConfig["policies"][string];

/** The JSON Schema editors use to complete and check keepwarm.yaml. */
export function buildJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { target: "draft-7", io: "input" }) as Record<
    string,
    unknown
  >;
}

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

type IssueSink = z.core.$RefinementCtx<unknown>;

/**
 * Rules that join fields: policies and models that must exist, unique names, `until` after
 * `from`. The value may be partly invalid here (other problems are being reported at the same
 * time), so every field is checked for its type before use.
 */
function checkReferences(value: unknown, ctx: IssueSink): void {
  const root = asRecord(value);
  if (!root) return;
  const defined = asRecord(root.policies);
  const policyNames = [...new Set([...BUILT_IN_POLICY_NAMES, ...Object.keys(defined ?? {})])];
  const checkPolicy = (name: unknown, path: (string | number)[]) => {
    if (typeof name !== "string" || policyNames.includes(name)) return;
    const hint = suggestClosest(name, policyNames);
    ctx.addIssue({
      code: "custom",
      path,
      input: name,
      message: `unknown policy "${name}"; ${hint ? `did you mean "${hint}"? ` : ""}defined: ${policyNames.join(", ")}`,
    });
  };

  const models = Array.isArray(root.models) ? root.models : [];
  const firstIndex = new Map<string, number>();
  models.forEach((entry, i) => {
    const m = asRecord(entry);
    if (!m) return;
    checkPolicy(m.policy, ["models", i, "policy"]);
    if (typeof m.name !== "string") return;
    const first = firstIndex.get(m.name);
    if (first === undefined) firstIndex.set(m.name, i);
    else {
      ctx.addIssue({
        code: "custom",
        path: ["models", i, "name"],
        input: m.name,
        message: `"${m.name}" is already the name of models[${first}]; allowed: a name no other model has`,
      });
    }
  });
  const modelNames = [...firstIndex.keys()];

  // A region without a price is reported with the file's other problems, not after them.
  const pricing = (asRecord(root.pricing) ?? {}) as RawConfig["pricing"];
  models.forEach((entry, i) => {
    const arn = asRecord(entry)?.modelArn;
    const region = typeof arn === "string" ? IMPORTED_MODEL_ARN_PATTERN.exec(arn)?.[1] : undefined;
    if (region === undefined) return;
    const lookup = resolvePrice(region, pricing);
    if (!lookup.ok) {
      ctx.addIssue({
        code: "custom",
        path: ["models", i, "modelArn"],
        input: arn,
        message: describeMissingPrice(region, lookup.missing),
      });
    }
  });

  const budgetModels = asRecord(asRecord(root.budgets)?.models);
  for (const m of Object.keys(budgetModels ?? {})) {
    if (firstIndex.has(m)) continue;
    const hint = suggestClosest(m, modelNames);
    // An issue on the key, so that it is reported at the key's line:col, not its value's.
    ctx.addIssue({
      code: "invalid_key",
      origin: "record",
      issues: [],
      path: ["budgets", "models", m],
      input: m,
      message: `unknown model "${m}"; ${hint ? `did you mean "${hint}"? ` : ""}defined: ${modelNames.join(", ") || "none"}`,
    });
  }

  const zoneName =
    typeof root.timezone === "string" && isValidZone(root.timezone)
      ? root.timezone
      : DEFAULT_TIMEZONE;
  const overrides = Array.isArray(root.overrides) ? root.overrides : [];
  overrides.forEach((entry, i) => {
    const o = asRecord(entry);
    if (!o) return;
    checkPolicy(o.policy, ["overrides", i, "policy"]);
    if (Array.isArray(o.models)) {
      o.models.forEach((m, k) => {
        if (typeof m !== "string" || firstIndex.has(m)) return;
        const hint = suggestClosest(m, modelNames);
        ctx.addIssue({
          code: "custom",
          path: ["overrides", i, "models", k],
          input: m,
          message: `unknown model "${m}"; ${hint ? `did you mean "${hint}"? ` : ""}defined: ${modelNames.join(", ") || "none"}`,
        });
      });
    }
    if (typeof o.from !== "string" || typeof o.until !== "string") return;
    const from = parseDateTime(o.from, zoneName);
    const until = parseDateTime(o.until, zoneName);
    if (from.ok && until.ok && until.instant <= from.instant) {
      ctx.addIssue({
        code: "custom",
        path: ["overrides", i, "until"],
        input: o.until,
        message: `${is(o.until)}, not after from (${o.from}); allowed: a time later than from`,
      });
    }
  });
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
