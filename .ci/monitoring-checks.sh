#!/usr/bin/env bash
# Monitoring checks, run by .ci/run: the alerting rules load and pass their promtool unit
# tests, and every expression of the rules and of the Grafana dashboard is evaluated by a real
# Prometheus scraping `keepwarm run --simulate on` (deploy/monitoring/check-prometheus.mjs).
# Installs what it needs with .ci/install-test-tools.sh. Nothing here is optional.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "monitoring-checks: FAIL: $*" >&2; exit 1; }
step() { echo "monitoring-checks: $*"; }

"$(dirname "$0")/install-test-tools.sh"

promtool check rules deploy/monitoring/keepwarm.rules.yaml || fail "promtool check rules"
promtool test rules deploy/monitoring/keepwarm.rules.test.yaml || fail "promtool test rules"
step "ok: promtool check rules and test rules"

# .ci/run has already run the real-Prometheus check inside `npm test` (test/deploy/monitoring.test.ts).
if [ "${KEEPWARM_CHECK_SKIP_PROMETHEUS:-}" != "1" ]; then
  npm run build >/dev/null || fail "npm run build"
  node deploy/monitoring/check-prometheus.mjs || fail "the rules and the dashboard against a real Prometheus"
fi
step "all monitoring checks passed"
