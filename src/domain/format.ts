import { SECOND_MS } from "./units.js";

const usd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

/** Dollars for people: "$10,217.86", "-$1.20"; rounded to the cent. */
export function formatUsd(x: number): string {
  const c = Math.round(x * 100);
  return usd.format(c === 0 ? 0 : c / 100);
}

/** Dollars for JSON: rounded to the cent. */
export function cents(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Dollars for JSON, null where the figure is unknown. */
export function centsOrNull(x: number | undefined): number | null {
  return x === undefined ? null : cents(x);
}

/** One decimal, for minutes and seconds in log fields. */
export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/**
 * The shortest duration string, as the YAML writes durations, to the second:
 * 840000 -> `14m`, 5400000 -> `1h30m`, 270000 -> `4m30s`.
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  const total = Math.round(ms / SECOND_MS);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}`;
}

/** A duration for people: "45 s", "14 min", "2 h 5 min", "3 d 4 h". */
export function describeDuration(ms: number): string {
  const s = Math.round(Math.abs(ms) / SECOND_MS);
  if (s < 60) return `${s} s`;
  if (s < 3600)
    return s % 60 === 0 || s >= 600
      ? `${Math.round(s / 60)} min`
      : `${Math.floor(s / 60)} min ${s % 60} s`;
  const m = Math.round(s / 60);
  if (m < 24 * 60) return m % 60 === 0 ? `${m / 60} h` : `${Math.floor(m / 60)} h ${m % 60} min`;
  const h = Math.round(m / 60);
  return h % 24 === 0 ? `${h / 24} d` : `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** An instant for JSON, null where there is none. */
export function isoOrNull(t: number | undefined): string | null {
  return t === undefined ? null : new Date(t).toISOString();
}
