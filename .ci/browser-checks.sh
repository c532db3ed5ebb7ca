#!/usr/bin/env bash
# Browser checks, run by .ci/run: the status page of a daemon on the simulator, loaded in
# Debian's headless Chromium. Screenshots land in KEEPWARM_SCREENSHOT_DIR (default
# $TMPDIR/keepwarm-screenshots), which CI keeps as an artifact.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "browser-checks: FAIL: $*" >&2; exit 1; }
step() { echo "browser-checks: $*"; }

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    step "installing chromium with apt-get"
    apt-get update >/dev/null || fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null ||
      fail "apt-get install chromium failed"
  else
    fail "/usr/bin/chromium missing: install it (Debian: apt-get install chromium)"
  fi
fi
step "$(/usr/bin/chromium --version 2>/dev/null || echo chromium)"

export KEEPWARM_SCREENSHOT_DIR="${KEEPWARM_SCREENSHOT_DIR:-${TMPDIR:-/tmp}/keepwarm-screenshots}"
mkdir -p "$KEEPWARM_SCREENSHOT_DIR"
rm -f "$KEEPWARM_SCREENSHOT_DIR"/status-page*.png

# The test skips itself without Chromium; here Chromium is present, so a skip is a failure.
npx vitest run test/e2e/statusPage.browser.test.ts --reporter=verbose 2>&1 | tee "$KEEPWARM_SCREENSHOT_DIR/vitest.log"
grep -q "SKIPPED" "$KEEPWARM_SCREENSHOT_DIR/vitest.log" && fail "the browser test was skipped"
for shot in status-page.png status-page-phone.png; do
  [ -s "$KEEPWARM_SCREENSHOT_DIR/$shot" ] || fail "no screenshot $shot"
done
step "screenshots in $KEEPWARM_SCREENSHOT_DIR"
