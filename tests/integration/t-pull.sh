#!/bin/bash
# t-pull: `ferry pull` and `ferry inspect` end to end, and exec/run of docker:// sources through the
# image cache. As root the script starts a real registry (docker-registry, plain HTTP on a free
# 127.0.0.1 port), pushes a busybox OCI image built with umoci with skopeo, and stops the registry
# by its PID at exit; every ferry command runs as the unprivileged test user. Contacts no host but
# 127.0.0.1. Needs docker-registry, skopeo, umoci and a static busybox.
. "$(dirname "$0")/lib.sh"
fy_init

[ "$(id -u)" = 0 ] || fy_skip "needs root to start a registry"
for tool in docker-registry skopeo umoci curl python3; do
	command -v $tool >/dev/null || fy_die "$tool is missing (apt-get install $tool)"
done

# ---- the registry (the minimal start/stop of tests/registry/pull.sh, on a free port) -----------
REG=$RUNDIR/registry
REG_PID=
mkdir -p "$REG" || fy_die "cannot create $REG"
stop_registry() {
	[ -n "$REG_PID" ] || return 0
	kill "$REG_PID" 2>/dev/null
	wait "$REG_PID" 2>/dev/null
	REG_PID=
}
trap stop_registry EXIT

# A port the kernel just handed out and released: free unless something races for it.
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$REG/config.yml" <<YML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $REG/store
http:
  addr: 127.0.0.1:$PORT
YML
docker-registry serve "$REG/config.yml" >>"$REG/log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do
	curl -s -o /dev/null "http://127.0.0.1:$PORT/v2/" && break
	sleep 0.1
done
curl -s -o /dev/null "http://127.0.0.1:$PORT/v2/" || fy_die "registry did not start: $(tail -3 "$REG/log")"

# ---- the image: busybox with an entrypoint and an os-release, pushed with skopeo ---------------
LAY=$REG/lay
(
	set -e
	cd "$REG"
	umoci init --layout lay
	umoci new --image lay:latest
	umoci unpack --image lay:latest b
	mkdir -p b/rootfs/bin b/rootfs/etc
	cp "$BUSYBOX" b/rootfs/bin/busybox
	for l in sh cat echo ls; do ln -s busybox "b/rootfs/bin/$l"; done
	printf 'NAME="ferry pull test"\nID=ferrypulltest\n' >b/rootfs/etc/os-release
	umoci repack --image lay:latest b
	umoci config --image lay:latest --config.entrypoint /bin/echo \
		--config.cmd pulled-entrypoint-says-hi --config.label org.example.test=yes
	skopeo copy -q --dest-tls-verify=false oci:lay:latest "docker://127.0.0.1:$PORT/test:latest"
) >"$REG/setup.log" 2>&1 || fy_die "building or pushing the test image failed: $(tail -3 "$REG/setup.log")"
# umoci writes the layout for its owner only; the test user reads it for the oci: checks.
chmod -R a+rX "$LAY" || fy_die "cannot open $LAY to the test user"
DIGEST=sha256:$(skopeo inspect --raw "oci:$LAY:latest" | sha256sum | cut -c1-64)
SRC=docker://127.0.0.1:$PORT/test:latest
CACHE=$DATA/cache
fy_user_dir "$CACHE"

blob_gets() {
	grep -c 'GET /v2/test/blobs/' "$REG/log"
}

