import { awsErrors, SimServiceError } from "./errors.js";

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

const MINUTE = 60_000;
const DAY = 86_400_000;
const DEFAULT_MAX_DATAPOINTS = 100_800;
const LIST_METRICS_PAGE = 500;
const QUERY_ID = /^[a-z][a-zA-Z0-9_]*$/;
const MAX_DATUMS = 1000;
const MAX_DIMENSIONS = 30;
const MAX_VALUES = 150;
// PutMetricData takes timestamps up to two weeks old and two hours ahead.
const MAX_PAST_MS = 14 * DAY;
const MAX_FUTURE_MS = 2 * 3_600_000;
const HIGH_RESOLUTION_PERIODS = [1, 5, 10, 20, 30];
const TIMEZONE = /^([+-])(\d{2})(\d{2})$/;
const ACCOUNT_ID = /^\d{12}$/;

/** How long CloudWatch keeps data at a period's resolution (facts §6). */
function retentionMs(periodSec: number): number {
  if (periodSec < 60) return 3 * 3_600_000;
  if (periodSec < 300) return 15 * DAY;
  if (periodSec < 3600) return 63 * DAY;
  return 455 * DAY;
}

/** CloudWatch rounds a start time down, more coarsely the older it is. */
function roundStart(start: number, now: number): number {
  const age = now - start;
  const step = age < 15 * DAY ? MINUTE : age < 63 * DAY ? 5 * MINUTE : 60 * MINUTE;
  return Math.floor(start / step) * step;
}

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

function keyString(namespace: string, metricName: string, dims: readonly Dimension[]): string {
  const d = [...dims]
    .map((x) => `${x.Name}=${x.Value}`)
    .sort()
    .join(",");
  return `${namespace}\u0000${metricName}\u0000${d}`;
}

// Wire values arrive as epoch seconds (the SDK) or ISO strings (hand-written JSON).
function parseInstant(v: unknown, field: string): number {
  if (typeof v === "number" && Number.isFinite(v)) return Math.round(v * 1000);
  if (typeof v === "string") {
    const n = Number(v);
    if (v.trim() !== "" && Number.isFinite(n)) return Math.round(n * 1000);
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  throw new SimServiceError(
    awsErrors.invalidParameterValue(`The parameter ${field} must be a timestamp.`),
  );
}

function requireString(v: unknown, field: string): string {
  if (typeof v !== "string" || v === "") {
    throw new SimServiceError(awsErrors.missingParameter(`The parameter ${field} is required.`));
  }
  return v;
}

function requireNumber(v: unknown, field: string): number {
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n)) {
    throw new SimServiceError(
      awsErrors.invalidParameterValue(`The parameter ${field} must be a number.`),
    );
  }
  return n;
}

function parseDimensions(v: unknown, field: string): Dimension[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    throw new SimServiceError(awsErrors.invalidParameterValue(`${field} must be a list.`));
  }
  if (v.length > MAX_DIMENSIONS) {
    throw new SimServiceError(
      awsErrors.invalidParameterValue(
        `The collection ${field} must not have a size greater than ${MAX_DIMENSIONS}.`,
      ),
    );
  }
  return v.map((d, i) => ({
    Name: requireString(d?.Name, `${field}.member.${i + 1}.Name`),
    Value: requireString(d?.Value, `${field}.member.${i + 1}.Value`),
  }));
}

function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset }), "utf8").toString("base64url");
}

function decodeToken(token: unknown): number {
  if (token === undefined || token === null) return 0;
  try {
    const { offset } = JSON.parse(Buffer.from(String(token), "base64url").toString("utf8"));
    if (Number.isInteger(offset) && offset >= 0) return offset;
  } catch (cause) {
    throw new SimServiceError(awsErrors.invalidNextToken(), { cause });
  }
  throw new SimServiceError(awsErrors.invalidNextToken());
}

interface StoredMetric {
  readonly key: MetricKey;
  readonly points: MetricPoint[];
}

