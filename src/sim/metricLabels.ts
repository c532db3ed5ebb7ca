import { awsErrors, SimServiceError } from "./errors.js";
import type { ParsedQuery } from "./metricQueries.js";

const MINUTE = 60_000;

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
export function expandLabel(
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
