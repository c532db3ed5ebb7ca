/**
 * Cost Explorer's answer as the Reconciler (reconciler.ts) takes it in: which of the days
 * asked about are final, their figures in cents and their daily summaries, and the debug
 * `reconcile` line saying which days are final and which are asked about again, when.
 */
import { cents } from "../../domain/format.js";
import { groupFigures, type ReconcileDay, type ReconcileReport } from "../../reconcile/types.js";
import type { Logger } from "../infra/logger.js";
import type { ReconciledDaySummary } from "../state/summaries.js";

/** The days of `asked` on which every usage type of the report is final, in cents. */
export function finalDays(asked: readonly string[], report: ReconcileReport): ReconcileDay[] {
  const byDate = new Map(report.days.map((d) => [d.date, inCents(d)]));
  return asked.flatMap((date) => {
    const day = byDate.get(date);
    return day?.groups.every((g) => g.status !== "pending") ? [day] : [];
  });
}

/** The answer's debug `reconcile` line: the days of [from, to) final, and the rest asked again at `notBefore`. */
export function logAnswer(
  log: Logger,
  answer: {
    readonly from: string;
    readonly to: string;
    readonly asked: readonly string[];
    readonly closed: readonly string[];
    readonly notBefore: number;
    readonly report: ReconcileReport;
  },
): void {
  const { from, to, asked, closed, notBefore, report } = answer;
  const pending = asked.filter((d) => !closed.includes(d));
  log.debug(
    {
      event: "reconcile",
      from,
      to,
      final: closed,
      pending,
      retryAt: pending.length > 0 ? new Date(notBefore).toISOString() : null,
      costExplorerRequests: report.costExplorerRequests,
      notes: report.notes,
    },
    pending.length > 0
      ? `Cost Explorer has ${pending.length} day(s) not final yet (${pending.join(", ")}); asked again at ${new Date(notBefore).toISOString()}`
      : `Cost Explorer answered for ${from} to ${to}: every day asked about is final`,
  );
}

/** The day with its figures in cents, as every log line, summary and file shows money. */
function inCents(day: ReconcileDay): ReconcileDay {
  const usd = (x: number | null) => (x === null ? null : cents(x));
  return {
    date: day.date,
    groups: day.groups.map((g) => ({
      ...g,
      keepwarmUsd: usd(g.keepwarmUsd),
      awsUsd: usd(g.awsUsd),
    })),
  };
}

export function daySummary(day: ReconcileDay): ReconciledDaySummary {
  return {
    date: day.date,
    groups: day.groups.map((g) => ({
      ...groupFigures(g),
    })),
  };
}
