#!/bin/bash
# Start-up and metadata benchmark: ferry against its peers, side by side, in one run.
#
#   benchmarks/startup.sh [--quick] [--out DIR] [--ferry PATH] [--baseline PATH] [--user NAME]
#                         [--work DIR] [--runs N] [--meta-runs N] [--cold-runs N]
#
# Runs as root and drives an unprivileged user (default ferrytest, created if missing).
# Writes DIR/startup.md (tables), DIR/startup.json (raw hyperfine exports plus status),
# DIR/startup.png (bar chart of medians). Default DIR: benchmarks/results.
# --baseline PATH (a build directory or a ferry binary, e.g. the previous commit's build) times
# every ferry row a second time with that binary, right after, and adds an "against the
# baseline" table: is this ferry slower than the previous one?
# Nothing here asserts on timings; benchmarks/README.md explains how to read the output.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"

quick=0
out=$here/results
ferry_arg=
base_arg=
user=ferrytest
work=
runs=
meta_runs=
cold_runs=

bench_parse_args --ferry=ferry_arg --baseline=base_arg --user=user --work=work --runs=runs --meta-runs=meta_runs \
	--cold-runs=cold_runs -- "$@"

if [ "$quick" = 1 ]; then
	warmup=1 runs=${runs:-5} meta_runs=${meta_runs:-3} cold_runs=${cold_runs:-0}
else
	# Start-ups cost milliseconds, so 50 of them are cheap and steady the median on a shared
	# machine; the metadata rows (tenths of a second each) dominate the wall time.
	warmup=3 runs=${runs:-50} meta_runs=${meta_runs:-20} cold_runs=${cold_runs:-20}
fi

# Wall-clock limit for one row (all runs of one runner), in seconds.
row_limit=300

bench_require_root "it drops caches, runs crun/runc and drives user '$user'"

# ---------------------------------------------------------------- dependencies and user
bench_deps hyperfine ch-run bwrap crun runc squashfuse_ll fusermount3 mksquashfs mmdebstrap \
	gnuplot setpriv unshare python3
bench_user "$user"
# squashfuse_ll and ferry open /dev/fuse themselves (fusermount3 only mounts).
chmod 666 /dev/fuse

# Everything a measured command runs as the user goes through this: same environment for all.
as_user=(setpriv "--reuid=$user" "--regid=$user" --init-groups --reset-env)

# ---------------------------------------------------------------- image cache
# The user must be able to traverse to the images; fall back to /var/tmp if the tree is private.
if [ -z "$work" ]; then
	work=$here/work
	if ! "${as_user[@]}" test -x "$here"; then
		work=/var/tmp/ferry-bench-work
		log "$here is not readable by $user; caching images under $work"
	fi
