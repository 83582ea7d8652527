#!/bin/bash
# Conversion benchmark: OCI image -> squashfs with ferry and its peers, side by side, in one run.
#
#   benchmarks/convert.sh [--quick] [--out DIR] [--ferry PATH] [--work DIR] [--runs N]
#                         [--images base,multi] [--port N] [--no-drop-caches]
#
# Runs as root. Builds two images with real tools (cached in the work dir), converts each with
# every tool at the same compressor, level, block size and thread count, and writes
# DIR/convert.md (tables and goals), DIR/convert.json (every run), DIR/convert.png (plot).
# Default DIR: benchmarks/results. Nothing here asserts on timings; see benchmarks/README.md.
set -euo pipefail

# Debian's tools first: ch-image needs the system python3 (python3-lark), not a pyenv one.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"
report=$here/convert-report.py

quick=0
out=$here/results
ferry_arg=
work=
runs=
images=base,multi
port=5391
drop=1

bench_parse_args --ferry=ferry_arg --work=work --runs=runs --images=images --port=port \
	--no-drop-caches:drop=0 -- "$@"
if [ "$quick" = 1 ]; then runs=${runs:-1}; else runs=${runs:-3}; fi
case "$runs" in '' | *[!0-9]* | 0) echo "convert.sh: --runs needs a positive number" >&2; exit 2 ;; esac

# The settings every tool gets: zstd level 3, 128 KiB blocks, one thread per online CPU (ferry
# pull has no thread option and uses every online CPU, so the peers get the same count).
level=3
block=131072
threads=$(nproc)
# Wall-clock limit for one run of one tool, in seconds.
run_limit=1800

bench_require_root "umoci unpack keeps owners, caches are dropped between runs"

# ---------------------------------------------------------------- dependencies
bench_deps mmdebstrap umoci mksquashfs unsquashfs sqfstar tar2sqfs skopeo docker-registry openssl \
	gnuplot zcat python3 curl

