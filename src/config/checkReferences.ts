import type { z } from "zod";
import { CMU_VERSION_PATTERN, type RawPricing } from "./costSchema.js";
import {
  BUILT_IN_POLICY_NAMES,
  DEFAULT_TIMEZONE,
  isBuiltInPolicy,
  WINDOWED_BUILT_IN,
} from "./defaults.js";
import { IMPORTED_MODEL_ARN_PATTERN, parseDateTime } from "./formats.js";
import { modelPriceProblem } from "./pricing.js";
import { RELATED_PLACE } from "./problems.js";
import { is } from "./schemaFields.js";
import { suggestClosest } from "./suggest.js";
import { isIanaZoneName } from "./zones.js";

type IssueSink = z.core.$RefinementCtx<unknown>;

/**
 * Rules that join fields: policies and models that must exist, unique names and ARNs, what a
 * policy extends, `until` after `from`. The value may be partly invalid here (other problems
 * are being reported at the same time), so every field is checked for its type before use.
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

  checkExtends(defined ?? {}, policyNames, ctx);

  const models = Array.isArray(root.models) ? root.models : [];
  const firstIndex = new Map<string, number>();
  const arnOwner = new Map<string, number>();
  models.forEach((entry, i) => {
    const m = asRecord(entry);
    if (!m) return;
    checkPolicy(m.policy, ["models", i, "policy"]);
    if (typeof m.name === "string") {
      const first = firstIndex.get(m.name);
      if (first === undefined) firstIndex.set(m.name, i);
      else {
        ctx.addIssue({
          code: "custom",
          path: ["models", i, "name"],
          input: m.name,
          params: { related: ["models", first, "name"] },
          message: `"${m.name}" is already the name of the model at ${RELATED_PLACE}; allowed: a name no other model has`,
        });
      }
    }
    if (typeof m.modelArn === "string" && IMPORTED_MODEL_ARN_PATTERN.test(m.modelArn)) {
      const owner = arnOwner.get(m.modelArn);
      if (owner === undefined) arnOwner.set(m.modelArn, i);
      else {
        const other = asRecord(models[owner])?.name;
        ctx.addIssue({
          code: "custom",
          path: ["models", i, "modelArn"],
          input: m.modelArn,
          params: { related: ["models", owner, "modelArn"] },
          message: `is also the ARN of ${JSON.stringify(other)} at ${RELATED_PLACE}; ${JSON.stringify(m.name)} and ${JSON.stringify(other)} would ping one model and count its spend twice; allowed: each ARN under one model name`,
        });
      }
    }
  });
  const modelNames = [...firstIndex.keys()];

  // A region or CMU version without a price is reported with the file's other problems, not after them.
  const pricing = (asRecord(root.pricing) ?? {}) as RawPricing;
  models.forEach((entry, i) => {
    const m = asRecord(entry);
    const units = {
      customModelUnits: typeof m?.customModelUnits === "number" ? m.customModelUnits : undefined,
      customModelUnitsVersion:
        typeof m?.customModelUnitsVersion === "string" ? m.customModelUnitsVersion : undefined,
    };
    if (units.customModelUnitsVersion !== undefined && m?.customModelUnits === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["models", i, "customModelUnitsVersion"],
        input: units.customModelUnitsVersion,
        message:
          "is set without customModelUnits; allowed: next to customModelUnits (both from the config), or neither (both read from GetImportedModel)",
      });
      return;
    }
    const arn = m?.modelArn;
    const region = typeof arn === "string" ? IMPORTED_MODEL_ARN_PATTERN.exec(arn)?.[1] : undefined;
    const version = units.customModelUnitsVersion;
    // A malformed version is the schema's problem, reported at the same node.
    if (region === undefined || (version !== undefined && !CMU_VERSION_PATTERN.test(version)))
      return;
    const problem = modelPriceProblem(region, units, pricing);
    if (problem) {
      ctx.addIssue({
        code: "custom",
        path: ["models", i, problem.field],
        input: problem.field === "modelArn" ? arn : units.customModelUnitsVersion,
        message: problem.message,
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
    typeof root.timezone === "string" && isIanaZoneName(root.timezone)
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

/**
 * `extends` names the policy whose windows (and zone, and holidays) a policy takes; a policy
 * named like a built-in that extends its own name takes the built-in's. The chain must end at
 * a policy with windows, without a loop.
 */
function checkExtends(
  defined: Record<string, unknown>,
  policyNames: readonly string[],
  ctx: IssueSink,
): void {
  const baseOf = (name: string): unknown => asRecord(defined[name])?.extends;
  const problem = (name: string, base: string, message: string) =>
    ctx.addIssue({ code: "custom", path: ["policies", name, "extends"], input: base, message });

  for (const name of Object.keys(defined)) {
    const base = baseOf(name);
    if (typeof base !== "string") continue;
    if (!policyNames.includes(base)) {
      const hint = suggestClosest(base, policyNames);
      problem(
        name,
        base,
        `unknown policy "${base}"; ${hint ? `did you mean "${hint}"? ` : ""}defined: ${policyNames.join(", ")}`,
      );
      continue;
    }
    const builtIn = base === name || !(base in defined);
    if (base === name && !isBuiltInPolicy(name)) {
      problem(
        name,
        base,
        `is the policy's own name; allowed: another policy, or the name of the built-in it redefines (${WINDOWED_BUILT_IN})`,
      );
      continue;
    }
    if (builtIn) {
      if (base !== WINDOWED_BUILT_IN) {
        problem(
          name,
          base,
          `"${base}" has no windows to add holidays to; allowed: ${WINDOWED_BUILT_IN} or a policy with windows`,
        );
      }
      continue;
    }
    const chain = [name];
    let current: unknown = base;
    while (typeof current === "string" && current in defined && !chain.includes(current)) {
      chain.push(current);
      const next = baseOf(current);
      current = next === current ? undefined : next;
    }
    if (typeof current === "string" && chain.includes(current)) {
      problem(
        name,
        base,
        `leads into a loop (${[...chain, current].join(" -> ")}); allowed: a chain of extends that ends at a policy with windows`,
      );
    }
  }
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