fi
mkdir -p "$work"
chmod 755 "$work"
case "$work$out$uhome" in
*[[:space:]\'\"\\]*) die "paths with spaces or quotes are not supported: $work $out $uhome" ;;
esac

dir=$work/rootfs
sqfs=$work/bookworm.sqfs
bundle=$work/bundle
suite=bookworm
mmdeb_cmd=(mmdebstrap --variant=minbase --include=python3-numpy --format=directory "$suite")
mksq_cmd=(mksquashfs "$dir" "$sqfs.tmp" -comp zstd -noappend -quiet -no-progress)

# The stamp holds the exact mmdebstrap command: change it and the image is rebuilt.
if [ ! -d "$dir" ] || [ "$(cat "$work/rootfs.stamp" 2>/dev/null)" != "${mmdeb_cmd[*]}" ]; then
	log "building $dir: ${mmdeb_cmd[*]} (about 20 s)"
	rm -rf "$dir" "$dir.tmp" "$sqfs" "$work/rootfs.stamp"
	"${mmdeb_cmd[@]}" "$dir.tmp" 2>"$work/mmdebstrap.log" ||
		die "mmdebstrap failed, see $work/mmdebstrap.log"
	# A few directories (/root, apt's partial/) are mode 700: make the tree readable so that
	# `find /` walks the same entries as the unprivileged user in every runner and exits 0.
	chmod -R a+rX "$dir.tmp"
	mv "$dir.tmp" "$dir"
	printf '%s' "${mmdeb_cmd[*]}" >"$work/rootfs.stamp"
fi
# A marker only the image has (the host runs the same Debian release): every runner must print
# it before it is timed, so a launcher that silently runs on the host cannot pass.
marker=/etc/ferry-bench-image
marker_text="ferry benchmark image: ${mmdeb_cmd[*]}"
proof="cat $marker"
if [ "$(cat "$dir$marker" 2>/dev/null)" != "$marker_text" ]; then
	printf '%s\n' "$marker_text" >"$dir$marker"
	chmod 644 "$dir$marker"
	touch "$work/rootfs.stamp"
fi
if [ ! -f "$sqfs" ] || [ "$work/rootfs.stamp" -nt "$sqfs" ]; then
	log "building $sqfs"
	"${mksq_cmd[@]}" >/dev/null
	mv "$sqfs.tmp" "$sqfs" # an interrupted build must not look like a cached image
fi
chmod 644 "$sqfs"

# OCI bundles for crun and runc: `runc spec` defaults, the shared directory as read-only root;
# the second one only prints the marker.
bundle_check=$work/bundle-check
for b in "$bundle" "$bundle_check"; do
	mkdir -p "$b"
	(cd "$b" && rm -f config.json && runc spec)
	if [ "$b" = "$bundle" ]; then args='["/bin/true"]'; else args="[\"cat\", \"$marker\"]"; fi
	bench_edit_config "$b/config.json" "$dir" "$args"
done

# ---------------------------------------------------------------- ferry binary
ferry_src=$(bench_locate ferry "$ferry_arg")
ferry=$work/bin/ferry
ferry_problem=
rm -f "$ferry"
mkdir -p "$work/bin"
chmod 755 "$work/bin"
if [ -z "$ferry_src" ] || [ ! -f "$ferry_src" ]; then
	ferry_problem="no ferry binary (looked for ${ferry_src:-./launcher/ferry, ./build*/launcher/ferry}; build it or pass --ferry)"
elif [ "$(head -c 2 "$ferry_src")" = '#!' ]; then
	ferry_problem="$ferry_src is a libtool wrapper script, not the binary"
else
	install -m 755 "$ferry_src" "$ferry"
	log "ferry: $ferry_src"
fi

# The baseline: another build of ferry, timed in the same run on the same image. Its own
# directory keeps the program's name `ferry` (and a ferry-pull next to it would be its own).
base=
base_problem=
base_label=
if [ -n "$base_arg" ]; then
	base_src=$(bench_locate ferry "$base_arg")
	base=$work/bin/baseline/ferry
	rm -rf "$work/bin/baseline"
	mkdir -p "$work/bin/baseline"
	chmod 755 "$work/bin/baseline"
	if [ ! -f "$base_src" ]; then
		base_problem="no baseline binary $base_src (build it or fix --baseline)"
		base_label=baseline
	elif [ "$(head -c 2 "$base_src")" = '#!' ]; then
		base_problem="$base_src is a libtool wrapper script, not the binary"
		base_label=baseline
	else
		install -m 755 "$base_src" "$base"
		base_label=$(bench_label "$base_src" "$base_arg")
		log "baseline: $base_src ($base_label)"
	fi
fi

# ---------------------------------------------------------------- measurement
loadavg_start=$(bench_loadavg)
raw=$(mktemp -d /tmp/ferry-bench.XXXXXX)
chmod 755 "$raw"
chown "$user:" "$raw"
mnt=$uhome/ferry-bench-mnt
"${as_user[@]}" mkdir -p "$mnt"
"${as_user[@]}" fusermount3 -u "$mnt" 2>/dev/null || true # left over from an interrupted run
status=$raw/status.tsv
: >"$status"
# A ferry that hangs inside its own FUSE mount sits in uninterruptible sleep, where SIGKILL
# from timeout cannot end it. Abort the FUSE connections of the image mounts that belong to
# the benchmark's own copy of ferry (/sys/fs/fuse/connections/MINOR/abort, see the kernel's
# Documentation/filesystems/fuse.rst), then kill those processes. Nothing else is touched.
reap_ferry() {
	local pid uid
	uid=$(id -u "$user")
	for pid in $(pgrep -u "$user" 2>/dev/null); do
		case "$(readlink "/proc/$pid/exe" 2>/dev/null)" in
		"$ferry" | "${base:-$ferry}") ;;
		*) continue ;;
		esac
		{ grep -F -e "$sqfs" -e "$dir" "/proc/$pid/mountinfo" 2>/dev/null || true; } |
			awk -v uid="user_id=$uid" '/ - fuse/ && index($0, uid) { print $3 }' | sort -u |
			while read -r dev; do
				if [ -w "/sys/fs/fuse/connections/${dev#*:}/abort" ]; then
					echo 1 >"/sys/fs/fuse/connections/${dev#*:}/abort"
				fi
			done
		kill -9 "$pid" 2>/dev/null || true
	done
}
cleanup() {
	reap_ferry
	rm -rf "$raw"
	"${as_user[@]}" fusermount3 -u "$mnt" 2>/dev/null || true
	crun delete --force ferry-bench-crun >/dev/null 2>&1 || true
	runc delete --force ferry-bench-runc >/dev/null 2>&1 || true
}
trap cleanup EXIT

