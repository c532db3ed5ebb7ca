// `keepwarm report --days DAYS --json` on a state directory, in a process of its own so that
// its peak memory is the report's: logs what it printed, then the peak RSS.

import { printReport } from "../../../src/cli/report.js";

const stateDir = process.argv[2] as string;
const days = process.argv[3] as string;
const dates: string[] = [];
const stderr: string[] = [];
const code = await printReport(
  { stateDir, days, json: true },
  {
    stdout: (line) => dates.push((JSON.parse(line) as { date: string }).date),
    stderr: (line) => stderr.push(line),
  },
);
process.stdout.write(
  `${JSON.stringify({ event: "done", code, dates, stderr, maxRssKb: process.resourceUsage().maxRSS })}\n`,
);