work=${work:-$here/work}/convert
mkdir -p "$work"
case "$work$out" in
*[[:space:]\'\"\\]*) die "paths with spaces or quotes are not supported: $work $out" ;;
esac

# ---------------------------------------------------------------- ferry binary
ferry=$(bench_locate ferry "$ferry_arg")
ferry_problem=
if [ -z "$ferry" ] || [ ! -x "$ferry" ]; then
	ferry_problem="no ferry binary (looked for ${ferry:-./launcher/ferry, ./build*/launcher/ferry}; build it or pass --ferry)"
elif [ "$(head -c 2 "$ferry")" = '#!' ]; then
	ferry_problem="$ferry is a libtool wrapper script, not the binary"
elif [ ! -x "$(dirname "$ferry")/ferry-pull" ]; then
	ferry_problem="no ferry-pull next to $ferry (make launcher/ferry-pull)"
else
	ferry=$(cd "$(dirname "$ferry")" && pwd)/ferry
	log "ferry: $ferry"
fi

# ---------------------------------------------------------------- images
# Each image lives in a directory named by a hash of its recipe (the commands below plus the
# tools' versions): change the recipe and the image is built again, keep it and it is reused.
suite=bookworm
base_mmdeb=(mmdebstrap --variant=minbase --format=tar "$suite")
multi_pkgs=python3,python3-numpy,python3-scipy,python3-pandas,python3-matplotlib,openmpi-bin,libopenmpi-dev,gfortran,g++,cmake,libopenblas-dev,libhdf5-openmpi-dev
multi_mmdeb=(mmdebstrap --variant=minbase "--include=$multi_pkgs" --format=directory "$suite")
tools_ver="mmdebstrap $(pkgver mmdebstrap), umoci $(pkgver umoci)"
base_recipe="1: ${base_mmdeb[*]} OUT.tar; umoci init/new; umoci raw add-layer (gzip); $tools_ver"
multi_recipe="1: base, then umoci unpack; rootfs replaced by ${multi_mmdeb[*]}; umoci repack (gzip diff layer); $tools_ver"
hash12() { printf '%s' "$1" | sha256sum | cut -c1-12; }
base_dir=$work/base-$(hash12 "$base_recipe")
multi_dir=$work/multi-$(hash12 "$base_recipe $multi_recipe")

# The gzip layer blobs of the image at $1 (OCI layout), base first, one path per line.
layer_blobs() {
	python3 - "$1" <<'EOF'
import json, sys, os
d = sys.argv[1]
blob = lambda dg: os.path.join(d, "blobs", dg.replace(":", "/", 1))
idx = json.load(open(os.path.join(d, "index.json")))
man = json.load(open(blob(idx["manifests"][0]["digest"])))
for l in man["layers"]:
    print(blob(l["digest"]))
EOF
}

# mmdebstrap_into DIR WHAT TAKES TARGET MMDEBSTRAP...: start building the WHAT image (it takes
# TAKES) afresh in DIR: MMDEBSTRAP, an mmdebstrap command, writes DIR/TARGET.
mmdebstrap_into() {
	local d=$1 what=$2 takes=$3 target=$4
	shift 4
	log "building the $what image in $d: $* ($takes)"
	rm -rf "$d"
	mkdir -p "$d"
	"$@" "$d/$target" 2>"$d/mmdebstrap.log" || die "mmdebstrap failed, see $d/mmdebstrap.log"
}

# image_done DIR RECIPE: the image in DIR is complete; later runs with the same recipe reuse it.
image_done() {
	printf '%s\n' "$2" >"$1/recipe"
	touch "$1/done"
}

build_base() {
	local d=$base_dir
	[ -f "$d/done" ] && return 0
	mmdebstrap_into "$d" base "about 30 s" rootfs.tar "${base_mmdeb[@]}"
	umoci init --layout "$d/oci"
	umoci new --image "$d/oci:latest"
	umoci raw add-layer --image "$d/oci:latest" "$d/rootfs.tar"
	umoci gc --layout "$d/oci"
	# The pre-merged tar of a one-layer image is its layer, decompressed.
	mv "$d/rootfs.tar" "$d/merged.tar"
	image_done "$d" "$base_recipe"
}

build_multi() {
	local d=$multi_dir
	[ -f "$d/done" ] && return 0
	mmdebstrap_into "$d" multi-layer "a few minutes" tree "${multi_mmdeb[@]}"
	cp -a "$base_dir/oci" "$d/oci"
	umoci unpack --image "$d/oci:latest" "$d/bundle" >/dev/null
	# umoci repack compares the bundle's rootfs with the mtree of the unpacked base and writes
	# what changed (new and modified files, whiteouts for removed ones) as a second layer.
	rm -rf "$d/bundle/rootfs"
	mv "$d/tree" "$d/bundle/rootfs"
	umoci repack --image "$d/oci:latest" "$d/bundle"
	umoci gc --layout "$d/oci"
	rm -rf "$d/bundle"
	# The pre-merged tar: the image unpacked by umoci (the reference merge), as one tar.
	umoci unpack --image "$d/oci:latest" "$d/bundle" >/dev/null
	tar --numeric-owner --xattrs --xattrs-include='*' -C "$d/bundle/rootfs" -cf "$d/merged.tar" .
	rm -rf "$d/bundle"
	image_done "$d" "$multi_recipe"
}

IFS=, read -r -a image_list <<<"$images"
for img in "${image_list[@]}"; do
	case "$img" in
	base) build_base ;;
	multi) build_base; build_multi ;;
	*) die "unknown image '$img' (base, multi)" ;;
	esac
done
image_dir() { case "$1" in base) echo "$base_dir" ;; multi) echo "$multi_dir" ;; esac; }