# crun 1.8 refuses a hybrid layout (tmpfs at /sys/fs/cgroup, cgroup2 at .../unified) as soon as
# the cgroup2 hierarchy has a controller (bench_cgroup_hybrid in lib.sh). Here hugetlb is bound
# to no v1 hierarchy, so it sits on the v2 side. Hiding the
# v2 mount behind a writable tmpfs, in a mount namespace private to the crun measurement, makes
# crun see a legacy v1 layout: it still creates its v1 cgroups; its "unified" one becomes a
# plain directory on the tmpfs. The tmpfs must be writable because crun creates a cgroup in
# every hierarchy listed in /proc/self/cgroup, and the "0::" line is still there.
crun_wrap=()
crun_note="as root"
if bench_cgroup_hybrid; then
	crun_wrap=(unshare -m --propagation private sh -c
		"mount -t tmpfs -o size=64k,mode=755 ferry-bench-nocg2 $cg2 && exec \"\$@\"" sh)
	crun_note="as root; hybrid cgroups with v2 controllers ($(bench_cg2_controllers)) that crun 1.8 refuses: run in a private mount namespace with a tmpfs over $cg2, so crun uses only the v1 hierarchies"
fi

# record PART ID LABEL STATUS NOTE ENTRIES COMMAND HYPERFINE...
record() {
	local part=$1 id=$2 label=$3 st=$4 note=$5 entries=$6 cmd=$7
	shift 7
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$part" "$id" "$label" "$st" \
		"$(printf '%s' "$note" | tr '\t\n' '  ')" "$entries" "$cmd" "$*" >>"$status"
}

bw="bwrap --bind $dir / --proc /proc --dev /dev --unshare-user"
bwm="bwrap --bind $mnt / --proc /proc --dev /dev --unshare-user"

# cmd_for RUNNER WORKLOAD: the measured command line, one string that hyperfine -N splits like a
# shell (no shell is started per run unless the command itself is sh -c).
cmd_for() {
	local b=$bundle
	[ "$2" = "$proof" ] && b=$bundle_check
	case "$1" in
	native) echo "$2" ;;
	unshare) echo "unshare -Urm $2" ;;
	ferry-sqfs) echo "$ferry exec $ferry_opts$sqfs $2" ;;
	ferry-dir) echo "$ferry exec $ferry_opts$dir $2" ;;
	ferry-sqfs-baseline) echo "$base exec $ferry_opts$sqfs $2" ;;
	ferry-dir-baseline) echo "$base exec $ferry_opts$dir $2" ;;
	chrun-sqfs) echo "ch-run $sqfs -- $2" ;;
	chrun-dir) echo "ch-run $dir -- $2" ;;
	bwrap-dir | dir) echo "$bw $2" ;;
	# mount + run + unmount timed as one command, as ferry and ch-run do all three.
	squashfuse-bwrap) echo "sh -c 'squashfuse_ll $sqfs $mnt && $bwm $2; s=\$?; fusermount3 -u $mnt; exit \$s'" ;;
	crun) echo "crun run --bundle $b ferry-bench-crun" ;;
	runc) echo "runc run --bundle $b ferry-bench-runc" ;;
	*) die "unknown runner $1" ;;
	esac
}

