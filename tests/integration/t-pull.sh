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
	fy_umoci_busybox lay latest b sh cat echo ls
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

# -v: one timing line whose download counts are what the registry served; without -v, silence.
t_pull_verbose() {
	local cache=$DATA/cache-v before want
	fy_user_dir "$cache"
	before=$(blob_gets)
	FY_ENV=("FERRY_CACHEDIR=$cache")
	fy pull -v --insecure "$SRC"
	expect_rc 0
	expect_out "$cache/${PULLED#"$CACHE"/}"
	[ "$(wc -l <"$ERR_F")" = 1 ] || fail "expected one line on stderr, got $(wc -l <"$ERR_F")"
	grep -qE '^ferry: pull: resolve [0-9.]+ m?s; download [0-9]+ blobs [0-9.]+ MiB in ' "$ERR_F" ||
		fail "expected 'ferry: pull: resolve ...; download N blobs X MiB in ...'"
	# Blobs served by the registry now, and their total size as the manifest lists it.
	want="download $(($(blob_gets) - before)) blobs $(python3 - "$LAY" <<'PY'
import json, sys
lay = sys.argv[1]
idx = json.load(open(lay + "/index.json"))
d = idx["manifests"][0]["digest"].split(":")[1]
m = json.load(open(lay + "/blobs/sha256/" + d))
print("%.1f MiB" % ((m["config"]["size"] + sum(l["size"] for l in m["layers"])) / 1048576.0))
PY
)"
	[ "$(($(blob_gets) - before))" -ge 2 ] || fail "expected the registry to serve 2 blobs"
	expect_err_has "; $want in "
	expect_err_has "; layer 1/1 "
	rm -rf "$cache"
}
check "ferry pull -v: one 'pull: resolve' line with the blobs downloaded" t_pull_verbose

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
	# The conversion runs while the blobs download, so its lock file may be there (it always
	# stays, as after any conversion); an image or a temporary file may not.
	[ -z "$(find "$FULL/cache" -name '*.sqfs*' ! -name '*.sqfs.lock' 2>/dev/null)" ] ||
		fail "an image (or part of one) was cached: $(find "$FULL/cache" -name '*.sqfs*')"
	rm -rf "${FULL:?}"/cache
}
check "a full disk: one error line, no partial image in --dest or the cache" t_disk_full
umount "$FULL" || fy_die "cannot unmount $FULL"

# ---- downloads overlap the conversion (issue 3) ------------------------------------------------
# Two-layer images behind a relay that holds every request for a listed blob for 2 s: the base
# (lowest) layer's blob arrives last, so a pull that converts while it downloads has the top
# layer done and waits on the base blob, which -v shows per layer ("blob wait"). One image's
# base blob is also corrupted in the registry's store: the pull must fail with the download's
# one error line, after the converter has started, and publish no image.
two_layer_image() { # TAG: base = busybox + 512 KiB of noise, top = /etc/top.txt
	(
		set -e
		cd "$REG"
		fy_umoci_busybox lay "$1" "u-$1" cat
		head -c 524288 /dev/urandom >"u-$1/rootfs/noise"
		umoci repack --image "lay:$1" "u-$1"
		rm -rf "u-$1"
		umoci unpack --image "lay:$1" "u-$1"
		echo "top layer of $1" >"u-$1/rootfs/etc/top.txt"
		umoci repack --image "lay:$1" "u-$1"
		skopeo copy -q --dest-tls-verify=false "oci:lay:$1" "docker://127.0.0.1:$PORT/$1:latest"
	) >>"$REG/setup.log" 2>&1 || fy_die "building or pushing $1 failed: $(tail -3 "$REG/setup.log")"
}
base_blob() { # TAG -> hex digest of its lowest layer
	skopeo inspect --raw "oci:$LAY:$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["layers"][0]["digest"][7:])'
}
two_layer_image two
two_layer_image twobad
chmod -R a+rX "$LAY" || fy_die "cannot open $LAY to the test user"
SLOW_TWO=$(base_blob two)
SLOW_BAD=$(base_blob twobad)
[ "$(skopeo inspect --raw "oci:$LAY:two" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["layers"]))')" = 2 ] ||
	fy_die "the test image 'two' does not have two layers"
