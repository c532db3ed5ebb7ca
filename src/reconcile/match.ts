import {
  billedUnder,
  parseUsageType,
  type UsageKey,
  type UsageKind,
  type UsageTypeParts,
  usageTypeOf,
} from "../domain/usageType.js";
import type { ReconcileDay, ReconcileGroup, ReconcileStatus } from "./types.js";

/** AWS's figure and keepwarm's agree when they differ by at most this share of keepwarm's... */
export const MATCH_SHARE = 0.02;
/** ...or by at most this many dollars (a window or two of a small model). */
export const MATCH_USD = 0.5;

/** keepwarm's figure for one model, one day and one kind of charge. */
export interface ModelDayBill {
  /** The config's name for a managed model; the import's name or ARN for an unmanaged one. */
  readonly model: string;
  /** Named by the config. */
  readonly managed: boolean;
  readonly key: UsageKey;
  /** USD; null where its CMUs, price or history are unknown. */
  readonly usd: number | null;
}

/** Cost Explorer's answer for one day; undefined when it has nothing for the day yet. */
export interface AwsDay {
  readonly estimated: boolean;
  readonly usdByUsageType: ReadonlyMap<string, number>;
}

const KINDS: readonly UsageKind[] = ["inference", "storage"];

/**
 * One day reconciled: keepwarm's bills and AWS's usage types joined into groups. A model
 * joins every usage type it may be billed under (region code, CMU version, kind, and family
 * when known); models and usage types so joined are one group, since AWS's figure cannot be
 * split between them. A model AWS shows nothing for is a group of its own under the usage
 * type it would be billed under; an unknown family is written `*`.
 */
export function matchDay(
  date: string,
  bills: Readonly<Record<UsageKind, readonly ModelDayBill[]>>,
  aws: AwsDay | undefined,
): ReconcileDay {
  const groups: ReconcileGroup[] = [];
  for (const kind of KINDS) groups.push(...matchKind(kind, bills[kind], aws));
  return { date, groups };
}

function matchKind(
  kind: UsageKind,
  bills: readonly ModelDayBill[],
  aws: AwsDay | undefined,
): ReconcileGroup[] {
  const billed: [string, UsageTypeParts][] = [];
  for (const usageType of aws?.usdByUsageType.keys() ?? []) {
    const parts = parseUsageType(usageType);
    if (parts?.kind === kind) billed.push([usageType, parts]);
  }
  // Union-find over usage types, each identified by its name.
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let root = x;
    while (parent.get(root) !== root) root = parent.get(root) as string;
    parent.set(x, root);
    return root;
  };
  const union = (a: string, b: string) => parent.set(find(a), find(b));
  for (const [name] of billed) parent.set(name, name);
  const homeOf = bills.map((bill) => {
    const matches = billed.filter(([, parts]) => billedUnder(bill.key, kind, parts));
    const home =
      matches[0]?.[0] ??
      usageTypeOf(bill.key.region, bill.key.family ?? "*", kind, bill.key.cmuVersion);
    if (!parent.has(home)) parent.set(home, home);
    for (const [name] of matches.slice(1)) union(name, home);
    return home;
  });
  const components = new Map<string, { usageTypes: Set<string>; bills: ModelDayBill[] }>();
  const componentOf = (name: string) => {
    const root = find(name);
    let c = components.get(root);
    if (!c) {
      c = { usageTypes: new Set(), bills: [] };
      components.set(root, c);
    }
    return c;
  };
  for (const name of parent.keys()) componentOf(name).usageTypes.add(name);
  bills.forEach((bill, i) => {
    componentOf(homeOf[i] as string).bills.push(bill);
  });
  return [...components.values()]
    .map((c) => groupOf(kind, c.usageTypes, c.bills, aws))
    .sort((a, b) => a.usageType.localeCompare(b.usageType));
}

function groupOf(
  kind: UsageKind,
  usageTypes: ReadonlySet<string>,
  bills: readonly ModelDayBill[],
  aws: AwsDay | undefined,
): ReconcileGroup {
  const names = [...usageTypes].sort();
  const managed = bills.filter((b) => b.managed).map((b) => b.model);
  const unmanaged = bills.filter((b) => !b.managed).map((b) => b.model);
  const keepwarmUsd = bills.some((b) => b.usd === null)
    ? null
    : bills.reduce((sum, b) => sum + (b.usd as number), 0);
  // A final day without the usage type billed nothing there; an estimated one may not show it yet.
  const shown = names.filter((n) => aws?.usdByUsageType.has(n));
  const awsUsd =
    aws === undefined || (aws.estimated && shown.length === 0)
      ? null
      : shown.reduce((sum, n) => sum + (aws.usdByUsageType.get(n) as number), 0);
  return {
    usageType: names.join(" + "),
    kind,
    models: managed.sort(),
    unmanaged: unmanaged.sort(),
    keepwarmUsd,
    awsUsd,
    diffPct: diffPctOf(keepwarmUsd, awsUsd),
    estimated: aws?.estimated ?? true,
    status: statusOf(managed.length > 0, keepwarmUsd, awsUsd, aws),
  };
}

/** (AWS - keepwarm) / keepwarm x 100, to two decimals; null when either is missing or keepwarm's is 0. */
export function diffPctOf(keepwarmUsd: number | null, awsUsd: number | null): number | null {
  if (keepwarmUsd === null || awsUsd === null || keepwarmUsd === 0) return null;
  return Math.round(((awsUsd - keepwarmUsd) / keepwarmUsd) * 10_000) / 100;
}

/** Whether two figures agree: within 2% of keepwarm's or $0.50. */
export function figuresMatch(keepwarmUsd: number, awsUsd: number): boolean {
  const diff = Math.abs(awsUsd - keepwarmUsd);
  return diff <= MATCH_USD || diff <= MATCH_SHARE * keepwarmUsd;
}

function statusOf(
  managed: boolean,
  keepwarmUsd: number | null,
  awsUsd: number | null,
  aws: AwsDay | undefined,
): ReconcileStatus {
  if (!managed) return "unmanaged";
  if (aws === undefined || aws.estimated || awsUsd === null) return "pending";
  if (keepwarmUsd === null) return "unknown";
  return figuresMatch(keepwarmUsd, awsUsd) ? "match" : "mismatch";
}
