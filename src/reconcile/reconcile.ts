import type { RegionClientPool } from "../aws/clients.js";
import { readCopyHistory } from "../aws/copyHistory.js";
import { type BilledDay, readBilledDays } from "../aws/costExplorer.js";
import type { CopyPoint } from "../aws/metrics.js";
import { KeepwarmError } from "../domain/errors.js";
import { dayStart, utcDate } from "../domain/reconcileSchedule.js";
import type { ResolvedConfig } from "../domain/types.js";
import { DAY_MS } from "../domain/units.js";
import { parseUsageType, type UsageKind } from "../domain/usageType.js";
import { billDay } from "./dayBills.js";
import { type AwsDay, type ModelDayBill, matchDay } from "./match.js";
import { type FactsRead, type ModelFacts, managedFacts, unmanagedFacts } from "./modelFacts.js";
import type { ReconcileReport } from "./types.js";

/**
 * The ModelCopy history is read from this long before the first day: a run that began the
 * evening before bills its windows from where it began.
 */
const LOOKBACK_MS = DAY_MS;

export interface ReconcileDeps {
  readonly config: ResolvedConfig;
  /** The same clients the daemon uses; Cost Explorer's comes from `costExplorer()`. */
  readonly clients: RegionClientPool;
  /** Epoch ms: days from today on are not over, and Cost Explorer is not asked about tomorrow. */
  readonly now: number;
}

/** UTC days, yyyy-MM-dd: `from` inclusive, `to` exclusive, as Cost Explorer's TimePeriod. */
export interface DayRange {
  readonly from: string;
  readonly to: string;
}

/** A day range that is not one. */
export class ReconcileRangeError extends KeepwarmError {
  override readonly name = "ReconcileRangeError";
}

/**
 * Reconciles the UTC days of `range`: AWS's bill from Cost Explorer (one GetCostAndUsage
 * request and its pages), keepwarm's from each model's ModelCopy history in CloudWatch billed
 * by keepwarm's rule, matched by usage type (docs/reconcile.md). Throws the AwsCallError of a
 * Cost Explorer or CloudWatch call that failed (`action` names the IAM action).
 */
export async function reconcileDays(
  deps: ReconcileDeps,
  range: DayRange,
): Promise<ReconcileReport> {
  const start = dayStart(range.from);
  const end = dayStart(range.to);
  if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start) {
    throw new ReconcileRangeError(
      `days ${range.from} to ${range.to}: allowed: two dates yyyy-MM-dd, the second later`,
    );
  }
  const counted = { requests: 0 };
  const today = Math.floor(deps.now / DAY_MS) * DAY_MS;
  // Cost Explorer takes no start after today; tomorrow has nothing to show yet.
  const billedEnd = Math.min(end, today + DAY_MS);
  const billed =
    start <= today
      ? (
          await readBilledDays(
            deps.clients.costExplorer(),
            { start: range.from, end: utcDate(billedEnd) },
            counted,
          )
        ).days
      : [];
  const notes: string[] = [];
  const facts = await factsFor(deps, billed, notes);
  const metrics = { requested: 0 };
  const history = await readHistories(deps, facts, { start, end }, metrics);
  const awsByDate = new Map(billed.map((d) => [d.date, d]));
  const days = [];
  for (let t = start; t < end; t += DAY_MS) {
    const day = { start: t, end: t + DAY_MS };
    const bills: Record<UsageKind, ModelDayBill[]> = { inference: [], storage: [] };
    for (const model of facts) {
      const read = history.get(model.modelArn);
      const bill = billDay(model, read?.points ?? [], day, read?.from ?? Number.POSITIVE_INFINITY);
      const entry = { model: model.name, managed: model.managed, key: model.key };
      bills.inference.push({ ...entry, usd: bill.inferenceUsd });
      bills.storage.push({ ...entry, usd: bill.storageUsd });
    }
    const aws: AwsDay | undefined = awsByDate.get(utcDate(t));
    days.push(matchDay(utcDate(t), bills, aws));
  }
  return {
    days,
    costExplorerRequests: counted.requests,
    metricsRequested: metrics.requested,
    notes,
  };
}

/** The config's models, and the imports AWS bills in a region that the config does not name. */
async function factsFor(
  deps: ReconcileDeps,
  billed: readonly BilledDay[],
  notes: string[],
): Promise<ModelFacts[]> {
  const billedRegions = new Set<string>();
  for (const day of billed) {
    for (const usageType of day.usdByUsageType.keys()) {
      const region = parseUsageType(usageType)?.region;
      if (region !== undefined) billedRegions.add(region);
    }
  }
  const reads: FactsRead[] = await Promise.all([
    ...deps.config.models.map((m) => managedFacts(m, deps.clients.get(m.region))),
    ...[...billedRegions]
      .sort()
      .map((region) => unmanagedFacts(deps.config, region, deps.clients.get(region))),
  ]);
  for (const r of reads) notes.push(...r.notes);
  return reads.flatMap((r) => r.facts);
}

/** Each model's ModelCopy over the days (and the evening before), one read per region. */
async function readHistories(
  deps: ReconcileDeps,
  facts: readonly ModelFacts[],
  days: { readonly start: number; readonly end: number },
  metrics: { requested: number },
): Promise<Map<string, { points: CopyPoint[]; from: number }>> {
  const byRegion = new Map<string, ModelFacts[]>();
  for (const f of facts) {
    if (f.cmu === undefined || f.price === undefined) continue;
    byRegion.set(f.key.region, [...(byRegion.get(f.key.region) ?? []), f]);
  }
  const history = new Map<string, { points: CopyPoint[]; from: number }>();
  const readEnd = Math.min(days.end, deps.now);
  if (readEnd <= days.start - LOOKBACK_MS) return history;
  await Promise.all(
    [...byRegion].map(async ([region, models]) => {
      const read = await readCopyHistory(
        deps.clients.get(region).cloudwatch,
        models.map((m) => ({ key: m.modelArn, metric: m.metric })),
        { start: days.start - LOOKBACK_MS, end: readEnd },
        deps.now,
        (n) => {
          metrics.requested += n;
        },
      );
      for (const m of models) {
        history.set(m.modelArn, { points: read.points.get(m.modelArn) ?? [], from: read.from });
      }
    }),
  );
  return history;
}
