#!/bin/bash
# fixtures.sh: build, with real tools, the images that the integration tests run. Run once from the
# build dir (make check does it: tests/fixtures/.stamp); images go to a world-readable test root
# under /var/tmp (see lib.sh) so the unprivileged test user can read them.
#
#   bb.dir        busybox-static root (applets linked as busybox --list-full names them), passwd,
#                 group, os-release, hosts, /opt/fy/bin/fy-probe, /.ferry/config.json (OCI image
#                 config: Env with PATH=/opt/fy/bin:<ferry's default PATH> and FOO=from-image,
#                 Entrypoint/Cmd, WorkingDir)
#   bb.sqfs       that, squashed with `mksquashfs DIR IMG -noappend -all-root` (gzip)
#   bb-{gzip,xz,lz4,zstd}.sqfs   other compressors
#   bb.sif        SIF made by tests/tools/mksif.py
#   bbwd.sqfs     Entrypoint /bin/pwd, WorkingDir /opt/work
#   nocfg.sqfs    no /.ferry at all
#   enroot.sqsh   enroot-style root (/etc/rc, /etc/environment, /etc/fstab; enroot's default
#                 mksquashfs options -comp lzo -noD)
#   ch.sqfs       Charliecloud-style root (/ch/metadata.json, /ch/environment, WEIRD_AL_YANKOVIC)
#   trunc.sqfs random.sqfs empty.sqfs text.sqfs   bad images
#   debian.sqfs debian.dir   Debian bookworm made by mmdebstrap --variant=minbase (cached)
set -eu
set -o pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fy_paths

if [ "${FY_LOCKED:-0}" != 1 ]; then
	exec 9>>"$FY_LOCK"
	flock -w 1800 9 || {
		echo "fixtures.sh: cannot lock $FY_LOCK" >&2
		exit 1
	}
fi
fy_setup_user

say() { echo "fixtures: $*" >&2; }

SQ() { # SQ DIR IMG [mksquashfs options]
	local dir=$1 img=$2
	shift 2
	"$MKSQUASHFS" "$dir" "$img" -noappend -quiet -no-progress "$@" >/dev/null
	chmod 644 "$img"
}

STAGE=$TESTROOT/fixtures.new
rm -rf "$STAGE"
mkdir -p "$STAGE"
chmod 755 "$TESTROOT" "$STAGE"

# ---- the busybox root --------------------------------------------------------------------------
make_busybox_root() {
	local r=$1 app
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,root,home,mnt,opt/work,proc,sys,dev,run,tmp,var/tmp}
	chmod 1777 "$r/tmp" "$r/var/tmp"
	install -m 755 "$BUSYBOX" "$r/bin/busybox"
	# The same links `busybox --install -s` makes, but pointing at the image's /bin/busybox
	# (--install would point them at the host path of the binary it ran as).
	for app in $("$BUSYBOX" --list-full); do
		[ -e "$r/$app" ] || ln -s /bin/busybox "$r/$app"
	done
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' \
		>"$r/etc/passwd"
	printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$r/etc/group"
	printf '%s\n' 'NAME="ferrytest busybox"' 'ID=fyitest' 'VERSION_ID=1' >"$r/etc/os-release"
	printf '%s\n' '127.0.0.1 fyimage-localhost' >"$r/etc/hosts"
	echo 'image motd' >"$r/etc/motd"
	# Only the image config's PATH names /opt/fy/bin (ferry's default PATH does not), so a
	# lookup that finds fy-probe proves the image PATH was used.
	mkdir -p "$r/opt/fy/bin"
	printf '%s\n' '#!/bin/sh' 'echo fy-probe-from-image-path' >"$r/opt/fy/bin/fy-probe"
	chmod 755 "$r/opt/fy/bin/fy-probe"
	echo 'not executable' >"$r/etc/notexec"
	chmod 644 "$r/etc/notexec"
}

oci_config() { # oci_config ENTRYPOINT_JSON CMD_JSON WORKDIR
	cat <<EOF
{
  "created": "2024-01-01T00:00:00Z",
  "architecture": "amd64",
  "os": "linux",
  "config": {
    "Env": [
      "PATH=/opt/fy/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "FOO=from-image"
    ],
    "Entrypoint": $1,
    "Cmd": $2,
    "WorkingDir": "$3",
    "Labels": { "org.opencontainers.image.title": "ferry integration test" }
  },
  "rootfs": { "type": "layers", "diff_ids": [] },
  "history": [ { "created": "2024-01-01T00:00:00Z", "created_by": "tests/integration/fixtures.sh" } ]
}
EOF
}

say "busybox images"
BB=$STAGE/bb.dir
make_busybox_root "$BB"
mkdir -p "$BB/.ferry"
oci_config '["/bin/echo", "entry"]' '["default-cmd"]' /opt/work >"$BB/.ferry/config.json"
SQ "$BB" "$STAGE/bb.sqfs" -all-root
for c in gzip xz lz4 zstd; do
	SQ "$BB" "$STAGE/bb-$c.sqfs" -all-root -comp "$c"
