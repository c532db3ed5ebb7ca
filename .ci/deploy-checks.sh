#!/usr/bin/env bash
# Deployment checks, run by .ci/run: the systemd unit verifies cleanly and its exposure score
# stays at or below MAX_EXPOSURE; the container image builds and starts on a read-only root.
# KEEPWARM_SKIP_IMAGE=1 skips the image (say so wherever you use it); nothing else is optional.
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_EXPOSURE=2.0
IMAGE=localhost/keepwarm:ci

fail() { echo "deploy-checks: FAIL: $*" >&2; exit 1; }
step() { echo "deploy-checks: $*"; }

# install_tools PACKAGE...: installs with apt when possible, else fails with what to install.
install_tools() {
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    step "installing $* with apt-get"
    # A new machine's package lists may be empty or old: refresh them once.
    if [ -z "${apt_updated:-}" ]; then
      apt-get update >/dev/null || fail "apt-get update failed"
      apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null ||
      fail "apt-get install $* failed"
  else
    fail "$* missing: install them (Debian: apt-get install $*)"
  fi
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --- systemd unit -------------------------------------------------------------------------
command -v systemd-analyze >/dev/null || install_tools systemd

# verify checks that ExecStart's binary exists; point a copy at this machine's node when it
# does not live at /usr/bin/node, the path the unit documents.
unit="$tmp/keepwarm.service"
node_bin="$(command -v node)"
if [ -x /usr/bin/node ]; then
  cp systemd/keepwarm.service "$unit"
else
  sed "s#^ExecStart=/usr/bin/node #ExecStart=$node_bin #" systemd/keepwarm.service >"$unit"
fi
# verify exits 0 on unknown keys and bad values and only prints them: any output is a failure.
if ! verify_out="$(systemd-analyze verify "$unit" 2>&1)" || [ -n "$verify_out" ]; then
  echo "$verify_out" >&2
  fail "systemd-analyze verify systemd/keepwarm.service"
fi
step "ok: systemd-analyze verify systemd/keepwarm.service"

threshold="$(awk -v m="$MAX_EXPOSURE" 'BEGIN { printf "%d", m * 10 }')"
set +e
security_out="$(systemd-analyze security --offline=yes --threshold="$threshold" systemd/keepwarm.service 2>&1)"
security_status=$?
set -e
overall="$(sed -n 's/.*Overall exposure level for keepwarm.service: \([0-9.]*\).*/\1/p' <<<"$security_out")"
[ -n "$overall" ] || { echo "$security_out" >&2; fail "no exposure level in systemd-analyze security output"; }
if [ "$security_status" -ne 0 ] || awk -v o="$overall" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(o > m) }'; then
  grep '✗' <<<"$security_out" >&2 || true
  fail "systemd/keepwarm.service exposure $overall is above $MAX_EXPOSURE"
fi
step "ok: systemd-analyze security --offline=yes: exposure $overall (max $MAX_EXPOSURE)"

# --- container image ----------------------------------------------------------------------
if [ "${KEEPWARM_SKIP_IMAGE:-}" = 1 ]; then
  step "SKIPPED: container image build and smoke test (KEEPWARM_SKIP_IMAGE=1)"
  exit 0
fi
command -v podman >/dev/null || install_tools podman buildah
command -v debootstrap >/dev/null || install_tools debootstrap
deploy/local-base-image.sh

# Behind a TLS-intercepting proxy npm inside the build needs the proxy's CA.
ca_args=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  ca_args=(-v "$NODE_EXTRA_CA_CERTS:/run/build-ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/build-ca.crt)
fi
# --format docker: the OCI format has no HEALTHCHECK and podman would drop it.
if ! podman build --isolation chroot --pull=never --format docker "${ca_args[@]}" -t "$IMAGE" . \
  >"$tmp/build.log" 2>&1; then
  tail -40 "$tmp/build.log" >&2
  fail "podman build of the Dockerfile"
fi
step "ok: podman build --isolation chroot -t $IMAGE ."
deploy/smoke-image.sh "$IMAGE"
podman image prune -f >/dev/null
step "all deployment checks passed"
