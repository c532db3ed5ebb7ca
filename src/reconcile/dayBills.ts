import type { CopyPoint } from "../aws/metrics.js";
import type { Interval } from "../domain/interval.js";
import { billCopySeriesIn, monthOf, monthRange } from "../domain/spend.js";
import { DAY_MS } from "../domain/units.js";
import type { ModelFacts } from "./modelFacts.js";

/** keepwarm's bill of one model for one UTC day; null where it cannot be known. */
export interface DayBill {
  readonly inferenceUsd: number | null;
  readonly storageUsd: number | null;
}

/**
 * What keepwarm's rule bills `model` for `day`: the 5-minute windows of its ModelCopy runs
 * that start in the day (the daemon's month to date, cut at midnight) times its CMUs and
 * price, and a day's share of a month of storage for the part of the day the import existed.
 * `historyFrom` is the earliest instant CloudWatch still had ModelCopy for at the read.
 */
export function billDay(
  model: ModelFacts,
  points: readonly CopyPoint[],
  day: Interval,
  historyFrom: number,
): DayBill {
  const { cmu, price } = model;
  if (cmu === undefined || price === undefined) return { inferenceUsd: null, storageUsd: null };
  const inferenceUsd =
    day.start < historyFrom ? null : billCopySeriesIn(points, day) * cmu * price.usdPerCmuMinute;
  const month = monthRange(monthOf(day.start));
  const daysInMonth = (month.end - month.start) / DAY_MS;
  const held = Math.max(0, day.end - Math.max(day.start, model.createdAt ?? day.start));
  const storageUsd = (cmu * price.storageUsdPerCmuMonth * held) / DAY_MS / daysInMonth;
  return { inferenceUsd, storageUsd };
}
