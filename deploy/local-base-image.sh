#!/usr/bin/env bash
# Assembles a stand-in for node:24-bookworm-slim where no registry can be reached (CI, air-gapped
# hosts): a Debian bookworm minbase rootfs from debootstrap plus this machine's own node and npm,
# laid out as the official image lays them out (/usr/local/bin, user "node" uid 1000).
# The node inside is whatever this machine runs (see `node --version`), not necessarily 24.
# Usage: deploy/local-base-image.sh [IMAGE]   (needs root, debootstrap and podman)
set -euo pipefail

image="${1:-docker.io/library/node:24-bookworm-slim}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if podman image exists "$image"; then
  echo "base image $image already present"
  exit 0
fi

for tool in debootstrap podman node; do
  command -v "$tool" >/dev/null || { echo "error: $tool is required to assemble $image" >&2; exit 1; }
done

node_bin="$(readlink -f "$(command -v node)")"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
root="$(mktemp -d /tmp/keepwarm-base.XXXXXX)"
trap 'rm -rf "$root"' EXIT

debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
install -m 0755 "$node_bin" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/proc/* "$root"/sys/*

tar -C "$root" --numeric-owner -c . |
  podman import --quiet --change 'CMD ["node"]' --change "ENV NODE_VERSION=$(node --version)" - "$image" >/dev/null
echo "assembled $image with node $(node --version)"
