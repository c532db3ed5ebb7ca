import { formatDuration } from "../domain/format.js";
import type { TimingSetting } from "../domain/timings.js";
import type {
  Budgets,
  DaemonSettings,
  DateRange,
  ModelConfig,
  Override,
  Policy,
  ResolvedConfig,
  WindowRule,
} from "../domain/types.js";
import { AUTO, BUILT_IN_POLICY_NAMES, DEFAULT_METRIC, DEFAULT_REQUEST } from "./defaults.js";
import {
  HOLIDAY_PATTERN,
  IMPORTED_MODEL_ARN_PATTERN,
  parseClockMinutes,
  parseDateTime,
  parseDays,
  parseDurationMs,
} from "./formats.js";
import { modelPriceProblem, regionPrices } from "./pricing.js";
import { type ConfigProblem, sortProblems } from "./problems.js";
import type { RawConfig, RawModel, RawPolicy } from "./schema.js";
import { suggestClosest } from "./suggest.js";
import type { ParsedYaml } from "./yamlSchema.js";

/** What the CLI read from the environment, once. */
export interface ConfigEnv {
  /** KEEPWARM_STATE_DIR or systemd's STATE_DIRECTORY: wins over the YAML, since the service manager or the container decides where state may be written. */
  readonly stateDir?: string;
  /** The instant the config is checked at: an override over by then is a warning. Without it, overrides are not held against a time. */
  readonly now?: number;
}

export const DEFAULT_STATE_DIR = "./.state";

export type ResolveResult =
  | { readonly ok: true; readonly config: ResolvedConfig; readonly warnings: ConfigProblem[] }
  | { readonly ok: false; readonly problems: ConfigProblem[] };

/**
 * Turns a schema-checked config into the typed, zoned form the domain uses. The schema has
 * already vouched for every format, so the parsers here cannot fail on it; what can still go
 * wrong (a region without a price) is reported at its node.
 */
export function resolveConfig(parsed: ParsedYaml<RawConfig>, env: ConfigEnv = {}): ResolveResult {
  const raw = parsed.value;
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];

  const builtIns = builtInPolicies(raw.timezone);
  const policies = new Map<string, Policy>(builtIns.map((p) => [p.name, p]));
  for (const name of Object.keys(raw.policies)) {
    if (name === "always-on" || name === "off") {
      warnings.push(
        parsed.problemAt(
          ["policies", name],
          `redefines the built-in "${name}" policy; its models follow these windows instead`,
        ),
      );
    }
    policies.set(name, resolvePolicy(name, raw, builtIns));
    warnings.push(...allDayWindows(name, raw.policies[name], parsed));
  }

  const overrides: Override[] = raw.overrides.map((o, i) => {
    const until = instantOf(o.until, raw.timezone);
    if (env.now !== undefined && until <= env.now) {
      warnings.push(
        parsed.problemAt(
          ["overrides", i, "until"],
          `is ${JSON.stringify(o.until)}, already past; the override no longer applies and can be removed`,
        ),
      );
    }
    return {
      models: [...o.models],
      policy: o.policy,
      from: instantOf(o.from, raw.timezone),
      until,
    };
  });

  const models: ModelConfig[] = [];
  raw.models.forEach((m, i) => {
    const arn = IMPORTED_MODEL_ARN_PATTERN.exec(m.modelArn);
    if (!arn) return;
    const [, region = "", accountId = "", modelId = ""] = arn;
    const problem = modelPriceProblem(region, m, raw.pricing);
    if (problem) {
      problems.push(parsed.problemAt(["models", i, problem.field], problem.message));
      return;
    }
    const prices = regionPrices(region, raw.pricing);
    const model = resolveModel(m, raw, { region, accountId, modelId, prices });
    const { cadence, evictionDelay } = model.timing;
    if (
      cadence.mode === "fixed" &&
      evictionDelay.mode === "fixed" &&
      cadence.ms >= evictionDelay.ms
    ) {
      const path = m.cadence !== undefined ? ["models", i, "cadence"] : ["defaults", "cadence"];
      warnings.push(
        parsed.problemAt(
          path,
          `${formatDuration(cadence.ms)} is not shorter than evictionDelay ${formatDuration(evictionDelay.ms)}; ${m.name} may cool between pings`,
        ),
      );
    }
    models.push(model);
  });
  warnings.push(...unusedRegions(raw, models, parsed));

  if (problems.length > 0) return { ok: false, problems };

  const daemon: DaemonSettings = {
    stateDir: env.stateDir ?? raw.daemon.stateDir ?? DEFAULT_STATE_DIR,
    httpHost: raw.daemon.http.host,
    httpPort: raw.daemon.http.port,
    selfHostingUsdPerMonth: raw.daemon.selfHostingUsdPerMonth,
    spendLog: {
      perModel: raw.daemon.spendLog.perModel,
      refreshMs: parseDurationMs(raw.daemon.spendLog.refresh) ?? 15 * 60_000,
    },
    invokeRatePerSecond: raw.daemon.invokeRatePerSecond,
    invokeBurst: raw.daemon.invokeBurst,
    coldCallMetric: raw.daemon.coldCallMetric,
    reconcile: { enabled: raw.daemon.reconcile.enabled },
  };
  const budgets: Budgets | undefined = raw.budgets && {
    fleetUsd: raw.budgets.fleet,
    modelUsd: new Map(Object.entries(raw.budgets.models ?? {})),
  };
  return {
    ok: true,
    config: {
      timezone: raw.timezone,
      policies,
      overrides,
      models,
      daemon,
      ...(budgets && { budgets }),
    },
    warnings: sortProblems(warnings),
  };
}

