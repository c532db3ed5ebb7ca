import { readFile } from "node:fs/promises";
import { z } from "zod";
import { DATE_TIME_PATTERN, parseDurationMs } from "../config/formats.js";
import { type ConfigProblem, FILE_PATH } from "../config/problems.js";
import { checkSize, parseYamlWithSchema } from "../config/yamlSchema.js";
import { faultSchema, toFaultSpec } from "./faultSchema.js";
import type { FaultSpec } from "./faults.js";
import { is } from "./schemaFields.js";
import {
  resolveSimSettings,
  type SimModelSettings,
  type SimModelSpec,
  type SimSettings,
  SimSettingsError,
} from "./settings.js";
import {
  evictionJitterField,
  evictionJitterProblem,
  jitterField,
  jitterProblem,
  modelSchema,
  settingsSchema,
} from "./settingsSchema.js";
import { toTrafficProfile } from "./trafficSchema.js";

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
    const { settings: own, traffic, name, ...fields } = m;
    // The YAML's `name` is what GetImportedModel and ListImportedModels answer as modelName.
    const rest = name === undefined ? fields : { ...fields, modelName: name };
    const spec = traffic ? { ...rest, traffic: toTrafficProfile(traffic) } : rest;
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