# Runners whose check hung once: their later rows are not tried again (each would cost 60 s).
declare -A hung=()

# measure PART ID RUNNER LABEL MODE NOTE WORKLOAD
#   MODE user:  hyperfine runs as the user (cwd: the user's home), so nothing but CMD is timed.
#   MODE root:  hyperfine runs as root; CMD is prefixed with the same setpriv to the user.
#   MODE oci:   hyperfine runs as root, CMD as root (crun, runc), crun inside crun_wrap.
# Before timing, the runner must show that it runs inside the image (it prints the marker file),
# then the workload runs once and must exit 0. If either fails, the table says why.
measure() {
	local part=$1 id=$2 runner=$3 label=$4 mode=$5 note=$6 workload=$7
	local json=$raw/$part-$id.json wrap=() hf=() entries='' pre='' cmd check rc why
	case "$mode" in
	user) wrap=("${as_user[@]}" sh -c 'cd && exec "$@"' sh) ;;
	root) pre="${as_user[*]} " ;;
	oci) [ "$runner" = crun ] && wrap=("${crun_wrap[@]}") ;;
	esac
	cmd=$pre$(cmd_for "$runner" "$workload")
	if [[ $runner == ferry-*-baseline ]]; then
		if [ -n "$base_problem" ]; then
			record "$part" "$id" "$label" failed "$base_problem" "" "$cmd"
			log "$part/$id: not run: $base_problem"
			return 0
		fi
	elif [[ $runner == ferry-* ]] && [ -n "$ferry_problem" ]; then
		record "$part" "$id" "$label" failed "$ferry_problem" "" "$cmd"
		log "$part/$id: not run: $ferry_problem"
		return 0
	fi
	if [ -n "${hung[$runner]:-}" ]; then
		record "$part" "$id" "$label" failed "not tried: ${hung[$runner]}" "" "$cmd"
		log "$part/$id: not tried: ${hung[$runner]}"
		return 0
	fi

	if [ "$runner" != native ] && [ "$runner" != unshare ]; then
		check=$pre$(cmd_for "$runner" "$proof")
		rc=0
		(cd "$uhome" && timeout -k 5 60 "${wrap[@]}" sh -c "$check" >"$raw/check.out" 2>"$raw/check.err") || rc=$?
		if [ "$rc" != 0 ] || [ "$(cat "$raw/check.out")" != "$marker_text" ]; then
			why=$(last_lines "$raw/check.out" "$raw/check.err")
			record "$part" "$id" "$label" failed \
				"image check failed: \`$proof\` $(ended $rc) and printed: ${why:-nothing}" "" "$cmd"
			case $rc in 124 | 137)
				hung[$runner]="its image check did not end within 60 s in $part"
				reap_ferry ;;
			esac
			log "$part/$id: FAILED the image check (exit $rc): $why"
			return 0
		fi
	fi
	rc=0
	(cd "$uhome" && timeout -k 5 60 "${wrap[@]}" sh -c "$cmd" >"$raw/check.out" 2>"$raw/check.err") || rc=$?
	if [ "$rc" != 0 ]; then
		why=$(last_lines "$raw/check.err")
		record "$part" "$id" "$label" failed "the command $(ended $rc): ${why:-no message}" "" "$cmd"
		case $rc in 124 | 137)
			hung[$runner]="it did not end within 60 s in $part"
			reap_ferry ;;
		esac
		log "$part/$id: FAILED (exit $rc): $why"
		return 0
	fi
	case "$workload" in "find / -xdev") entries=$(wc -l <"$raw/check.out") ;; esac

	hf=(hyperfine -N --style basic --export-json "$json" --command-name "$label")
	case "$part" in
	*cold*)
		# Each run starts with empty page, dentry and inode caches.
		hf+=(--warmup 0 --runs "$cold_runs"
			--prepare "sh -c 'sync; echo 3 > /proc/sys/vm/drop_caches'") ;;
	metadata*) hf+=(--warmup "$warmup" --runs "$meta_runs") ;;
	*) hf+=(--warmup "$warmup" --runs "$runs") ;;
	esac
	hf+=("$cmd")
	log "$part/$id: $cmd"
	rc=0
	# timeout also puts hyperfine in a process group of its own: a runner that hangs or signals
	# its process group ends this row, not the whole benchmark.
	(cd "$uhome" && timeout -k 5 "$row_limit" "${wrap[@]}" "${hf[@]}" >"$raw/hf.out" 2>&1) || rc=$?
	[ "$rc" = 124 ] && reap_ferry
	if [ "$rc" != 0 ] || [ ! -s "$json" ]; then
		why="hyperfine exit $rc: $(last_lines "$raw/hf.out")"
		[ "$rc" = 124 ] && why="stopped after ${row_limit} s: $(last_lines "$raw/hf.out")"
		record "$part" "$id" "$label" failed "$why" "" "$cmd"
		log "$part/$id: hyperfine FAILED: $(tail -n 3 "$raw/hf.out")"
		return 0
	fi
	# The argv, fields split by \x1f: report.py shell-quotes it for the exact command lines.
	record "$part" "$id" "$label" ok "$note" "$entries" "$cmd" \
		"$(printf '%s\x1f' "${wrap[@]}" "${hf[@]}" | sed "s|$raw/|\$RAW/|g")"
}

