import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

// Each benchmark runs in its own process so that its peak RSS is its own.
const benches = ["plan", "sim", "sdk", "simulate", "rules", "daemon", "suggest"];
const dir = fileURLToPath(new URL(".", import.meta.url));
let failed = false;
for (const name of benches) {
  const file = `${dir}${name}.bench.ts`;
  if (!existsSync(file)) continue;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--expose-gc", file], {
    stdio: "inherit",
  });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
