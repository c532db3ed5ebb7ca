import type { Logger as PinoLogger } from "pino";
// Every reader of the state directory once, in a process of its own so that its peak memory
// is theirs: the timings and the lease as `keepwarm run` reads them at start, budgets.json as
// its first budget check does, summaries.jsonl as `keepwarm report --days 7` and as the
// monthly archiving do, and one summary appended. Logs what each gave, then the peak RSS.

import { createLogger } from "../../../src/runtime/infra/logger.js";
import { readBudgetCrossings } from "../../../src/runtime/state/budgetState.js";
import { LearnedTimings } from "../../../src/runtime/state/learnedTimings.js";
import { StateLease } from "../../../src/runtime/state/stateLease.js";
import { appendSummary, archiveSummaries, totalOf } from "../../../src/runtime/state/summaries.js";
import { readRecentSummaries } from "../../../src/runtime/state/summaryReader.js";

const stateDir = process.argv[2] as string;
const logger = createLogger();
const results: Record<string, string> = {};
const outcome = async (name: string, work: () => Promise<unknown>) => {
  try {
    const value = await work();
    results[name] = `ok ${JSON.stringify(value)?.slice(0, 200)}`;
  } catch (error) {
    results[name] = `${(error as { code?: string }).code ?? ""} ${(error as Error).message}`;
  }
};

await new LearnedTimings(stateDir, logger).load();
const lease = new StateLease({ stateDir, log: logger });
await lease.renew();
results.lease = lease.holds() ? "holder" : "not holder";
await outcome("budgets", () => readBudgetCrossings(stateDir));
await outcome("report", async () => {
  const file = await readRecentSummaries(stateDir, 7);
  return { summaries: file.summaries.length, skipped: file.skipped };
});
await outcome("archive", () => archiveSummaries(stateDir, "2026-12-01"));
if (process.argv[3] === "append") {
  await outcome("append", () =>
    appendSummary(stateDir, {
      date: "2026-12-07",
      timezone: "UTC",
      at: "2026-12-08T00:03:00.000Z",
      simulated: true,
      models: [],
      total: totalOf([]),
      hint: null,
    }),
  );
}
await lease.release();
/** The test's own marker line, outside keepwarm's events. */
(logger as unknown as PinoLogger).info({
  event: "done",
  results,
  maxRssKb: process.resourceUsage().maxRSS,
});
