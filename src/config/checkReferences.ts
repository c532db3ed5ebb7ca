import type { z } from "zod";
import type { RawPricing } from "./costSchema.js";
import { BUILT_IN_POLICY_NAMES, DEFAULT_TIMEZONE } from "./defaults.js";
import { IMPORTED_MODEL_ARN_PATTERN, isValidZone, parseDateTime } from "./formats.js";
import { describeMissingPrice, resolvePrice } from "./pricing.js";
import { is } from "./schemaFields.js";
import { suggestClosest } from "./suggest.js";

type IssueSink = z.core.$RefinementCtx<unknown>;

/**
 * Rules that join fields: policies and models that must exist, unique names, `until` after
 * `from`. The value may be partly invalid here (other problems are being reported at the same
 * time), so every field is checked for its type before use.
 */
export function checkReferences(value: unknown, ctx: IssueSink): void {
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
  const pricing = (asRecord(root.pricing) ?? {}) as RawPricing;
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
