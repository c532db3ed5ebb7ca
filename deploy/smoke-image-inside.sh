#!/usr/bin/env bash
# Run by smoke-image.sh inside a private mount namespace: builds the read-only sandbox from the
# image rootfs in KW_ROOTFS and exercises the image in it. Not meant to be run directly.
set -euo pipefail

fail() { echo "smoke-image: FAIL: $*" >&2; exit 1; }
pass() { echo "smoke-image: ok: $*"; }

: "${KW_ROOTFS:?}" "${KW_CONFIG:?}" "${KW_PORT:?}"
root="$(mktemp -d /tmp/keepwarm-smoke-root.XXXXXX)"
logs="$(mktemp -d /tmp/keepwarm-smoke-logs.XXXXXX)"
trap 'umount -R "$root" 2>/dev/null; rmdir "$root"; rm -rf "$logs"' EXIT
mount --make-rprivate /
mount --bind "$KW_ROOTFS" "$root"
mount -o remount,bind,ro "$root"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o uid=10001,gid=10001,mode=0750 keepwarm-state "$root/var/lib/keepwarm"
mount -t tmpfs -o mode=1777 keepwarm-tmp "$root/tmp"
touch "$root/.keepwarm-write-probe" 2>/dev/null && fail "the root filesystem is writable"

mapfile -t image_env < <(node -e 'for (const e of JSON.parse(process.argv[1]).Env ?? []) console.log(e)' "$KW_CONFIG")
mapfile -t entrypoint < <(node -e 'for (const a of JSON.parse(process.argv[1]).Entrypoint) console.log(a)' "$KW_CONFIG")
mapfile -t healthcheck < <(node -e 'for (const a of JSON.parse(process.argv[1]).Healthcheck.Test.slice(1)) console.log(a)' "$KW_CONFIG")
workdir="$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).WorkingDir || "/")' "$KW_CONFIG")"

# in_image CMD...: runs CMD as the image's user with the image's env (port overridden) in the
# sandbox. It execs, so in a background subshell `$!` is the process itself and gets signals.
in_image() {
  exec chroot --userspec=10001:10001 "$root" /usr/bin/env -i "${image_env[@]}" \
    KEEPWARM_HTTP_PORT="$KW_PORT" HOME=/var/lib/keepwarm \
    /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$workdir" "$@"
}

(in_image "${entrypoint[@]}" --help >/dev/null) || fail "the entrypoint with --help exited $?"
pass "entrypoint runs as uid 10001 on a read-only root: keepwarm --help exits 0"

set +e
(in_image "${healthcheck[@]}" 2>/dev/null)
status=$?
set -e
[ "$status" -eq 1 ] || fail "the health check exited $status with nothing listening, expected 1"
pass "health check exits 1 when nothing answers on :$KW_PORT"

set +e
(in_image "${entrypoint[@]}" run --config /etc/keepwarm/keepwarm.yaml >"$logs/noconfig.log" 2>&1)
status=$?
set -e
if [ "$status" -ne 2 ] || ! grep -q /etc/keepwarm/keepwarm.yaml "$logs/noconfig.log"; then
  cat "$logs/noconfig.log" >&2
  fail "the default command without a mounted config exited $status, expected 2 naming the file"
fi
pass "the default command without /etc/keepwarm/keepwarm.yaml exits 2 and names the file"

# The daemon itself, on the shipped sample config against its in-process simulator.
(in_image "${entrypoint[@]}" run --config /app/config/keepwarm.yaml --simulate >"$logs/run.log" 2>&1) &
daemon=$!
healthy=no
for _ in $(seq 1 60); do
  if (in_image "${healthcheck[@]}" 2>/dev/null); then healthy=yes; break; fi
  kill -0 "$daemon" 2>/dev/null || break
  sleep 0.5
done
if [ "$healthy" != yes ]; then
  kill "$daemon" 2>/dev/null || true
  tail -20 "$logs/run.log" >&2
  fail "the daemon never answered the health check within 30 s"
fi
pass "keepwarm run --simulate answers the image's HEALTHCHECK on a read-only root"

kill -TERM "$daemon"
for _ in $(seq 1 40); do
  kill -0 "$daemon" 2>/dev/null || break
  sleep 0.5
done
if kill -0 "$daemon" 2>/dev/null; then
  kill -KILL "$daemon"
  fail "the daemon was still running 20 s after SIGTERM"
fi
set +e
wait "$daemon"
status=$?
set -e
[ "$status" -eq 0 ] || { tail -20 "$logs/run.log" >&2; fail "the daemon exited $status on SIGTERM, expected 0"; }
pass "SIGTERM stops the daemon with exit 0"
if grep -E 'EROFS|EACCES|read-only file system' "$logs/run.log" >&2; then
  fail "the daemon tried to write outside its state volume"
fi
pass "the daemon wrote nothing outside /var/lib/keepwarm and /tmp"
