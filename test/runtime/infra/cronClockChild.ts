// realClock's minute job in a process of its own, logging with the daemon's logger on stdout,
// under libfaketime: it writes the clock offset into FAKETIME_TIMESTAMP_FILE itself. Whether
// the step moves the monotonic clock too (a held event loop) or only the wall clock (NTP, a
// suspend) is the parent's choice, through FAKETIME_DONT_FAKE_MONOTONIC.

import { writeFileSync } from "node:fs";
import { createLogger } from "../../../src/runtime/infra/logger.js";
import { realClock } from "../../../src/runtime/infra/realClock.js";

const file = process.env.FAKETIME_TIMESTAMP_FILE as string;
const logger = createLogger();
const clock = realClock({ logger });
/** The test's own markers, JSON lines too, outside the daemon's list of events. */
const mark = (fields: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ ...fields, time: new Date().toISOString() })}\n`);

// 400 ms before a minute boundary, so that node-cron's next wake-up is 400 ms away.
const start = Date.now();
const boundary = Math.ceil((start + 1_000) / 60_000) * 60_000;
let offsetSeconds = (boundary - 400 - start) / 1_000;
writeFileSync(file, `+${offsetSeconds}`);

const cancel = clock.everyMinute(() => {
  mark({ event: "minute-job", at: new Date(clock.now()).toISOString() });
});
mark({ event: "scheduled", boundary: new Date(boundary).toISOString() });
// Three minutes on at once: three boundaries pass while node-cron waits for the first.
offsetSeconds += 180;
writeFileSync(file, `+${offsetSeconds}`);

setTimeout(() => {
  cancel();
  mark({ event: "done" });
}, 700);
