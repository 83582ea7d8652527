#!/bin/bash
# Registry pulls end to end (issue 3; part of `make check`): real Distribution
# registries on loopback (docker-registry: plain HTTP on 127.0.0.1:5000, TLS + htpasswd/bcrypt on
# 127.0.0.1:5443) and a Bearer-token front (tests/registry/authproxy.py on 127.0.0.1:5001, with a
# "blob storage" origin on :5002), images pushed with skopeo from umoci-built OCI layouts (OCI
# manifest, Docker v2s2, a multi-platform index with an attestation entry), fetched with
# tests/registry/fy-fetch into blob caches. Contacts no host but 127.0.0.1.
# Needs root, docker-registry, skopeo, umoci, busybox (static), htpasswd (apache2-utils), openssl,
# python3, curl (scripts/install-deps.sh test); without them it fails, saying which. Every server
# started here is stopped by its recorded PID.
# Usage: FERRY_BUILDDIR=/path/to/build bash tests/registry/pull.sh   (KEEP=1 keeps the work dir)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# The registries listen on fixed loopback ports: two runs of this test on one machine (two build
# trees, or CI beside a developer) take turns instead of failing with "address already in use".
exec 9>/var/tmp/ferry-registry-test.lock
flock -w 900 9 || { echo "pull.sh: another run held the registry ports for 15 minutes"; echo "0 passed, 1 failed"; exit 1; }
build=${FERRY_BUILDDIR:-$here/../../build}
fetch=$build/tests/registry/fy-fetch
pass=0
fail=0
pids=()

for tool in docker-registry skopeo umoci htpasswd openssl python3 curl; do
	command -v $tool >/dev/null || { echo "not ok - $tool missing"; echo "0 passed, 1 failed"; exit 1; }
done
[ -x "$fetch" ] || { echo "not ok - $fetch not built"; echo "0 passed, 1 failed"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "not ok - needs root (registry ports, its work dirs)"; echo "0 passed, 1 failed"; exit 1; }
BUSYBOX=${BUSYBOX:-$(command -v busybox)}

work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-registry.XXXXXX")
stop_all() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap 'stop_all; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

ok() { pass=$((pass + 1)); echo "ok - $*"; }
ko() { fail=$((fail + 1)); echo "not ok - $*"; }
# check NAME CMD...: pass when CMD succeeds
check() { local n=$1; shift; if "$@"; then ok "$n"; else ko "$n"; fi; }
has() { grep -qF -- "$2" "$1" || { echo "# expected '$2' in $1:"; sed 's/^/#   /' "$1"; return 1; }; }
# pulled FILE TEXT: the last F succeeded and FILE (its output) holds TEXT.
pulled() {
	[ "$FRC" = 0 ] || { echo "# fy-fetch exited $FRC, expected 0; $1:"; sed 's/^/#   /' "$1"; return 1; }
	has "$1" "$2"
}
# refused FILE TEXT: the last F failed with status 1 and one "fy-fetch: " line holding TEXT, and
# printed no manifest.
refused() {
	[ "$FRC" = 1 ] || { echo "# fy-fetch exited $FRC, expected 1; $1:"; sed 's/^/#   /' "$1"; return 1; }
	[ "$(grep -c '^fy-fetch: ' "$1")" = 1 ] && grep '^fy-fetch: ' "$1" | grep -qF -- "$2" &&
		! grep -q '^manifest ' "$1" ||
		{ echo "# expected one line 'fy-fetch: ...$2...' and no manifest in $1:"; sed 's/^/#   /' "$1"; return 1; }
}

cd "$work" || exit 1
# No stray credentials or CA files of the caller: everything under $work.
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config XDG_RUNTIME_DIR=$work/run
unset FERRY_REGISTRY_USER FERRY_REGISTRY_PASSWORD FERRY_INSECURE_REGISTRIES
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_RUNTIME_DIR"

# ---- registries ----------------------------------------------------------------------------
reg_config() { # NAME ADDR [extra yaml]
	cat >"$work/$1.yml" <<YML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $work/$1-store
http:
  addr: $2
$3
YML
}
declare -A regpid
start_reg() { # NAME PORT
	docker-registry serve "$work/$1.yml" >>"$work/$1.log" 2>&1 &
	regpid[$1]=$!
	pids+=("$!")
	for _ in $(seq 50); do
		curl -sk -o /dev/null "$3://127.0.0.1:$2/v2/" && return 0
		sleep 0.1
	done
	echo "# registry $1 did not start:"; sed 's/^/#   /' "$work/$1.log"
	return 1
}
stop_reg() { kill -9 "${regpid[$1]}"; wait "${regpid[$1]}" 2>/dev/null; }

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ferry-test-ca -keyout ca.key \
	-out ca.crt -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout srv.key -out srv.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >srv.ext
openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile srv.ext \
	-out srv.crt 2>/dev/null
htpasswd -B -b -c htpasswd alice s3cret 2>/dev/null

reg_config plain 127.0.0.1:5000 ""
reg_config secure 127.0.0.1:5443 "  tls:
    certificate: $work/srv.crt
    key: $work/srv.key
auth:
  htpasswd:
    realm: ferry-test
    path: $work/htpasswd"
start_reg plain 5000 http || { ko "start registries"; echo "$pass passed, $((fail)) failed"; exit 1; }
start_reg secure 5443 https || { ko "start registries"; echo "$pass passed, $((fail)) failed"; exit 1; }
python3 "$here/authproxy.py" 5001 127.0.0.1:5000 bob b0bpw "$work/proxy.log" &
pids+=("$!")
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:5001/v2/ && break; sleep 0.1; done

# ---- images --------------------------------------------------------------------------------
umoci init --layout lay >/dev/null
umoci new --image lay:v1 >/dev/null
umoci unpack --image lay:v1 b >/dev/null
mkdir -p b/rootfs/bin
cp "$BUSYBOX" b/rootfs/bin/busybox
ln -s busybox b/rootfs/bin/sh
umoci repack --image lay:v1 b >/dev/null
umoci config --image lay:v1 --tag arm --architecture arm64 >/dev/null
# A unique layer for the corruption test, and an 8 MiB incompressible one for resumes.
for t in corrupt big; do
	umoci new --image lay:$t >/dev/null
	umoci unpack --image lay:$t u-$t >/dev/null
	if [ $t = big ]; then
		head -c 8388608 /dev/urandom >u-$t/rootfs/big
	else
		head -c 65536 /dev/urandom >u-$t/rootfs/noise
	fi
	umoci repack --image lay:$t u-$t >/dev/null
done
# A multi-platform index: an attestation entry first (buildx style), then arm64, then amd64.
python3 - lay <<'PY' 2>/dev/null
import hashlib, json, os, sys
lay = sys.argv[1]
idx = json.load(open(os.path.join(lay, "index.json")))
by = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in idx["manifests"]}
def entry(tag, os_, arch, ann=None):
    d = {k: by[tag][k] for k in ("mediaType", "digest", "size")}
    d["platform"] = {"os": os_, "architecture": arch}
    if ann:
        d["annotations"] = ann
    return d
mi = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
    entry("arm", "unknown", "unknown", {"vnd.docker.reference.type": "attestation-manifest",
                                          "vnd.docker.reference.digest": by["v1"]["digest"]}),
    entry("arm", "linux", "arm64"), entry("v1", "linux", "amd64")]}
b = json.dumps(mi).encode()
h = hashlib.sha256(b).hexdigest()
open(os.path.join(lay, "blobs/sha256", h), "wb").write(b)
idx["manifests"].append({"mediaType": mi["mediaType"], "digest": "sha256:" + h, "size": len(b),
                         "annotations": {"org.opencontainers.image.ref.name": "multi"}})
json.dump(idx, open(os.path.join(lay, "index.json"), "w"))
print("sha256:" + h, file=sys.stderr)
PY

sk() { skopeo copy -q --dest-tls-verify=false "$@" >/dev/null 2>>skopeo.log; }
P=127.0.0.1:5000
sk oci:lay:v1 docker://$P/busybox:v1 &&
	sk --format v2s2 oci:lay:v1 docker://$P/busybox:v2s2 &&
	sk --all oci:lay:multi docker://$P/busybox:multi &&
	sk oci:lay:corrupt docker://$P/corrupt:v1 &&
	sk oci:lay:big docker://$P/big:v1 &&
	sk oci:lay:v1 docker://$P/ratelimited:v1 &&
	sk --dest-creds alice:s3cret oci:lay:v1 docker://127.0.0.1:5443/private:v1
check "push images with skopeo (OCI, v2s2, index, TLS+htpasswd)" [ $? = 0 ]
amd_digest=$(skopeo inspect --raw oci:lay:v1 | sha256sum | cut -c1-64)
arm_digest=$(skopeo inspect --raw oci:lay:arm | sha256sum | cut -c1-64)

# F ARG...: fy-fetch; its exit status is also left in FRC for pulled/refused.
F() { "$fetch" --backoff 100 "$@"; FRC=$?; return $FRC; }

