#!/usr/bin/env bash
# Starts a built keepwarm image the way a hardened container runtime would: its own ENTRYPOINT,
# CMD, ENV, USER and HEALTHCHECK from the image config, on a read-only root filesystem with only
# the state volume and /tmp writable. Uses a mount namespace and chroot, because this machine
# cannot run OCI containers (crun cannot set RLIMIT_NOFILE here).
# Usage: deploy/smoke-image.sh IMAGE   (needs root, podman, unshare, chroot)
set -euo pipefail

image="${1:?usage: deploy/smoke-image.sh IMAGE}"
here="$(cd "$(dirname "$0")" && pwd)"

fail() { echo "smoke-image: FAIL: $*" >&2; exit 1; }
pass() { echo "smoke-image: ok: $*"; }

# podman reports the health check next to Config rather than in it; fold it in.
config_json="$(podman image inspect "$image" | node -e 'const [i] = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
  process.stdout.write(JSON.stringify({ ...i.Config, Healthcheck: i.Config.Healthcheck ?? i.Healthcheck }));')"
field() { node -e 'const c = JSON.parse(process.argv[1]); const v = c[process.argv[2]];
  process.stdout.write(v === undefined || v === null ? "" : JSON.stringify(v));' "$config_json" "$1"; }

# The image's own contract, as docker/podman will read it.
[ "$(field User)" = '"10001:10001"' ] || fail "USER is $(field User), expected \"10001:10001\""
[ "$(field Entrypoint)" = '["node","/app/dist/cli/main.js"]' ] || fail "ENTRYPOINT is $(field Entrypoint)"
[ "$(field Cmd)" = '["run","--config","/etc/keepwarm/keepwarm.yaml"]' ] || fail "CMD is $(field Cmd)"
[ "$(field ExposedPorts)" = '{"9464/tcp":{}}' ] || fail "EXPOSE is $(field ExposedPorts)"
[ "$(field Volumes)" = '{"/var/lib/keepwarm":{}}' ] || fail "VOLUME is $(field Volumes)"
healthcheck="$(field Healthcheck)"
case "$healthcheck" in
  *'"Test":["CMD","node","/app/healthcheck.mjs"]'*) ;;
  *) fail "HEALTHCHECK is '$healthcheck' (build with --format docker: OCI drops it)" ;;
esac
for want in KEEPWARM_STATE_DIR=/var/lib/keepwarm KEEPWARM_HTTP_HOST=0.0.0.0 KEEPWARM_HTTP_PORT=9464; do
  grep -q "\"$want\"" <<<"$(field Env)" || fail "ENV lacks $want"
done
pass "image config: user 10001, exec-form entrypoint, cmd, healthcheck, port, volume, env"

rootfs="$(podman image mount "$image")"
trap 'podman image unmount "$image" >/dev/null' EXIT

# A free port, so the check never collides with a keepwarm already running on this host.
port="$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => {
  console.log(s.address().port); s.close(); });')"

export KW_ROOTFS="$rootfs" KW_CONFIG="$config_json" KW_PORT="$port"
unshare --mount --fork bash "$here/smoke-image-inside.sh"
