import { awsErrors, SimServiceError } from "./errors.js";

/**
 * Cost Explorer's GetCostAndUsage input as the simulator reads it (AWS JSON 1.1): each field
 * checked as the service checks it, a bad one refused with a ValidationException that names it.
 */

export type Granularity = "DAILY" | "MONTHLY";

export const METRIC_NAMES = [
  "AmortizedCost",
  "BlendedCost",
  "NetAmortizedCost",
  "NetUnblendedCost",
  "NormalizedUsageAmount",
  "UnblendedCost",
  "UsageQuantity",
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** A filter over line items, as an Expression describes it. */
export type LineFilter = (item: Readonly<Partial<Record<string, string>>>) => boolean;

export interface CostRequest {
  /** Epoch ms of Start's 00:00 UTC. */
  readonly start: number;
  /** Epoch ms of End's 00:00 UTC (exclusive). */
  readonly end: number;
  readonly granularity: Granularity;
  readonly metrics: readonly MetricName[];
  readonly filter: LineFilter;
  /** Dimension keys to group by, in order; empty for totals only. */
  readonly groupBy: readonly string[];
  /** The first period the page starts at. */
  readonly firstPeriod: number;
  /** Identifies the request apart from its page, so a token cannot be used for another one. */
  readonly fingerprint: string;
}

const YEAR_MONTH_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

const invalid = (message: string) => new SimServiceError(awsErrors.costExplorerValidation(message));

function dayOf(value: unknown, field: string): number {
  const m = typeof value === "string" ? YEAR_MONTH_DAY.exec(value) : null;
  const t = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== value) {
    throw invalid(`TimePeriod.${field} ${JSON.stringify(value)} is not a date yyyy-MM-dd`);
  }
  return t;
}

/** Reads a GetCostAndUsage input; `today` is the simulator's UTC day (epoch ms of its 00:00). */
export function parseCostRequest(input: Record<string, unknown>, today: number): CostRequest {
  const period = input.TimePeriod as { Start?: unknown; End?: unknown } | undefined;
  if (typeof period !== "object" || period === null) throw invalid("TimePeriod is required");
  const start = dayOf(period.Start, "Start");
  const end = dayOf(period.End, "End");
  if (end <= start) {
    throw invalid("Start date (and hour) should be before end date (and hour)");
  }
  if (start > today) {
    throw invalid("Start date must be equal to or no later than the current date");
  }
  const granularity = input.Granularity;
  if (granularity !== "DAILY" && granularity !== "MONTHLY") {
    throw invalid(
      `Granularity ${JSON.stringify(granularity)}: the simulator serves DAILY and MONTHLY (HOURLY needs an opt-in it does not model)`,
    );
  }
  const metrics = input.Metrics;
  if (!Array.isArray(metrics) || metrics.length === 0) throw invalid("Metrics is required");
  for (const m of metrics) {
    if (!METRIC_NAMES.includes(m as MetricName)) {
      throw invalid(`Metrics ${JSON.stringify(m)}: allowed: ${METRIC_NAMES.join(", ")}`);
    }
  }
  const groupBy = parseGroupBy(input.GroupBy);
  const filter = input.Filter === undefined ? () => true : parseExpression(input.Filter, "Filter");
  const { NextPageToken: token, ...rest } = input;
  const fingerprint = hashOf(JSON.stringify(rest));
  return {
    start,
    end,
    granularity,
    metrics: metrics as MetricName[],
    filter,
    groupBy,
    firstPeriod: token === undefined ? 0 : periodOfToken(token, fingerprint),
    fingerprint,
  };
}

function parseGroupBy(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid("GroupBy must be a list");
  if (value.length > 2) throw invalid("GroupBy takes at most two group definitions");
  return value.map((g, i) => {
    const def = g as { Type?: unknown; Key?: unknown };
    if (def?.Type !== "DIMENSION" || typeof def.Key !== "string") {
      throw invalid(
        `GroupBy[${i}]: the simulator groups by Type DIMENSION with a Key (e.g. USAGE_TYPE), got ${JSON.stringify(g)}`,
      );
    }
    return def.Key;
  });
}

function parseExpression(value: unknown, path: string): LineFilter {
  const e = value as Record<string, unknown> | null;
  if (typeof e !== "object" || e === null) throw invalid(`${path} must be an Expression`);
  const keys = Object.keys(e);
  if (keys.length !== 1) {
    throw invalid(`${path}: an Expression has exactly one of And, Or, Not, Dimensions`);
  }
  const [key] = keys as [string];
  const list = (v: unknown) => {
    if (!Array.isArray(v) || v.length < 2)
      throw invalid(`${path}.${key} needs two expressions or more`);
    return v.map((x, i) => parseExpression(x, `${path}.${key}[${i}]`));
  };
  switch (key) {
    case "And": {
      const parts = list(e.And);
      return (item) => parts.every((p) => p(item));
    }
    case "Or": {
      const parts = list(e.Or);
      return (item) => parts.some((p) => p(item));
    }
    case "Not": {
      const inner = parseExpression(e.Not, `${path}.Not`);
      return (item) => !inner(item);
    }
    case "Dimensions":
      return dimensionFilter(e.Dimensions, `${path}.Dimensions`);
    default:
      throw invalid(
        `${path}.${key}: the simulator filters on And, Or, Not and Dimensions only (its line items carry no tags or cost categories)`,
      );
  }
}

function dimensionFilter(value: unknown, path: string): LineFilter {
  const d = value as { Key?: unknown; Values?: unknown; MatchOptions?: unknown } | null;
  if (typeof d?.Key !== "string") throw invalid(`${path}.Key is required`);
  if (!Array.isArray(d.Values) || !d.Values.every((v) => typeof v === "string")) {
    throw invalid(`${path}.Values must be a list of strings`);
  }
  const options = Array.isArray(d.MatchOptions) ? (d.MatchOptions as string[]) : ["EQUALS"];
  const sensitive = !options.includes("CASE_INSENSITIVE");
  const norm = (s: string) => (sensitive ? s : s.toLowerCase());
  const values = (d.Values as string[]).map(norm);
  const key = d.Key;
  const test = options.includes("STARTS_WITH")
    ? (v: string, w: string) => v.startsWith(w)
    : options.includes("ENDS_WITH")
      ? (v: string, w: string) => v.endsWith(w)
      : options.includes("CONTAINS")
        ? (v: string, w: string) => v.includes(w)
        : (v: string, w: string) => v === w;
  return (item) => {
    const v = item[key];
    return v !== undefined && values.some((w) => test(norm(v), w));
  };
}

/** The page token of the period index `period` of a request with this fingerprint. */
export function tokenOf(period: number, fingerprint: string): string {
  return Buffer.from(JSON.stringify({ p: period, f: fingerprint })).toString("base64url");
}

function periodOfToken(token: unknown, fingerprint: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(String(token), "base64url").toString("utf8")) as {
      p?: unknown;
      f?: unknown;
    };
    if (parsed.f === fingerprint && Number.isInteger(parsed.p) && (parsed.p as number) > 0) {
      return parsed.p as number;
    }
  } catch {
    // Not a token this simulator wrote: refused below.
  }
  throw new SimServiceError(awsErrors.invalidNextPageToken());
}

/** FNV-1a of a string, hex: enough to tell one request's tokens from another's. */
function hashOf(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16);
}
