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
import { describeMissingPrice, resolvePrice } from "./pricing.js";
import type { ConfigProblem } from "./problems.js";
import type { RawConfig, RawModel, RawPolicy } from "./schema.js";
import type { ParsedYaml } from "./yamlSchema.js";

/** What the CLI read from the environment, once. */
export interface ConfigEnv {
  /** KEEPWARM_STATE_DIR or systemd's STATE_DIRECTORY: wins over the YAML, since the service manager or the container decides where state may be written. */
  readonly stateDir?: string;
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

  const policies = new Map<string, Policy>(builtInPolicies(raw.timezone).map((p) => [p.name, p]));
  for (const [name, policy] of Object.entries(raw.policies)) {
    if (name === "always-on" || name === "off") {
      warnings.push(
        parsed.problemAt(
          ["policies", name],
          `redefines the built-in "${name}" policy; its models follow these windows instead`,
        ),
      );
    }
    policies.set(name, resolvePolicy(name, policy, raw.timezone));
  }

  const overrides: Override[] = raw.overrides.map((o) => ({
    models: [...o.models],
    policy: o.policy,
    from: instantOf(o.from, raw.timezone),
    until: instantOf(o.until, raw.timezone),
  }));

  const models: ModelConfig[] = [];
  const arnOwner = new Map<string, number>();
  raw.models.forEach((m, i) => {
    const arn = IMPORTED_MODEL_ARN_PATTERN.exec(m.modelArn);
    if (!arn) return;
    const [, region = "", accountId = "", modelId = ""] = arn;
    const lookup = resolvePrice(region, raw.pricing);
    if (!lookup.ok) {
      problems.push(
        parsed.problemAt(["models", i, "modelArn"], describeMissingPrice(region, lookup.missing)),
      );
      return;
    }
    const owner = arnOwner.get(m.modelArn);
    if (owner === undefined) arnOwner.set(m.modelArn, i);
    else {
      warnings.push(
        parsed.problemAt(
          ["models", i, "modelArn"],
          `is also the ARN of models[${owner}]; both entries will ping the same model`,
        ),
      );
    }
    const model = resolveModel(m, raw, { region, accountId, modelId, price: lookup.price });
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
    warnings,
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

function resolvePolicy(name: string, policy: RawPolicy, configZone: string): Policy {
  const windows: WindowRule[] = policy.windows.map((w) => ({
    days: parseDays(w.days) ?? new Set(),
    fromMinute: parseClockMinutes(w.from) ?? 0,
    toMinute: parseClockMinutes(w.to) ?? 0,
  }));
  const holidays: DateRange[] = (policy.holidays ?? []).map((h) => {
    const [, first = h, last = first] = HOLIDAY_PATTERN.exec(h) ?? [];
    return { first, last };
  });
  return { name, kind: "windows", timezone: policy.timezone ?? configZone, windows, holidays };
}

function resolveModel(
  m: RawModel,
  raw: RawConfig,
  arn: Pick<ModelConfig, "region" | "accountId" | "modelId" | "price">,
): ModelConfig {
  const ms = (text: string) => parseDurationMs(text) ?? 0;
  return {
    name: m.name,
    modelArn: m.modelArn,
    ...arn,
    policy: m.policy,
    customModelUnits: m.customModelUnits,
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
