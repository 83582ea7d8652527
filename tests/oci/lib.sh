# shellcheck shell=bash
# tests/oci/lib.sh: shared helpers of the OCI runtime tests (tests/oci/*.sh), sourced by bash.
#
# The runtime under test is $OCI_RUNTIME (default "$FERRY_BUILDDIR/launcher/ferry-oci"), so any
# runc-compatible runtime validates the tests themselves: OCI_RUNTIME=$(command -v runc) sh T.sh.
#
#   oci_init NAME        set OCI_RUNTIME, make T=/tmp/ferry-NAME-test.XXXXXX, install the EXIT trap
#   oci_need_root        fail unless root;   oci_need_tools CMD...: fail naming missing commands
#   oci_lock FILE        serialise runs on FILE (flock on fd 8, waits up to 10 minutes; commands
#                        started by the helpers get fd 8 closed, start daemons with 8>&- too)
#   oci_at_exit CMD      run the shell command CMD at exit (last registered runs first)
#   oci_die MSG          "FAIL - setup: MSG", clean up, exit 1
#   oci_run CMD...       run CMD with stdin </dev/null and a $OCI_TIMEOUT (30 s) limit; sets
#                        RC, OUT, ERR (texts) and LAST (the command line, for messages)
#   check NAME FN ARG... run one check: FN calls the expect_* helpers (or fail MSG, or fail_cmd
#                        MSG to add oci_ctx: the last command, status and outputs); prints
#                        "ok - NAME" or "FAIL - NAME" plus one "#   why" line per failure
#   expect_rc N, expect_out TEXT, expect_out_has TEXT, expect_err_has TEXT (case-insensitive),
#                        expect_eq WHAT WANT GOT: assertions on the last oci_run (RC, OUT, ERR)
#   oci_done             print "N passed, M failed", exit (status 1 if anything failed)
#   oci_in_tty CMD       run the shell command CMD under script(1), so it has a terminal; sets
#                        RC, OUT (what the terminal showed, \r and NUL removed), ERR and LAST
#   oci_quote ARG...     the arguments quoted for a shell command line (printf %q)
#   oci_wait_for N CMD.. retry the shell command CMD every 0.1 s for N seconds until it succeeds
#   oci_kill_pids PID... SIGTERM, wait up to 5 s, SIGKILL what is left (only the pids given)
#   oci_make_rootfs DIR  a busybox-static root filesystem (applet links, passwd, group, os-release)
#   oci_make_image OUT.tar REF   a docker-archive (ctr images import, podman load) of that rootfs
#                        made with umoci + skopeo; image Env PATH and FOO=from-image, Cmd /bin/sh
#   oci_install_runtime DIR  copy $OCI_RUNTIME to DIR/<same basename> (the test user may not reach
#                        the build dir); with $OCI_WRAP (a program that runs its arguments as a
#                        command, such as tests/tools/no-openat2) DIR/<basename> is a script that
#                        runs a copy of the runtime through a copy of $OCI_WRAP
#   oci_argv_wrapper     replace OCI_RUNTIME by $T/argv/<same basename>, a script that appends its
#                        argv (one line, words joined by spaces) to $OCI_ARGV_LOG and execs the real
#                        runtime OCI_RUNTIME_REAL; OCI_SHOW_ARGV=1 makes oci_done print the distinct
#                        lines ($T and 64-hex ids abbreviated)
if [ -z "${BASH_VERSION:-}" ]; then
	echo "FAIL - setup: tests/oci/lib.sh needs bash" >&2
	exit 1
fi

OCI_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${FERRY_SRCDIR:=$(cd "$OCI_LIBDIR/../.." && pwd)}"
: "${FERRY_BUILDDIR:=$PWD}"
: "${BUSYBOX:=$(command -v busybox || echo /bin/busybox)}"
: "${OCI_TIMEOUT:=30}"
export FERRY_SRCDIR FERRY_BUILDDIR BUSYBOX

OCI_PASS=0
OCI_FAIL=0
OCI_EXIT_CMDS=()
T=

oci_die() {
	echo "FAIL - setup: $*"
	echo "$OCI_PASS passed, $((OCI_FAIL + 1)) failed"
	exit 1
}

oci_at_exit() {
	OCI_EXIT_CMDS=("$1" "${OCI_EXIT_CMDS[@]}")
}

oci_cleanup() {
	local c
	for c in "${OCI_EXIT_CMDS[@]}"; do
		eval "$c" || echo "# cleanup step failed: $c"
	done
	OCI_EXIT_CMDS=()
}

