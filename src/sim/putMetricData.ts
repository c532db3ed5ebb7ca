import {
  missing,
  parseDimensions,
  parseInstant,
  requireNumber,
  requireString,
} from "./cloudwatchParams.js";
import { awsErrors, SimServiceError } from "./errors.js";
import type { Dimension, StatSet } from "./metrics.js";

const DAY = 86_400_000;
const MAX_DATUMS = 1000;
const MAX_VALUES = 150;
// PutMetricData takes timestamps up to two weeks old and two hours ahead.
const MAX_PAST_MS = 14 * DAY;
const MAX_FUTURE_MS = 2 * 3_600_000;

/** One datum of PutMetricData, checked: its samples as the statistics they add. */
export interface MetricDatum {
  readonly metricName: string;
  readonly dimensions: Dimension[];
  /** Epoch ms. */
  readonly t: number;
  readonly unit: string | undefined;
  readonly samples: StatSet[];
}

/** PutMetricData's input, checked whole before any of it is stored. */
export function parseMetricData(
  input: Record<string, unknown>,
  now: number,
): { readonly namespace: string; readonly data: MetricDatum[] } {
  const namespace = requireString(input.Namespace, "Namespace");
  if (namespace.startsWith("AWS/")) {
    throw new SimServiceError(
      awsErrors.invalidParameterValue(`The value ${namespace} for parameter Namespace is invalid.`),
    );
  }
  const data = input.MetricData;
  if (!Array.isArray(data) || data.length === 0) {
    throw new SimServiceError(awsErrors.missingParameter("The parameter MetricData is required."));
  }
  if (data.length > MAX_DATUMS) {
    throw new SimServiceError(
      awsErrors.invalidParameterValue(
        `The collection MetricData must not have a size greater than ${MAX_DATUMS}.`,
      ),
    );
  }
  // Validate all before storing any, as CloudWatch rejects the whole request.
  const parsed = data.map((d, i): MetricDatum => {
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
  return { namespace, data: parsed };
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
  const value = requireNumber(d.Value ?? missing(`${field}.Value`), `${field}.Value`);
  return [{ count: 1, sum: value, min: value, max: value }];
}