bad=$REG/store/docker/registry/v2/blobs/sha256/${SLOW_BAD:0:2}/$SLOW_BAD/data
[ -f "$bad" ] || fy_die "no blob $bad in the registry's store"
printf 'X' | dd of="$bad" bs=1 seek=1000 conv=notrunc 2>/dev/null || fy_die "cannot corrupt $bad"
RPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 "$FERRY_SRCDIR/tests/registry/relay.py" "$RPORT" "$PORT" --hold-blob "$SLOW_TWO" \
	--hold-blob "$SLOW_BAD" >>"$REG/relay.log" 2>&1 &
RELAY_PID=$!
stop_relay() {
	[ -n "$RELAY_PID" ] || return 0
	kill "$RELAY_PID" 2>/dev/null
	wait "$RELAY_PID" 2>/dev/null
	RELAY_PID=
}
trap 'stop_relay; stop_registry' EXIT
for _ in $(seq 50); do
	curl -s -o /dev/null "http://127.0.0.1:$RPORT/v2/" && break
	sleep 0.1
done
curl -s -o /dev/null "http://127.0.0.1:$RPORT/v2/" || fy_die "the relay did not start: $(cat "$REG/relay.log")"

# "layer N/2 ... blob wait X s|ms" of the -v line in seconds (0 when the layer did not wait).
layer_wait() {
	python3 - "$ERR_F" "$1" <<'PY'
import re, sys
line = open(sys.argv[1]).read()
seg = [s for s in line.split("; ") if s.startswith("layer %s/2 " % sys.argv[2])]
m = re.search(r": blob wait ([0-9.]+) (ms|s),", seg[0]) if seg else None
print(0 if not m else float(m.group(1)) / (1000 if m.group(2) == "ms" else 1))
PY
}

t_overlap() {
	local cache=$DATA/cache-overlap top base waited
	fy_user_dir "$cache"
	FY_ENV=("FERRY_CACHEDIR=$cache")
	fy pull -v --insecure "docker://127.0.0.1:$RPORT/two:latest"
	expect_rc 0
	[[ "$OUT" == "$cache/images/"*.sqfs ]] || fail "expected the cache path, got '$OUT'"
	expect_err_has "; download 3 blobs "
	grep -qE '; download 3 blobs [0-9.]+ MiB in [0-9.]+ m?s overlapped \([0-9.]+ MiB/s, [0-9]+ parallel\); converter waited [0-9.]+ m?s for blobs; layer 1/2 ' "$ERR_F" ||
		fail "expected 'download 3 blobs ... overlapped (... parallel); converter waited ... for blobs'"
	top=$(layer_wait 2)
	base=$(layer_wait 1)
	# The top layer was converted while the base blob was still held by the relay, then the
	# converter waited for that blob: without overlap nothing waits (blobs first, then convert).
	python3 -c "import sys; sys.exit(not ($top < 1.0 and $base >= 1.0))" ||
		fail "expected the top layer to wait < 1 s and the base layer >= 1 s, got $top s and $base s"
	waited=$(sed -nE 's/.*; converter waited ([0-9.]+ m?s) for blobs.*/\1/p' "$ERR_F")
	[ -n "$waited" ] || fail "no 'converter waited' time"
	echo "# $(cat "$ERR_F")"
	fy exec "$OUT" cat /etc/top.txt
	expect_rc 0
	expect_out "top layer of two"
	[ -e "$cache/blobs/sha256/$SLOW_TWO" ] || fail "the base blob is not in the blob cache"
	rm -rf "$cache"
}
check "downloads overlap the conversion: the top layer converts while the base blob downloads" t_overlap