# ---------------------------------------------------------------- scratch space and registry
raw=$(mktemp -d /tmp/ferry-cvbench.XXXXXX)
# Outputs and unpacked bundles go next to the images (the same disk), not to /tmp (tmpfs on
# some machines, where no bytes reach a disk and write_bytes stays 0).
scratch=$work/scratch
rm -rf "$scratch"
mkdir -p "$scratch"
reg_pid=
cleanup() {
	if [ -n "$reg_pid" ]; then kill "$reg_pid" 2>/dev/null || true; wait "$reg_pid" 2>/dev/null || true; fi
	rm -rf "$raw" "$scratch"
}
trap cleanup EXIT

# A TLS registry on loopback (ch-image speaks only HTTPS): self-signed certificate, trusted by
# ferry through containers-certs.d(5) under XDG_CONFIG_HOME, ignored by ch-image (--tls-no-verify).
reg=$raw/registry
reg_host=127.0.0.1:$port
mkdir -p "$reg/storage" "$raw/xdg/containers/certs.d/$reg_host"
if [ ! -f "$work/tls/cert.pem" ]; then
	mkdir -p "$work/tls"
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$work/tls/key.pem" -out "$work/tls/cert.pem" 2>/dev/null
fi
cp "$work/tls/cert.pem" "$raw/xdg/containers/certs.d/$reg_host/ca.crt"
cat >"$reg/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $reg/storage
http:
  addr: $reg_host
  tls:
    certificate: $work/tls/cert.pem
    key: $work/tls/key.pem
EOF
registry_problem=
if curl -sk "https://$reg_host/v2/" >/dev/null 2>&1; then
	registry_problem="something already listens on $reg_host (pick another with --port)"
else
	docker-registry serve "$reg/config.yml" >"$reg/log" 2>&1 &
	reg_pid=$!
	for _ in $(seq 50); do
		curl -sk "https://$reg_host/v2/" >/dev/null 2>&1 && break
		sleep 0.2
	done
	curl -sk "https://$reg_host/v2/" >/dev/null 2>&1 ||
		registry_problem="docker-registry did not start: $(tail -n 2 "$reg/log" | tr '\n' ' ')"
fi
if [ -z "$registry_problem" ]; then
	for img in "${image_list[@]}"; do
		log "pushing $img to $reg_host"
		skopeo copy -q --dest-tls-verify=false "oci:$(image_dir "$img")/oci:latest" \
			"docker://$reg_host/bench/$img:latest" >"$raw/push.log" 2>&1 ||
			registry_problem="skopeo copy to $reg_host failed: $(tail -n 2 "$raw/push.log" | tr '\n' ' ')"
	done
fi
[ -n "$registry_problem" ] && log "registry rows will not run: $registry_problem"

# ch-convert runs `mksquashfs DIR OUT -b 65536 -noappend -all-root ...` with mksquashfs's
# default compressor (gzip), and puts its own bin directory (/usr/bin) first in PATH. So that the
# row does the same compression work as the others, ch-convert runs in a private mount namespace
# where /usr/bin/mksquashfs is a script that runs a copy of the real one with this run's settings
# appended (mksquashfs takes the last -b it is given). The host's mounts are not touched.
chbin=$raw/ch-bin
mkdir -p "$chbin"
cp /usr/bin/mksquashfs "$chbin/mksquashfs.real"
cat >"$chbin/mksquashfs" <<EOF
#!/bin/sh
exec $chbin/mksquashfs.real "\$@" -comp zstd -Xcompression-level $level -b $block -processors $threads -quiet -no-progress
EOF
chmod 755 "$chbin/mksquashfs"
ch_problem=
if ! command -v ch-image >/dev/null || ! command -v ch-convert >/dev/null; then
	ch_problem="ch-image/ch-convert not installed (Debian package charliecloud-builders)"
elif ! USER=$(id -un) ch-image --version >/dev/null 2>"$raw/ch.err"; then
	ch_problem="ch-image does not start: $(tail -n 1 "$raw/ch.err")"