t_pull() {
	FY_ENV=("FERRY_CACHEDIR=$CACHE")
	fy pull --insecure "$SRC"
	expect_rc 0
	expect_err_empty # not a terminal: no progress
	[[ "$OUT" =~ ^$CACHE/images/${DIGEST#sha256:}-[0-9a-f]{12}\.sqfs$ ]] ||
		fail "expected one line with the cache path, got '$OUT'"
	[ -f "$OUT" ] || fail "$OUT does not exist"
	[ "$(blob_gets)" -ge 2 ] || fail "expected the registry to serve the blobs"
	PULLED=$OUT
}
check "ferry pull --insecure docker://... prints the cache path" t_pull

t_run_pulled() {
	fy run "$PULLED"
	expect_rc 0
	expect_out pulled-entrypoint-says-hi
}
check "ferry run of the pulled image runs its entrypoint" t_run_pulled

t_exec_source() {
	local before
	before=$(blob_gets)
	FY_ENV=("FERRY_CACHEDIR=$CACHE" "FERRY_INSECURE_REGISTRIES=127.0.0.1:$PORT")
	fy exec "$SRC" cat /etc/os-release
	expect_rc 0
	expect_out_has ID=ferrypulltest
	[ "$(blob_gets)" = "$before" ] || fail "exec fetched blobs again"
	[ "$(find "$CACHE/images" -name '*.sqfs' | wc -l)" = 1 ] || fail "expected one cached image"
	FY_ENV=("FERRY_CACHEDIR=$CACHE")
	fy run --insecure "$SRC" again
	expect_rc 0
	expect_out again
}
check "ferry exec/run docker://... work through the cache" t_exec_source

t_pull_again() {
	local before mtime
	before=$(blob_gets)
	mtime=$(stat -c %Y.%i "$PULLED")
	FY_ENV=("FERRY_CACHEDIR=$CACHE")
	fy pull --insecure "$SRC"
	expect_rc 0
	expect_out "$PULLED"
	[ "$(blob_gets)" = "$before" ] || fail "the second pull made $(($(blob_gets) - before)) blob GETs"
	[ "$(stat -c %Y.%i "$PULLED")" = "$mtime" ] || fail "the cached image was converted again"
}
check "a second pull reuses blobs and image (no blob GETs)" t_pull_again

t_concurrent() {
	rm -f "$CACHE"/images/*.sqfs
	FY_ENV=("FERRY_CACHEDIR=$CACHE")
	# shellcheck disable=SC2016
	fy_cmd sh -c 'for i in 1 2 3 4; do "$0" pull --insecure "$1" >"$2.$i" 2>&1 & done; wait
		cat "$2".1 "$2".2 "$2".3 "$2".4' "$FERRY" "$SRC" "$WORK/conc"
	expect_rc 0
	[ "$(sort -u <<<"$OUT")" = "$PULLED" ] || fail "expected four times '$PULLED', got '$OUT'"
	[ "$(ls "$CACHE/images" | grep -cv '\.lock$')" = 1 ] || fail "stray files in $CACHE/images: $(ls "$CACHE/images")"
	rm -f "$WORK"/conc.*
}
check "four concurrent pulls: one image, all print its path" t_concurrent

t_inspect() {
	fy inspect --json "$PULLED"
	expect_rc 0
	python3 - "$OUT_F" "$DIGEST" "$PULLED" "$SRC" <<'PY' >"$RUNDIR/inspect.check" 2>&1 || fail "inspect --json: $(cat "$RUNDIR/inspect.check")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["manifest_digest"] == sys.argv[2], j["manifest_digest"]
assert j["path"] == sys.argv[3], j["path"]
assert j["source"] == sys.argv[4], j["source"]
assert j["kind"] == "squashfs" and j["compression"] == "zstd", j
assert j["signature"] == "unsigned", j
assert j["config"]["Entrypoint"] == ["/bin/echo"], j["config"]
assert j["config"]["Cmd"] == ["pulled-entrypoint-says-hi"], j["config"]
assert j["config"]["Labels"] == {"org.example.test": "yes"}, j["config"]
assert j["size"] > 0 and j["file_size"] >= j["size"], j
PY
	fy inspect "$PULLED"
	expect_rc 0
	expect_out_has "manifest digest: $DIGEST"
	expect_out_re '^entrypoint: +\["/bin/echo"\]$'
	expect_out_re '^signature: +unsigned$'
}
check "ferry inspect [--json] shows digest, source and entrypoint" t_inspect

t_pull_dest() {
	FY_ENV=("FERRY_CACHEDIR=$CACHE")
	fy pull --dest "$WORK/out.sqfs" --compression lz4 --block-size 64K "oci:$LAY:latest"
	expect_rc 0
	expect_out "$WORK/out.sqfs"
	fy inspect "$WORK/out.sqfs"
	expect_out_re '^compression: +lz4$'
	expect_out_has "source:          oci:$LAY:latest"
	fy exec "$WORK/out.sqfs" cat /etc/os-release
	expect_out_has ID=ferrypulltest
	rm -f "$WORK/out.sqfs"
}
check "ferry pull --dest FILE of an oci: layout" t_pull_dest

t_wrong_tag() {
	FY_ENV=("FERRY_CACHEDIR=$CACHE")
	fy pull --insecure "docker://127.0.0.1:$PORT/test:nope"
	expect_rc_in "1 4"
	expect_one_error_line "^ferry: pull docker://127.0.0.1:$PORT/test:nope: " "not found"
	expect_out ""
	fy exec --insecure "docker://127.0.0.1:$PORT/test:nope" true
	expect_rc_in "1 4"
	expect_one_error_line "^ferry: pull docker://127.0.0.1:$PORT/test:nope: "
}
check "a wrong tag fails with one 'ferry: pull SOURCE: ...' line" t_wrong_tag

t_usage() {
	fy pull --compression xz "$SRC"
	expect_error 2 "^ferry: pull: --compression: unknown compression 'xz'"
	fy pull
	expect_error 2 "missing SOURCE"
	fy pull "not-a-source"
	expect_rc_in "2"
	expect_one_error_line "^ferry: pull not-a-source: "
}
check "usage errors exit 2" t_usage

# A full filesystem: a 256 KiB tmpfs (the test image is about 1 MiB) as --dest and as the cache.
FULL=$WORK/full
mkdir -p "$FULL" && mount -t tmpfs -o size=256k,mode=0777 ferry-full "$FULL" ||
	fy_die "cannot mount a small tmpfs on $FULL"
t_disk_full() {
	FY_ENV=("FERRY_CACHEDIR=$CACHE")
	fy pull --dest "$FULL/out.sqfs" "oci:$LAY:latest"
	expect_rc_in "1 4"
	expect_one_error_line "^ferry: pull oci:$LAY:latest: " "No space left on device"
	expect_out ""
	[ -z "$(ls -A "$FULL")" ] || fail "left on the full filesystem: $(ls -A "$FULL")"
	FY_ENV=("FERRY_CACHEDIR=$FULL/cache")
	fy pull --insecure "$SRC"
	expect_rc_in "1 4"
	expect_one_error_line "^ferry: pull $SRC: " "No space left on device"
	[ -z "$(find "$FULL/cache" -name '*.sqfs*' 2>/dev/null)" ] ||
		fail "an image (or part of one) was cached: $(find "$FULL/cache" -name '*.sqfs*')"
	rm -rf "${FULL:?}"/cache
}
check "a full disk: one error line, no partial image in --dest or the cache" t_disk_full
umount "$FULL" || fy_die "cannot unmount $FULL"

stop_registry
t_stopped() {
	! ss -ltn | grep -q "127.0.0.1:$PORT " || fail_plain "the registry still listens on $PORT"
}
check "registry stopped by PID" t_stopped

fy_done
