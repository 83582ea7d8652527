# shellcheck shell=bash
# What the benchmark drivers (startup.sh, oci.sh, convert.sh) share: the command line, log
# lines, the dependency check, the test user, locating a built binary, the cgroup layout crun
# refuses, the OCI bundle edit and the machine facts of meta.tsv.
#
# Sourced by a driver after `set -euo pipefail`. Sets src (the source tree) and cg2 (where a
# hybrid cgroup layout mounts cgroup2). What a driver measures, and how, stays in the driver.

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cg2=/sys/fs/cgroup/unified

# The driver's name, for messages and its invocation line.
bench_name=${0##*/}

log() { printf '%s: %s\n' "$bench_name" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# bench_usage STATUS: the driver's header comment (after the #! line, up to the first line that
# is not a comment) as its help text, then exit STATUS.
bench_usage() {
	sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"
	exit "${1:-0}"
}

# bench_parse_args SPEC... -- ARG...: parse the driver's command line ARG... and keep it in
# orig_args (for meta.tsv's invocation). A SPEC is --NAME=VAR (the option takes a value, stored
# in VAR) or --NAME:VAR=VALUE (a flag that sets VAR to VALUE). Every driver has --quick (quick=1),
# --out DIR (out) and -h/--help; anything else is an error that shows the help.
bench_parse_args() {
	local specs=(--quick:quick=1 --out=out) spec arg found
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		specs+=("$1")
		shift
	done
	shift
	orig_args="$*"
	while [ $# -gt 0 ]; do
		arg=$1 found=
		case "$arg" in
		-h | --help) bench_usage 0 ;;
		-*[:=]* | [!-]* | '') ;; # no option has these characters: unknown
		*)
			for spec in "${specs[@]}"; do
				case "$spec" in
				"$arg="*)
					printf -v "${spec#*=}" '%s' "$2"
					shift
					found=1
					break
					;;
				"$arg:"*)
					spec=${spec#*:}
					printf -v "${spec%%=*}" '%s' "${spec#*=}"
					found=1
					break
					;;
				esac
			done
			;;
		esac
		if [ -z "$found" ]; then
			echo "$bench_name: unknown argument '$arg'" >&2
			bench_usage 2 >&2
		fi
		shift
	done
}

# bench_require_root WHY: the drivers drop caches, run runtimes as root and drive other users.
bench_require_root() {
	[ "$(id -u)" -eq 0 ] || die "run as root ($1)"
}

# bench_deps TOOL...: install the benchmark dependencies (scripts/install-deps.sh bench, which
# does nothing when they are there), then make sure every TOOL is on PATH.
bench_deps() {
	local t
	"$src/scripts/install-deps.sh" bench
	for t; do
		command -v "$t" >/dev/null || die "'$t' not found after scripts/install-deps.sh bench"
	done
}

# bench_user NAME: the unprivileged user that runs the measured commands, created if missing;
# sets uhome to its home directory.
bench_user() {
	if ! id "$1" >/dev/null 2>&1; then
		log "creating user $1"
		useradd -m "$1"
	fi
	uhome=$(getent passwd "$1" | cut -d: -f6)
	[ -d "$uhome" ] || die "home of $1 ($uhome) does not exist"
}

# bench_locate NAME [ARG]: the path of the launcher/NAME program to measure: ARG when given (a
# build directory, or the program itself), else the first of ./launcher/NAME and
# ./build*/launcher/NAME in the tree that exists; nothing when none does.
bench_locate() {
	local c
	if [ -n "${2:-}" ]; then
		if [ -d "$2" ]; then echo "$2/launcher/$1"; else echo "$2"; fi
		return 0
	fi
	for c in "$src/launcher/$1" "$src"/build*/launcher/"$1"; do
		if [ -f "$c" ]; then
			echo "$c"
			return 0
		fi
	done
}

# bench_label BINARY [ARG]: a short name for a build of BINARY (ARG as given to --baseline: a
# build directory or the binary): `git describe --always --dirty` of the tree it was built in
# (ARG, else the binary's directory), else the first line of its --version.
bench_label() {
	local d l
	for d in ${2:+"$2"} "$(dirname "$1")"; do
		[ -d "$d" ] || continue
		# -c safe.directory: root describes a tree that another user owns.
		if l=$(git -c safe.directory='*' -C "$d" describe --always --dirty 2>/dev/null) && [ -n "$l" ]; then
			echo "$l"
			return 0
		fi
	done
	ver "$1" --version
}

