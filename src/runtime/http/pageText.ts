/**
 * Text for the status page's HTML and SVG: escaping, and local times and durations in a
 * zone relative to the status' `now`.
 */
import { DateTime } from "luxon";
import type { Interval } from "../../domain/interval.js";
import { escapeXml } from "../../suggest/heatmapSvg.js";

/** Text and attribute values for HTML and SVG alike (the heatmap's escaping). */
export const escapeHtml = escapeXml;

/** Local times and durations in a zone, relative to the status' `now`. */
export class LocalTimes {
  constructor(
    readonly now: number,
    readonly zone: string,
  ) {}

  at(t: number): DateTime {
    return DateTime.fromMillis(t, { zone: this.zone }).setLocale("en-GB");
  }

  /** "13:05" today, "Mon 09:00" within a week, "7 Dec 09:00" otherwise. */
  time(t: number): string {
    const d = this.at(t);
    const today = this.at(this.now);
    if (d.hasSame(today, "day")) return d.toFormat("HH:mm");
    if (Math.abs(t - this.now) < 6 * 86_400_000) return d.toFormat("ccc HH:mm");
    return d.toFormat("d LLL HH:mm");
  }

  span(i: Interval): string {
    const end = this.at(i.end);
    const endText = end.hasSame(this.at(i.start), "day")
      ? end.toFormat("HH:mm")
      : end.toFormat("HH:mm") === "00:00"
        ? "24:00"
        : this.time(i.end);
    return `${this.time(i.start)}\u2013${endText}`;
  }
}