function builtInPolicies(timezone: string): Policy[] {
  const none = { windows: [], holidays: [] };
  const byName: Record<(typeof BUILT_IN_POLICY_NAMES)[number], Policy> = {
    "always-on": { name: "always-on", kind: "always-on", timezone, ...none },
    "business-hours": {
      name: "business-hours",
      kind: "windows",
      timezone,
      windows: [{ days: new Set([1, 2, 3, 4, 5] as const), fromMinute: 9 * 60, toMinute: 18 * 60 }],
      holidays: [],
    },
    off: { name: "off", kind: "off", timezone, ...none },
  };
  return BUILT_IN_POLICY_NAMES.map((n) => byName[n]);
}

/**
 * A defined policy: its own windows, or those of the policy it extends (a built-in when it
 * extends its own name) with its holidays added. `checkReferences` has ruled out loops.
 */
function resolvePolicy(name: string, raw: RawConfig, builtIns: readonly Policy[]): Policy {
  const policy = raw.policies[name] as RawPolicy;
  const holidays: DateRange[] = (policy.holidays ?? []).map((h) => {
    const [, first = h, last = first] = HOLIDAY_PATTERN.exec(h) ?? [];
    return { first, last };
  });
  if (policy.extends !== undefined) {
    const base =
      policy.extends !== name && policy.extends in raw.policies
        ? resolvePolicy(policy.extends, raw, builtIns)
        : builtIns.find((p) => p.name === policy.extends);
    return {
      name,
      kind: "windows",
      timezone: policy.timezone ?? base?.timezone ?? raw.timezone,
      windows: base?.windows ?? [],
      holidays: [...(base?.holidays ?? []), ...holidays],
    };
  }
  const windows: WindowRule[] = (policy.windows ?? []).map((w) => ({
    days: parseDays(w.days) ?? new Set(),
    fromMinute: parseClockMinutes(w.from) ?? 0,
    toMinute: parseClockMinutes(w.to) ?? 0,
  }));
  return { name, kind: "windows", timezone: policy.timezone ?? raw.timezone, windows, holidays };
}

/** A window whose `to` equals its `from` lasts 24 hours, which is easy to write by mistake. */
function allDayWindows(
  name: string,
  policy: RawPolicy | undefined,
  parsed: ParsedYaml<RawConfig>,
): ConfigProblem[] {
  return (policy?.windows ?? []).flatMap((w, k) =>
    w.from === w.to
      ? [
          parsed.problemAt(
            ["policies", name, "windows", k, "to"],
            `is ${JSON.stringify(w.to)}, the same as from: the window lasts 24 hours, until ${w.to} the next day`,
          ),
        ]
      : [],
  );
}

/** A price for a region no model runs in is unused, most likely a misspelt region. */
function unusedRegions(
  raw: RawConfig,
  models: readonly ModelConfig[],
  parsed: ParsedYaml<RawConfig>,
): ConfigProblem[] {
  const used = [...new Set(models.map((m) => m.region))];
  return Object.keys(raw.pricing.regions ?? {})
    .filter((region) => !used.includes(region))
    .map((region) => {
      const hint = suggestClosest(region, used);
      return parsed.problemAtKey(
        ["pricing", "regions", region],
        `no model runs in ${region}, so this price is unused; ${hint ? `did you mean "${hint}"? ` : ""}the models run in ${used.join(", ")}`,
      );
    });
}

function resolveModel(
  m: RawModel,
  raw: RawConfig,
  arn: Pick<ModelConfig, "region" | "accountId" | "modelId" | "prices">,
): ModelConfig {
  const ms = (text: string) => parseDurationMs(text) ?? 0;
  return {
    name: m.name,
    modelArn: m.modelArn,
    ...arn,
    policy: m.policy,
    customModelUnits: m.customModelUnits,
    cmuVersion: m.customModelUnitsVersion,
    timing: {
      cadence: timingSetting(m.cadence ?? raw.defaults.cadence),
      leadTime: timingSetting(m.leadTime ?? raw.defaults.leadTime),
      evictionDelay: timingSetting(m.evictionDelay ?? raw.defaults.evictionDelay),
    },
    warmupTimeoutMs: ms(m.warmupTimeout ?? raw.defaults.warmupTimeout),
    request: structuredClone(m.request ?? DEFAULT_REQUEST),
    metric: {
      namespace: m.metric?.namespace ?? DEFAULT_METRIC.namespace,
      metricName: m.metric?.name ?? DEFAULT_METRIC.name,
      dimensionName: m.metric?.dimension ?? DEFAULT_METRIC.dimension,
      dimensionValue: m.metric?.dimensionValue ?? m.modelArn,
    },
  };
}

function timingSetting(text: string): TimingSetting {
  return text === AUTO ? { mode: "auto" } : { mode: "fixed", ms: parseDurationMs(text) ?? 0 };
}

function instantOf(text: string, zone: string): number {
  const parsed = parseDateTime(text, zone);
  return parsed.ok ? parsed.instant : Number.NaN;
}