fi

# ---------------------------------------------------------------- measurement
loadavg_start=$(bench_loadavg)
status=$raw/status.tsv
: >"$status"
can_drop=0
if [ "$drop" = 1 ] && [ -w /proc/sys/vm/drop_caches ]; then can_drop=1; fi

# Every measured command runs with this environment and nothing else.
# (ch-image needs USER.)
cmd_env=(env -i "PATH=$PATH" "HOME=$raw/home" "USER=$(id -un)" "FERRY_CACHEDIR=$scratch/ferry-cache"
	"XDG_CONFIG_HOME=$raw/xdg" LANG=C.UTF-8)
mkdir -p "$raw/home"

sq_opts="-comp zstd -Xcompression-level $level -b $block -processors $threads -noappend -quiet -no-progress"
ferry_opts="--compression zstd --level $level --block-size 128K"

# sqfstar 4.5.1 rejects every -X option ("-Xcompression-level missing compression level"), and
# without one zstd runs at mksquashfs's default level 15. sqfstar is `mksquashfs - OUT -tar` under
# another name, so when the probe fails that row runs mksquashfs -tar on the same tar.
sqfstar_ok=0
tar -cf "$raw/probe.tar" -C "$raw" home
if sqfstar -comp zstd -Xcompression-level "$level" -quiet -no-progress "$raw/probe.sqfs" <"$raw/probe.tar" >/dev/null 2>&1; then
	sqfstar_ok=1
	sqfstar_label="sqfstar < pre-merged tar"
	sqfstar_note="the merged tar is prepared beforehand (not timed)"
else
	sqfstar_label="mksquashfs -tar < pre-merged tar"
	sqfstar_note="in place of sqfstar, which rejects -Xcompression-level in this version; the merged tar is prepared beforehand (not timed)"
fi
rm -f "$raw/probe.tar" "$raw/probe.sqfs"

# cmd_for TOOL IMAGE OUT: the measured command line (run by sh -c), empty if TOOL does not
# apply to IMAGE. BUNDLE and STORE are scratch directories removed after each run.
cmd_for() {
	local tool=$1 img=$2 o=$3 d
	d=$(image_dir "$img")
	case "$tool" in
	ferry-oci) echo "$ferry pull --debug --dest $o $ferry_opts oci:$d/oci:latest" ;;
	umoci-mksquashfs) echo "umoci unpack --image $d/oci:latest $scratch/bundle >/dev/null && mksquashfs $scratch/bundle/rootfs $o $sq_opts" ;;
	zcat-mksquashfs-tar)
		# Streaming, but only for one layer: mksquashfs -tar knows nothing of whiteouts.
		[ "$(layer_blobs "$d/oci" | wc -l)" = 1 ] || return 0
		echo "zcat $(layer_blobs "$d/oci") | mksquashfs - $o -tar $sq_opts" ;;
	tar2sqfs) echo "tar2sqfs -c zstd -X level=$level -b $block -j $threads -q -f $o < $d/merged.tar" ;;
	sqfstar)
		if [ "$sqfstar_ok" = 1 ]; then
			echo "sqfstar -comp zstd -Xcompression-level $level -b $block -processors $threads -quiet -no-progress $o < $d/merged.tar"
		else
			echo "mksquashfs - $o -tar $sq_opts < $d/merged.tar"
		fi ;;
	ferry-registry) echo "$ferry pull --debug --dest $o $ferry_opts docker://$reg_host/bench/$img:latest" ;;
	ch-image)
		# CH_IMAGE_STORAGE: ch-convert has no storage option. The registry's certificate is
		# trusted through python-requests' REQUESTS_CA_BUNDLE (ch-image 0.31's --tls-no-verify
		# does not reach the manifest request).
		echo "export CH_IMAGE_STORAGE=$scratch/store REQUESTS_CA_BUNDLE=$work/tls/cert.pem && ch-image --no-cache pull $reg_host/bench/$img:latest bench-$img >/dev/null && unshare -m --propagation private sh -c 'mount --bind $chbin/mksquashfs /usr/bin/mksquashfs && exec ch-convert -i ch-image -o squash bench-$img $o' >/dev/null" ;;
	*) die "unknown tool $tool" ;;
	esac
}