t_overlap_corrupt() {
	local cache=$DATA/cache-bad
	fy_user_dir "$cache"
	FY_ENV=("FERRY_CACHEDIR=$cache")
	fy pull -v --insecure "docker://127.0.0.1:$RPORT/twobad:latest"
	expect_rc_in "1 4"
	expect_one_error_line "^ferry: pull docker://127.0.0.1:$RPORT/twobad:latest: blob sha256:$SLOW_BAD: digest mismatch: content is sha256:[0-9a-f]{64}; discarded$"
	expect_out ""
	[ -z "$(find "$cache" -name '*.sqfs*' ! -name '*.sqfs.lock')" ] ||
		fail "an image (or part of one) was published: $(find "$cache" -name '*.sqfs*')"
	[ -n "$(find "$cache/images" -name '*.sqfs.lock')" ] ||
		fail "expected the conversion to have started (its lock file) before the download failed"
	[ ! -e "$cache/blobs/sha256/$SLOW_BAD" ] && [ ! -e "$cache/blobs/tmp/$SLOW_BAD.partial" ] ||
		fail "the corrupt blob (or its partial file) stayed in the blob cache"
	# --dest too: nothing at the destination, no temporary file beside it.
	fy pull --insecure --dest "$WORK/bad.sqfs" "docker://127.0.0.1:$RPORT/twobad:latest"
	expect_rc_in "1 4"
	expect_one_error_line "^ferry: pull docker://127.0.0.1:$RPORT/twobad:latest: .*: digest mismatch: "
	[ -z "$(find "$WORK" -maxdepth 1 -name '*bad.sqfs*')" ] || fail "left in $WORK: $(ls -A "$WORK")"
	rm -rf "$cache"
}
check "a corrupt base blob fails the overlapped pull: one error line, nothing published" t_overlap_corrupt
stop_relay

# ---- a read-only site cache (site_cache in the site configuration) ----------------------------
# The admin fills it (here the test user pulls into it, then root takes it over and makes it
# read-only), and a user with an empty cache gets the image from it: no blob download, nothing
# written in either cache, and ferry cache clean leaves it.
SITE=$DATA/site
SITE_CONF=$DATA/site.conf
UCACHE=$DATA/cache-user
printf 'site_cache = %s\n' "$SITE" >"$SITE_CONF"
chmod 644 "$SITE_CONF"

t_site_fill() {
	fy_user_dir "$SITE"
	FY_ENV=("FERRY_CACHEDIR=$SITE" "FERRY_CONF=$SITE_CONF")
	fy pull --insecure "$SRC"
	expect_rc 0
	[[ "$OUT" == "$SITE/images/${DIGEST#sha256:}-"*.sqfs ]] || fail "expected the image in $SITE, got '$OUT'"
	SITE_IMG=$OUT
	chown -R root:root "$SITE" && chmod -R a-w,a+rX "$SITE" || fail_plain "cannot make $SITE read-only"
	find "$SITE" -type f | sort >"$RUNDIR/site.before"
	# Listing the site's own cache as the admin does not show it twice.
	FY_ENV=("FERRY_CACHEDIR=$SITE" "FERRY_CONF=$SITE_CONF")
	fy images
	expect_rc 0
	[ "$(grep -c "$SITE_IMG" "$OUT_F")" = 1 ] || fail "expected $SITE_IMG listed once"
	expect_out_lacks "site:"
}
check "an admin fills a site cache with FERRY_CACHEDIR=DIR ferry pull" t_site_fill

t_site_hit() {
	local before
	fy_user_dir "$UCACHE"
	before=$(blob_gets)
	FY_ENV=("FERRY_CACHEDIR=$UCACHE" "FERRY_CONF=$SITE_CONF")
	fy pull --insecure "$SRC"
	expect_rc 0
	expect_err_empty
	expect_out "$SITE_IMG"
	fy pull -v --insecure "$SRC"
	expect_rc 0
	expect_out "$SITE_IMG"
	grep -qE '^ferry: pull: resolve [0-9.]+ m?s; site cache hit, not converted; total ' "$ERR_F" ||
		fail "expected 'ferry: pull: resolve ...; site cache hit, not converted; total ...'"
	# The same image from the OCI layout it was pushed from: same manifest, same name.
	fy pull "oci:$LAY:latest"
	expect_rc 0
	expect_out "$SITE_IMG"
	FY_ENV=("FERRY_CACHEDIR=$UCACHE" "FERRY_CONF=$SITE_CONF" "FERRY_INSECURE_REGISTRIES=127.0.0.1:$PORT")
	fy exec "$SRC" cat /etc/os-release
	expect_rc 0
	expect_out_has ID=ferrypulltest
	[ "$(blob_gets)" = "$before" ] || fail "$(($(blob_gets) - before)) blob GETs on a site cache hit"
	[ -z "$(find "$UCACHE" -mindepth 1)" ] || fail "the user cache is not empty: $(find "$UCACHE" -mindepth 1)"
	find "$SITE" -type f | sort | cmp -s - "$RUNDIR/site.before" ||
		fail "the site cache changed: $(find "$SITE" -type f)"
}
check "a site cache hit: its path, no blob GET, the user cache stays empty" t_site_hit