interface ParsedQuery {
  readonly id: string;
  /** As asked, dynamic expressions unexpanded; the metric name when absent. */
  readonly label: string;
  readonly key: MetricKey;
  readonly periodSec: number;
  readonly stat: Statistic;
  readonly unit: string | undefined;
  readonly returnData: boolean;
  readonly accountId: string | undefined;
}

/** Wire-shaped (AWS JSON 1.0) output of GetMetricData. */
export interface GetMetricDataOutput {
  MetricDataResults: {
    Id: string;
    Label: string;
    Timestamps: number[];
    Values: number[];
    StatusCode: "Complete" | "PartialData";
  }[];
  NextToken?: string;
  Messages: never[];
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
    const namespace = requireString(input.Namespace, "Namespace");
    if (namespace.startsWith("AWS/")) {
      throw new SimServiceError(
        awsErrors.invalidParameterValue(
          `The value ${namespace} for parameter Namespace is invalid.`,
        ),
      );
    }
    const data = input.MetricData;
    if (!Array.isArray(data) || data.length === 0) {
      throw new SimServiceError(
        awsErrors.missingParameter("The parameter MetricData is required."),
      );
    }
    if (data.length > MAX_DATUMS) {
      throw new SimServiceError(
        awsErrors.invalidParameterValue(
          `The collection MetricData must not have a size greater than ${MAX_DATUMS}.`,
        ),
      );
    }
    // Validate all before storing any, as CloudWatch rejects the whole request.
    const parsed = data.map((d, i) => {
      const field = `MetricData.member.${i + 1}`;
      const metricName = requireString(d?.MetricName, `${field}.MetricName`);
      const dimensions = parseDimensions(d?.Dimensions, `${field}.Dimensions`);
      const t = d?.Timestamp === undefined ? now : parseInstant(d.Timestamp, `${field}.Timestamp`);
      if (t < now - MAX_PAST_MS || t > now + MAX_FUTURE_MS) {
        throw new SimServiceError(
          awsErrors.invalidParameterValue(
            `The parameter ${field}.Timestamp must specify a time no more than ${t < now ? "two weeks in the past" : "two hours in the future"}.`,
          ),
        );
      }
      const unit = typeof d?.Unit === "string" ? d.Unit : undefined;
      return { metricName, dimensions, t, unit, samples: samplesOf(d, field) };
    });
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
    const start = parseInstant(input.StartTime ?? fail("StartTime"), "StartTime");
    const end = parseInstant(input.EndTime ?? fail("EndTime"), "EndTime");
    if (end <= start) {
      throw new SimServiceError(
        awsErrors.invalidParameterValue("The parameter EndTime must be greater than StartTime."),
      );
    }
    const queries = parseQueries(input.MetricDataQueries, this.#synthetic.accounts());
    const offsetMs = parseLabelTimezone(input.LabelOptions);
    const descending = (input.ScanBy ?? "TimestampDescending") !== "TimestampAscending";
    const maxDatapoints =
      input.MaxDatapoints === undefined
        ? DEFAULT_MAX_DATAPOINTS
        : requireNumber(input.MaxDatapoints, "MaxDatapoints");
    const offset = decodeToken(input.NextToken);

    const series = queries
      .filter((q) => q.returnData)
      .map((q) => ({
        q,
        points: this.#aggregate(q, start, end, now, descending, {
          region: scope.region,
          accountId: q.accountId,
        }),
      }));
    const total = series.reduce((n, s) => n + s.points.length, 0);
    const pageEnd = Math.min(total, offset + maxDatapoints);
    let before = 0;
    const results = series.map(({ q, points }) => {
      const from = Math.min(points.length, Math.max(0, offset - before));
      const to = Math.min(points.length, Math.max(0, pageEnd - before));
      before += points.length;
      const page = points.slice(from, to);
      return {
        Id: q.id,
        Label: expandLabel(q, points, descending, offsetMs),
        Timestamps: page.map((p) => p.t / 1000),
        Values: page.map((p) => p.value),
        StatusCode: to < points.length ? ("PartialData" as const) : ("Complete" as const),
      };
    });
    return {
      MetricDataResults: results,
      ...(pageEnd < total ? { NextToken: encodeToken(pageEnd) } : {}),
      Messages: [],
    };
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

  #aggregate(
    q: ParsedQuery,
    start: number,
    end: number,
    now: number,
    descending: boolean,
    scope: MetricScope,
  ): { t: number; value: number }[] {
    const read = this.#reader(q.key, scope);
    if (!read) return [];
    const periodMs = q.periodSec * 1000;
    const from = Math.max(roundStart(start, now), now - retentionMs(q.periodSec));
    const binStart = roundStart(start, now);
    const nBins = Math.max(0, Math.ceil((end - binStart) / periodMs));
    // Plain arrays: a query asks for a few bins, and typed arrays cost more to allocate.
    const count: number[] = new Array(nBins).fill(0);
    const sum: number[] = new Array(nBins).fill(0);
    const min: number[] = new Array(nBins).fill(Number.POSITIVE_INFINITY);
    const max: number[] = new Array(nBins).fill(Number.NEGATIVE_INFINITY);
    read(from, end, now, (t, stats, unit) => {
      if (t < from || t >= end) return;
      if (q.unit !== undefined && unit !== q.unit) return;
      const i = Math.floor((t - binStart) / periodMs);
      count[i] = (count[i] as number) + stats.count;
      sum[i] = (sum[i] as number) + stats.sum;
      if (stats.min < (min[i] as number)) min[i] = stats.min;
      if (stats.max > (max[i] as number)) max[i] = stats.max;
    });
    const out: { t: number; value: number }[] = [];
    for (let i = 0; i < nBins; i++) {
      const n = count[i] as number;
      if (n === 0) continue;
      const stats = {
        count: n,
        sum: sum[i] as number,
        min: min[i] as number,
        max: max[i] as number,
      };
      out.push({ t: binStart + i * periodMs, value: statisticOf(stats, q.stat) });
    }
    return descending ? out.reverse() : out;
  }
}

