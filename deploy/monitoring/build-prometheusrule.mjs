#!/usr/bin/env node
// Writes deploy/kubernetes/prometheus-operator/prometheusrule.yaml from keepwarm.rules.yaml, so
// the Operator's rules are the very rules promtool tests. Run it after changing the rules;
// test/deploy/kubernetes.test.ts fails while the two differ.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";

const rulesPath = fileURLToPath(new URL("keepwarm.rules.yaml", import.meta.url));
const outPath = fileURLToPath(
  new URL("../kubernetes/prometheus-operator/prometheusrule.yaml", import.meta.url),
);

export function prometheusRule(rulesText) {
  const { groups } = parse(rulesText);
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name: "keepwarm", labels: { "app.kubernetes.io/name": "keepwarm" } },
    spec: { groups },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const header =
    "# Generated from deploy/monitoring/keepwarm.rules.yaml by deploy/monitoring/build-prometheusrule.mjs.\n";
  const body = stringify(prometheusRule(readFileSync(rulesPath, "utf8")), { lineWidth: 0 });
  writeFileSync(outPath, header + body);
}
