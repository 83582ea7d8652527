#!/bin/bash
# concurrent: the image cache under concurrency and faults, and archive sources, end to end.
# A real Distribution registry (docker-registry) listens on a unix socket in a private temp dir,
# behind a small relay on 127.0.0.1:5100 (the only port used) that can slow its answers down;
# images built with umoci are pushed with skopeo. Every ferry command runs as the unprivileged
# test user through tests/integration/lib.sh (as root it creates `ferrytest`). Checks:
#  (a) 50 concurrent `ferry pull docker://...` with one empty cache: all succeed and print one
#      path, the registry's access log shows exactly one GET per blob, the image runs;
#  (b) a pull killed with SIGKILL mid-download leaves no image (nor a temporary file) in the
#      cache, and the repeated pull succeeds, resuming the partial blob with a Range request;
#  (c) oci-archive: and docker-archive: files written by `skopeo copy` convert to images whose
#      `unsquashfs -lln` listings and OCI configs equal the docker:// one's, and run; bad
#      archives fail with one line naming file and member, and leave nothing in the cache.
# Needs root (the registry, the test user), docker-registry, skopeo, umoci, python3, curl,
# unsquashfs and a static busybox; a missing one fails the test with the reason, never skips.
# Servers are stopped by their recorded PIDs at exit. Contacts no host but 127.0.0.1.
set -u
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

