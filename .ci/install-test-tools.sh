#!/usr/bin/env bash
# The tools outside npm that the test suite drives for real, installed when missing:
# from Debian, prometheus (and promtool) for the alerting rules and the real-Prometheus check,
# chromium for the status page in a browser, faketime for a wall-clock jump of the real
# process, jq for the README's log one-liners; from PyPI, moto for the CloudWatch
# conformance test, in a venv at /opt/keepwarm-moto (Debian 12 refuses `pip install` outside
# one), where test/sim/moto.test.ts looks for it. .ci/run then runs `npm test` with
# KEEPWARM_REQUIRE_TEST_TOOLS=1, so a test that would skip for a missing tool fails instead.
set -euo pipefail

MOTO_VENV=/opt/keepwarm-moto
MOTO_REQUIREMENT='moto[server]>=5,<6'

fail() { echo "install-test-tools: FAIL: $*" >&2; exit 1; }

# A python that imports moto.server, where the test looks: $KEEPWARM_MOTO_PYTHON, the venv, python3.
has_moto() {
  local py
  for py in "${KEEPWARM_MOTO_PYTHON:-}" "$MOTO_VENV/bin/python" python3; do
    [ -n "$py" ] && "$py" -c 'import moto.server' >/dev/null 2>&1 && return 0
  done
  return 1
}

missing=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || missing+=(faketime)
command -v jq >/dev/null || missing+=(jq)
need_moto=0
if ! has_moto; then
  need_moto=1
  # python3 -m venv needs Debian's python3-venv (ensurepip).
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3 python3-venv)
fi
if [ ${#missing[@]} -eq 0 ] && [ "$need_moto" -eq 0 ]; then
  echo "install-test-tools: all present"
  exit 0
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    fail "missing ${missing[*]}: install them (Debian: apt-get install ${missing[*]})"
  fi
  echo "install-test-tools: installing ${missing[*]} with apt-get"
  apt-get update >/dev/null || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
    fail "apt-get install ${missing[*]} failed"
fi

if [ "$need_moto" -eq 1 ]; then
  echo "install-test-tools: installing $MOTO_REQUIREMENT in a venv at $MOTO_VENV"
  python3 -m venv "$MOTO_VENV" || fail "python3 -m venv $MOTO_VENV failed (is $MOTO_VENV writable?)"
  "$MOTO_VENV/bin/pip" install --quiet --disable-pip-version-check "$MOTO_REQUIREMENT" ||
    fail "$MOTO_VENV/bin/pip install '$MOTO_REQUIREMENT' failed"
  has_moto || fail "moto installed in $MOTO_VENV but $MOTO_VENV/bin/python cannot import moto.server"
fi