# record PART IMAGE TOOL LABEL STATUS NOTE ENTRIES COMMAND
record() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" \
		"$(printf '%s' "$6" | tr '\t\n' '  ')" "$7" "$8" >>"$status"
}

# measure PART IMAGE TOOL LABEL NOTE [PROBLEM]: $runs runs, each from dropped caches, each
# through convert-report.py's wrapper (wall, CPU, peak RSS, bytes written), then the output's
# size. After the first run, the output's entries are counted with unsquashfs: a tool that wrote
# an incomplete image shows it in the table. A failed run ends the row with the reason.
measure() {
	local part=$1 img=$2 tool=$3 label=$4 note=$5 problem=${6:-} o cmd i rc entries='' why
	o=$scratch/out.sqfs
	cmd=$(cmd_for "$tool" "$img" "$o")
	[ -n "$cmd" ] || return 0
	if [ -n "$problem" ]; then
		record "$part" "$img" "$tool" "$label" failed "$problem" "" "$cmd"
		log "$img/$tool: not run: $problem"
		return 0
	fi
	for i in $(seq "$runs"); do
		rm -rf "$o" "$scratch/bundle" "$scratch/store" "$scratch/ferry-cache"
		sync
		[ "$can_drop" = 1 ] && echo 3 >/proc/sys/vm/drop_caches
		log "$img/$tool run $i/$runs: $cmd"
		rc=0
		python3 "$report" measure --json "$raw/$img-$tool-$i.json" --timeout "$run_limit" \
			--stdout "$raw/run.out" --stderr "$raw/run.err" -- "${cmd_env[@]}" sh -c "$cmd" || rc=$?
		if [ "$rc" = 0 ] && [ ! -s "$o" ]; then
			printf 'exit status 0 but no output file %s\n' "$o" >>"$raw/run.err"
			rc=1
		fi
		if [ "$rc" != 0 ]; then
			why="run $i $( [ "$rc" = 124 ] && echo "stopped after $run_limit s" || echo "exit status $rc"): $(last_lines "$raw/run.err")"
			record "$part" "$img" "$tool" "$label" failed "$why" "" "$cmd"
			log "$img/$tool: FAILED: $why"
			return 0
		fi
		python3 "$report" addsize --json "$raw/$img-$tool-$i.json" --file "$o"
		# ferry pull --debug ends with one line saying where its time went (ferry(1)).
		case "$tool" in
		ferry-*) python3 "$report" addpull --json "$raw/$img-$tool-$i.json" --stderr "$raw/run.err" ;;
		esac
		if [ "$i" = 1 ]; then
			entries=$(unsquashfs -d / -lls "$o" 2>/dev/null | grep -c '^[-dlcbps]' || true)
		fi
	done
	record "$part" "$img" "$tool" "$label" ok "$note" "$entries" "$cmd"
	rm -rf "$o" "$scratch/bundle" "$scratch/store" "$scratch/ferry-cache"
}