function fail(field: string): never {
  throw new SimServiceError(awsErrors.missingParameter(`The parameter ${field} is required.`));
}

function samplesOf(d: Record<string, unknown>, field: string): StatSet[] {
  const given = (["Value", "Values", "StatisticValues"] as const).filter(
    (k) => d[k] !== undefined && d[k] !== null && !(Array.isArray(d[k]) && d[k].length === 0),
  );
  if (given.length > 1) {
    throw new SimServiceError(
      awsErrors.invalidParameterCombination(
        `The parameters ${field}.${given[0]} and ${field}.${given[1]} are mutually exclusive and you have specified both.`,
      ),
    );
  }
  if (Array.isArray(d.Counts) && d.Counts.length > 0 && !Array.isArray(d.Values)) {
    throw new SimServiceError(
      awsErrors.invalidParameterCombination(
        `The parameter ${field}.Counts must be used together with ${field}.Values.`,
      ),
    );
  }
  if (Array.isArray(d.Values) && d.Values.length > 0) {
    const counts = Array.isArray(d.Counts) ? d.Counts : [];
    if (d.Values.length > MAX_VALUES) {
      throw new SimServiceError(
        awsErrors.invalidParameterValue(
          `The collection ${field}.Values must not have a size greater than ${MAX_VALUES}.`,
        ),
      );
    }
    if (counts.length > 0 && counts.length !== d.Values.length) {
      throw new SimServiceError(
        awsErrors.invalidParameterValue(
          `The parameters ${field}.Values and ${field}.Counts must be of the same size.`,
        ),
      );
    }
    return d.Values.map((v, i) => {
      const value = requireNumber(v, `${field}.Values.member.${i + 1}`);
      const count = counts[i] === undefined ? 1 : requireNumber(counts[i], `${field}.Counts`);
      return { count, sum: value * count, min: value, max: value };
    });
  }
  const sv = d.StatisticValues as Record<string, unknown> | undefined;
  if (sv) {
    return [
      {
        count: requireNumber(sv.SampleCount, `${field}.StatisticValues.SampleCount`),
        sum: requireNumber(sv.Sum, `${field}.StatisticValues.Sum`),
        min: requireNumber(sv.Minimum, `${field}.StatisticValues.Minimum`),
        max: requireNumber(sv.Maximum, `${field}.StatisticValues.Maximum`),
      },
    ];
  }
  const value = requireNumber(d.Value ?? fail(`${field}.Value`), `${field}.Value`);
  return [{ count: 1, sum: value, min: value, max: value }];
}

