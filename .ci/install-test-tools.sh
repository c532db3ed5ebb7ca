#!/usr/bin/env bash
# The tools outside npm that the test suite drives for real, installed from Debian when
# missing: prometheus (and promtool) for the alerting rules and the real-Prometheus check,
# chromium for the status page in a browser, faketime for a wall-clock jump of the real
# process, jq for the README's log one-liners. .ci/run then runs `npm test` with
# KEEPWARM_REQUIRE_TEST_TOOLS=1, so a test that would skip for a missing tool fails instead.
set -euo pipefail

fail() { echo "install-test-tools: FAIL: $*" >&2; exit 1; }

missing=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || missing+=(faketime)
command -v jq >/dev/null || missing+=(jq)
[ ${#missing[@]} -eq 0 ] && { echo "install-test-tools: all present"; exit 0; }

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  fail "missing ${missing[*]}: install them (Debian: apt-get install ${missing[*]})"
fi
echo "install-test-tools: installing ${missing[*]} with apt-get"
apt-get update >/dev/null || fail "apt-get update failed"
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
  fail "apt-get install ${missing[*]} failed"
