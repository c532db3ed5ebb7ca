import { missing, parseDimensions, requireNumber, requireString } from "./cloudwatchParams.js";
import { awsErrors, SimServiceError } from "./errors.js";
import { type MetricKey, STATISTICS, type Statistic } from "./metrics.js";

/** GetMetricData's MetricDataQueries and LabelOptions, checked and read into queries. */

const MINUTE = 60_000;
const QUERY_ID = /^[a-z][a-zA-Z0-9_]*$/;
const HIGH_RESOLUTION_PERIODS = [1, 5, 10, 20, 30];
const TIMEZONE = /^([+-])(\d{2})(\d{2})$/;
const ACCOUNT_ID = /^\d{12}$/;

export interface ParsedQuery {
  readonly id: string;
  /** As asked, dynamic expressions unexpanded; the metric name when absent. */
  readonly label: string;
  readonly key: MetricKey;
  readonly periodSec: number;
  readonly stat: Statistic;
  readonly unit: string | undefined;
  readonly returnData: boolean;
  readonly accountId: string | undefined;
}

export function parseQueries(raw: unknown, accounts: readonly string[]): ParsedQuery[] {
  if (!Array.isArray(raw) || raw.length === 0) missing("MetricDataQueries");
  if (raw.length > 500) {
    throw new SimServiceError(
      awsErrors.invalidParameterValue(
        "The collection MetricDataQueries must not have more than 500 members.",
      ),
    );
  }
  const seen = new Set<string>();
  return raw.map((q, i): ParsedQuery => {
    const field = `MetricDataQueries.member.${i + 1}`;
    const id = requireString(q?.Id, `${field}.Id`);
    if (!QUERY_ID.test(id) || seen.has(id)) {
      throw new SimServiceError(
        awsErrors.invalidParameterValue(
          `The value ${id} for parameter ${field}.Id is invalid: it must be unique and start with a lowercase letter.`,
        ),
      );
    }
    seen.add(id);
    if (q.Expression !== undefined) {
      throw new SimServiceError(
        awsErrors.invalidParameterValue(
          `${field}.Expression: metric math is not implemented by the keepwarm simulator; use MetricStat.`,
        ),
      );
    }
    const ms = q.MetricStat;
    if (!ms) missing(`${field}.MetricStat`);
    const metric = ms.Metric ?? missing(`${field}.MetricStat.Metric`);
    const periodSec = requireNumber(
      ms.Period ?? missing(`${field}.MetricStat.Period`),
      `${field}.MetricStat.Period`,
    );
    if (
      !(periodSec >= 1) ||
      (periodSec >= 60 ? periodSec % 60 !== 0 : !HIGH_RESOLUTION_PERIODS.includes(periodSec))
    ) {
      throw new SimServiceError(
        awsErrors.invalidParameterValue(
          `The parameter ${field}.MetricStat.Period must be 1, 5, 10, 20, 30 or a multiple of 60.`,
        ),
      );
    }
    const accountId = q.AccountId === undefined ? undefined : String(q.AccountId);
    if (accountId !== undefined && (!ACCOUNT_ID.test(accountId) || !accounts.includes(accountId))) {
      throw new SimServiceError(
        awsErrors.invalidParameterValue(
          `The value ${accountId} for parameter ${field}.AccountId is invalid: the keepwarm simulator has no cross-account observability; it knows the accounts of its models (${accounts.join(", ") || "none"}).`,
        ),
      );
    }
    const stat = requireString(ms.Stat, `${field}.MetricStat.Stat`);
    if (!(STATISTICS as readonly string[]).includes(stat)) {
      throw new SimServiceError(
        awsErrors.invalidParameterValue(
          `The value ${stat} for parameter ${field}.MetricStat.Stat is not supported by the keepwarm simulator; use one of ${STATISTICS.join(", ")}.`,
        ),
      );
    }
    const metricName = requireString(metric.MetricName, `${field}.MetricStat.Metric.MetricName`);
    return {
      id,
      label: typeof q.Label === "string" ? q.Label : metricName,
      key: {
        namespace: requireString(metric.Namespace, `${field}.MetricStat.Metric.Namespace`),
        metricName,
        dimensions: parseDimensions(metric.Dimensions, `${field}.MetricStat.Metric.Dimensions`),
      },
      periodSec,
      stat: stat as Statistic,
      unit: typeof ms.Unit === "string" ? ms.Unit : undefined,
      returnData: q.ReturnData !== false,
      accountId,
    };
  });
}

/** LabelOptions.Timezone (`+0130`) as an offset in ms; +0000 when absent. */
export function parseLabelTimezone(raw: unknown): number {
  const tz = (raw as { Timezone?: unknown } | undefined)?.Timezone;
  if (tz === undefined || tz === null) return 0;
  const m = typeof tz === "string" ? TIMEZONE.exec(tz) : null;
  if (!m || Number(m[3]) >= 60 || Number(m[2]) > 14) {
    throw new SimServiceError(
      awsErrors.invalidParameterValue(
        `The value ${String(tz)} for parameter LabelOptions.Timezone is invalid: it must be + or - followed by four digits (hhmm), e.g. +0130.`,
      ),
    );
  }
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return (m[1] === "-" ? -1 : 1) * minutes * MINUTE;
}
