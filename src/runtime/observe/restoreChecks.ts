import { type CountQuery, readCallCounts } from "../../aws/callCounts.js";
import type { RegionClientPool } from "../../aws/clients.js";
import {
  judgeRestore,
  type RestoreVerdict,
  type RiddenRestore,
  restoreCheckDueAt,
  restoreCheckRange,
} from "../../domain/restoreCheck.js";
import type { ColdCallMetricName, ModelConfig } from "../../domain/types.js";
import { MINUTE_MS } from "../../domain/units.js";

/** A model whose restores wait for their check: a controller, seen from here. */
export interface RestoreCheckHost {
  readonly model: ModelConfig;
  readonly restoresToCheck: readonly RiddenRestore[];
  settleRestore(sample: RiddenRestore, verdict: RestoreVerdict | undefined, metric: string): void;
}

export interface RestoreChecksDeps {
  readonly clients: RegionClientPool;
  /** How long after a minute ends its datapoint can be read. */
  readonly publishDelayMs: number;
  /** Told of each GetMetricData call's metrics requested (what CloudWatch bills). */
  readonly metricsRequested?: (metrics: number) => void;
}

/** A restore whose check CloudWatch has not answered this long after it was due is learned unchecked. */
export const RESTORE_CHECK_GIVE_UP_MS = 15 * MINUTE_MS;

/**
 * Checks the restores keepwarm rode out against CloudWatch's count of cold calls, once their
 * minutes are readable: one GetMetricData call per region for every restore due, one metric
 * requested per restore. The verdict goes back to the model, which learns from the restore
 * or not (domain/restoreCheck.ts).
 */
export class RestoreChecks {
  readonly #deps: RestoreChecksDeps;

  constructor(deps: RestoreChecksDeps) {
    this.#deps = deps;
  }

  /** Checks every restore due by `now`; a region whose read fails tries again next minute. */
  async run(
    hosts: Iterable<RestoreCheckHost>,
    metric: ColdCallMetricName,
    now: number,
  ): Promise<void> {
    const byRegion = new Map<string, { host: RestoreCheckHost; sample: RiddenRestore }[]>();
    for (const host of hosts) {
      for (const sample of host.restoresToCheck) {
        if (restoreCheckDueAt(sample, this.#deps.publishDelayMs) > now) continue;
        if (metric === "none") {
          host.settleRestore(sample, undefined, metric);
          continue;
        }
        const due = byRegion.get(host.model.region) ?? [];
        due.push({ host, sample });
        byRegion.set(host.model.region, due);
      }
    }
    if (metric === "none") return;
    const counted = metric;
    await Promise.all(
      [...byRegion].map(([region, due]) => this.#checkRegion(region, due, counted, now)),
    );
  }

  async #checkRegion(
    region: string,
    due: readonly { host: RestoreCheckHost; sample: RiddenRestore }[],
    metric: Exclude<ColdCallMetricName, "none">,
    now: number,
  ): Promise<void> {
    const ranges = due.map(({ sample }) => restoreCheckRange(sample));
    const start = Math.min(...ranges.map((r) => r.start));
    const end = Math.max(...ranges.map((r) => r.end));
    const queries: CountQuery[] = due.map(({ host }, i) => ({
      key: String(i),
      metric: { ...host.model.metric, metricName: metric },
    }));
    let counts: Awaited<ReturnType<typeof readCallCounts>>;
    try {
      counts = await readCallCounts(
        this.#deps.clients.get(region).cloudwatch,
        queries,
        { start, end, periodSeconds: 60 },
        this.#deps.metricsRequested,
      );
    } catch {
      // The copy poller reports CloudWatch failures; a check waits until it gives up.
      for (const { host, sample } of due) {
        if (
          now - restoreCheckDueAt(sample, this.#deps.publishDelayMs) >=
          RESTORE_CHECK_GIVE_UP_MS
        ) {
          host.settleRestore(sample, undefined, metric);
        }
      }
      return;
    }
    due.forEach(({ host, sample }, i) => {
      const series = counts.get(String(i));
      const range = ranges[i] as { start: number; end: number };
      const from = series ? Math.round((range.start - series.start) / MINUTE_MS) : 0;
      const to = series ? Math.round((range.end - series.start) / MINUTE_MS) : 0;
      const values = series ? series.values.subarray(from, to) : new Float64Array(0);
      host.settleRestore(sample, judgeRestore(sample, { start: range.start, values }), metric);
    });
  }
}