# ---- anonymous, plain HTTP ------------------------------------------------------------------
F --insecure --cache c1 docker://$P/busybox:v1 >o1 2>e1
check "anonymous OCI manifest pull" pulled o1 "manifest sha256:$amd_digest"
check "all blobs fetched and in the cache" bash -c "[ \$(grep -c ' fetched ' o1) = 2 ] && [ \$(ls c1/blobs/sha256 | wc -l) = 2 ] && [ -z \"\$(ls c1/blobs/tmp | grep partial)\" ]"
F --insecure --cache c1 docker://$P/busybox:v1 >o1b 2>&1
check "second pull reuses the cache" bash -c "[ $FRC = 0 ] && [ \$(grep -c ' reused ' o1b) = 2 ] && ! grep -q ' fetched ' o1b"
F --cache c1x docker://$P/busybox:v1 >o1c 2>e1c
check "https is the default (no plain HTTP unless declared insecure)" refused e1c "docker://$P/busybox:v1: manifest v1: https://127.0.0.1:5000: "
FERRY_INSECURE_REGISTRIES=example.org:1,127.0.0.1:5000 F --cache c1x docker://$P/busybox:v1 >o1d 2>&1
check "FERRY_INSECURE_REGISTRIES enables plain HTTP" pulled o1d "manifest sha256:$amd_digest"
F --insecure --cache c2 docker://$P/busybox:v2s2 >o2 2>&1
check "Docker v2s2 manifest pull" pulled o2 " application/vnd.docker.image.rootfs.diff.tar.gzip"
F --insecure --cache c3 docker://$P/busybox:multi >o3 2>&1
check "index: host platform (linux/amd64), attestation skipped" pulled o3 "manifest sha256:$amd_digest"
F --insecure --cache c3 --platform linux/arm64 docker://$P/busybox:multi >o3b 2>&1
check "index: --platform linux/arm64" pulled o3b "manifest sha256:$arm_digest"
F --insecure --cache c3 --platform linux/s390x docker://$P/busybox:multi >o3c 2>&1
check "index: missing platform names the offered ones" refused o3c "no image for platform linux/s390x (offered: linux/arm64, linux/amd64)"
F --insecure --cache c3 docker://$P/busybox@sha256:$amd_digest >o3d 2>&1
check "pull by digest" pulled o3d "manifest sha256:$amd_digest"
F --insecure --cache c3 docker://$P/busybox:nope >o3e 2>&1
check "unknown tag: clear error" refused o3e "manifest nope: not found in 127.0.0.1:5000/busybox: MANIFEST_UNKNOWN"

