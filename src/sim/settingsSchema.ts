import { z } from "zod";
import { cmuVersion } from "../config/costSchema.js";
import { IMPORTED_MODEL_ARN_PATTERN, parseDurationMs } from "../config/formats.js";
import { duration, is, wholeNumber } from "./schemaFields.js";
import { COLD_CALL_METRICS, DEFAULT_SIM_SETTINGS, EVICTION_RULES } from "./settings.js";
import { trafficSchema } from "./trafficSchema.js";

/** The `settings` and `models` sections of a simulator config, durations as written. */

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
export function jitterProblem(restoreMs: number, jitterMs: number, note = ""): string | undefined {
  if (jitterMs <= restoreMs) return undefined;
  return `restoreJitter ${jitterMs / 1000}s is longer than restore ${restoreMs / 1000}s${note}; allowed: a jitter of at most restore`;
}

/** Points a jitter problem at the jitter if it is set here, else at the restore. */
export function jitterField(s: {
  restoreJitter?: string | undefined;
}): "restore" | "restoreJitter" {
  return s.restoreJitter === undefined ? "restore" : "restoreJitter";
}

/** Why an idle spell cannot take this jitter, if it cannot: it would reach 0. */
export function evictionJitterProblem(
  delayMs: number,
  jitterMs: number,
  note = "",
): string | undefined {
  if (jitterMs < delayMs) return undefined;
  return `evictionJitter ${jitterMs / 1000}s is not shorter than evictionDelay ${delayMs / 1000}s${note}; allowed: a jitter shorter than evictionDelay`;
}

export function evictionJitterField(s: {
  evictionJitter?: string | undefined;
}): "evictionDelay" | "evictionJitter" {
  return s.evictionJitter === undefined ? "evictionDelay" : "evictionJitter";
}

export const settingsSchema = z
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
      .meta({
        description:
          "Price of one CMU-minute of a model whose region and CMU version the built-in price table lacks; the others are billed at the table's price.",
      }),
    seed: wholeNumber(0, 2 ** 31 - 1, "Seeds the restore jitter."),
    coldCallMetric: z
      .enum(COLD_CALL_METRICS, {
        error: (iss) => `${is(iss.input)}; allowed: ${COLD_CALL_METRICS.join(" or ")}`,
      })
      .optional()
      .meta({
        description: `The CloudWatch metric a call that meets a restoring model (ModelNotReadyException) is counted in; AWS does not say. Default ${d.coldCallMetric}.`,
      }),
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

export const modelSchema = z.strictObject({
  modelArn: z.string().regex(IMPORTED_MODEL_ARN_PATTERN, {
    error: (iss) =>
      `${is(iss.input)}; allowed: arn:aws:bedrock:<region>:<12 digits>:imported-model/<12 of [a-z0-9]>`,
  }),
  customModelUnits: z.number().refine((n) => Number.isInteger(n) && n >= 1 && n <= 1000, {
    error: (iss) => `${is(iss.input)}; allowed: a whole number from 1 to 1000`,
  }),
  cmuVersion: cmuVersion().optional().meta({
    description:
      'The CMU version GetImportedModel reports as customModelUnitsVersion; default "v1.0".',
  }),
  architecture: z.string().min(1).optional(),
  instructSupported: z.boolean().optional(),
  name: z.string().min(1).optional(),
  settings: modelSettingsSchema.optional(),
  traffic: trafficSchema.optional(),
});
