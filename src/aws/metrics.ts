import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandOutput,
  type MetricDataQuery,
} from "@aws-sdk/client-cloudwatch";
import type { MetricSource } from "../domain/types.js";
import { AwsCallError } from "./errors.js";

export const GET_METRIC_DATA_ACTION = "cloudwatch:GetMetricData";

/** GetMetricData accepts at most this many queries per call. */
export const MAX_QUERIES_PER_CALL = 500;

/** The ModelCopy series of one model, named by a key of the caller's choosing. */
export interface CopyQuery {
  readonly key: string;
  readonly metric: MetricSource;
}

/** One datapoint: the period starting at `t` (epoch ms) had at most `copies` copies. */
export interface CopyPoint {
  readonly t: number;
  readonly copies: number;
}

export interface CopyReadRange {
  /** Epoch ms, inclusive; CloudWatch aligns it to the period. */
  readonly start: number;
  /** Epoch ms, exclusive. */
  readonly end: number;
  /** Seconds per datapoint: 60, 300 or 3600. */
  readonly periodSeconds: number;
}

/**
 * Told of each GetMetricData call that answered, with the metrics it requested (its
 * queries): what CloudWatch bills, per metric requested.
 */
export type MetricsRequested = (metrics: number) => void;

/**
 * Reads the Maximum of ModelCopy for many models of one region, in as few GetMetricData
 * calls as the 500-query limit allows (pages included). Every key of `queries` is in the
 * answer; its points are in ascending time, missing periods absent.
 */
export async function readModelCopies(
  cloudwatch: CloudWatchClient,
  queries: readonly CopyQuery[],
  range: CopyReadRange,
  requested?: MetricsRequested,
): Promise<Map<string, CopyPoint[]>> {
  const result = new Map<string, CopyPoint[]>(queries.map((q) => [q.key, []]));
  await readMetricPoints(
    cloudwatch,
    queries,
    range,
    { stat: "Maximum", invalid: "models[].metric (namespace, metric name or dimension)" },
    (key, t, copies) => result.get(key)?.push({ t, copies }),
    requested,
  );
  for (const points of result.values()) {
    points.sort((a, b) => a.t - b.t);
    dedupeInPlace(points);
  }
  return result;
}

/** How `readMetricPoints` asks. */
export interface MetricPointsRead {
  readonly stat: "Maximum" | "Sum";
  /** Queries per call, at most MAX_QUERIES_PER_CALL (the default). */
  readonly perCall?: number;
  /** The config fields a refused query names, for the error. */
  readonly invalid: string;
}

/**
 * One statistic of many series over `range`: the queries sent `perCall` at a time, every
 * page followed, each datapoint handed to `point` with its query's key. `requested` is
 * told of each call's metrics.
 */
export async function readMetricPoints(
  cloudwatch: CloudWatchClient,
  queries: readonly CopyQuery[],
  range: CopyReadRange,
  read: MetricPointsRead,
  point: (key: string, t: number, value: number) => void,
  requested?: MetricsRequested,
): Promise<void> {
  const perCall = Math.min(MAX_QUERIES_PER_CALL, read.perCall ?? MAX_QUERIES_PER_CALL);
  for (let first = 0; first < queries.length; first += perCall) {
    const batch = queries.slice(first, first + perCall);
    const byId = new Map(batch.map((q, i) => [`m${i}`, q.key]));
    const metricQueries: MetricDataQuery[] = batch.map((q, i) => ({
      Id: `m${i}`,
      MetricStat: {
        Metric: {
          Namespace: q.metric.namespace,
          MetricName: q.metric.metricName,
          Dimensions: [{ Name: q.metric.dimensionName, Value: q.metric.dimensionValue }],
        },
        Period: range.periodSeconds,
        Stat: read.stat,
      },
      ReturnData: true,
    }));
    let nextToken: string | undefined;
    do {
      let page: GetMetricDataCommandOutput;
      try {
        page = await cloudwatch.send(
          new GetMetricDataCommand({
            MetricDataQueries: metricQueries,
            StartTime: new Date(range.start),
            EndTime: new Date(range.end),
            ScanBy: "TimestampAscending",
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        );
      } catch (error) {
        throw new AwsCallError(GET_METRIC_DATA_ACTION, "*", error, { invalid: read.invalid });
      }
      requested?.(metricQueries.length);
      for (const series of page.MetricDataResults ?? []) {
        const key = series.Id ? byId.get(series.Id) : undefined;
        if (key === undefined) continue;
        const timestamps = series.Timestamps ?? [];
        const values = series.Values ?? [];
        for (let i = 0; i < timestamps.length; i++) {
          const value = values[i];
          const at = timestamps[i];
          if (value === undefined || at === undefined) continue;
          point(key, at.getTime(), value);
        }
      }
      nextToken = page.NextToken;
    } while (nextToken);
  }
}

/** Pages may repeat a timestamp at their seam; the later value wins. */
function dedupeInPlace(points: CopyPoint[]): void {
  let write = 0;
  for (let read = 0; read < points.length; read++) {
    const p = points[read] as CopyPoint;
    if (write > 0 && (points[write - 1] as CopyPoint).t === p.t) points[write - 1] = p;
    else points[write++] = p;
  }
  points.length = write;
}