FERRY_SRCDIR=${FERRY_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$FERRY_SRCDIR/tests/integration/lib.sh"

PORT=5100
[ "$(id -u)" = 0 ] || fy_die "needs root to start the registry and to create the test user"
for tool in docker-registry skopeo umoci python3 curl unsquashfs setpriv flock; do
	command -v $tool >/dev/null || fy_die "$tool is missing (scripts/install-deps.sh test)"
done
[ -x "$BUSYBOX" ] && file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
	fy_die "a static busybox is needed (busybox-static), got $BUSYBOX"

# Port 5100 is this test's alone; two runs on one machine (two build trees) take turns.
exec 8>/var/tmp/ferry-test-port-$PORT.lock
flock -w 900 8 || fy_die "another run held port $PORT for 15 minutes"
! ss -ltn | grep -q "127.0.0.1:$PORT " || fy_die "127.0.0.1:$PORT is taken by something else"

# ---- harness: lib.sh's, with a private test root instead of the shared fixtures ------------
fy_setup_user
TESTROOT=$(mktemp -d /var/tmp/fyconc.XXXXXX) || fy_die "mktemp failed"
chmod 755 "$TESTROOT"
RUNDIR=$TESTROOT/run
REG=$TESTROOT/registry
mkdir -p "$RUNDIR/bin" "$REG" || fy_die "cannot create $RUNDIR"
chmod 755 "$RUNDIR" "$RUNDIR/bin"
OUT_F=$RUNDIR/stdout
ERR_F=$RUNDIR/stderr
for b in ferry ferry-pull; do
	[ -x "$FERRY_BUILDDIR/launcher/$b" ] || fy_die "$FERRY_BUILDDIR/launcher/$b is not built"
	! head -c2 "$FERRY_BUILDDIR/launcher/$b" | grep -q '#!' ||
		fy_die "$FERRY_BUILDDIR/launcher/$b is a libtool wrapper script, not the binary"
	install -m 755 "$FERRY_BUILDDIR/launcher/$b" "$RUNDIR/bin/$b" || fy_die "cannot copy $b"
done
FERRY=$RUNDIR/bin/ferry
WORK=$RUNDIR/work
DATA=$RUNDIR/data
fy_user_dir "$WORK" "$DATA"
ITEST_RUN_TAG=concurrent-$$-$(date +%s%N)
: >"$RUNDIR/sids"
BASE_ENV=("HOME=$THOME" "USER=$TUSER" "LOGNAME=$TUSER" "PATH=/usr/local/bin:/usr/bin:/bin"
	"LC_ALL=C" "SHELL=/bin/sh" "ITEST_RUN_TAG=$ITEST_RUN_TAG")
fy_require_kernel

PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	PIDS=()
	if [ "$T_FAIL" = 0 ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$TESTROOT"
	else
		echo "# work files kept in $TESTROOT"
	fi
}
trap cleanup EXIT

# ---- the registry, behind a relay that can slow it down -----------------------------------
cat >"$REG/config.yml" <<YML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $REG/store
http:
  net: unix
  addr: $REG/registry.sock
YML
# The relay (tests/registry/relay.py): while the file "slow" exists, answers go out at about
# 640 KiB/s per connection, so a download can be caught and killed half way.
docker-registry serve "$REG/config.yml" >>"$REG/log" 2>&1 8>&- &
PIDS+=("$!")
python3 "$FERRY_SRCDIR/tests/registry/relay.py" $PORT "$REG/registry.sock" --throttle-file "$REG/slow" \
	>>"$REG/relay.log" 2>&1 8>&- &
PIDS+=("$!")
for _ in $(seq 100); do
	curl -s -o /dev/null "http://127.0.0.1:$PORT/v2/" && break
	sleep 0.1
done
curl -s -o /dev/null "http://127.0.0.1:$PORT/v2/" ||
	fy_die "registry or relay did not start: $(tail -3 "$REG/log" "$REG/relay.log")"
P=127.0.0.1:$PORT

# ---- images: busybox (small), and busybox with a 16 MiB incompressible file (big) -----------
(
	set -e
	cd "$REG"
	fy_umoci_busybox lay small b sh cat echo ls
	printf 'NAME="ferry concurrency test"\nID=ferryconc\n' >b/rootfs/etc/os-release
	umoci repack --image lay:small b
	umoci config --image lay:small --config.entrypoint /bin/echo --config.cmd conc-says-hi
	skopeo copy -q --dest-tls-verify=false oci:lay:small "docker://$P/small:latest"
) >"$REG/setup.log" 2>&1 || fy_die "building or pushing the test images failed: $(tail -5 "$REG/setup.log")"
(
	set -e
	cd "$REG"
	fy_umoci_busybox lay bigbase bb sh
	head -c 16777216 /dev/urandom >bb/rootfs/big.bin
	umoci repack --image lay:bigbase bb
	skopeo copy -q --dest-tls-verify=false oci:lay:bigbase "docker://$P/big:latest"
) >>"$REG/setup.log" 2>&1 || fy_die "building or pushing the big image failed: $(tail -5 "$REG/setup.log")"
chmod -R a+rX "$REG" || fy_die "cannot open $REG to the test user"

# blob_digests NAME: the config and layer digests of the pushed image, one a line.
blob_digests() {
	skopeo inspect --raw --tls-verify=false "docker://$P/$1:latest" |
		python3 -c 'import json,sys; m=json.load(sys.stdin); print("\n".join([m["config"]["digest"]]+[l["digest"] for l in m["layers"]]))'
}
# gets NAME DIGEST STATUS: how many GETs of that blob the registry answered with STATUS.
gets() {
	grep -c "\"GET /v2/$1/blobs/$2 HTTP/1.1\" $3 " "$REG/log"
}
SMALL_BLOBS=$(blob_digests small) || fy_die "skopeo inspect of small failed"
BIG_BLOBS=$(blob_digests big) || fy_die "skopeo inspect of big failed"
SMALL_DIGEST=sha256:$(skopeo inspect --raw --tls-verify=false "docker://$P/small:latest" | sha256sum | cut -c1-64)
[ "$(echo "$SMALL_BLOBS" | wc -l)" = 2 ] || fy_die "expected a config and one layer in small: $SMALL_BLOBS"

# ---- (a) 50 concurrent pulls, one shared empty cache -------------------------------------
CACHE=$DATA/cache
fy_user_dir "$CACHE"

t_fifty() {
	local d n path bad=
	FY_ENV=("FERRY_CACHEDIR=$CACHE")
	FY_TIMEOUT=600
	# shellcheck disable=SC2016
	fy_cmd sh -c 'i=0; while [ $i -lt 50 ]; do i=$((i + 1))
			( "$0" pull --insecure "$1" >"$2.$i.out" 2>"$2.$i.err"; echo $? >"$2.$i.rc" ) &
		done; wait' "$FERRY" "docker://$P/small:latest" "$WORK/p"
	expect_rc 0
	for n in $(seq 50); do
		[ "$(cat "$WORK/p.$n.rc" 2>/dev/null)" = 0 ] ||
			bad="$bad #$n(rc=$(cat "$WORK/p.$n.rc" 2>/dev/null): $(head -c 300 "$WORK/p.$n.err"))"
	done
	[ -z "$bad" ] || fail "pulls failed:$bad"
	[ "$(cat "$WORK"/p.*.out | wc -l)" = 50 ] || fail "expected 50 lines of output, got $(cat "$WORK"/p.*.out | wc -l)"
	[ "$(cat "$WORK"/p.*.out | sort -u | wc -l)" = 1 ] ||
		fail "pulls printed different paths: $(cat "$WORK"/p.*.out | sort | uniq -c | tr '\n' ';')"
	path=$(head -n1 "$WORK/p.1.out")
	[[ "$path" =~ ^$CACHE/images/${SMALL_DIGEST#sha256:}-[0-9a-f]{12}\.sqfs$ ]] ||
		fail "unexpected image path '$path'"
	[ -s "$path" ] || fail "$path is not there"
	for d in $SMALL_BLOBS; do
		n=$(gets small "$d" 200)
		[ "$n" = 1 ] || fail "blob $d: $n GETs in the registry log, expected exactly 1"
	done
	[ "$(grep -c '"GET /v2/small/blobs/' "$REG/log")" = 2 ] ||
		fail "expected 2 blob GETs in all, the log has: $(grep '"GET /v2/small/blobs/' "$REG/log" | tr '\n' ';')"
	[ "$(ls "$CACHE/images" | grep -c '\.sqfs$')" = 1 ] ||
		fail "expected one image in the cache: $(ls -a "$CACHE/images")"
	[ -z "$(ls -A "$CACHE/images" | grep '^\.')" ] ||
		fail "temporary files left in the cache: $(ls -A "$CACHE/images")"
	PULLED=$path
	rm -f "$WORK"/p.*
}
check "50 concurrent pulls: all succeed, one path, one GET per blob" t_fifty

t_fifty_runs() {
	fy run "$PULLED"
	expect_rc 0
	expect_out conc-says-hi
	fy exec "$PULLED" cat /etc/os-release
	expect_rc 0
	expect_out_has ID=ferryconc
}
check "the image the 50 pulls made runs" t_fifty_runs

# ---- (b) SIGKILL mid-download, then the same pull again ---------------------------------
CACHE2=$DATA/cache2
fy_user_dir "$CACHE2"
BIG_LAYER=$(echo "$BIG_BLOBS" | sed -n 2p)

t_killed() {
	local partial=$CACHE2/blobs/tmp/${BIG_LAYER#sha256:}.partial size=0 i
	: >"$REG/slow"
	FY_ENV=("FERRY_CACHEDIR=$CACHE2")
	fy_bg pull --insecure "docker://$P/big:latest"
	# Wait for the first bytes of the big layer in the blob cache, then kill.
	for ((i = 0; i < 300; i++)); do
		size=$(stat -c %s "$partial" 2>/dev/null || echo 0)
		[ "$size" -gt 0 ] && break
		kill -0 "$BG_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ "$size" -gt 0 ] || fail "the big layer never started to download ($partial)"
	kill -KILL "$BG_PID" 2>/dev/null
	fy_bg_finish 10 2>/dev/null # (bash's "Killed" job notice)
	rm -f "$REG/slow"
	[ "$RC" = 137 ] || fail "expected the pull to die of SIGKILL (137), got $RC"
	size=$(stat -c %s "$partial" 2>/dev/null || echo 0)
	[ "$size" -gt 0 ] && [ "$size" -lt 16777216 ] ||
		fail "expected a partial download kept in $partial, size $size"
	KILLED_AT=$size
	[ -z "$(find "$CACHE2" -name '*.sqfs*' ! -name '*.lock')" ] ||
		fail "the killed pull left an image or temporary file: $(find "$CACHE2" -name '*.sqfs*')"
	[ ! -e "$CACHE2/blobs/sha256/${BIG_LAYER#sha256:}" ] ||
		fail "the half-downloaded layer is in the cache as complete"
	FY_ENV=("FERRY_CACHEDIR=$CACHE2")
	fy images
	expect_rc 0
	expect_out_has "total: 0 images"
}
check "a pull killed with SIGKILL mid-download leaves no image" t_killed

t_after_kill() {
	local gets200 gets206 path
	gets200=$(gets big "$BIG_LAYER" 200)
	FY_ENV=("FERRY_CACHEDIR=$CACHE2")
	FY_TIMEOUT=300
	fy pull --insecure "docker://$P/big:latest"
	expect_rc 0
	path=$OUT
	[[ "$path" =~ ^$CACHE2/images/[0-9a-f]{64}-[0-9a-f]{12}\.sqfs$ ]] && [ -s "$path" ] ||
		fail "expected the image path, got '$path'"
	[ "$(gets big "$BIG_LAYER" 200)" = "$gets200" ] ||
		fail "the repeated pull downloaded the big layer from the start"
	gets206=$(gets big "$BIG_LAYER" 206)
	[ "$gets206" = 1 ] || fail "expected one Range (206) GET resuming the big layer, got $gets206"
	[ ! -e "$CACHE2/blobs/tmp/${BIG_LAYER#sha256:}.partial" ] || fail "the partial download is still there"
	[ -e "$CACHE2/blobs/sha256/${BIG_LAYER#sha256:}" ] || fail "the big layer is not in the blob cache"
	fy exec "$path" /bin/busybox stat -c %s /big.bin
	expect_rc 0
	expect_out 16777216
}
check "the repeated pull resumes the partial blob (Range) and succeeds" t_after_kill

# ---- (c) oci-archive: and docker-archive: from skopeo ------------------------------------
ARCH=$DATA/archives
fy_user_dir "$ARCH"
(
	set -e
	skopeo copy -q --src-tls-verify=false "docker://$P/small:latest" "oci-archive:$ARCH/small-oci.tar:small"
	skopeo copy -q --src-tls-verify=false "docker://$P/small:latest" "docker-archive:$ARCH/small-docker.tar:ex/small:v1"
	# Bad archives: cut short, and one layer byte changed (same size, other sha256).
	head -c 20000 "$ARCH/small-oci.tar" >"$ARCH/trunc.tar"
	cp "$ARCH/small-docker.tar" "$ARCH/corrupt.tar"
	python3 - "$ARCH/corrupt.tar" <<'PY'
import json, sys, tarfile
path = sys.argv[1]
with tarfile.open(path) as t:
    m = json.load(t.extractfile("manifest.json"))
    layer = t.getmember(m[0]["Layers"][0])
    off = layer.offset_data + layer.size // 2
with open(path, "r+b") as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0xff]))
PY
	chmod -R a+rX "$ARCH"
) >"$REG/archives.log" 2>&1 || fy_die "skopeo copy to archives failed: $(tail -5 "$REG/archives.log")"

# listing IMG: unsquashfs -lln without the /.ferry entries (they record the source, which
# differs by design); the OCI config stored there is compared separately.
listing() {
	unsquashfs -lln "$1" | grep '^[-dlcbps]' | grep -v ' squashfs-root/\.ferry/'
}

t_archives() {
	local src cache i=0 path want
	want=$(listing "$PULLED") || fail "unsquashfs -lln $PULLED failed"
	[ "$(echo "$want" | wc -l)" -gt 5 ] || fail "the docker:// listing is too short: $want"
	for src in "oci-archive:$ARCH/small-oci.tar" "oci-archive:$ARCH/small-oci.tar:small" \
		"docker-archive:$ARCH/small-docker.tar" "docker-archive:$ARCH/small-docker.tar:0" \
		"docker-archive:$ARCH/small-docker.tar:ex/small:v1"; do
		# A cache of its own: the oci-archive has the docker:// image's manifest digest and
		# would otherwise be found in the first cache, not converted.
		i=$((i + 1))
		cache=$DATA/cache-arch-$i
		fy_user_dir "$cache"
		FY_ENV=("FERRY_CACHEDIR=$cache")
		fy pull "$src"
		expect_rc 0
		path=$OUT
		[ -s "$path" ] || { fail "$src: no image at '$path'"; continue; }
		[ "$(listing "$path")" = "$want" ] ||
			fail "$src: listing differs from docker://: $(diff <(echo "$want") <(listing "$path") | head -20 | tr '\n' ';')"
		cmp -s <(unsquashfs -cat "$PULLED" .ferry/config.json) <(unsquashfs -cat "$path" .ferry/config.json) ||
			fail "$src: /.ferry/config.json differs from docker://'s"
		FY_ENV=("FERRY_CACHEDIR=$cache")
		fy run "$src" archive-run
		expect_rc 0
		expect_out archive-run
	done
	# The oci-archive holds the very manifest the registry served.
	[[ "$(basename "$DATA"/cache-arch-1/images/*.sqfs)" == "${SMALL_DIGEST#sha256:}-"* ]] ||
		fail "oci-archive image not named by the registry's manifest digest $SMALL_DIGEST"
}
check "oci-archive: and docker-archive: from skopeo equal docker:// and run" t_archives

t_bad_archives() {
	local cache=$DATA/cache-bad
	fy_user_dir "$cache"
	FY_ENV=("FERRY_CACHEDIR=$cache")
	fy pull "oci-archive:$ARCH/trunc.tar"
	expect_rc 4
	expect_one_error_line "^ferry: pull oci-archive:$ARCH/trunc.tar: oci-archive $ARCH/trunc.tar: "
	FY_ENV=("FERRY_CACHEDIR=$cache")
	fy pull "docker-archive:$ARCH/corrupt.tar"
	expect_rc 4
	expect_one_error_line "^ferry: pull docker-archive:$ARCH/corrupt.tar: " "digest mismatch"
	FY_ENV=("FERRY_CACHEDIR=$cache")
	fy pull "docker-archive:$ARCH/small-oci.tar"
	expect_rc 4
	expect_one_error_line "docker-archive $ARCH/small-oci.tar: no manifest.json member \(this is an OCI layout: use oci-archive:\)"
	FY_ENV=("FERRY_CACHEDIR=$cache")
	fy pull "oci-archive:$ARCH/small-oci.tar:nope"
	expect_rc 4
	expect_one_error_line "oci-archive $ARCH/small-oci.tar: no image tagged 'nope' in index.json"
	FY_ENV=("FERRY_CACHEDIR=$cache")
	fy pull "docker-archive:$ARCH/small-docker.tar:3"
	expect_rc 4
	expect_one_error_line "docker-archive $ARCH/small-docker.tar: manifest.json lists 1 image: no index 3"
	[ -z "$(find "$cache" -name '*.sqfs*' ! -name '*.lock')" ] ||
		fail "a failed pull left something in the cache: $(find "$cache" -name '*.sqfs*')"
	FY_ENV=("FERRY_CACHEDIR=$cache")
	fy images
	expect_out_has "total: 0 images"
}
check "bad archives: one-line errors, nothing cached" t_bad_archives

t_stopped() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	PIDS=()
	! ss -ltn | grep -q "127.0.0.1:$PORT " || fail_plain "something still listens on $PORT"
}
check "registry and relay stopped by PID" t_stopped

echo "1..$T_N"
echo "$T_PASS passed, $T_FAIL failed"
[ "$T_FAIL" = 0 ]