function parseQueries(raw: unknown, accounts: readonly string[]): ParsedQuery[] {
  if (!Array.isArray(raw) || raw.length === 0) fail("MetricDataQueries");
  if (raw.length > 500) {
    throw new SimServiceError(
      awsErrors.invalidParameterValue(
        "The collection MetricDataQueries must not have more than 500 members.",
      ),
    );
  }
  const seen = new Set<string>();
  return raw.map((q, i): ParsedQuery => {
    const field = `MetricDataQueries.member.${i + 1}`;
    const id = requireString(q?.Id, `${field}.Id`);
    if (!QUERY_ID.test(id) || seen.has(id)) {
      throw new SimServiceError(
        awsErrors.invalidParameterValue(
          `The value ${id} for parameter ${field}.Id is invalid: it must be unique and start with a lowercase letter.`,
        ),
      );
    }
    seen.add(id);
    if (q.Expression !== undefined) {
      throw new SimServiceError(
        awsErrors.invalidParameterValue(
          `${field}.Expression: metric math is not implemented by the keepwarm simulator; use MetricStat.`,
        ),
      );
    }
    const ms = q.MetricStat;
    if (!ms) fail(`${field}.MetricStat`);
    const metric = ms.Metric ?? fail(`${field}.MetricStat.Metric`);
    const periodSec = requireNumber(
      ms.Period ?? fail(`${field}.MetricStat.Period`),
      `${field}.MetricStat.Period`,
    );
    if (
      !(periodSec >= 1) ||
      (periodSec >= 60 ? periodSec % 60 !== 0 : !HIGH_RESOLUTION_PERIODS.includes(periodSec))
    ) {
      throw new SimServiceError(
        awsErrors.invalidParameterValue(
          `The parameter ${field}.MetricStat.Period must be 1, 5, 10, 20, 30 or a multiple of 60.`,
        ),
      );
    }
    const accountId = q.AccountId === undefined ? undefined : String(q.AccountId);
    if (accountId !== undefined && (!ACCOUNT_ID.test(accountId) || !accounts.includes(accountId))) {
      throw new SimServiceError(
        awsErrors.invalidParameterValue(
          `The value ${accountId} for parameter ${field}.AccountId is invalid: the keepwarm simulator has no cross-account observability; it knows the accounts of its models (${accounts.join(", ") || "none"}).`,
        ),
      );
    }
    const stat = requireString(ms.Stat, `${field}.MetricStat.Stat`);
    if (!(STATISTICS as readonly string[]).includes(stat)) {
      throw new SimServiceError(
        awsErrors.invalidParameterValue(
          `The value ${stat} for parameter ${field}.MetricStat.Stat is not supported by the keepwarm simulator; use one of ${STATISTICS.join(", ")}.`,
        ),
      );
    }
    const metricName = requireString(metric.MetricName, `${field}.MetricStat.Metric.MetricName`);
    return {
      id,
      label: typeof q.Label === "string" ? q.Label : metricName,
      key: {
        namespace: requireString(metric.Namespace, `${field}.MetricStat.Metric.Namespace`),
        metricName,
        dimensions: parseDimensions(metric.Dimensions, `${field}.MetricStat.Metric.Dimensions`),
      },
      periodSec,
      stat: stat as Statistic,
      unit: typeof ms.Unit === "string" ? ms.Unit : undefined,
      returnData: q.ReturnData !== false,
      accountId,
    };
  });
}

/** LabelOptions.Timezone (`+0130`) as an offset in ms; +0000 when absent. */
function parseLabelTimezone(raw: unknown): number {
  const tz = (raw as { Timezone?: unknown } | undefined)?.Timezone;
  if (tz === undefined || tz === null) return 0;
  const m = typeof tz === "string" ? TIMEZONE.exec(tz) : null;
  if (!m || Number(m[3]) >= 60 || Number(m[2]) > 14) {
    throw new SimServiceError(
      awsErrors.invalidParameterValue(
        `The value ${String(tz)} for parameter LabelOptions.Timezone is invalid: it must be + or - followed by four digits (hhmm), e.g. +0130.`,
      ),
    );
  }
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return (m[1] === "-" ? -1 : 1) * minutes * MINUTE;
}

