import type { ModelConfig, ResolvedConfig } from "../../domain/types.js";

/** How a reload changes the fleet, by model name. */
export interface FleetDiff {
  readonly added: readonly ModelConfig[];
  /** Same name, another ARN: another model, started afresh. */
  readonly replaced: readonly ModelConfig[];
  /** Same name and ARN: kept with its state; `planChanged` when its plan's inputs differ. */
  readonly kept: readonly { readonly model: ModelConfig; readonly planChanged: boolean }[];
  readonly removed: readonly string[];
}

/** What a new config changes for the models running (`running`) under the previous one. */
export function diffFleet(
  previous: ResolvedConfig,
  running: ReadonlyMap<string, ModelConfig>,
  next: ResolvedConfig,
): FleetDiff {
  const before = running;
  const nextNames = new Set(next.models.map((m) => m.name));
  const added: ModelConfig[] = [];
  const replaced: ModelConfig[] = [];
  const kept: { model: ModelConfig; planChanged: boolean }[] = [];
  for (const model of next.models) {
    const old = before.get(model.name);
    if (!old) added.push(model);
    else if (old.modelArn !== model.modelArn) replaced.push(model);
    else kept.push({ model, planChanged: modelPlanChanged(previous, next, old, model) });
  }
  const removed = [...running.keys()].filter((name) => !nextNames.has(name));
  return { added, replaced, kept, removed };
}

/** True when anything the plan of `model` depends on differs between two configs. */
export function modelPlanChanged(
  before: ResolvedConfig,
  after: ResolvedConfig,
  a: ModelConfig,
  b: ModelConfig,
): boolean {
  const policyOf = (config: ResolvedConfig, m: ModelConfig) => {
    const names = new Set([
      m.policy,
      ...config.overrides.filter((o) => o.models.includes(m.name)).map((o) => o.policy),
    ]);
    return [...names].map((n) => config.policies.get(n));
  };
  const overridesOf = (config: ResolvedConfig, m: ModelConfig) =>
    config.overrides.filter((o) => o.models.includes(m.name));
  return (
    stableJson(a) !== stableJson(b) ||
    stableJson(policyOf(before, a)) !== stableJson(policyOf(after, b)) ||
    stableJson(overridesOf(before, a)) !== stableJson(overridesOf(after, b))
  );
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v instanceof Set ? [...v].sort() : v));
}
