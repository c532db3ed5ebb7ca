import { readFile } from "node:fs/promises";
import { z } from "zod";
import {
  DATE_TIME_PATTERN,
  DURATION_PATTERN,
  IMPORTED_MODEL_ARN_PATTERN,
  parseDurationMs,
} from "../config/formats.js";
import {
  type ConfigProblem,
  checkSize,
  describeValue,
  FILE_PATH,
  parseYamlWithSchema,
} from "../config/yamlSchema.js";
import type { FaultKind, FaultSpec, SimOperation } from "./faults.js";
import {
  DEFAULT_SIM_SETTINGS,
  EVICTION_RULES,
  resolveSimSettings,
  type SimModelSettings,
  type SimModelSpec,
  type SimSettings,
  SimSettingsError,
} from "./settings.js";

const is = (input: unknown): string => `is ${describeValue(input)}`;

function duration(description: string, fallbackMs: number) {
  return z
    .string()
    .regex(DURATION_PATTERN, {
      error: (iss) => `${is(iss.input)}; allowed: a duration such as 0s, 90s, 15m or 1h`,
    })
    .optional()
    .meta({ description: `${description} Default ${fallbackMs / 1000}s.` });
}

function wholeNumber(min: number, max: number, description: string) {
  return z
    .number()
    .refine((n) => Number.isInteger(n) && n >= min && n <= max, {
      error: (iss) => `${is(iss.input)}; allowed: a whole number from ${min} to ${max}`,
    })
    .optional()
    .meta({ description });
}

const d = DEFAULT_SIM_SETTINGS;

/** What a model may set for itself; also part of the simulator-wide settings. */
const modelSettingsShape = {
  restore: duration("How long a cold model takes to restore.", d.restoreMs),
  restoreJitter: duration(
    "Each restore lasts restore plus or minus up to this.",
    d.restoreJitterMs,
  ),
  eviction: z
    .enum(EVICTION_RULES, {
      error: (iss) => `${is(iss.input)}; allowed: ${EVICTION_RULES.join(" or ")}`,
    })
    .optional()
    .meta({
      description: `Which rule unloads an idle copy. afterLastCall: evictionDelay after its last successful call. billingWindows: at the end of the billing window of its last call plus evictionIdleWindows more; a copy's windows start at its first successful call. Default ${d.evictionRule}.`,
    }),
  evictionDelay: duration(
    "afterLastCall: idle time after the last successful call before a copy is unloaded.",
    d.evictionDelayMs,
  ),
  evictionJitter: duration(
    "afterLastCall: each idle spell lasts evictionDelay plus or minus up to this, drawn afresh for each last call.",
    d.evictionJitterMs,
  ),
  evictionIdleWindows: wholeNumber(
    0,
    1000,
    `billingWindows: idle billing windows a copy is kept after the window of its last call. Default ${d.evictionIdleWindows}.`,
  ),
};

/** Why a restore cannot take this jitter, if it cannot: the jitter would make it negative. */
function jitterProblem(restoreMs: number, jitterMs: number, note = ""): string | undefined {
  if (jitterMs <= restoreMs) return undefined;
  return `restoreJitter ${jitterMs / 1000}s is longer than restore ${restoreMs / 1000}s${note}; allowed: a jitter of at most restore`;
}

/** Points a jitter problem at the jitter if it is set here, else at the restore. */
function jitterField(s: { restoreJitter?: string | undefined }): "restore" | "restoreJitter" {
  return s.restoreJitter === undefined ? "restore" : "restoreJitter";
}

/** Why an idle spell cannot take this jitter, if it cannot: it would reach 0. */
function evictionJitterProblem(delayMs: number, jitterMs: number, note = ""): string | undefined {
  if (jitterMs < delayMs) return undefined;
  return `evictionJitter ${jitterMs / 1000}s is not shorter than evictionDelay ${delayMs / 1000}s${note}; allowed: a jitter shorter than evictionDelay`;
}

function evictionJitterField(s: {
  evictionJitter?: string | undefined;
}): "evictionDelay" | "evictionJitter" {
  return s.evictionJitter === undefined ? "evictionDelay" : "evictionJitter";
}

