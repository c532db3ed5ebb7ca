import { fileURLToPath } from "node:url";
import { formatProblem, parseConfigText } from "../../src/config/load.js";

/**
 * A config of `n` models as `keepwarm discover` writes them (name, ARN, policy, CMUs), for the
 * size tests and the figures in docs/configuration.md. Run it to measure:
 * `node --import tsx test/config/fleetConfig.ts 10000`.
 */
export function fleetConfigYaml(n: number): string {
  const lines = ["timezone: Asia/Shanghai", "models:"];
  for (let i = 0; i < n; i++) {
    lines.push(
      `  - name: model-${String(i).padStart(5, "0")}`,
      `    modelArn: arn:aws:bedrock:us-east-1:123456789012:imported-model/${i.toString(36).padStart(12, "0")}`,
      "    policy: business-hours",
      "    customModelUnits: 2",
    );
  }
  return `${lines.join("\n")}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const n = Number(process.argv[2] ?? 10_000);
  const text = fleetConfigYaml(n);
  const heapBefore = process.memoryUsage().heapUsed;
  const start = performance.now();
  const result = parseConfigText(text, `fleet-${n}.yaml`);
  const ms = performance.now() - start;
  const heapAfter = process.memoryUsage().heapUsed;
  if (!result.ok) throw new Error(result.problems.slice(0, 5).map(formatProblem).join("\n"));
  const mb = (bytes: number) => (bytes / 1_048_576).toFixed(1);
  process.stdout.write(
    `${n} models: ${Buffer.byteLength(text).toLocaleString("en-US")} bytes; parsed, checked and resolved in ${Math.round(ms)} ms; heap +${mb(heapAfter - heapBefore)} MiB while the config is held; peak RSS ${mb(process.resourceUsage().maxRSS * 1024)} MiB\n`,
  );
}
