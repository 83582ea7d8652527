#!/bin/sh
# Build the demo image offline: busybox-static + ferry-hello + a ferry image config, squashed.
# Usage: make-demo.sh SRCDIR HELLO_BINARY OUTPUT   (MKSQUASHFS and BUSYBOX from the environment)
# Output is deterministic (fixed timestamps, root-owned) and written atomically.
set -eu
src=$1 hello=$2 out=$3
: "${MKSQUASHFS:=mksquashfs}" "${BUSYBOX:=/bin/busybox}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
root=$tmp/root
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" "$root/.ferry" \
	"$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/var/tmp" "$root/home" "$root/root"
chmod 1777 "$root/tmp" "$root/var/tmp"
cp "$BUSYBOX" "$root/bin/busybox"
# One symlink per applet, where busybox would install it.
"$BUSYBOX" --list-full | while read -r applet; do
	[ "$applet" = bin/busybox ] || [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
cp "$hello" "$root/usr/bin/ferry-hello"
cat >"$root/etc/os-release" <<'OSR'
NAME="ferry demo"
PRETTY_NAME="ferry demo image (busybox)"
ID=ferry-demo
VERSION_ID=1
OSR
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
: >"$root/etc/hosts"
: >"$root/etc/resolv.conf"
cp "$src/config.json" "$root/.ferry/config.json"
printf '{"source": "builtin:demo", "manifest_digest": ""}\n' >"$root/.ferry/image.json"
"$MKSQUASHFS" "$root" "$tmp/demo.sqfs" -comp zstd -noappend -all-root -no-progress -quiet \
	-mkfs-time 0 -all-time 0 >/dev/null
mv -f "$tmp/demo.sqfs" "$out"