# measure_ferry PART ID RUNNER LABEL MODE NOTE WORKLOAD: a ferry row and, with --baseline, the
# same row with the baseline binary right after it (same image, workload and number of runs),
# so that both see the same state of the machine.
measure_ferry() {
	measure "$@"
	[ -n "$base_arg" ] || return 0
	measure "$1" "$2-baseline" "$3-baseline" "$4, baseline $base_label" "$5" "$6" "$7"
}

ferry_opts=
log "part 1: start-up (/bin/true), $runs runs after $warmup warm-up runs"
measure startup native native "native /bin/true" user "" /bin/true
measure startup unshare unshare "unshare -Urm (floor)" user "user+mount namespace only" /bin/true
measure_ferry startup ferry-sqfs ferry-sqfs "ferry exec (squashfs)" user "" /bin/true
measure_ferry startup ferry-dir ferry-dir "ferry exec (directory)" user "" /bin/true
measure startup chrun-sqfs chrun-sqfs "ch-run (squashfs)" user "" /bin/true
measure startup chrun-dir chrun-dir "ch-run (directory)" user "" /bin/true
measure startup bwrap-dir bwrap-dir "bwrap (directory)" user "" /bin/true
measure startup squashfuse-bwrap squashfuse-bwrap "squashfuse_ll + bwrap (squashfs)" user \
	"mount, run, fusermount3 -u in one sh -c" /bin/true
crun delete --force ferry-bench-crun >/dev/null 2>&1 || true
measure startup crun crun "crun run (directory)" oci "$crun_note" /bin/true
runc delete --force ferry-bench-runc >/dev/null 2>&1 || true
measure startup runc runc "runc run (directory)" oci "as root; runc spec defaults (v1 cgroups)" /bin/true

# Metadata parts: hyperfine runs as root (cold runs must drop caches between runs), every
# runner starts through the same setpriv, so its small cost is the same in every row.
# ferry binds the host's /tmp, /var/tmp, home and cwd by default (as Apptainer does); with the
# directory image those are on the same file system, so `find / -xdev` would walk into them
# (and fail on other users' files). --contain keeps ferry's tree to the image, like the peers.
ferry_opts="--contain "
metadata() {
	local part=$1 w wid
	for wid in find numpy; do
		case $wid in
		find) w="find / -xdev" ;;
		numpy) w='python3 -c "import numpy"' ;;
		esac
		measure_ferry "$part" "$wid-ferry-sqfs" ferry-sqfs "ferry exec (squashfs)" root "" "$w"
		measure_ferry "$part" "$wid-ferry-dir" ferry-dir "ferry exec (directory)" root "" "$w"
		measure "$part" "$wid-chrun-sqfs" chrun-sqfs "ch-run (squashfs)" root "" "$w"
		measure "$part" "$wid-squashfuse-bwrap" squashfuse-bwrap "squashfuse_ll + bwrap (squashfs)" root \
			"mount, run, fusermount3 -u in one sh -c" "$w"
		measure "$part" "$wid-dir" dir "bwrap (directory, reference)" root "" "$w"
	done
}
log "part 2: metadata, warm ($meta_runs runs after $warmup warm-up runs)"
metadata metadata-warm
if [ "$cold_runs" -gt 0 ]; then
	log "part 3: metadata, cold ($cold_runs runs, caches dropped before each)"
	metadata metadata-cold