const DYNAMIC_LABEL = /\$\{([A-Z_]+)(?:\('([^']*)'\))?\}/g;
// Needing a rendering AWS does not document (relative times, durations): refused, not guessed.
const UNSUPPORTED_LABELS = new Set([
  "FIRST_TIME_RELATIVE",
  "LAST_TIME_RELATIVE",
  "FIRST_LAST_TIME_RANGE",
  "MAX_MIN_TIME_RANGE",
]);

/**
 * A query's label with its dynamic expressions (`${MAX}`, `${PROP('Dim.ModelId')}`, ...)
 * filled in from every datapoint of the result, not just this page. Time expressions are
 * ISO 8601 in LabelOptions.Timezone. A series without datapoints fills value expressions
 * with nothing.
 */
function expandLabel(
  q: ParsedQuery,
  points: readonly { t: number; value: number }[],
  descending: boolean,
  offsetMs: number,
): string {
  if (!q.label.includes("${")) return q.label;
  const chrono = descending ? [...points].reverse() : points;
  const values = chrono.map((p) => p.value);
  const first = chrono[0];
  const last = chrono[chrono.length - 1];
  const sum = values.reduce((a, b) => a + b, 0);
  const max = values.length > 0 ? Math.max(...values) : undefined;
  const min = values.length > 0 ? Math.min(...values) : undefined;
  const number = (v: number | undefined) => (v === undefined ? "" : String(v));
  return q.label.replace(DYNAMIC_LABEL, (whole, name: string, arg: string | undefined) => {
    switch (name) {
      case "AVG":
        return number(values.length > 0 ? sum / values.length : undefined);
      case "DATAPOINT_COUNT":
        return String(values.length);
      case "SUM":
        return number(values.length > 0 ? sum : undefined);
      case "MAX":
        return number(max);
      case "MIN":
        return number(min);
      case "FIRST":
        return number(first?.value);
      case "LAST":
        return number(last?.value);
      case "MAX_MIN_RANGE":
        return number(max === undefined || min === undefined ? undefined : max - min);
      case "FIRST_LAST_RANGE":
        return number(first && last ? last.value - first.value : undefined);
      case "FIRST_TIME":
        return first ? isoInOffset(first.t, offsetMs) : "";
      case "LAST_TIME":
        return last ? isoInOffset(last.t, offsetMs) : "";
      case "LABEL":
        return q.key.metricName;
      case "PROP":
        if (arg !== undefined) {
          const prop = labelProperty(q, arg);
          if (prop !== undefined) return prop;
        }
        break;
    }
    const reason = UNSUPPORTED_LABELS.has(name)
      ? "is not implemented by the keepwarm simulator"
      : "is not a dynamic label";
    throw new SimServiceError(
      awsErrors.invalidParameterValue(
        `The label ${JSON.stringify(q.label)} of ${q.id}: ${whole} ${reason}.`,
      ),
    );
  });
}

function labelProperty(q: ParsedQuery, prop: string): string | undefined {
  if (prop === "MetricName") return q.key.metricName;
  if (prop === "Namespace") return q.key.namespace;
  if (prop === "Period") return String(q.periodSec);
  if (prop === "Stat") return q.stat;
  if (prop.startsWith("Dim.")) {
    return q.key.dimensions.find((d) => d.Name === prop.slice(4))?.Value;
  }
  return undefined;
}

function isoInOffset(t: number, offsetMs: number): string {
  const local = new Date(t + offsetMs).toISOString().slice(0, 19);
  const minutes = Math.abs(offsetMs) / MINUTE;
  const hh = String(Math.floor(minutes / 60)).padStart(2, "0");
  const mm = String(minutes % 60).padStart(2, "0");
  return `${local}${offsetMs < 0 ? "-" : "+"}${hh}:${mm}`;
}