for img in "${image_list[@]}"; do
	log "image $img: $runs run(s) per tool"
	measure local "$img" ferry-oci "ferry pull oci:" "" "$ferry_problem"
	measure local "$img" umoci-mksquashfs "umoci unpack + mksquashfs" \
		"the Apptainer/enroot pattern: every layer unpacked to disk, then mksquashfs over the tree"
	measure local "$img" zcat-mksquashfs-tar "zcat layer | mksquashfs -tar" "streaming, one layer only"
	measure local "$img" tar2sqfs "tar2sqfs < pre-merged tar" \
		"the merged tar is prepared beforehand (not timed)"
	measure local "$img" sqfstar "$sqfstar_label" "$sqfstar_note"
	measure registry "$img" ferry-registry "ferry pull docker://" \
		"fresh blob cache each run" "${ferry_problem:-$registry_problem}"
	measure registry "$img" ch-image "ch-image pull + ch-convert" \
		"fresh storage each run, build cache off (--no-cache, its faster path); ch-convert's mksquashfs (bind-mounted script) given -comp zstd -Xcompression-level $level -b $block -processors $threads" \
		"${ch_problem:-$registry_problem}"
done

# ---------------------------------------------------------------- environment and versions
{
	bench_facts date host nproc cpu memory kernel os
	printf 'disk\t%s\n' "$(df -T "$work" | awk 'NR == 2 {print $1 " (" $2 ")"}')"
	bench_facts loadavg_start loadavg_end
	printf 'settings\tzstd level %s, block size %s bytes, %s threads\n' "$level" "$block" "$threads"
	printf 'caches\t%s\n' "$([ "$can_drop" = 1 ] && echo "sync and drop_caches (echo 3) before every run" ||
		echo "sync before every run; caches NOT dropped ($([ "$drop" = 0 ] && echo "--no-drop-caches" || echo "/proc/sys/vm/drop_caches not writable"))")"
	if [ -z "$ferry_problem" ]; then
		printf 'ferry\t%s (%s)\n' "$(ver "$ferry" --version)" "$ferry"
	else
		printf 'ferry\t%s\n' "$ferry_problem"
	fi
	bench_version umoci umoci --version
	bench_version mksquashfs mksquashfs -version
	bench_version sqfstar sqfstar -version
	bench_version tar2sqfs tar2sqfs --version
	printf 'ch-image\t%s\n' "$(if [ -z "$ch_problem" ]; then echo "$(USER=root ver ch-image --version) (charliecloud-builders $(pkgver charliecloud-builders))"; else echo "$ch_problem"; fi)"
	printf 'docker-registry\t%s\n' "$(pkgver docker-registry)"
	bench_version skopeo skopeo --version
	bench_version mmdebstrap mmdebstrap --version
	bench_version gnuplot gnuplot --version
	bench_version zcat gzip --version
	for img in "${image_list[@]}"; do
		d=$(image_dir "$img")
		printf 'image_%s_recipe\t%s\n' "$img" "$(cat "$d/recipe")"
		printf 'image_%s_layers\t%s\n' "$img" "$(layer_blobs "$d/oci" | xargs stat -c %s | paste -sd' ')"
		printf 'image_%s_tar_bytes\t%s\n' "$img" "$(stat -c %s "$d/merged.tar")"
		printf 'image_%s_tar_entries\t%s\n' "$img" "$(tar -tf "$d/merged.tar" | wc -l)"
		printf 'image_%s_tar_files\t%s\n' "$img" "$(tar -tvf "$d/merged.tar" | grep -c '^-' || true)"
	done
	printf 'registry\t%s\n' "${registry_problem:-docker-registry with TLS on $reg_host}"
	bench_facts mode
	printf 'runs\t%s\n' "$runs"
	bench_facts invocation
} >"$raw/meta.tsv"

# ---------------------------------------------------------------- report
# The raw data of the last run stays in the work dir, for a report made again by hand.
rm -rf "$work/last-raw"
mkdir -p "$work/last-raw"
cp "$raw"/*.tsv "$raw"/*.json "$work/last-raw/"
mkdir -p "$out"
python3 "$report" report --raw "$raw" --out "$out"
gnuplot -e "datafile='$out/convert-plot.dat'; outfile='$out/convert.png'" "$here/convert.gnuplot" ||
	log "gnuplot failed; the tables are still in $out/convert.md"
log "wrote $out/convert.md, $out/convert.json, $out/convert.png"