const settingsSchema = z
  .strictObject({
    ...modelSettingsShape,
    billingWindow: duration(
      "Copies are billed in whole windows of this length.",
      d.billingWindowMs,
    ),
    publishDelay: duration(
      "How long after a minute ends its datapoint can be read.",
      d.publishDelayMs,
    ),
    invocation: duration("How long one call occupies a copy.", d.invocationMs),
    perCopyConcurrency: wholeNumber(
      1,
      1000,
      "Concurrent calls per copy before another copy is added.",
    ),
    maxCopies: wholeNumber(1, 100, "Copies per model (service quota)."),
    usdPerCmuMinute: z
      .number()
      .refine((n) => Number.isFinite(n) && n >= 0, {
        error: (iss) => `${is(iss.input)}; allowed: a price in US dollars, 0 or more`,
      })
      .optional()
      .meta({ description: "Price of one CMU-minute." }),
    seed: wholeNumber(0, 2 ** 31 - 1, "Seeds the restore jitter."),
  })
  .superRefine((s, ctx) => {
    const restore = s.restore === undefined ? d.restoreMs : parseDurationMs(s.restore);
    const jitter =
      s.restoreJitter === undefined ? d.restoreJitterMs : parseDurationMs(s.restoreJitter);
    const message =
      restore === undefined || jitter === undefined ? undefined : jitterProblem(restore, jitter);
    if (message) ctx.addIssue({ code: "custom", path: [jitterField(s)], message });
    const delay =
      s.evictionDelay === undefined ? d.evictionDelayMs : parseDurationMs(s.evictionDelay);
    const spread =
      s.evictionJitter === undefined ? d.evictionJitterMs : parseDurationMs(s.evictionJitter);
    const evictionMessage =
      delay === undefined || spread === undefined
        ? undefined
        : evictionJitterProblem(delay, spread);
    if (evictionMessage) {
      ctx.addIssue({ code: "custom", path: [evictionJitterField(s)], message: evictionMessage });
    }
  });

const modelSettingsSchema = z.strictObject(modelSettingsShape).meta({
  description: "This model's own restore and eviction, over the simulator-wide settings.",
});

const modelSchema = z.strictObject({
  modelArn: z.string().regex(IMPORTED_MODEL_ARN_PATTERN, {
    error: (iss) =>
      `${is(iss.input)}; allowed: arn:aws:bedrock:<region>:<12 digits>:imported-model/<12 of [a-z0-9]>`,
  }),
  customModelUnits: z.number().refine((n) => Number.isInteger(n) && n >= 1 && n <= 1000, {
    error: (iss) => `${is(iss.input)}; allowed: a whole number from 1 to 1000`,
  }),
  architecture: z.string().min(1).optional(),
  instructSupported: z.boolean().optional(),
  name: z.string().min(1).optional(),
  settings: modelSettingsSchema.optional(),
});

const instant = z
  .string()
  .regex(DATE_TIME_PATTERN, {
    error: (iss) => `${is(iss.input)}; allowed: ISO 8601 with an offset, e.g. 2026-12-01T08:00:00Z`,
  })
  .refine((s) => !Number.isNaN(Date.parse(s)) && /(Z|[+-]\d{2}:?\d{2})$/.test(s), {
    error: (iss) => `${is(iss.input)}; allowed: ISO 8601 with an offset, e.g. 2026-12-01T08:00:00Z`,
  });

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
] as const satisfies readonly FaultKind[];

const OPERATIONS = [
  "InvokeModel",
  "GetImportedModel",
  "GetMetricData",
  "ListMetrics",
  "PutMetricData",
] as const satisfies readonly SimOperation[];

/** What each kind needs besides its scope: `delay`, `restore` or `at`. */
const FAULT_NEEDS: Partial<Record<FaultKind, "delay" | "restore" | "at">> = {
  slow: "delay",
  metricsLate: "delay",
  slowRestore: "restore",
  evictAfter: "delay",
  evict: "at",
};

const faultSchema = z
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

