/** The statistics of the samples behind one datapoint, as CloudWatch keeps them. */
export interface StatSet {
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
}

export interface MetricPoint {
  /** Epoch ms. */
  readonly t: number;
  readonly stats: StatSet;
  readonly unit?: string;
}

export interface Dimension {
  readonly Name: string;
  readonly Value: string;
}

export interface MetricKey {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: readonly Dimension[];
}

/** Receives one datapoint of a series. */
export type PointVisitor = (t: number, stats: StatSet, unit: string | undefined) => void;

/**
 * Visits the points of one metric whose timestamps fall in [start, end) and are published
 * by `now`. A visitor rather than a list, because a month of minutes is millions of points.
 */
export type SeriesReader = (start: number, end: number, now: number, visit: PointVisitor) => void;

/**
 * Whose metrics a call sees. CloudWatch is regional: the region of the request's signing
 * scope. `accountId` is a query's AccountId. Undefined means every region (in-process calls).
 */
export interface MetricScope {
  readonly region?: string | undefined;
  readonly accountId?: string | undefined;
}

/** Metrics the simulator computes rather than stores: the AWS/Bedrock model metrics. */
export interface SyntheticMetrics {
  reader(key: MetricKey, scope: MetricScope): SeriesReader | undefined;
  /** Metrics with at least one published datapoint by `now`. */
  list(now: number, scope: MetricScope): readonly MetricKey[];
  /** The accounts that own simulated models: the only AccountId values a query may name. */
  accounts(): readonly string[];
}

export const STATISTICS = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"] as const;
export type Statistic = (typeof STATISTICS)[number];

export function statisticOf(stats: StatSet, stat: Statistic): number {
  switch (stat) {
    case "SampleCount":
      return stats.count;
    case "Sum":
      return stats.sum;
    case "Average":
      return stats.sum / stats.count;
    case "Minimum":
      return stats.min;
    case "Maximum":
      return stats.max;
  }
}