# ---- digest mismatch --------------------------------------------------------------------------
cl=$(skopeo inspect --raw oci:lay:corrupt | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"][7:])')
data=$work/plain-store/docker/registry/v2/blobs/sha256/${cl:0:2}/$cl/data
printf 'X' | dd of="$data" bs=1 seek=1000 conv=notrunc 2>/dev/null
F --insecure --cache c4 docker://$P/corrupt:v1 >o4 2>&1
check "corrupted blob: digest mismatch error" refused o4 "blob sha256:$cl: digest mismatch: content is sha256:"
check "corrupted blob: nothing cached, no partial left" bash -c "[ ! -e c4/blobs/sha256/$cl ] && [ ! -e c4/blobs/tmp/$cl.partial ]"

# ---- TLS + Basic auth (htpasswd, bcrypt) ----------------------------------------------------------
S=127.0.0.1:5443
F --cache c5 docker://$S/private:v1 >o5 2>&1
check "TLS with an unknown CA fails verification" refused o5 "docker://$S/private:v1: manifest v1: https://$S: SSL certificate problem: "
mkdir -p "$XDG_CONFIG_HOME/containers/certs.d/$S"
cp ca.crt "$XDG_CONFIG_HOME/containers/certs.d/$S/ca.crt"
F --cache c5 docker://$S/private:v1 >o5 2>&1
check "Basic auth, no credentials: error lists the sources tried" refused o5 "requires authentication for private and no credentials were found (tried: --creds, FERRY_REGISTRY_USER/PASSWORD, $XDG_RUNTIME_DIR/containers/auth.json, $XDG_CONFIG_HOME/containers/auth.json, $HOME/.docker/config.json)"
F --cache c5 --creds alice:wrong docker://$S/private:v1 >o5 2>&1
check "Basic auth, wrong --creds: names the source" refused o5 "rejected the credentials of user 'alice' from --creds"
FERRY_REGISTRY_USER=alice FERRY_REGISTRY_PASSWORD=s3cret F --cache c5 docker://$S/private:v1 >o5 2>&1
check "Basic auth over TLS with FERRY_REGISTRY_USER/PASSWORD (per-registry CA from certs.d)" pulled o5 "manifest sha256:$amd_digest"
mkdir -p "$HOME/.docker"
printf '{"auths":{"https://%s/v1/":{"auth":"%s"}}}' $S "$(printf alice:bad | base64)" >"$HOME/.docker/config.json"
F --cache c6 docker://$S/private:v1 >o6 2>&1
check "wrong credentials in ~/.docker/config.json: error names the file" refused o6 "rejected the credentials of user 'alice' from $HOME/.docker/config.json"
mkdir -p "$XDG_CONFIG_HOME/containers"
printf '{"auths":{"%s":{"auth":"%s"}}}' $S "$(printf alice:s3cret | base64)" >"$XDG_CONFIG_HOME/containers/auth.json"
F --cache c6 docker://$S/private:v1 >o6 2>&1
check "credentials from \$XDG_CONFIG_HOME/containers/auth.json win over ~/.docker" pulled o6 "manifest sha256:$amd_digest"

# ---- Bearer tokens, redirects to another origin, 429 ----------------------------------------------
B=127.0.0.1:5001
export FERRY_INSECURE_REGISTRIES=$B
: >proxy.log
F --cache c7 docker://$B/busybox:v1 >o7 2>&1
check "Bearer, anonymous refused by the token service: clear error" refused o7 "requires authentication for busybox and no credentials were found"
F --cache c7 --creds bob:nope docker://$B/busybox:v1 >o7 2>&1
check "Bearer, wrong credentials: names the token service and source" refused o7 "the token service rejected the credentials of user 'bob' from --creds"
F --cache c7 --creds bob:b0bpw docker://$B/busybox:v1 >o7 2>&1
check "Bearer token flow with credentials" pulled o7 "manifest sha256:$amd_digest"
check "blob redirects to another origin carry no Authorization" bash -c "grep -q '^storage GET /v2/busybox/blobs' proxy.log && ! grep -q LEAKED proxy.log"
t0=$(date +%s%N)
F --cache c7 --creds bob:b0bpw docker://$B/ratelimited:v1 >o7b 2>&1
t1=$(date +%s%N)
check "429 with Retry-After: 1 is honoured and retried" bash -c "[ $FRC = 0 ] && grep -q 'manifest sha256:$amd_digest' o7b && [ $(((t1 - t0) / 1000000)) -ge 1000 ]"
unset FERRY_INSECURE_REGISTRIES

# ---- resume with Range -----------------------------------------------------------------------
bl=$(skopeo inspect --raw oci:lay:big | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"][7:])')
# (a) across processes: the registry dies mid-download, the fetch gives up, a later one resumes.
F --insecure --cache c8 --rate 1000000 --retries 1 docker://$P/big:v1 >o8 2>&1 &
fp=$!
sleep 1.5
stop_reg plain
wait $fp
r1=$?
psize=$(stat -c %s c8/blobs/tmp/$bl.partial 2>/dev/null || echo 0)
start_reg plain 5000 http
check "registry stopped mid-download: fetch fails, partial kept ($psize bytes)" bash -c "[ $r1 = 1 ] && grep -q '^fy-fetch: .*blob sha256:$bl: http://$P: ' o8 && [ $psize -gt 0 ] && [ $psize -lt 8388608 ]"
F --insecure --cache c8 docker://$P/big:v1 >o8b 2>&1
check "later fetch resumes with Range from the partial" bash -c "[ $FRC = 0 ] && grep -q 'resume sha256:$bl from $psize' o8b && grep -q 'sha256:$bl 8[0-9]* fetched' o8b && [ -e c8/blobs/sha256/$bl ]"
check "range request seen by the registry" has plain.log "GET /v2/big/blobs/sha256:$bl HTTP/1.1\" 206"
# (b) in one process: the registry restarts while the fetch backs off and retries.
F --insecure --cache c9 --rate 1000000 --backoff 500 docker://$P/big:v1 >o9 2>&1 &
fp=$!
sleep 1.5
stop_reg plain
sleep 1
start_reg plain 5000 http
wait $fp
r2=$?
check "registry restarted mid-download: same fetch resumes and verifies" bash -c "[ $r2 = 0 ] && grep -q 'sha256:$bl [0-9]* fetched resumes=[1-9]' o9"

# ---- 20 concurrent pullers, one download per blob ----------------------------------------------
: >"$work/plain.log"
for i in $(seq 20); do
	F --insecure --cache c10 docker://$P/busybox:v1 >o10.$i 2>&1 &
	cp[$i]=$!
done
allok=1
for i in $(seq 20); do wait "${cp[$i]}" || allok=0; done
check "20 concurrent fetches of one image all succeed" [ $allok = 1 ]
once=1
for d in $(grep -h '^blob ' o10.1 | awk '{print $3}'); do
	n=$(grep -c "GET /v2/busybox/blobs/$d HTTP/1.1\" 200" "$work/plain.log")
	[ "$n" = 1 ] || { echo "# $d fetched $n times"; once=0; }
done
check "exactly one GET per blob across the 20 pullers" [ $once = 1 ]
check "the others waited and reused the blobs" bash -c "[ \$(cat o10.* | grep -c ' reused ') = 38 ]"

stop_all
pids=()
check "registries stopped by PID" bash -c "! ss -ltn | grep -qE '127.0.0.1:(5000|5443|5001|5002) '"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
