import { decodeToken, encodeToken, requireString } from "./cloudwatchParams.js";
import { type GetMetricDataOutput, getMetricData } from "./getMetricData.js";
import type {
  Dimension,
  MetricKey,
  MetricPoint,
  MetricScope,
  SeriesReader,
  SyntheticMetrics,
} from "./metrics.js";
import { parseMetricData } from "./putMetricData.js";

const LIST_METRICS_PAGE = 500;

function keyString(namespace: string, metricName: string, dims: readonly Dimension[]): string {
  const d = [...dims]
    .map((x) => `${x.Name}=${x.Value}`)
    .sort()
    .join(",");
  return `${namespace}\u0000${metricName}\u0000${d}`;
}

interface StoredMetric {
  readonly key: MetricKey;
  readonly points: MetricPoint[];
}

export interface ListMetricsOutput {
  Metrics: { Namespace: string; MetricName: string; Dimensions: Dimension[] }[];
  NextToken?: string;
}

/**
 * CloudWatch's metric store and query engine: PutMetricData, GetMetricData, ListMetrics
 * over the wire shapes of AWS JSON 1.0, plus the synthetic AWS/Bedrock metrics.
 */
export class CloudWatchStore {
  /** Stored metrics by region (`""` for in-process writes), then by key. */
  readonly #stored = new Map<string, Map<string, StoredMetric>>();
  readonly #synthetic: SyntheticMetrics;

  constructor(synthetic: SyntheticMetrics) {
    this.#synthetic = synthetic;
  }

  putMetricData(
    input: Record<string, unknown>,
    now: number,
    scope: MetricScope = {},
  ): Record<string, never> {
    const { namespace, data: parsed } = parseMetricData(input, now);
    const region = scope.region ?? "";
    let stored = this.#stored.get(region);
    if (!stored) {
      stored = new Map();
      this.#stored.set(region, stored);
    }
    for (const p of parsed) {
      const id = keyString(namespace, p.metricName, p.dimensions);
      let metric = stored.get(id);
      if (!metric) {
        metric = {
          key: { namespace, metricName: p.metricName, dimensions: p.dimensions },
          points: [],
        };
        stored.set(id, metric);
      }
      for (const stats of p.samples) {
        metric.points.push(
          p.unit === undefined ? { t: p.t, stats } : { t: p.t, stats, unit: p.unit },
        );
      }
    }
    return {};
  }

  getMetricData(
    input: Record<string, unknown>,
    now: number,
    scope: MetricScope = {},
  ): GetMetricDataOutput {
    return getMetricData(input, now, scope, {
      reader: (key, s) => this.#reader(key, s),
      accounts: () => this.#synthetic.accounts(),
    });
  }

  listMetrics(
    input: Record<string, unknown>,
    now: number,
    scope: MetricScope = {},
  ): ListMetricsOutput {
    const namespace = typeof input.Namespace === "string" ? input.Namespace : undefined;
    const metricName = typeof input.MetricName === "string" ? input.MetricName : undefined;
    const filters = Array.isArray(input.Dimensions)
      ? (input.Dimensions as { Name?: unknown; Value?: unknown }[]).map((d, i) => ({
          Name: requireString(d?.Name, `Dimensions.member.${i + 1}.Name`),
          Value: typeof d?.Value === "string" ? d.Value : undefined,
        }))
      : [];
    const all = [
      ...this.#synthetic.list(now, scope),
      ...this.#storedIn(scope.region).map((m) => m.key),
    ];
    const matching = all.filter(
      (k) =>
        (namespace === undefined || k.namespace === namespace) &&
        (metricName === undefined || k.metricName === metricName) &&
        filters.every((f) =>
          k.dimensions.some(
            (d) => d.Name === f.Name && (f.Value === undefined || d.Value === f.Value),
          ),
        ),
    );
    const offset = decodeToken(input.NextToken);
    const page = matching.slice(offset, offset + LIST_METRICS_PAGE);
    return {
      Metrics: page.map((k) => ({
        Namespace: k.namespace,
        MetricName: k.metricName,
        Dimensions: k.dimensions.map((d) => ({ Name: d.Name, Value: d.Value })),
      })),
      ...(offset + LIST_METRICS_PAGE < matching.length
        ? { NextToken: encodeToken(offset + LIST_METRICS_PAGE) }
        : {}),
    };
  }

  /** Stored metrics visible in a region; every region's when none is given. */
  #storedIn(region: string | undefined): StoredMetric[] {
    if (region !== undefined) return [...(this.#stored.get(region)?.values() ?? [])];
    return [...this.#stored.values()].flatMap((m) => [...m.values()]);
  }

  #reader(key: MetricKey, scope: MetricScope): SeriesReader | undefined {
    const synthetic = this.#synthetic.reader(key, scope);
    if (synthetic) return synthetic;
    const id = keyString(key.namespace, key.metricName, key.dimensions);
    const regions =
      scope.region !== undefined ? [this.#stored.get(scope.region)] : [...this.#stored.values()];
    const series = regions.flatMap((m) => m?.get(id) ?? []);
    if (series.length === 0) return undefined;
    return (start, end, _now, visit) => {
      for (const stored of series) {
        for (const p of stored.points) if (p.t >= start && p.t < end) visit(p.t, p.stats, p.unit);
      }
    };
  }
}
