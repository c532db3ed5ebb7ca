import { DAY_MS } from "../../domain/units.js";

/** Counters of one model, for the daily summary and `simulate`. */
export interface ModelCounters {
  pingsOk: number;
  pingsFailed: number;
  /** InvokeModel requests sent, retries included. */
  requests: number;
  coldStarts: number;
  /** Of those, the ones met inside a window: a user's call would have met them too. */
  coldStartsInWindow: number;
  /** Windows whose first minute ModelCopy showed with no copy up. */
  windowsOpenedCold: number;
  restoreSeconds: number[];
  evictionMinutes: number[];
  recoveries: number;
}

type CountField = {
  [K in keyof ModelCounters]: ModelCounters[K] extends number ? K : never;
}[keyof ModelCounters];
type SampleField = "restoreSeconds" | "evictionMinutes";

export function emptyCounters(): ModelCounters {
  return {
    pingsOk: 0,
    pingsFailed: 0,
    requests: 0,
    coldStarts: 0,
    coldStartsInWindow: 0,
    windowsOpenedCold: 0,
    restoreSeconds: [],
    evictionMinutes: [],
    recoveries: 0,
  };
}

/** How long cold starts are kept for the status page's day timeline. */
const COLD_STARTS_KEPT_MS = 2 * DAY_MS;

/**
 * A model's counters since it started (`total`) and since the last daily summary (`day`),
 * always counted together, and the instants of its recent cold starts.
 */
export class Counters {
  readonly total: ModelCounters = emptyCounters();
  #day: ModelCounters = emptyCounters();
  readonly #coldStartsAt: number[] = [];

  count(field: CountField): void {
    this.total[field]++;
    this.#day[field]++;
  }

  sample(field: SampleField, value: number): void {
    this.total[field].push(value);
    this.#day[field].push(value);
  }

  coldStartAt(t: number, now: number): void {
    this.#coldStartsAt.push(t);
    while ((this.#coldStartsAt[0] as number) < now - COLD_STARTS_KEPT_MS)
      this.#coldStartsAt.shift();
  }

  /** Instants of the cold starts of the last two days, ascending. */
  get coldStartsAt(): readonly number[] {
    return this.#coldStartsAt;
  }

  /** Counters since the last daily summary, which the summary then resets. */
  takeDay(): ModelCounters {
    const day = this.#day;
    this.#day = emptyCounters();
    return day;
  }
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