t_site_list_clean() {
	FY_ENV=("FERRY_CACHEDIR=$UCACHE" "FERRY_CONF=$SITE_CONF")
	fy images
	expect_rc 0
	expect_err_empty
	expect_out_re '^SIZE +LAST USED +SOURCE +DIGEST +CACHE +PATH$'
	expect_out_re "^[0-9.]+[KMB]? .* $SRC +${DIGEST:7:12} +site +$SITE_IMG\$"
	expect_out_re '^total: 0 images, 0B; 0 blobs, 0B$'
	expect_out_re '^site: 1 image, [0-9.]+[KM] \(read-only\)$'
	fy cache list --json
	expect_rc 0
	python3 - "$OUT_F" "$SITE_IMG" <<'PY' >"$RUNDIR/site.check" 2>&1 || fail "cache list --json: $(cat "$RUNDIR/site.check")"
import json, sys
j = json.load(open(sys.argv[1]))
assert [(e["path"], e["cache"]) for e in j] == [(sys.argv[2], "site")], j
PY
	fy cache clean
	expect_rc 0
	expect_err_empty
	expect_out_lacks "removed"
	expect_out_re '^freed 0B: 0 images, 0 blobs$'
	fy cache prune --max-size 0 --blobs
	expect_rc 0
	expect_out_lacks "removed"
	find "$SITE" -type f | sort | cmp -s - "$RUNDIR/site.before" ||
		fail "the site cache changed: $(find "$SITE" -type f)"
	# --force converts into the user's cache, leaving the site cache alone.
	fy pull --force "oci:$LAY:latest"
	expect_rc 0
	expect_out "$UCACHE/images/${SITE_IMG##*/}"
	# A site cache the user cannot read is not used (and not an error).
	chmod 700 "$SITE"
	fy cache clean
	expect_rc 0
	fy pull "oci:$LAY:latest"
	expect_rc 0
	expect_out "$UCACHE/images/${SITE_IMG##*/}"
	fy images
	expect_rc 0
	expect_out_lacks "$SITE_IMG"
	chmod 755 "$SITE"
}
check "ferry images marks site images; prune and clean leave them" t_site_list_clean

t_site_bad_conf() {
	printf 'site_cache = relative/dir\n' >"$DATA/bad.conf"
	chmod 644 "$DATA/bad.conf"
	FY_ENV=("FERRY_CACHEDIR=$UCACHE" "FERRY_CONF=$DATA/bad.conf")
	fy pull "oci:$LAY:latest"
	expect_error 3 "$DATA/bad.conf:1: site_cache: 'relative/dir' is not an absolute path"
	fy images
	expect_error 3 "$DATA/bad.conf:1: site_cache: 'relative/dir' is not an absolute path"
}
check "a bad site_cache value: exit 3 naming file and line" t_site_bad_conf

stop_registry
t_stopped() {
	! ss -ltn | grep -q "127.0.0.1:$PORT " || fail_plain "the registry still listens on $PORT"
}
check "registry stopped by PID" t_stopped

