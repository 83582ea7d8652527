#!/bin/sh
# Install what ferry needs on Debian 12, by package name, from the Debian mirror only.
# Usage: scripts/install-deps.sh [build|test|bench|all]   (default: build)
# Idempotent: a second run installs nothing new. Needs root (or sudo).
set -eu
what=${1:-build}

build="build-essential autoconf automake libtool pkg-config
  libfuse3-dev fuse3 libsquashfuse-dev libzstd-dev liblz4-dev liblzma-dev zlib1g-dev
  libssl-dev libjansson-dev busybox-static squashfs-tools
  libsquashfs-dev libarchive-dev libcurl4-openssl-dev libisal-dev libseccomp-dev"
test="libcmocka-dev util-linux passwd procps psmisc mmdebstrap squashfs-tools-ng umoci skopeo zstd attr libcap2-bin
  docker-registry apache2-utils openssl curl clang libclang-rt-14-dev
  squashfuse file python3 bsdextrautils
  containerd runc podman buildah fuse-overlayfs crun iproute2"
bench="hyperfine charliecloud-runtime charliecloud-builders bubblewrap crun runc gnuplot-nox"

case "$what" in
build) pkgs=$build ;;
test) pkgs="$build $test" ;;
bench) pkgs="$build $test $bench" ;;
all) pkgs="$build $test $bench" ;;
*) echo "install-deps: unknown set '$what' (build|test|bench|all)" >&2; exit 2 ;;
esac

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
