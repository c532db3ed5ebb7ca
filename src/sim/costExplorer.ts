import { tablePrice } from "../config/pricing.js";
import { DEFAULT_CMU_VERSION } from "../domain/price.js";
import { DAY_MS, MINUTE_MS } from "../domain/units.js";
import { familyOf, type UsageKind, usageTypeOf } from "../domain/usageType.js";
import {
  type CostRequest,
  type MetricName,
  parseCostRequest,
  tokenOf,
} from "./costExplorerRequest.js";
import type { FaultSchedule } from "./faults.js";
import type { CopyRun } from "./fleet.js";
import { billedWindowsOf, type TimeRange } from "./ledger.js";
import { parseImportedModelArn, type SimModelSpec } from "./settings.js";

/**
 * Cost Explorer's GetCostAndUsage over the simulator's bill: each model's copy runs billed
 * in windows and priced by region and CMU version, and its storage, as line items with
 * Cost Explorer's usage types (docs/simulator.md#cost-explorer). What AWS bills differently
 * from keepwarm's rule comes from the `billingWindow` and `priceChange` faults.
 */

/** Usage shows in Cost Explorer this long after it happened; a day is final once all of it shows. */
export const COST_EXPLORER_DELAY_MS = DAY_MS;
/** A page holds whole periods up to this many groups (at least one period). */
export const COST_EXPLORER_PAGE_GROUPS = 500;
/** Cost Explorer's SERVICE of Custom Model Import. */
export const BEDROCK_SERVICE = "Amazon Bedrock";
/** AWS's storage price where the built-in table has none for a region and version. */
const FALLBACK_STORAGE = tablePrice("us-east-1", DEFAULT_CMU_VERSION)?.storageUsdPerCmuMonth ?? 0;

/** One model as the bill sees it. */
export interface BilledModel {
  readonly spec: SimModelSpec;
  /** When it was imported (added to the simulator). */
  readonly createdAt: number;
  /** When it was deleted, if it was: its storage ends there. */
  readonly deletedAt: number | undefined;
  readonly runs: readonly CopyRun[];
}

/** What the bill is drawn from. */
export interface CostBook {
  readonly now: number;
  readonly models: readonly BilledModel[];
  readonly faults: FaultSchedule;
  readonly billingWindowMs: number;
  /** The price of a region and version the built-in table has none for. */
  readonly usdPerCmuMinute: number;
}

interface MetricValue {
  Amount: string;
  Unit: string;
}

export interface GetCostAndUsageOutput {
  GroupDefinitions: { Type: string; Key: string }[];
  ResultsByTime: {
    TimePeriod: { Start: string; End: string };
    Total: Record<string, MetricValue>;
    Groups: { Keys: string[]; Metrics: Record<string, MetricValue> }[];
    Estimated: boolean;
  }[];
  DimensionValueAttributes: never[];
  NextPageToken?: string;
}

interface LineItem {
  readonly dims: Readonly<Record<string, string>>;
  readonly kind: UsageKind;
  readonly usd: number;
  /** CMU-minutes for inference, CMU-months for storage. */
  readonly quantity: number;
}

const USAGE_UNIT: Readonly<Record<UsageKind, string>> = {
  inference: "CMU-Minutes",
  storage: "CMU-Months",
};

/** Answers a GetCostAndUsage input from `book`; throws SimServiceError for a bad input. */
export function getCostAndUsage(
  input: Record<string, unknown>,
  book: CostBook,
): GetCostAndUsageOutput {
  const today = Math.floor(book.now / DAY_MS) * DAY_MS;
  const request = parseCostRequest(input, today);
  const periods = periodsOf(request);
  const results: GetCostAndUsageOutput["ResultsByTime"] = [];
  let groups = 0;
  let next: number | undefined;
  for (let i = request.firstPeriod; i < periods.length; i++) {
    const period = periods[i] as TimeRange;
    const items = lineItems(book, period).filter((item) => request.filter(item.dims));
    const result = resultOf(request, period, items, book.now);
    if (results.length > 0 && groups + result.Groups.length > COST_EXPLORER_PAGE_GROUPS) {
      next = i;
      break;
    }
    groups += result.Groups.length;
    results.push(result);
  }
  return {
    GroupDefinitions: request.groupBy.map((Key) => ({ Type: "DIMENSION", Key })),
    ResultsByTime: results,
    DimensionValueAttributes: [],
    ...(next !== undefined ? { NextPageToken: tokenOf(next, request.fingerprint) } : {}),
  };
}

function periodsOf(request: CostRequest): TimeRange[] {
  const periods: TimeRange[] = [];
  for (let t = request.start; t < request.end; ) {
    const d = new Date(t);
    const next =
      request.granularity === "DAILY"
        ? t + DAY_MS
        : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1);
    periods.push({ start: t, end: Math.min(next, request.end) });
    t = next;
  }
  return periods;
}

function resultOf(
  request: CostRequest,
  period: TimeRange,
  items: readonly LineItem[],
  now: number,
): GetCostAndUsageOutput["ResultsByTime"][number] {
  const byKeys = new Map<string, { keys: string[]; items: LineItem[] }>();
  if (request.groupBy.length > 0) {
    for (const item of items) {
      const keys = request.groupBy.map((k) => item.dims[k] ?? `No${k}`);
      const id = keys.join("\u0000");
      const entry = byKeys.get(id) ?? { keys, items: [] };
      entry.items.push(item);
      byKeys.set(id, entry);
    }
  }
  const groups = [...byKeys.values()]
    .sort((a, b) => a.keys.join("\u0000").localeCompare(b.keys.join("\u0000")))
    .map((g) => ({ Keys: g.keys, Metrics: metricsOf(request.metrics, g.items) }));
  return {
    TimePeriod: { Start: isoDay(period.start), End: isoDay(period.end) },
    Total: request.groupBy.length > 0 ? {} : metricsOf(request.metrics, items),
    Groups: groups,
    Estimated: now - COST_EXPLORER_DELAY_MS < period.end,
  };
}

