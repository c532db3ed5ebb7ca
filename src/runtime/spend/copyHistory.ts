import type { CopyPoint } from "../../aws/metrics.js";
import type { Interval } from "../../domain/interval.js";
import { billCopySeries } from "../../domain/spend.js";
import { MINUTE_MS } from "../../domain/units.js";

/**
 * A datapoint this old is final: CloudWatch publishes ModelCopy within a few minutes, and
 * each poll reads from ten minutes before the end of the last one that worked.
 */
export const SETTLE_MS = 10 * MINUTE_MS;

/** How far back points are kept for the daily summary: yesterday, seen from after midnight. */
const KEEP_MS = 2 * 24 * 60 * MINUTE_MS;

/**
 * The ModelCopy series of one model over one billing month, and the copy-minutes it bills.
 * Billing a month of points every minute for every model would be quadratic, so settled
 * points are billed once and folded into a total at seams where splitting the series
 * cannot change the bill: a minute with no copy, or a point up to which no run is rounded.
 */
export class CopyHistory {
  readonly month: Interval;
  #sealedCopyMinutes = 0;
  /** Points not folded into the total yet, ascending; the first may be a seam repeated. */
  #open: CopyPoint[] = [];
  /** Every point of the last two days, for summaries, whatever month it is in. */
  #recent = new CompactSeries();
  #sealedUntil: number;
  #openBill: number | undefined = 0;

  constructor(month: Interval) {
    this.month = month;
    this.#sealedUntil = month.start;
  }

  /** Adds or replaces points (ascending) and folds what has settled by `now`. */
  merge(points: readonly CopyPoint[], now: number): void {
    let changed = false;
    for (const p of points) {
      // A local day can straddle two UTC months: the summary needs its points from both.
      if (p.t >= now - KEEP_MS) this.#recent.upsert(p);
      if (p.t < this.#sealedUntil || p.t < this.month.start || p.t >= this.month.end) continue;
      changed = upsert(this.#open, p) || changed;
    }
    this.#recent.dropBefore(now - KEEP_MS);
    if (!changed) return;
    this.#openBill = undefined;
    this.#seal(now - SETTLE_MS);
  }

  /** An empty history of `month` that keeps the last two days of points for the summary. */
  rollTo(month: Interval): CopyHistory {
    const next = new CopyHistory(month);
    next.#recent = this.#recent;
    return next;
  }

  /** Copy-minutes billed this month so far, in whole 5-minute windows per run and copy. */
  billedCopyMinutes(): number {
    this.#openBill ??= billCopySeries(this.#open);
    return this.#sealedCopyMinutes + this.#openBill;
  }

  latest(): CopyPoint | undefined {
    return this.#recent.latest();
  }

  /** Points of the last two days inside `range`, ascending. */
  pointsIn(range: Interval): CopyPoint[] {
    return this.#recent.pointsIn(range);
  }

  #seal(settledBefore: number): void {
    const open = this.#open;
    let last = -1;
    while (last + 1 < open.length && (open[last + 1] as CopyPoint).t < settledBefore) last++;
    if (last < 1) return;
    let seam = -1;
    for (let i = last; i > 0; i--) {
      if ((open[i] as CopyPoint).copies === 0) {
        seam = i;
        break;
      }
    }
    if (seam > 0) {
      // A minute without copies ends every run: the bill splits there exactly.
      this.#fold(seam, seam);
      return;
    }
    // No idle minute (an always-on stretch): split after the last settled point if nothing
    // before it was rounded up, so the runs it cuts resume on a 5-minute boundary.
    const head = open.slice(0, last + 1);
    const raw = head.reduce((sum, p) => sum + p.copies, 0);
    if (head.length >= 5 && billCopySeries(head) === raw) this.#fold(last + 1, last + 1);
  }

  /** Bills open[0, end) into the total and keeps open[keepFrom..]. */
  #fold(end: number, keepFrom: number): void {
    const head = this.#open.slice(0, end);
    this.#sealedCopyMinutes += billCopySeries(head);
    this.#open = this.#open.slice(keepFrom);
    const first = this.#open[0];
    this.#sealedUntil = first ? first.t : this.#sealedUntil;
  }
}

/** Inserts `p` into ascending `points`, replacing a point at the same instant. */
function upsert(points: CopyPoint[], p: CopyPoint): boolean {
  const last = points[points.length - 1];
  if (!last || last.t < p.t) {
    points.push(p);
    return true;
  }
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((points[mid] as CopyPoint).t < p.t) lo = mid + 1;
    else hi = mid;
  }
  const at = points[lo];
  if (at && at.t === p.t) {
    if (at.copies === p.copies) return false;
    points[lo] = p;
    return true;
  }
  points.splice(lo, 0, p);
  return true;
}

/**
 * Ascending points in two typed arrays: a thousand models keep two days of minutes each,
 * which as objects would be the daemon's largest use of memory.
 */
class CompactSeries {
  #t = new Float64Array(64);
  #copies = new Uint8Array(64);
  #length = 0;

  upsert(p: CopyPoint): void {
    const n = this.#length;
    let at = n;
    if (n > 0 && (this.#t[n - 1] as number) >= p.t) {
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((this.#t[mid] as number) < p.t) lo = mid + 1;
        else hi = mid;
      }
      at = lo;
      if (at < n && this.#t[at] === p.t) {
        this.#copies[at] = p.copies;
        return;
      }
    }
    if (n === this.#t.length) {
      const t = new Float64Array(n * 2);
      const copies = new Uint8Array(n * 2);
      t.set(this.#t);
      copies.set(this.#copies);
      this.#t = t;
      this.#copies = copies;
    }
    this.#t.copyWithin(at + 1, at, n);
    this.#copies.copyWithin(at + 1, at, n);
    this.#t[at] = p.t;
    this.#copies[at] = p.copies;
    this.#length = n + 1;
  }

  /** Forgets points before `t`, an hour's worth at a time so that the copying stays rare. */
  dropBefore(t: number): void {
    if (this.#length === 0 || (this.#t[0] as number) >= t - 60 * MINUTE_MS) return;
    let drop = 0;
    while (drop < this.#length && (this.#t[drop] as number) < t) drop++;
    this.#t.copyWithin(0, drop, this.#length);
    this.#copies.copyWithin(0, drop, this.#length);
    this.#length -= drop;
  }

  latest(): CopyPoint | undefined {
    const i = this.#length - 1;
    return i < 0 ? undefined : { t: this.#t[i] as number, copies: this.#copies[i] as number };
  }

  pointsIn(range: Interval): CopyPoint[] {
    const points: CopyPoint[] = [];
    for (let i = 0; i < this.#length; i++) {
      const t = this.#t[i] as number;
      if (t >= range.start && t < range.end) points.push({ t, copies: this.#copies[i] as number });
    }
    return points;
  }
}
