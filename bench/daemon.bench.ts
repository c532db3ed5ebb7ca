import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// `npm run bench`: the daemon with 1,000 models for one simulated day, once with Node's
// default heap settings and once constrained. The daemon side is compiled first and run
// under plain node, as in production (tsx alone adds ~30 MB of RSS); the simulator runs in
// a process of its own. KEEPWARM_BENCH_MODELS changes the count, KEEPWARM_BENCH_NODE_FLAGS
// runs one configuration with the given node flags, KEEPWARM_BENCH_TRACE=1 prints CPU and memory
// every simulated hour on stderr, KEEPWARM_BENCH_POLICIES=business-hours,always-on,off gives
// the models those policies in turn, KEEPWARM_BENCH_POLL=every-minute reads CloudWatch for
// every model every minute (the daemon before its poll rule).
const root = fileURLToPath(new URL("..", import.meta.url));
// Inside node_modules so that the compiled files resolve the project's packages.
const out = join(root, "node_modules/.cache/keepwarm-bench");
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "package.json"), '{"type":"module"}\n');
execFileSync(
  join(root, "node_modules/.bin/tsc"),
  [
    ...["--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022"],
    ...["--strict", "--skipLibCheck", "--types", "node", "--rootDir", root, "--outDir", out],
    join(root, "bench/daemonRunner.ts"),
  ],
  { stdio: "inherit" },
);
/** Node's defaults, then the flags that keep the heap small (semi-space 2 MB, old space 96 MB). */
const CONSTRAINED = "--max-semi-space-size=2 --max-old-space-size=96";
const configs = process.env.KEEPWARM_BENCH_NODE_FLAGS
  ? [process.env.KEEPWARM_BENCH_NODE_FLAGS]
  : ["", CONSTRAINED];

for (const flags of configs) {
  const report = execFileSync(
    process.execPath,
    [
      "--expose-gc",
      "--no-warnings",
      ...flags.split(" ").filter(Boolean),
      join(out, "bench/daemonRunner.js"),
    ],
    {
      cwd: root,
      env: { ...process.env, KEEPWARM_BENCH_SIM_SCRIPT: join(root, "bench/daemonSimProcess.ts") },
      encoding: "utf8",
      maxBuffer: 1 << 20,
    },
  );
  const r = JSON.parse(report.trim().split("\n").at(-1) as string);
  const f = (x: number) => x.toFixed(1);
  console.log(
    `daemon: ${r.models} models, one simulated day (${r.day}, Asia/Shanghai), node ${flags || "defaults"}${process.env.KEEPWARM_BENCH_POLL ? `, poll ${process.env.KEEPWARM_BENCH_POLL}` : ""}: ` +
      `CPU ${f(r.cpuS)} s (user ${f(r.userS)} s, system ${f(r.systemS)} s), wall ${f(r.wallS)} s, ` +
      `peak RSS ${r.peakRssMb.toFixed(0)} MB (${r.baselineRssMb.toFixed(0)} MB after loading), ` +
      `heap after GC ${r.heapAfterGcMb.toFixed(0)} MB; ${r.pings} pings ok, ${r.coldStarts} cold starts, ` +
      `${r.modelsPinged} models pinged, ${r.leftColdLines} left cold, ${r.keepAlivesDropped} keep-alives dropped, ` +
      `${r.logLines} log lines; simulator process: CPU ${f(r.simCpuS)} s, peak RSS ${r.simPeakRssMb.toFixed(0)} MB; ` +
      `GetMetricData: ${r.getMetricDataCalls} calls, ${r.metricsRequested} metrics requested, ` +
      `${r.metricsPerModelMinute.toFixed(3)} per model-minute`,
  );
}