function metricsOf(
  metrics: readonly MetricName[],
  items: readonly LineItem[],
): Record<string, MetricValue> {
  const usd = items.reduce((sum, i) => sum + i.usd, 0);
  const quantity = items.reduce((sum, i) => sum + i.quantity, 0);
  const kinds = new Set(items.map((i) => i.kind));
  const unit = kinds.size === 1 ? USAGE_UNIT[[...kinds][0] as UsageKind] : "N/A";
  const out: Record<string, MetricValue> = {};
  for (const m of metrics) {
    out[m] =
      m === "UsageQuantity" || m === "NormalizedUsageAmount"
        ? { Amount: amountOf(quantity), Unit: unit }
        : { Amount: amountOf(usd), Unit: "USD" };
  }
  return out;
}

/** What Cost Explorer shows of `period` at `book.now`: usage older than the delay. */
function lineItems(book: CostBook, period: TimeRange): LineItem[] {
  const visible = {
    start: period.start,
    end: Math.min(period.end, book.now - COST_EXPLORER_DELAY_MS),
  };
  if (visible.end <= visible.start) return [];
  const items: LineItem[] = [];
  for (const model of book.models) {
    const parts = parseImportedModelArn(model.spec.modelArn);
    if (!parts) continue;
    const version = model.spec.cmuVersion ?? DEFAULT_CMU_VERSION;
    const family =
      familyOf(model.spec.architecture ?? "llama") ?? titleCase(model.spec.architecture);
    const table = tablePrice(parts.region, version);
    const dims = (kind: UsageKind) => ({
      SERVICE: BEDROCK_SERVICE,
      USAGE_TYPE: usageTypeOf(parts.region, family, kind, version),
      REGION: parts.region,
      LINKED_ACCOUNT: parts.accountId,
      RECORD_TYPE: "Usage",
    });
    const cmu = model.spec.customModelUnits;
    const copyMinutes = billedCopyMinutes(book, model, visible, table?.usdPerCmuMinute);
    if (copyMinutes.windows > 0) {
      items.push({
        dims: dims("inference"),
        kind: "inference",
        usd: copyMinutes.usd * cmu,
        quantity: copyMinutes.minutes * cmu,
      });
    }
    const months = storageMonths(model, visible);
    if (months > 0) {
      items.push({
        dims: dims("storage"),
        kind: "storage",
        usd: months * cmu * (table?.storageUsdPerCmuMonth ?? FALLBACK_STORAGE),
        quantity: months * cmu,
      });
    }
  }
  return items;
}

/**
 * Billing windows of the model's copy runs that start in `range`, in minutes and in USD per
 * CMU: each run in the window a `billingWindow` fault gives it, each window at the price a
 * `priceChange` fault gives its start, else at the region's and version's price.
 */
function billedCopyMinutes(
  book: CostBook,
  model: BilledModel,
  range: TimeRange,
  tableUsd: number | undefined,
): { windows: number; minutes: number; usd: number } {
  const arn = model.spec.modelArn;
  const base = tableUsd ?? book.usdPerCmuMinute;
  const edges = [
    range.start,
    ...book.faults.priceChangesIn(arn, range.start, range.end),
    range.end,
  ];
  let windows = 0;
  let minutes = 0;
  let usd = 0;
  for (const run of model.runs) {
    if (run.start >= range.end || (run.end !== undefined && run.end <= range.start)) continue;
    const windowMs = book.faults.billingWindowAt(arn, run.start) ?? book.billingWindowMs;
    for (let i = 0; i + 1 < edges.length; i++) {
      const piece = { start: edges[i] as number, end: edges[i + 1] as number };
      const n = billedWindowsOf(run, windowMs, book.now, piece);
      if (n === 0) continue;
      const price = book.faults.priceAt(arn, piece.start) ?? base;
      windows += n;
      minutes += (n * windowMs) / MINUTE_MS;
      usd += ((n * windowMs) / MINUTE_MS) * price;
    }
  }
  return { windows, minutes, usd };
}

/** The months of storage the model held in `range`: each day's share of its month. */
function storageMonths(model: BilledModel, range: TimeRange): number {
  const from = Math.max(range.start, model.createdAt);
  const to = Math.min(range.end, model.deletedAt ?? Number.POSITIVE_INFINITY);
  let months = 0;
  for (let day = Math.floor(from / DAY_MS) * DAY_MS; day < to; day += DAY_MS) {
    const held = Math.min(to, day + DAY_MS) - Math.max(from, day);
    if (held > 0) months += held / DAY_MS / daysInMonth(day);
  }
  return months;
}

function daysInMonth(t: number): number {
  const d = new Date(t);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
}

function isoDay(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

/** Cost Explorer's amounts are decimal strings without an exponent. */
function amountOf(x: number): string {
  const fixed = x.toFixed(10).replace(/0+$/, "").replace(/\.$/, "");
  return fixed === "-0" ? "0" : fixed;
}

/** A family for an architecture no usage type is known for: `phi3` -> `Phi3`. */
function titleCase(architecture: string | undefined): string {
  const plain = (architecture ?? "").replace(/[^A-Za-z0-9]/g, "");
  return plain === "" ? "Unknown" : plain[0]?.toUpperCase() + plain.slice(1);
}
