#!/bin/bash
# t-cache: `ferry images` and `ferry cache list|prune|clean` end to end, as the unprivileged test
# user with FERRY_CACHEDIR in its work dir: two images pulled from an OCI layout (built with umoci
# as root, no registry), listing with sources, least-recently-used pruning (a run counts as a
# use), an image in use by a running container survives prune and clean, and clean empties the
# cache. Needs umoci and a static busybox.
. "$(dirname "$0")/lib.sh"
fy_init

[ "$(id -u)" = 0 ] || fy_skip "needs root to build the OCI layout with umoci"
command -v umoci >/dev/null || fy_die "umoci is missing (apt-get install umoci)"
command -v python3 >/dev/null || fy_die "python3 is missing"

# ---- two small images, tags a and b of one layout, differing in /etc/which ---------------------
LAY=$RUNDIR/lay
(
	set -e
	cd "$RUNDIR"
	umoci init --layout lay
	for t in a b; do
		umoci new --image "lay:$t"
		umoci unpack --image "lay:$t" "b-$t"
		mkdir -p "b-$t/rootfs/bin" "b-$t/rootfs/etc"
		cp "$BUSYBOX" "b-$t/rootfs/bin/busybox"
		for l in sh cat echo sleep true; do ln -s busybox "b-$t/rootfs/bin/$l"; done
		echo "image-$t" >"b-$t/rootfs/etc/which"
		umoci repack --image "lay:$t" "b-$t"
		rm -rf "b-$t"
	done
) >"$RUNDIR/setup.log" 2>&1 || fy_die "building the OCI layout failed: $(tail -3 "$RUNDIR/setup.log")"
chmod -R a+rX "$LAY" || fy_die "cannot open $LAY to the test user"
CACHE=$WORK/cache
SRC_A=oci:$LAY:a
SRC_B=oci:$LAY:b

t_pull_two() {
	FY_ENV=("FERRY_CACHEDIR=$CACHE")
	fy pull "$SRC_A"
	expect_rc 0
	PA=$OUT
	fy pull "$SRC_B"
	expect_rc 0
	PB=$OUT
	[[ "$PA" == "$CACHE"/images/*.sqfs && "$PB" == "$CACHE"/images/*.sqfs && "$PA" != "$PB" ]] ||
		fail "expected two cached images, got '$PA' and '$PB'"
}
check "pull two images into the cache" t_pull_two

t_images() {
	FY_ENV=("FERRY_CACHEDIR=$CACHE")
	fy images
	expect_rc 0
	expect_err_empty
	expect_out_re '^SIZE +LAST USED +SOURCE +DIGEST +CACHE +PATH$'
	expect_out_re "$SRC_B +[0-9a-f]{12} +user +$PB\$"
	expect_out_re "$SRC_A +[0-9a-f]{12} +user +$PA\$"
	# No site cache configured: no site line.
	expect_out_lacks "site:"
	# oci: layouts are read in place: the blob cache may stay empty.
	expect_out_re '^total: 2 images, .*; [0-9]+ blobs?, '
	# Most recently used first: b was pulled last.
	[ "$(grep -n "$PB" "$OUT_F" | cut -d: -f1)" -lt "$(grep -n "$PA" "$OUT_F" | cut -d: -f1)" ] ||
		fail "b (pulled last) should be listed first"
	fy cache list --json
	expect_rc 0
	python3 - "$OUT_F" "$PA" "$SRC_A" "$PB" "$SRC_B" <<'PY' >"$RUNDIR/json.check" 2>&1 || fail "cache list --json: $(cat "$RUNDIR/json.check")"
import json, os, sys
j = json.load(open(sys.argv[1]))
assert isinstance(j, list) and len(j) == 2, j
by = {e["path"]: e for e in j}
for path, src in ((sys.argv[2], sys.argv[3]), (sys.argv[4], sys.argv[5])):
    e = by[path]
    assert e["source"] == src, e
    assert e["size"] == os.stat(path).st_size, e
    assert e["manifest_digest"].startswith("sha256:") and len(e["manifest_digest"]) == 71, e
    assert os.path.basename(path).startswith(e["manifest_digest"][7:]), e
    assert isinstance(e["last_used"], int) and e["last_used"] > 0, e
    assert e["cache"] == "user", e
PY
}
check "ferry images and cache list --json show both with their sources" t_images

t_prune_lru() {
	FY_ENV=("FERRY_CACHEDIR=$CACHE")
	# Running a makes it the most recently used, so b goes first.
	fy exec "$PA" cat /etc/which
	expect_rc 0
	expect_out "image-a"
	fy cache prune --max-size "$(stat -c %s "$PA")"
	expect_rc 0
	expect_err_empty
	expect_out_has "removed $PB"
	expect_out_lacks "removed $PA"
	expect_out_re '^freed .*: 1 image, 0 blobs$'
	[ -e "$PA" ] || fail "$PA (most recently used) was removed"
	[ ! -e "$PB" ] && [ ! -e "$PB.lock" ] || fail "$PB (least recently used) or its lock is still there"
}
check "prune to one image's size removes the least recently used" t_prune_lru

t_prune_busy() {
	FY_ENV=("FERRY_CACHEDIR=$CACHE")
	fy pull "$SRC_B"
	expect_rc 0
	[ "$OUT" = "$PB" ] || fail "b pulled again to '$OUT', expected '$PB'"
	# a runs from its source (reused from the cache), and is the least recently used below.
	fy_bg exec "$SRC_A" sh -c 'echo started; exec sleep 30'
	fy_bg_wait_output started || fail "the container did not start: $(cat "$ERR_F")"
	touch -d '-1 hour' "$PA" "$PA.lock"
	local bg=$BG_PID
	fy cache prune --max-size 0
	expect_rc 0
	expect_err_has "ferry: cache prune: $PA is in use by a running container, kept"
	expect_out_has "removed $PB"
	expect_out_lacks "removed $PA"
	[ -e "$PA" ] || fail "$PA was removed while a container used it"
	fy cache clean
	expect_rc 0
	expect_err_has "ferry: cache clean: $PA is in use by a running container, kept"
	[ -e "$PA" ] || fail "clean removed $PA while a container used it"
	BG_PID=$bg
	kill -TERM "$BG_PID"
	fy_bg_finish 10
	[ "$RC" = 143 ] || fail "the container ended with $RC, expected 143 (SIGTERM)"
}
check "prune and clean keep an image in use and say so" t_prune_busy

t_clean() {
	FY_ENV=("FERRY_CACHEDIR=$CACHE")
	fy cache clean
	expect_rc 0
	expect_err_empty
	expect_out_has "removed $PA"
	expect_out_re '^freed .*: 1 image, [0-9]+ blobs?$'
	[ -z "$(ls "$CACHE/images" | grep '\.sqfs')" ] || fail "images left: $(ls "$CACHE/images")"
	[ -z "$(ls "$CACHE/blobs/sha256" 2>/dev/null)" ] || fail "blobs left: $(ls "$CACHE/blobs/sha256")"
	fy images
	expect_rc 0
	expect_out_re '^total: 0 images, 0B; 0 blobs, 0B$'
}
check "clean empties the cache" t_clean

t_usage() {
	FY_ENV=("FERRY_CACHEDIR=$CACHE")
	fy cache prune --max-size 10X
	expect_error 2 "^ferry: cache: --max-size: invalid size '10X'"
	fy cache prune
	expect_error 2 "missing --max-size SIZE"
	fy cache
	expect_error 2 "missing subcommand"
	fy images --blobs
	expect_error 2 "does not apply to images"
}
check "usage errors exit 2" t_usage

fy_done
