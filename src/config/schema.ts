import { z } from "zod";
import { checkReferences } from "./checkReferences.js";
import { budgetsSchema, pricingSchema } from "./costSchema.js";
import { daemonSchema } from "./daemonSchema.js";
import { DEFAULT_TIMEZONE } from "./defaults.js";
import { defaultsSchema, modelSchema } from "./modelSchema.js";
import { overrideSchema, policySchema } from "./scheduleSchema.js";
import { name, zone } from "./schemaFields.js";

/**
 * The one schema of keepwarm.yaml: its raw types, its validation and messages, and (through
 * `z.toJSONSchema`) the published JSON Schema. Cross-field rules sit in `checkReferences` at
 * the root so they report at the offending node like any other problem.
 *
 * Refinements never `abort` and integers are checked by refinement rather than `z.int()`:
 * either would mark the parse as aborted and silence the cross-field checks, and the file's
 * every problem must be reported at once.
 */

export const configSchema = z
  .strictObject({
    timezone: zone.default(DEFAULT_TIMEZONE).meta({
      description: "Zone of policies without their own, of overrides and daily summaries.",
    }),
    defaults: defaultsSchema.prefault({}),
    pricing: pricingSchema.prefault({}),
    policies: z.record(name("policy name"), policySchema).default({}).meta({
      description:
        "Named schedules. always-on, business-hours (mon-fri 09:00-18:00) and off are built in; defining one of those names replaces it.",
    }),
    overrides: z
      .array(overrideSchema)
      .default([])
      .meta({ description: "Temporary policy switches; a later entry wins where two overlap." }),
    models: z.array(modelSchema).min(1).meta({ description: "The imported models to keep warm." }),
    daemon: daemonSchema.prefault({}),
    budgets: budgetsSchema.optional(),
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