oci_init() {
	OCI_RUNTIME=${OCI_RUNTIME:-$FERRY_BUILDDIR/launcher/ferry-oci}
	case $OCI_RUNTIME in
	/*) ;;
	*) OCI_RUNTIME=$(command -v "$OCI_RUNTIME" || echo "$PWD/$OCI_RUNTIME") ;;
	esac
	[ -x "$OCI_RUNTIME" ] || oci_die "runtime $OCI_RUNTIME is not an executable (set OCI_RUNTIME)"
	OCI_RUNTIME_REAL=$OCI_RUNTIME
	T=$(mktemp -d "/tmp/ferry-$1-test.XXXXXX") || oci_die "mktemp failed"
	chmod 755 "$T"
	trap 'oci_cleanup' EXIT
	trap 'exit 130' INT TERM
	oci_at_exit 'rm -rf "$T"'
	echo "# runtime: $OCI_RUNTIME; work dir: $T"
}

oci_need_root() {
	[ "$(id -u)" = 0 ] || oci_die "$(basename "$0") must run as root (it drives the root daemons)"
}

oci_need_tools() {
	local t missing=
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
	done
	[ -z "$missing" ] || oci_die "missing tools:$missing (scripts/install-deps.sh test installs them)"
}

oci_lock() {
	exec 8>>"$1" || oci_die "cannot open lock $1"
	if ! flock -n 8; then
		echo "# waiting for lock $1"
		flock -w 600 8 || oci_die "could not get lock $1 in 10 minutes"
	fi
}

oci_run() {
	LAST=$(printf '%q ' "$@")
	timeout -k 5 "$OCI_TIMEOUT" "$@" </dev/null >"$T/.out" 2>"$T/.err" 8>&-
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
	[ "$RC" != 124 ] || ERR="$ERR (TIMED OUT after ${OCI_TIMEOUT}s)"
}

# ---- checks ------------------------------------------------------------------------------------
OCI_WHY=()

fail() {
	OCI_WHY+=("$*")
}

# oci_ctx: the last command, its status and output (newlines as |), on one line.
oci_ctx() {
	printf 'command: %s; exit %s; stdout: %.800s; stderr: %.800s' "${LAST:-}" "${RC:-}" \
		"$(printf '%s' "${OUT:-}" | tr '\n\r' '|.')" "$(printf '%s' "${ERR:-}" | tr '\n\r' '|.')"
}

# fail_cmd MSG: fail, adding oci_ctx once per command and check.
fail_cmd() {
	fail "$*"
	[ "${LAST:-}.${RC:-}" != "$OCI_SHOWN" ] || return 0
	OCI_SHOWN=${LAST:-}.${RC:-}
	OCI_WHY+=("  $(oci_ctx)")
}

expect_rc() {
	[ "$RC" = "$1" ] || fail_cmd "expected exit status $1, got $RC"
}

expect_out() {
	[ "$OUT" = "$1" ] || fail_cmd "expected stdout '$1', got '$OUT'"
}

expect_out_has() {
	printf '%s' "$OUT" | grep -qF -- "$1" || fail_cmd "expected stdout to contain '$1'"
}

expect_err_has() { # case-insensitive: runtimes differ in strerror capitalisation only
	printf '%s' "$ERR" | grep -qiF -- "$1" || fail_cmd "expected stderr to contain '$1'"
}

expect_eq() { # expect_eq WHAT WANT GOT
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

check() {
	local name=$1
	shift
	OCI_WHY=()
	OCI_SHOWN=
	LAST='' RC='' OUT='' ERR=''
	"$@"
	if [ "${#OCI_WHY[@]}" = 0 ]; then
		OCI_PASS=$((OCI_PASS + 1))
		echo "ok - $name"
	else
		OCI_FAIL=$((OCI_FAIL + 1))
		echo "FAIL - $name"
		printf '#   %s\n' "${OCI_WHY[@]}"
	fi
}

oci_done() {
	if [ "${OCI_SHOW_ARGV:-0}" = 1 ] && [ -s "${OCI_ARGV_LOG:-}" ]; then
		echo "# runtime argv seen (distinct; \$T = $T, <id> = a 64-hex id):"
		sed -e "s|$T|\$T|g" -e 's/[0-9a-f]\{64\}/<id>/g' "$OCI_ARGV_LOG" | sort -u | sed 's/^/#   /'
	fi
	echo "$OCI_PASS passed, $OCI_FAIL failed"
	[ "$OCI_FAIL" = 0 ] || exit 1
	exit 0
}

oci_wait_for() {
	local i n=$(($1 * 10))
	shift
	for ((i = 0; i < n; i++)); do
		eval "$*" && return 0
		sleep 0.1
	done
	eval "$*"
}

oci_kill_pids() {
	local p left i
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		left=
		for p in "$@"; do
			kill -0 "$p" 2>/dev/null && left="$left $p"
		done
		[ -n "$left" ] || return 0
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $left 2>/dev/null
	return 0
}

# ---- images ------------------------------------------------------------------------------------
oci_make_rootfs() {
	local r=$1 app
	file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
		oci_die "$BUSYBOX is not a static busybox (install busybox-static or set BUSYBOX)"
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,root,proc,sys,dev,run,tmp,home}
	chmod 1777 "$r/tmp"
	install -m 755 "$BUSYBOX" "$r/bin/busybox"
	for app in $("$BUSYBOX" --list-full); do
		[ -e "$r/$app" ] || ln -s /bin/busybox "$r/$app"
	done
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' \
		'tuser:x:1234:1235:test user:/home:/bin/sh' >"$r/etc/passwd"
	printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' 'tgroup:x:1235:' >"$r/etc/group"
	printf '%s\n' 'NAME="ferry oci test"' 'ID=ferry-oci-test' >"$r/etc/os-release"
	: >"$r/etc/hosts"
	: >"$r/etc/resolv.conf"
}

# oci_bundle MODE NAME SCRIPT [PYTHON [ARG...]]: a bundle $T/MODE/NAME with the runtime's own
# spec ($RT spec, or spec --rootless as the test user TUID:TGID for MODE rootless), args sh -c
# SCRIPT and a read-only busybox root at $T/MODE/rootfs; PYTHON edits `c` (the config) further,
# with `T` and the ARGs (as `args`) at hand.
oci_bundle() {
	local mode=$1 dir=$T/$1/$2
	mkdir -p "$dir"
	[ -d "$T/$mode/rootfs" ] || oci_make_rootfs "$T/$mode/rootfs"
	rm -f "$dir/config.json"
	if [ "$mode" = root ]; then
		(cd "$dir" && "$RT" spec) || return 1
	else
		chown -R "$TUID:$TGID" "$T/$mode"
		(cd "$dir" && setpriv --reuid="$TUID" --regid="$TGID" --init-groups "$RT" spec --rootless) ||
			return 1
	fi
	python3 - "$dir/config.json" "$T/$mode/rootfs" "$3" "${4:-}" "$T" "${@:5}" <<'PY' || return 1
import json, sys
path, rootfs, script, extra, T = sys.argv[1:6]
args = sys.argv[6:]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", script]
c["root"] = {"path": rootfs, "readonly": True}
exec(extra)
json.dump(c, open(path, "w"), indent=1)
PY
	[ "$mode" = root ] || chown -R "$TUID:$TGID" "$T/$mode"
}

oci_make_image() {
	local out=$1 ref=$2 w
	w=$(mktemp -d "$T/image.XXXXXX")
	oci_make_rootfs "$w/rootfs"
	{
		umoci init --layout "$w/layout" &&
			umoci new --image "$w/layout:t" &&
			umoci unpack --image "$w/layout:t" "$w/bundle" &&
			rmdir "$w/bundle/rootfs" && mv "$w/rootfs" "$w/bundle/rootfs" &&
			umoci repack --image "$w/layout:t" "$w/bundle" &&
			umoci config --image "$w/layout:t" --config.cmd /bin/sh \
				--config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin --config.env FOO=from-image &&
			skopeo copy --quiet "oci:$w/layout:t" "docker-archive:$out:$ref"
	} >"$w/log" 2>&1 || oci_die "building image $ref failed: $(tail -n 5 "$w/log")"
	rm -rf "$w"
}

# ---- the runtime's copy -------------------------------------------------------------------------
oci_install_runtime() {
	local name
	name=$(basename "$OCI_RUNTIME")
	mkdir -p "$1" || return 1
	if [ -z "${OCI_WRAP:-}" ]; then
		install -m 755 "$OCI_RUNTIME" "$1/$name"
		return
	fi
	# exec keeps the pid and every fd; the real binary keeps the basename (--version).
	mkdir -p "$1/real" && install -m 755 "$OCI_RUNTIME" "$1/real/$name" &&
		install -m 755 "$OCI_WRAP" "$1/real/wrap" || return 1
	printf '#!/bin/sh\nexec %q %q "$@"\n' "$1/real/wrap" "$1/real/$name" >"$1/$name" &&
		chmod 755 "$1/$name"
}

# ---- argv capture ------------------------------------------------------------------------------
oci_argv_wrapper() {
	mkdir -p "$T/argv"
	OCI_ARGV_LOG=$T/argv/argv.log
	: >"$OCI_ARGV_LOG"
	local w
	w=$T/argv/$(basename "$OCI_RUNTIME_REAL")
	# exec keeps the pid and every fd: the runtime sees what the client handed over.
	printf '#!/bin/sh\n{ printf "%%s" "$(basename "$0")"; for a; do printf " %%s" "$a"; done; echo; } >>%q\nexec %q "$@"\n' \
		"$OCI_ARGV_LOG" "$OCI_RUNTIME_REAL" >"$w"
	chmod 755 "$w"
	OCI_RUNTIME=$w
}

oci_in_tty() {
	LAST="script -qec '$1' /dev/null"
	timeout -k 5 "$OCI_TIMEOUT" script -qec "$1" /dev/null </dev/null >"$T/.out" 2>"$T/.err" 8>&-
	RC=$?
	OUT=$(tr -d '\r\000' <"$T/.out")
	ERR=$(cat "$T/.err")
}

oci_quote() { printf '%q ' "$@"; }