function toFaultSpec(f: RawFault): FaultSpec {
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

export const simConfigSchema = z
  .strictObject({
    clock: z
      .strictObject({
        speed: z
          .number()
          .refine((n) => Number.isFinite(n) && n > 0, {
            error: (iss) => `${is(iss.input)}; allowed: a number above 0 (1 is real time)`,
          })
          .default(1),
        start: z
          .string()
          .regex(DATE_TIME_PATTERN, {
            error: (iss) =>
              `${is(iss.input)}; allowed: ISO 8601 with an offset, e.g. 2026-12-01T08:00:00Z`,
          })
          .refine((s) => !Number.isNaN(Date.parse(s)) && /(Z|[+-]\d{2}:?\d{2})$/.test(s), {
            error: (iss) =>
              `${is(iss.input)}; allowed: ISO 8601 with an offset, e.g. 2026-12-01T08:00:00Z`,
          })
          .optional(),
      })
      .prefault({}),
    settings: settingsSchema.prefault({}),
    models: z.array(modelSchema).default([]),
    faults: z.array(faultSchema).default([]),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.models.forEach((m, i) => {
      if (seen.has(m.modelArn)) {
        ctx.addIssue({
          code: "custom",
          path: ["models", i, "modelArn"],
          message: `${m.modelArn} is listed twice; allowed: each model once`,
        });
      }
      seen.add(m.modelArn);
    });
  });

/** A standalone simulator's configuration (`keepwarm sim --config FILE`). */
export interface SimConfig {
  readonly settings: SimSettings;
  readonly models: readonly SimModelSpec[];
  /** 1 is real time; 60 runs a simulated hour per real minute. */
  readonly speed: number;
  /** Where simulated time starts, epoch ms; undefined means now. */
  readonly start: number | undefined;
  /** Scripted from the start. */
  readonly faults: readonly FaultSpec[];
}

export type SimConfigResult =
  | { readonly ok: true; readonly config: SimConfig }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

const SETTING_FIELDS: Record<string, keyof SimSettings> = {
  restore: "restoreMs",
  restoreJitter: "restoreJitterMs",
  eviction: "evictionRule",
  evictionDelay: "evictionDelayMs",
  evictionJitter: "evictionJitterMs",
  billingWindow: "billingWindowMs",
  publishDelay: "publishDelayMs",
  invocation: "invocationMs",
};

export function parseSimConfigText(text: string | Uint8Array, file: string): SimConfigResult {
  const parsed = parseYamlWithSchema(text, file, simConfigSchema);
  if (!parsed.ok) return { ok: false, problems: parsed.problems };
  const raw = parsed.value;
  let settings: SimSettings;
  try {
    settings = resolveSimSettings(toSettings(raw.settings));
  } catch (err) {
    if (!(err instanceof SimSettingsError)) throw err;
    return { ok: false, problems: [parsed.problemAt(["settings"], err.message)] };
  }
  const problems: ConfigProblem[] = [];
  const models = raw.models.map((m, i): SimModelSpec => {
    const { settings: own, ...spec } = m;
    if (!own) return spec;
    const overrides = toSettings(own) as Partial<SimModelSettings>;
    const message = jitterProblem(
      overrides.restoreMs ?? settings.restoreMs,
      overrides.restoreJitterMs ?? settings.restoreJitterMs,
      own.restoreJitter === undefined ? " (restoreJitter from settings)" : "",
    );
    if (message)
      problems.push(parsed.problemAt(["models", i, "settings", jitterField(own)], message));
    const evictionMessage = evictionJitterProblem(
      overrides.evictionDelayMs ?? settings.evictionDelayMs,
      overrides.evictionJitterMs ?? settings.evictionJitterMs,
      own.evictionJitter === undefined ? " (evictionJitter from settings)" : "",
    );
    if (evictionMessage) {
      problems.push(
        parsed.problemAt(["models", i, "settings", evictionJitterField(own)], evictionMessage),
      );
    }
    return { ...spec, settings: overrides };
  });
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    config: {
      settings,
      models,
      speed: raw.clock.speed,
      start: raw.clock.start === undefined ? undefined : Date.parse(raw.clock.start),
      faults: raw.faults.map(toFaultSpec),
    },
  };
}

/** YAML settings (durations as written) -> SimSettings fields in milliseconds. */
function toSettings(raw: Record<string, unknown>): Partial<SimSettings> {
  const partial: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const field = SETTING_FIELDS[key];
    if (!field) partial[key] = value;
    else if (field === "evictionRule") partial[field] = value;
    else partial[field] = parseDurationMs(value as string);
  }
  return partial as Partial<SimSettings>;
}

export async function loadSimConfigFile(path: string): Promise<SimConfigResult> {
  const fail = (message: string): SimConfigResult => ({
    ok: false,
    problems: [{ file: path, line: 1, column: 1, path: FILE_PATH, message }],
  });
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    return fail(`cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const tooLarge = checkSize(bytes.byteLength, path);
  if (tooLarge) return { ok: false, problems: [tooLarge] };
  return parseSimConfigText(bytes, path);
}