# ---- issue 8 D3: nothing lands in the cache that exec would refuse ------------------------------
# The same busybox image with its config blob replaced by text that is not JSON (manifest and
# index fixed up, so every digest still matches).
BADCFG=$REG/badcfg
(
	set -e
	cd "$REG"
	fy_umoci_busybox badcfg latest bb true
	umoci repack --image badcfg:latest bb
	python3 - "$BADCFG" <<'PY'
import hashlib, json, os, sys
lay = sys.argv[1]
def blob(d):
    return os.path.join(lay, "blobs", *d.split(":"))
def put(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    open(blob(d), "wb").write(data)
    return d, len(data)
idx = json.load(open(os.path.join(lay, "index.json")))
man = json.load(open(blob(idx["manifests"][0]["digest"])))
man["config"]["digest"], man["config"]["size"] = put(b"this is not JSON\n")
idx["manifests"][0]["digest"], idx["manifests"][0]["size"] = put(json.dumps(man).encode())
json.dump(idx, open(os.path.join(lay, "index.json"), "w"))
PY
) >"$REG/badcfg.log" 2>&1 || fy_die "building the bad-config image failed: $(tail -3 "$REG/badcfg.log")"
chmod -R a+rX "$BADCFG" || fy_die "cannot open $BADCFG to the test user"
BADCACHE=$DATA/badcache
fy_user_dir "$BADCACHE"

t_pull_bad_config() {
	FY_ENV=("FERRY_CACHEDIR=$BADCACHE")
	fy pull "oci:$BADCFG:latest"
	expect_error 4 "pull oci:.*image config: invalid JSON"
	[ -z "$(find "$BADCACHE" -name '*.sqfs')" ] ||
		fail "a failed pull left an image in the cache: $(find "$BADCACHE" -name '*.sqfs')"
	# exec of the same source fails the same way, at the pull, not on a poisoned entry.
	fy exec "oci:$BADCFG:latest" /bin/busybox true
	expect_error 4 "pull oci:.*image config: invalid JSON"
	[ -z "$(find "$BADCACHE" -name '*.sqfs')" ] || fail "exec left an image in the cache"
}
check "pull of a config blob that is not JSON: exit 4, one line, nothing cached (issue 8 D3)" t_pull_bad_config

# ---- issue 8 D8: retries are said, and a refused connection is given up on fast ---------------
# Port 1 of the loopback: nothing listens, so the connection is refused. `timeout 10` (the
# harness's, through FY_TIMEOUT) is only the failure condition: five backoffs took 15.6 s.
t_pull_refused() {
	local FY_TIMEOUT=10 v
	FY_ENV=("FERRY_CACHEDIR=$CACHE")
	for v in "" -v; do
		fy $v pull --insecure docker://127.0.0.1:1/x:y
		expect_rc 1
		[ "$(wc -l <"$ERR_F")" = 2 ] || fail "expected one retry line and the error line"
		head -n1 "$ERR_F" | grep -qE '^ferry: warning: manifest y: http://127\.0\.0\.1:1: .*; retry 1 of 1 in 0\.5 s$' ||
			fail "expected the retry to be said on the first line"
		tail -n1 "$ERR_F" | grep -qE '^ferry: pull docker://127\.0\.0\.1:1/x:y: .*manifest y: http://127\.0\.0\.1:1: .*connect' ||
			fail "expected the connection error on the last line"
	done
}
check "pull from a port where nothing listens: the retry is said, one retry only (issue 8 D8)" t_pull_refused

# A registry stand-in that answers 503 to its first two /v2/ requests, then 404: once said without -v, each with -v.
FLAKY_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$FLAKY_PORT" >"$REG/flaky.log" 2>&1 <<'PY' &
import http.server, sys
n = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        n[0] += self.path.startswith("/v2/")  # not the readiness probe below
        self.send_response(503 if 0 < n[0] <= 2 else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
FLAKY_PID=$!
for _ in $(seq 50); do
	curl -s -o /dev/null "http://127.0.0.1:$FLAKY_PORT/" && break
	sleep 0.1
done
t_pull_retries_said() {
	local FY_TIMEOUT=20 v n
	FY_ENV=("FERRY_CACHEDIR=$CACHE")
	fy -v pull --insecure "docker://127.0.0.1:$FLAKY_PORT/x:y"
	expect_rc_in "1 4"
	n=$(grep -cE "^ferry: (warning: )?manifest y: http://127\.0\.0\.1:$FLAKY_PORT: HTTP 503; retry [12] of 5 in " "$ERR_F")
	[ "$n" = 2 ] || fail "expected -v to say both retries, got $n lines"
}
check "-v says every retry of a registry answering 503 (issue 8 D8)" t_pull_retries_said
kill "$FLAKY_PID" 2>/dev/null
wait "$FLAKY_PID" 2>/dev/null

# ---- issue 8 D9: bad layer content is a bad image (exit 4), like bad layout metadata -----------
# The busybox image with one more gzip layer each: cut in half, a member named ../../escape, and
# a hardlink to a file no layer has (manifest and index fixed up, so every digest matches).
BADLAY=$REG/badlay
(
	set -e
	cd "$REG"
	fy_umoci_busybox badlay latest bl true
	umoci repack --image badlay:latest bl
	python3 - "$BADLAY" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
lay = sys.argv[1]
def blob(d):
    return os.path.join(lay, "blobs", *d.split(":"))
def put(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    open(blob(d), "wb").write(data)
    return d, len(data)
def gztar(ti, data=None):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return gzip.compress(b.getvalue(), mtime=0)
def reg(name, data=b"x\n"):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    return gztar(ti, data)
link = tarfile.TarInfo("etc/link")
link.type, link.linkname = tarfile.LNKTYPE, "no/such/target"
good = reg("etc/ok")
layers = {"trunc": good[: len(good) // 2], "dotdot": reg("../../escape"), "hardlink": gztar(link)}
idx = json.load(open(os.path.join(lay, "index.json")))
base = idx["manifests"][0]
man0 = json.load(open(blob(base["digest"])))
for tag, data in layers.items():
    man = json.loads(json.dumps(man0))
    d, n = put(data)
    man["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": n})
    md, ms = put(json.dumps(man).encode())
    idx["manifests"].append({"mediaType": base["mediaType"], "digest": md, "size": ms,
                             "annotations": {"org.opencontainers.image.ref.name": tag}})
json.dump(idx, open(os.path.join(lay, "index.json"), "w"))
PY
) >"$REG/badlay.log" 2>&1 || fy_die "building the bad-layer images failed: $(tail -3 "$REG/badlay.log")"
chmod -R a+rX "$BADLAY" || fy_die "cannot open $BADLAY to the test user"

t_pull_bad_layers() {
	local tag re
	for tag in trunc dotdot hardlink; do
		case $tag in
		trunc) re="layer sha256:[0-9a-f]{64}: truncated gzip stream after [0-9]+ bytes" ;;
		dotdot) re="layer sha256:[0-9a-f]{64}: path '\.\./\.\./escape' climbs above the root" ;;
		hardlink) re="hardlink to 'no/such/target': no such file in this or a lower layer" ;;
		esac
		FY_ENV=("FERRY_CACHEDIR=$BADCACHE")
		fy pull "oci:$BADLAY:$tag"
		expect_error 4 "^ferry: pull oci:$BADLAY:$tag: " "$re"
		FY_ENV=("FERRY_CACHEDIR=$BADCACHE")
		fy exec "oci:$BADLAY:$tag" /bin/busybox true
		expect_error 4 "^ferry: pull oci:$BADLAY:$tag: " "$re"
	done
	[ -z "$(find "$BADCACHE" -name '*.sqfs')" ] ||
		fail "a failed pull left an image in the cache: $(find "$BADCACHE" -name '*.sqfs')"
}
check "truncated gzip, '..' and a dangling hardlink in a layer: exit 4, one line (issue 8 D9)" t_pull_bad_layers

# ---- issue 14 item 6: progress a batch log shows -----------------------------------------------
# The registry again, behind the relay with its throttle on (about 640 KiB/s a connection), and an
# image with 8 MiB of noise: its pull lasts over 10 s, so ferry-pull, whose stderr is a file here,
# logs lines. Their numbers must grow; -q logs none. No time is measured: the throttle only makes
# the pull long enough to have something to log.
docker-registry serve "$REG/config.yml" >>"$REG/log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do
	curl -s -o /dev/null "http://127.0.0.1:$PORT/v2/" && break
	sleep 0.1
done
curl -s -o /dev/null "http://127.0.0.1:$PORT/v2/" || fy_die "registry did not restart: $(tail -3 "$REG/log")"
(
	set -e
	cd "$REG"
	fy_umoci_busybox lay big u-big cat
	head -c 8388608 /dev/urandom >u-big/rootfs/noise
	umoci repack --image lay:big u-big
	skopeo copy -q --dest-tls-verify=false oci:lay:big "docker://127.0.0.1:$PORT/big:latest"
) >>"$REG/setup.log" 2>&1 || fy_die "building or pushing big failed: $(tail -3 "$REG/setup.log")"
RPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
touch "$REG/throttle"
python3 "$FERRY_SRCDIR/tests/registry/relay.py" "$RPORT" "$PORT" --throttle-file "$REG/throttle" \
	>>"$REG/relay.log" 2>&1 &
RELAY_PID=$!
for _ in $(seq 50); do
	curl -s -o /dev/null "http://127.0.0.1:$RPORT/v2/" && break
	sleep 0.1
done
curl -s -o /dev/null "http://127.0.0.1:$RPORT/v2/" || fy_die "the relay did not start: $(cat "$REG/relay.log")"

t_progress_log() {
	fy_user_dir "$DATA/progcache"
	FY_ENV=("FERRY_CACHEDIR=$DATA/progcache")
	fy pull --insecure "docker://127.0.0.1:$RPORT/big:latest"
	expect_rc 0
	grep -qE '^ferry: pull: fetching: [0-9]+/[0-9]+ blobs, [0-9.]+/[0-9.]+ MiB' "$ERR_F" ||
		fail "expected 'ferry: pull: fetching: ...' lines in the log"
	# The MiB fetched so far: never less than the line before, and more at the end than at first.
	grep -oE '^ferry: pull: fetching: [0-9]+/[0-9]+ blobs, [0-9.]+' "$ERR_F" | sed 's/.*, //' |
		awk 'NR > 1 && $1 < prev { bad = 1 } NR == 1 { first = $1 } { prev = $1; n++ }
		     END { exit !(n >= 2 && !bad && prev > first) }' ||
		fail "expected at least two fetching lines with growing MiB"
	grep -qE '^ferry: pull: .*converting: layer [0-9]+/[0-9]+, [0-9.]+ MiB of file data$' "$ERR_F" ||
		fail "expected a converting line"
	tail -n1 "$ERR_F" | grep -qE '^ferry: pull: done: [0-9.]+ MiB fetched, 1 layers converted, [0-9.]+ MiB written$' ||
		fail "expected the last line to be 'ferry: pull: done: ...'"
	grep -v '^ferry: pull: ' "$ERR_F" | grep -q . && fail "expected progress lines only on stderr"
	[[ "$OUT" == "$DATA/progcache/images/"*.sqfs ]] || fail "expected the image path on stdout, got '$OUT'"
	fy_user_dir "$DATA/progcache-q"
	FY_ENV=("FERRY_CACHEDIR=$DATA/progcache-q")
	fy -q pull --insecure "docker://127.0.0.1:$RPORT/big:latest"
	expect_rc 0
	expect_err_empty
}
check "a pull logged to a file shows progress lines with growing numbers and a last line; -q none" t_progress_log

# ---- issue 14 item 7: errors that say what to do -----------------------------------------------
t_error_hints() {
	FY_ENV=("FERRY_CACHEDIR=$CACHE")
	# https (the default) against the plain-HTTP registry: OpenSSL's "wrong version number".
	fy pull "docker://127.0.0.1:$PORT/test:latest"
	expect_error 1 "^ferry: pull docker://127\.0\.0\.1:$PORT/test:latest: manifest latest: https://127\.0\.0\.1:$PORT: .*wrong version number \(does this registry speak plain HTTP\? then pull with --insecure, or list it in FERRY_INSECURE_REGISTRIES\)$"
	# The source once, and the registry's words last (no strerror after them).
	fy pull --insecure "docker://127.0.0.1:$PORT/test:nope"
	expect_error 4 "^ferry: pull docker://127\.0\.0\.1:$PORT/test:nope: manifest nope: not found in 127\.0\.0\.1:$PORT/test: MANIFEST_UNKNOWN: manifest unknown$"
}
check "registry errors: --insecure hinted for plain HTTP, the source once, no stray strerror" t_error_hints

# An image whose WorkingDir is /root, mode 0700 and root's: the user cannot enter it. exec and run
# start in / with one warning (as Apptainer does); an explicit --pwd stays an error.
(
	set -e
	cd "$REG"
	fy_umoci_busybox lay wd u-wd pwd
	mkdir -m 700 u-wd/rootfs/root
	umoci repack --image lay:wd u-wd
	umoci config --image lay:wd --config.workingdir /root --config.entrypoint /bin/pwd
) >>"$REG/setup.log" 2>&1 || fy_die "building the WorkingDir image failed: $(tail -3 "$REG/setup.log")"
chmod -R a+rX "$LAY" || fy_die "cannot open $LAY to the test user"

t_workdir_fallback() {
	local img cmd warn="^ferry: warning: cannot enter the working directory /root \(Permission denied\): starting in / \(--pwd DIR chooses another\)$"
	fy_user_dir "$DATA/wdcache"
	FY_ENV=("FERRY_CACHEDIR=$DATA/wdcache")
	fy pull "oci:$LAY:wd"
	expect_rc 0
	img=$OUT
	for cmd in "exec $img /bin/pwd" "run $img"; do
		FY_CWD=/ fy $cmd
		expect_rc 0
		expect_out "/"
		expect_one_error_line "$warn"
	done
	fy exec --pwd /root "$img" /bin/pwd
	expect_error 1 "cannot change to working directory /root: Permission denied$"
}
check "a WorkingDir the user cannot enter: exec and run start in / with one warning" t_workdir_fallback
stop_relay
stop_registry

fy_done
