import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import {
  type CopyQuery,
  type CopyReadRange,
  type MetricsRequested,
  readMetricPoints,
} from "./metrics.js";

/** GetMetricData returns at most this many datapoints per call, over all its queries. */
export const MAX_DATAPOINTS_PER_CALL = 100_800;

/** One count series (Sum) of one model, named by a key of the caller's choosing. */
export type CountQuery = CopyQuery;

/** The range read: `start` a multiple of the period. */
export type CountReadRange = CopyReadRange;

/** A series of sums: `values[i]` is the sum of the period starting at `start + i * period`. */
export interface CountSeries {
  readonly start: number;
  readonly periodMs: number;
  readonly values: Float64Array;
}

/**
 * Reads the Sum of many count metrics over one range in as few metrics requested as
 * CloudWatch allows. Each call carries only as many queries as fit its 100,800
 * datapoints, so no call needs a second page: a page repeats every query of its call, and
 * each is billed again. `requested` is told of each call's metrics. Every key of `queries`
 * is in the answer; a period without a datapoint is 0.
 */
export async function readCallCounts(
  cloudwatch: CloudWatchClient,
  queries: readonly CountQuery[],
  range: CountReadRange,
  requested?: MetricsRequested,
): Promise<Map<string, CountSeries>> {
  const periodMs = range.periodSeconds * 1000;
  const periods = Math.max(0, Math.ceil((range.end - range.start) / periodMs));
  const result = new Map<string, CountSeries>(
    queries.map((q) => [
      q.key,
      { start: range.start, periodMs, values: new Float64Array(periods) },
    ]),
  );
  const perCall = Math.max(1, Math.floor(MAX_DATAPOINTS_PER_CALL / Math.max(1, periods)));
  await readMetricPoints(
    cloudwatch,
    queries,
    range,
    {
      stat: "Sum",
      perCall,
      invalid: "models[].metric (namespace or dimension of the Invocations metric)",
    },
    (key, t, value) => {
      const into = result.get(key);
      const slot = Math.floor((t - range.start) / periodMs);
      // Pages may repeat a period at their seam: a period's sum is set, not added.
      if (into && slot >= 0 && slot < periods) into.values[slot] = value;
    },
    requested,
  );
  return result;
}