done

W=$STAGE/bbwd.root
cp -a "$BB" "$W"
oci_config '["/bin/pwd"]' 'null' /opt/work >"$W/.ferry/config.json"
SQ "$W" "$STAGE/bbwd.sqfs" -all-root
rm -rf "$W"

N=$STAGE/nocfg.root
cp -a "$BB" "$N"
rm -rf "$N/.ferry"
SQ "$N" "$STAGE/nocfg.sqfs" -all-root

# enroot's image layout (enroot import: /etc/rc runs the command, /etc/environment holds Env).
E=$STAGE/enroot.root
cp -a "$N" "$E"
printf '%s\n' 'FOO=from-enroot' >"$E/etc/environment"
printf '%s\n' '# enroot fstab' >"$E/etc/fstab"
printf '%s\n' 'exec "$@"' >"$E/etc/rc"
SQ "$E" "$STAGE/enroot.sqsh" -all-root -comp lzo -noD
rm -rf "$E"

# Charliecloud's image layout (ch-image/ch-convert: /ch metadata and the WEIRD_AL_YANKOVIC marker).
C=$STAGE/ch.root
cp -a "$N" "$C"
mkdir -p "$C/ch"
printf '%s\n' '{"arch": "amd64", "cwd": "/", "env": {"FOO": "from-ch"}, "labels": {},' \
	'"shell": ["/bin/sh", "-c"], "volumes": []}' >"$C/ch/metadata.json"
printf '%s\n' 'FOO=from-ch' >"$C/ch/environment"
: >"$C/WEIRD_AL_YANKOVIC"
SQ "$C" "$STAGE/ch.sqfs"
rm -rf "$C" "$N"

if [ -f "$FERRY_SRCDIR/tests/tools/mksif.py" ]; then
	python3 "$FERRY_SRCDIR/tests/tools/mksif.py" "$STAGE/bb.sqfs" "$STAGE/bb.sif" >&2
	chmod 644 "$STAGE/bb.sif"
else
	say "WARNING: tests/tools/mksif.py is missing: no bb.sif (t-images will build it or fail)"
fi

say "bad images"
size=$(stat -c %s "$STAGE/bb.sqfs")
head -c $((size / 2)) "$STAGE/bb.sqfs" >"$STAGE/trunc.sqfs"
head -c 65536 /dev/urandom >"$STAGE/random.sqfs"
: >"$STAGE/empty.sqfs"
echo 'this is not an image, just text' >"$STAGE/text.sqfs"
chmod 644 "$STAGE"/*.sqfs

# ---- Debian bookworm, cached: a fresh machine builds it (about 20 s through the mirror) ---------
debian_mirror() {
	local m
	m=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -E '/debian/?$' | head -n1)
	[ -n "$m" ] || m=$(grep -hs '^deb .* bookworm ' /etc/apt/sources.list | awk '{print $2}' | head -n1)
	echo "${m:-http://deb.debian.org/debian}"
}

make_debian() { # make_debian OUT.sqfs
	local tmp rc=0 mode=root
	[ "$(id -u)" = 0 ] || mode=unshare
	tmp=$(mktemp -d /var/tmp/fyitest-debian.XXXXXX)
	mmdebstrap --quiet --mode="$mode" --variant=minbase bookworm "$tmp/root" "$(debian_mirror)" >&2 || rc=$?
	if [ "$rc" = 0 ]; then
		"$MKSQUASHFS" "$tmp/root" "$1.tmp" -noappend -quiet -no-progress -comp zstd >/dev/null || rc=$?
	fi
	rm -rf "$tmp"
	[ "$rc" = 0 ] && mv "$1.tmp" "$1" && chmod 644 "$1"
	return "$rc"
}

# Keyed by the recipe itself, so editing other fixtures does not force a new debootstrap.
mkdir -p "$FY_CACHE"
chmod 755 "$FY_CACHE"
deb_key=$( (declare -f make_debian debian_mirror; debian_mirror; mmdebstrap --version) | sha256sum | cut -c1-16)
DEB=$FY_CACHE/debian-$deb_key.sqfs
if [ ! -s "$DEB" ]; then
	say "building Debian bookworm with mmdebstrap (cache: $DEB)"
	make_debian "$DEB" || {
		say "mmdebstrap failed"
		exit 1
	}
else
	say "Debian bookworm from cache $DEB"
fi
ln -f "$DEB" "$STAGE/debian.sqfs" 2>/dev/null || cp "$DEB" "$STAGE/debian.sqfs"
unsquashfs -quiet -no-progress -no-xattrs -d "$STAGE/debian.dir" "$STAGE/debian.sqfs" >/dev/null

# ---- publish -----------------------------------------------------------------------------------
chmod -R a+rX "$STAGE/bb.dir"
rm -rf "$FIXDIR"
mv "$STAGE" "$FIXDIR"
fy_fixtures_key >"$FIXDIR/.complete"
mkdir -p tests/fixtures
echo "$FIXDIR" >tests/fixtures/location
say "done: $FIXDIR"