# bench_cgroup_hybrid: true on a hybrid cgroup layout (v1 hierarchies under a tmpfs at
# /sys/fs/cgroup, a cgroup2 at $cg2) whose cgroup2 side holds a controller. crun 1.8 refuses
# that layout (libcrun/cgroup.c: "cgroups in hybrid mode not supported"); the drivers then hide
# $cg2 from crun, each in its own way (see there).
bench_cgroup_hybrid() {
	[ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ] && [ "$(stat -f -c %T $cg2 2>/dev/null)" = cgroup2fs ] &&
		[ -n "$(cat $cg2/cgroup.controllers)" ]
}

# bench_cg2_controllers: the controllers of the cgroup2 side, on one line.
bench_cg2_controllers() { tr '\n' ' ' <$cg2/cgroup.controllers | sed 's/ $//'; }

# bench_edit_config CONFIG ROOTFS ARGS_JSON: make the OCI bundle config CONFIG (as `runc spec`
# writes it) run ARGS_JSON without a terminal, on ROOTFS read-only.
bench_edit_config() {
	python3 - "$@" <<'EOF'
import json, sys
path, root, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with open(path) as f:
    c = json.load(f)
c["root"] = {"path": root, "readonly": True}
c["process"]["terminal"] = False
c["process"]["args"] = args
with open(path, "w") as f:
    json.dump(c, f, indent=1)
EOF
}

# How a check run ended, in words (timeout exits 124, or 137 after its SIGKILL).
ended() { case "$1" in 124 | 137) echo "did not end within 60 s" ;; *) echo "ended with exit status $1" ;; esac; }

# The last three non-empty lines of FILE..., on one line, for a table cell.
last_lines() { cat "$@" | { grep -v '^[[:space:]]*$' || true; } | tail -n 3 | tr '\n' ' ' | cut -c1-300; }

# The 1, 5 and 15 minute load averages: taken at the start and the end of a run, they show
# whether other work shared the machine.
bench_loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# The first non-empty line a tool prints about its version, and a Debian package's version.
ver() { "$@" 2>&1 | grep -v '^$' | head -n 1 || true; }
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }

# bench_version KEY CMD...: the meta.tsv line KEY TAB (the version line CMD prints).
bench_version() { printf '%s\t%s\n' "$1" "$(shift && ver "$@")"; }

# bench_facts KEY...: a meta.tsv line (KEY TAB value) for each fact named, in that order (the
# reports keep meta.tsv's order). loadavg_start is the driver's loadavg_start, taken earlier;
# mode and invocation come from quick and orig_args.
# shellcheck disable=SC2154 # loadavg_start and quick are the driver's
bench_facts() {
	local k
	for k; do
		case "$k" in
		date) printf 'date\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" ;;
		host) printf 'host\t%s\n' "$(uname -n)" ;;
		nproc) printf 'nproc\t%s\n' "$(nproc)" ;;
		cpu) printf 'cpu\t%s\n' "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" ;;
		memory) printf 'memory\t%s\n' "$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)" ;;
		kernel) printf 'kernel\t%s\n' "$(uname -srvm)" ;;
		os)
			# shellcheck disable=SC1091
			printf 'os\t%s\n' "$(. /etc/os-release && echo "$PRETTY_NAME")"
			;;
		cgroups) printf 'cgroups\t%s\n' "/sys/fs/cgroup: $(stat -f -c %T /sys/fs/cgroup); $cg2: $(stat -f -c %T $cg2 2>/dev/null || echo none)" ;;
		loadavg_start) printf 'loadavg_start\t%s\n' "$loadavg_start" ;;
		loadavg_end) printf 'loadavg_end\t%s\n' "$(bench_loadavg)" ;;
		mode) printf 'mode\t%s\n' "$([ "$quick" = 1 ] && echo quick || echo full)" ;;
		invocation) printf 'invocation\t%s\n' "benchmarks/$bench_name $orig_args" ;;
		*) die "bench_facts: unknown fact $k" ;;
		esac
	done
}
