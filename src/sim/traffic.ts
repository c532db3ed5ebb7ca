import { seededRandom } from "../domain/random.js";
import { HOUR_MS } from "../domain/units.js";
import { localDayOf, localToInstant, weekdayOfDay } from "../domain/zone.js";
import { unitRandom } from "./settings.js";
import type { TrafficProfile } from "./trafficProfile.js";

/** A Poisson draw with mean `lambda`: Knuth's method on pieces of at most 30, which add up. */
function poisson(lambda: number, random: () => number): number {
  let n = 0;
  for (let rest = lambda; rest > 0; rest -= 30) {
    const limit = Math.exp(-Math.min(rest, 30));
    let p = random();
    while (p > limit) {
      n++;
      p *= random();
    }
  }
  return n;
}

/** Adds `count` instants drawn uniformly in [start, end) to `out`. */
function scatter(count: number, start: number, end: number, random: () => number, out: number[]) {
  for (let i = 0; i < count; i++) out.push(start + Math.floor(random() * (end - start)));
}

/**
 * The users' calls of one model whose windows start on local civil day `day` (stray calls:
 * those inside the day), ascending. A function of the profile, `key` (the model's ARN),
 * `seed` and the day alone, so any stretch of time can be generated on its own.
 */
export function userCallsOfDay(
  profile: TrafficProfile,
  key: string,
  seed: number,
  day: number,
): number[] {
  const zone = profile.timezone;
  const random = seededRandom(Math.floor(unitRandom(seed, key, day) * 2 ** 32));
  const factor = 1 + profile.dayToDay * (2 * random() - 1);
  const calls: number[] = [];
  const weekday = weekdayOfDay(day);
  for (const rate of profile.rates) {
    if (!rate.days.has(weekday)) continue;
    const start = localToInstant(zone, day, rate.fromMinute);
    const end = localToInstant(
      zone,
      rate.toMinute > rate.fromMinute ? day : day + 1,
      rate.toMinute,
    );
    if (end <= start) continue;
    scatter(
      poisson((rate.perHour * factor * (end - start)) / HOUR_MS, random),
      start,
      end,
      random,
      calls,
    );
  }
  if (profile.strayPerWeek > 0) {
    const start = localToInstant(zone, day, 0);
    const end = localToInstant(zone, day + 1, 0);
    scatter(poisson(profile.strayPerWeek / 7, random), start, end, random, calls);
  }
  return calls.sort((a, b) => a - b);
}

/**
 * The calls of one model's users from `from` on, handed out in time order as the clock
 * passes them. Windows can run past midnight, so a day's calls are held until every day
 * whose calls could come earlier has been generated.
 */
export class UserTraffic {
  readonly #profile: TrafficProfile;
  readonly #key: string;
  readonly #seed: number;
  readonly #from: number;
  /** The next local day to generate. */
  #nextDay: number;
  /** Generated calls not yet handed out, ascending. */
  #pending: number[] = [];

  constructor(profile: TrafficProfile, key: string, seed: number, from: number) {
    this.#profile = profile;
    this.#key = key;
    this.#seed = profile.seed ?? seed;
    this.#from = from;
    // A window that began the day before may still run at `from`.
    this.#nextDay = localDayOf(profile.timezone, from) - 1;
  }

  /** Hands the calls in [from, t] not handed out yet to `call`, in time order. */
  takeUntil(t: number, call: (at: number) => void): void {
    const zone = this.#profile.timezone;
    // Calls of day d start at its midnight at the earliest: generate while that is <= t.
    while (localToInstant(zone, this.#nextDay, 0) <= t) {
      const fresh = userCallsOfDay(this.#profile, this.#key, this.#seed, this.#nextDay);
      this.#nextDay++;
      if (fresh.length === 0) continue;
      this.#pending = mergeSorted(this.#pending, fresh);
    }
    let i = 0;
    while (i < this.#pending.length && (this.#pending[i] as number) <= t) {
      const at = this.#pending[i] as number;
      i++;
      if (at >= this.#from) call(at);
    }
    if (i > 0) this.#pending = this.#pending.slice(i);
  }
}

function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    out[k++] = (a[i] as number) <= (b[j] as number) ? (a[i++] as number) : (b[j++] as number);
  }
  while (i < a.length) out[k++] = a[i++] as number;
  while (j < b.length) out[k++] = b[j++] as number;
  return out;
}