fi

# ---------------------------------------------------------------- environment and versions
{
	bench_facts date host nproc cpu memory kernel os loadavg_start loadavg_end cgroups
	if [ -x "$ferry" ]; then
		printf 'ferry\t%s (from %s)\n' "$(ver "$ferry" --version)" "$ferry_src"
		printf 'ferry_label\t%s\n' "$(bench_label "$ferry_src" "$ferry_arg")"
	else
		printf 'ferry\t%s\n' "$ferry_problem"
	fi
	if [ -n "$base_arg" ]; then
		printf 'baseline_label\t%s\n' "$base_label"
		if [ -z "$base_problem" ]; then
			printf 'baseline\t%s: %s (from %s)\n' "$base_label" "$(ver "$base" --version)" "$base_src"
		else
			printf 'baseline\t%s\n' "$base_problem"
		fi
	fi
	bench_version hyperfine hyperfine --version
	printf 'ch-run\t%s (charliecloud-runtime %s)\n' "$(USER=root ver ch-run --version)" "$(pkgver charliecloud-runtime)"
	bench_version bwrap bwrap --version
	bench_version crun crun --version
	bench_version runc runc --version
	printf 'squashfuse_ll\tsquashfuse %s, libsquashfuse0 %s\n' "$(pkgver squashfuse)" "$(pkgver libsquashfuse0)"
	printf 'fuse3\t%s\n' "$(pkgver fuse3)"
	bench_version util-linux unshare --version
	bench_version mksquashfs mksquashfs -version
	bench_version mmdebstrap mmdebstrap --version
	bench_version gnuplot gnuplot --version
	printf 'image_cmd\t%s DIR && chmod -R a+rX DIR && %s\n' "${mmdeb_cmd[*]}" "${mksq_cmd[*]}"
	printf 'image_dir\t%s (%s, %s entries)\n' "$dir" "$(du -sh "$dir" | cut -f1)" "$(find "$dir" -xdev | wc -l)"
	printf 'image_sqfs\t%s (%s bytes)\n' "$sqfs" "$(stat -c %s "$sqfs")"
	# shellcheck disable=SC2016 # ${Version} is dpkg-query's, not the shell's
	printf 'image_python3\t%s\n' "$(chroot "$dir" dpkg-query -W -f='python3 ${Version}' python3 2>/dev/null)"
	# shellcheck disable=SC2016
	printf 'image_numpy\t%s\n' "$(chroot "$dir" dpkg-query -W -f='python3-numpy ${Version}' python3-numpy 2>/dev/null)"
	printf 'user_home\t%s\n' "$uhome"
	printf 'user\t%s (uid %s), measured commands run through: %s\n' "$user" "$(id -u "$user")" "${as_user[*]}"
	bench_facts mode
	printf 'runs\tstart-up %s (warm-up %s), metadata warm %s (warm-up %s), metadata cold %s\n' \
		"$runs" "$warmup" "$meta_runs" "$warmup" "$cold_runs"
	bench_facts invocation
} >"$raw/meta.tsv"

# ---------------------------------------------------------------- report
mkdir -p "$out"
python3 "$here/report.py" --raw "$raw" --out "$out"
titles=$(sed -n 's/^# titles: //p' "$out/startup-plot.dat")
gnuplot -e "datafile='$out/startup-plot.dat'; outfile='$out/startup.png'; titles='$titles'" \
	"$here/plot.gnuplot" ||
	log "gnuplot failed; the tables are still in $out/startup.md"
rm -rf "$raw"
log "wrote $out/startup.md, $out/startup.json, $out/startup.png"
