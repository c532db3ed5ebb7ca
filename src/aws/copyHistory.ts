import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../domain/units.js";
import {
  type CopyPoint,
  type CopyQuery,
  type MetricsRequested,
  readModelCopies,
} from "./metrics.js";

/**
 * CloudWatch keeps 1-minute data 15 days and 5-minute data 63 (bedrock-facts.md §6), less an
 * hour so that a read at the edge does not ask for what expired while it was under way.
 */
export const ONE_MINUTE_RETENTION_MS = 15 * DAY_MS - HOUR_MS;
export const FIVE_MINUTE_RETENTION_MS = 63 * DAY_MS - HOUR_MS;

export interface CopyHistoryRead {
  /** Per query key, one point per minute in ascending time; missing minutes absent. */
  readonly points: Map<string, CopyPoint[]>;
  /** The earliest instant read: before it CloudWatch keeps only hourly data, too coarse to bill. */
  readonly from: number;
}

/**
 * The ModelCopy history of many models of one region over [start, end) at the finest
 * resolution CloudWatch still has: 1-minute points for the last 15 days before `now`,
 * 5-minute points before that, each standing for its five minutes (billing needs minutes).
 */
export async function readCopyHistory(
  cloudwatch: CloudWatchClient,
  queries: readonly CopyQuery[],
  range: { readonly start: number; readonly end: number },
  now: number,
  requested?: MetricsRequested,
): Promise<CopyHistoryRead> {
  const fiveMinutes = 5 * MINUTE_MS;
  const from = Math.max(range.start, ceilTo(now - FIVE_MINUTE_RETENTION_MS, fiveMinutes));
  const fineFrom = Math.min(
    range.end,
    Math.max(from, ceilTo(now - ONE_MINUTE_RETENTION_MS, fiveMinutes)),
  );
  const points = new Map<string, CopyPoint[]>(queries.map((q) => [q.key, []]));
  if (fineFrom > from) {
    const coarse = await readModelCopies(
      cloudwatch,
      queries,
      { start: from, end: fineFrom, periodSeconds: 300 },
      requested,
    );
    for (const [key, list] of coarse) points.set(key, expandToMinutes(list, 5));
  }
  if (range.end > fineFrom) {
    const fine = await readModelCopies(
      cloudwatch,
      queries,
      { start: fineFrom, end: range.end, periodSeconds: 60 },
      requested,
    );
    for (const [key, list] of fine) {
      const into = points.get(key);
      if (into) for (const p of list) into.push(p);
    }
  }
  return { points, from };
}

function ceilTo(t: number, step: number): number {
  return Math.ceil(t / step) * step;
}

/** A coarse datapoint stands for each minute of its period, as billing needs minutes. */
function expandToMinutes(points: readonly CopyPoint[], minutes: number): CopyPoint[] {
  return points.flatMap((p) =>
    Array.from({ length: minutes }, (_, i) => ({ t: p.t + i * MINUTE_MS, copies: p.copies })),
  );
}
