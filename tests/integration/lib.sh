# shellcheck shell=bash
# lib.sh: the integration-test harness, sourced by tests/integration/t-*.sh and fixtures.sh.
#
# Containers always start as an unprivileged user: as root the harness creates `ferrytest` (or
# $FERRY_TEST_USER, so that parallel runs do not see each other's processes) and runs every ferry
# command through setpriv(1) as that user; as anyone else it uses the caller. The ferry
# binary and the fixtures live in a world-readable test root under /var/tmp, because the build dir
# may sit in a mode-700 home. After every check the harness asserts that nothing is left behind: no
# new process of the test user, no new FUSE/ferry mount on the host, no new temp entry of the
# user in /tmp, /var/tmp, /dev/shm or /run/user/UID. Output is TAP-like ("ok N - name") with a
# final "N passed, M failed" line; a skip fails unless FERRY_ALLOW_SKIP=1 (DESIGN.md section 3.10).

if [ -z "${BASH_VERSION:-}" ]; then
	echo "lib.sh: needs bash" >&2
	exit 1
fi

FY_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${FERRY_SRCDIR:=$(cd "$FY_LIBDIR/../.." && pwd)}"
: "${FERRY_BUILDDIR:=$PWD}"
: "${MKSQUASHFS:=$(command -v mksquashfs || echo /usr/bin/mksquashfs)}"
: "${BUSYBOX:=$(command -v busybox || echo /bin/busybox)}"
export FERRY_SRCDIR FERRY_BUILDDIR MKSQUASHFS BUSYBOX

# ---- paths -------------------------------------------------------------------------------------
# One test root per (build dir, uid): /var/tmp is world-traversable, /root and build dirs may not be.
fy_paths() {
	local key
	key=$(printf '%s' "$FERRY_BUILDDIR" | sha256sum | cut -c1-12)
	TESTROOT=/var/tmp/fyitest-$(id -u)-$key
	FIXDIR=$TESTROOT/fixtures
	FY_CACHE=/var/tmp/fyitest-cache-$(id -u)
	FY_LOCK=$TESTROOT.lock
}

fy_die() {
	echo "Bail out! $*"
	echo "0 passed, 1 failed"
	exit 1
}

# ---- the unprivileged test user ----------------------------------------------------------------
fy_setup_user() {
	if [ "$(id -u)" = 0 ]; then
		TUSER=${FERRY_TEST_USER:-ferrytest}
		if ! id -u "$TUSER" >/dev/null 2>&1; then
			useradd -m -s /bin/sh "$TUSER" || fy_die "useradd $TUSER failed"
		fi
		# FUSE is character device 10:229 (Documentation/admin-guide/devices.txt).
		if [ ! -e /dev/fuse ]; then
			mknod -m 666 /dev/fuse c 10 229 || fy_die "cannot create /dev/fuse"
		fi
		chmod 666 /dev/fuse || fy_die "cannot chmod /dev/fuse"
	else
		TUSER=$(id -un)
	fi
	TUID=$(id -u "$TUSER")
	TGID=$(id -g "$TUSER")
	TGROUP=$(id -gn "$TUSER")
	THOME=$(getent passwd "$TUSER" | cut -d: -f6)
	[ -d "$THOME" ] || fy_die "home of $TUSER ($THOME) does not exist"
	if [ "$(id -u)" = 0 ]; then
		AS_USER=(setpriv --reuid="$TUID" --regid="$TGID" --init-groups)
	else
		AS_USER=()
	fi
}

# Run a command as the test user (no capture); used for setup steps.
fy_as_user() {
	"${AS_USER[@]}" "$@"
}

# Make a directory owned by the test user.
fy_user_dir() {
	mkdir -p "$@" && chmod 755 "$@" && { [ "$(id -u)" != 0 ] || chown "$TUID:$TGID" "$@"; }
}

# ---- checks ------------------------------------------------------------------------------------
T_N=0
T_PASS=0
T_FAIL=0
FY_ENV=()      # extra K=V for the next ferry command(s) of the current check
FY_STDIN=      # file for stdin of the next command (default /dev/null)
FY_TIMEOUT=30  # seconds before a ferry command is killed
FY_CWD=        # cwd of ferry commands (default $WORK)

fy_skip() {
	echo "# SKIP: $*"
	if [ "${FERRY_ALLOW_SKIP:-0}" = 1 ]; then
		exit 77
	fi
	echo "# a skipped test fails unless FERRY_ALLOW_SKIP=1"
	echo "$T_PASS passed, $((T_FAIL + 1)) failed"
	exit 1
}

# Record a failure of the current check, with the last command and its output.
fail() {
	{
		echo "$*"
		# The command and its output once per command, however many assertions fail on it.
		if [ -n "${LAST_CMD:-}" ] && [ "$LAST_CMD.$RC" != "${FAIL_SHOWN:-}" ]; then
			FAIL_SHOWN=$LAST_CMD.$RC
			echo "  command: $LAST_CMD"
			echo "  exit status: $RC"
			echo "  stdout: $(head -c 1500 "$OUT_F" | sed '2,$s/^/          /')"
			echo "  stderr: $(head -c 1500 "$ERR_F" | sed '2,$s/^/          /')"
		fi
	} >>"$CHECK_FAILS"
}

# Record a failure without command context.
fail_plain() {
	echo "$*" >>"$CHECK_FAILS"
}

expect_rc() {
	[ "$RC" = "$1" ] || fail "expected exit status $1, got $RC"
}

# expect_rc_in "2 4": one of several acceptable statuses
expect_rc_in() {
	local c
	for c in $1; do
		[ "$RC" = "$c" ] && return 0
	done
	fail "expected exit status in {$1}, got $RC"
}

expect_out() {
	[ "$OUT" = "$1" ] || fail "expected stdout '$1', got '$OUT'"
}

expect_out_has() {
	grep -qF -- "$1" "$OUT_F" || fail "expected stdout to contain '$1'"
}

expect_out_lacks() {
	! grep -qF -- "$1" "$OUT_F" || fail "expected stdout NOT to contain '$1'"
}

expect_out_re() {
	grep -qE -- "$1" "$OUT_F" || fail "expected stdout to match /$1/"
}

expect_err_has() {
	grep -qiF -- "$1" "$ERR_F" || fail "expected stderr to contain '$1'"
}

expect_err_empty() {
	[ ! -s "$ERR_F" ] || fail "expected empty stderr"
}

# expect_error CODE [REGEX...]: ferry failed with CODE and printed exactly one line on stderr that
# starts with "ferry: " and matches every REGEX (extended, case-insensitive).
expect_error() {
	local code=$1 re
	shift
	expect_rc "$code"
	expect_one_error_line "$@"
}

expect_one_error_line() {
	local re lines
	lines=$(wc -l <"$ERR_F")
	if [ "$lines" != 1 ] || [ "$(tail -c1 "$ERR_F" | od -An -c | tr -d ' ')" != '\n' ]; then
		fail "expected exactly one line on stderr, got $lines"
	fi
	head -n1 "$ERR_F" | grep -q '^ferry: ' || fail "expected stderr to start with 'ferry: '"
	for re in "$@"; do
		grep -qiE -- "$re" "$ERR_F" || fail "expected the error message to match /$re/"
	done
}

# ---- running ferry -----------------------------------------------------------------------------
# fy_cmd ARG...: run ARG... as the test user with a clean environment (BASE_ENV + FY_ENV), cwd
# FY_CWD, stdin FY_STDIN, no inherited fds beyond 0-2 and signals at their defaults. Sets RC, OUT,
# ERR (and files OUT_F, ERR_F) and LAST_CMD.
fy_cmd() {
	local cwd=${FY_CWD:-$WORK} in=${FY_STDIN:-/dev/null}
	LAST_CMD="(as $TUSER in $cwd${FY_ENV[*]:+ with env ${FY_ENV[*]}}${FY_STDIN:+ <$FY_STDIN}) $(fy_quote "$@")"
	(
		fy_close_fds
		cd "$cwd" || exit 99
		# sh records its pid, which setsid(1) makes the session id of everything this run
		# starts: leftovers are recognised by it (and by ITEST_RUN_TAG in their environment),
		# never by user alone, since other sessions may run as the same user.
		exec timeout -k 5 "$FY_TIMEOUT" sh -c 'echo $$ >>"$0"; exec setsid "$@"' "$RUNDIR/sids" \
			"${AS_USER[@]}" env -i --default-signal "${BASE_ENV[@]}" "${FY_ENV[@]}" "$@"
	) <"$in" >"$OUT_F" 2>"$ERR_F"
	RC=$?
	[ "$RC" != 124 ] || echo "TIMED OUT after ${FY_TIMEOUT}s" >>"$ERR_F"
	OUT=$(cat "$OUT_F")
	ERR=$(cat "$ERR_F")
}

# fy ARG...: run the ferry under test.
fy() {
	fy_cmd "${FY_WRAP[@]}" "$FERRY" "$@"
}

# fy_bg ARG...: start ferry in the background (stdout/stderr to OUT_F/ERR_F); BG_PID is ferry's
# own pid (the subshell execs setpriv, which execs env, which execs ferry).
fy_bg() {
	local cwd=${FY_CWD:-$WORK}
	LAST_CMD="(as $TUSER in $cwd${FY_ENV[*]:+ with env ${FY_ENV[*]}}, background) $(fy_quote "$FERRY" "$@")"
	(
		fy_close_fds
		cd "$cwd" || exit 99
		echo "$BASHPID" >>"$RUNDIR/sids"
		exec setsid "${AS_USER[@]}" env -i --default-signal "${BASE_ENV[@]}" "${FY_ENV[@]}" "${FY_WRAP[@]}" "$FERRY" "$@"
	) </dev/null >"$OUT_F" 2>"$ERR_F" &
	BG_PID=$!
}

# fy_bg_wait_output TEXT [SECONDS]: wait until stdout of the background ferry contains TEXT.
fy_bg_wait_output() {
	local i n=$((${2:-20} * 10))
	for ((i = 0; i < n; i++)); do
		grep -qF -- "$1" "$OUT_F" && return 0
		kill -0 "$BG_PID" 2>/dev/null || break
		sleep 0.1
	done
	grep -qF -- "$1" "$OUT_F"
}

# fy_bg_finish [SECONDS]: wait for the background ferry; kill it if it takes longer. Sets RC etc.
fy_bg_finish() {
	local i n=$((${1:-20} * 10))
	for ((i = 0; i < n; i++)); do
		kill -0 "$BG_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$BG_PID" 2>/dev/null; then
		kill -KILL "$BG_PID" 2>/dev/null
		echo "TIMED OUT: killed by the harness after ${1:-20}s" >>"$ERR_F"
	fi
	{ wait "$BG_PID"; } 2>/dev/null
	RC=$?
	OUT=$(cat "$OUT_F")
	ERR=$(cat "$ERR_F")
}

fy_quote() {
	local a s=
	for a in "$@"; do
		if [[ "$a" =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then
			s+="$a "
		else
			s+="$(printf '%q' "$a") "
		fi
	done
	printf '%s' "${s% }"
}

# Close every fd above 2 (make's jobserver pipes, the lock) so fd-leak checks see only ferry's.
fy_close_fds() {
	local f n
	for f in /proc/$BASHPID/fd/*; do
		n=${f##*/}
		[ "$n" -gt 2 ] 2>/dev/null && eval "exec $n>&-" 2>/dev/null
	done
	return 0
}

# ---- nothing left behind -----------------------------------------------------------------------
fy_user_pids() {
	ps -e -o uid=,pid= | awk -v u="$TUID" '$1 == u { print $2 }' | sort
}

# Pids of this harness and its descendants (only relevant when the test user is the caller).
fy_own_pids() {
	ps -e -o pid=,ppid= | awk -v root=$$ '
		{ parent[$1] = $2 }
		END { for (p in parent) { q = p; while (q > 1) { if (q == root) { print p; break } q = parent[q] } } }' |
		sort
}

# Processes of the test user that appeared since the check started, are not the harness, and
# belong to a session this harness started or carry its tag.
fy_new_user_pids() {
	local pid sid
	local own=
	# The harness's own processes only matter when it runs as the test user itself.
	[ "$(id -u)" = 0 ] || own=$(fy_own_pids)
	for pid in $(fy_user_pids | comm -13 "$RUNDIR/pids.before" - | comm -23 - <(echo "$own")); do
		sid=$(ps -o sid= -p "$pid" | tr -d ' ')
		[ -n "$sid" ] || continue
		if grep -qx "$sid" "$RUNDIR/sids" 2>/dev/null ||
			{ tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep -qx "ITEST_RUN_TAG=$ITEST_RUN_TAG"; then
			echo "$pid"
		fi
	done
}

# Mounts that ferry could leave behind. Mount points under another test script's own private
# directory (tests/oci/*.sh make /tmp/ferry-<name>-test.XXXX, e.g. cli.sh's shared-propagation
# check) are that script's to check: make -j runs them beside us.
fy_mounts() {
	grep -E 'fuse|ferry|squash' /proc/self/mountinfo | grep -v ' - fusectl ' | awk '{print $5, $9, $10}' |
		grep -Ev '^/tmp/ferry-[a-z0-9-]+-test\.' | sort
}

# Temporary entries of the test user. Other sessions on a shared machine may run as the same
# user: FY_TMP_IGNORE (an extended regex) names their known entries (default: the benchmarks').
fy_tmp_entries() {
	local d
	for d in /tmp /var/tmp /dev/shm "/run/user/$TUID"; do
		[ -d "$d" ] || continue
		# By name too: ferry stages everything on a private tmpfs, so a leak would carry its
		# name, while other files of a shared test user are none of our business.
		find "$d" -mindepth 1 -maxdepth 1 -user "$TUID" \( -iname '*ferry*' -o -iname '*fuse*' \) \
			2>/dev/null
	done | grep -v "^$TESTROOT" | grep -vE "${FY_TMP_IGNORE:-^/tmp/ferry-bench\.}" | sort
}

fy_snapshot() {
	fy_user_pids >"$RUNDIR/pids.before"
	fy_mounts >"$RUNDIR/mounts.before"
	fy_tmp_entries >"$RUNDIR/tmp.before"
}

# A process blocked on a FUSE request whose server is gone sleeps uninterruptibly and ignores
# SIGKILL; as root, abort its connections through fusectl (kernel Documentation/filesystems/fuse.rst,
# "Control filesystem") so a buggy run does not leave unkillable processes behind.
fy_abort_fuse() {
	local pid dev
	[ "$(id -u)" = 0 ] && [ -d /sys/fs/fuse/connections ] || return 0
	for pid in "$@"; do
		for dev in $(awk '$0 ~ / - fuse[.a-z0-9]* / { split($3, d, ":"); if (d[1] == 0) print d[2] }' \
			"/proc/$pid/mountinfo" 2>/dev/null | sort -u); do
			[ -w "/sys/fs/fuse/connections/$dev/abort" ] && echo 1 >"/sys/fs/fuse/connections/$dev/abort"
		done
	done
	return 0
}

# Compare with the snapshot; processes get a grace period, since a FUSE server may take a moment
# to see its unmount. Leftovers are reported, then removed so later checks start clean.
fy_leftovers() {
	local i left=
	for ((i = 0; i < 30; i++)); do
		left=$(fy_new_user_pids)
		[ -z "$left" ] && break
		sleep 0.1
	done
	if [ -n "$left" ]; then
		fail_plain "left behind: processes of $TUSER: $(ps -o pid=,ppid=,stat=,args= -p "$(echo $left | tr ' ' ,)" | tr '\n' ';')"
		fy_abort_fuse $left
		# shellcheck disable=SC2086
		kill -KILL $left 2>/dev/null
	fi
	local m
	m=$(fy_mounts | comm -13 "$RUNDIR/mounts.before" -)
	if [ -n "$m" ]; then
		fail_plain "left behind: mounts on the host: $(echo "$m" | tr '\n' ';')"
	fi
	local t
	t=$(fy_tmp_entries | comm -13 "$RUNDIR/tmp.before" -)
	if [ -n "$t" ]; then
		# Reported, not removed: another session running as the same user may own them.
		fail_plain "left behind: temporary files of $TUSER: $(echo "$t" | tr '\n' ' ')"
	fi
}

# check NAME FUNCTION [ARG...]: run one named check, then the leftover assertions.
check() {
	local name=$1
	shift
	T_N=$((T_N + 1))
	CHECK_FAILS=$RUNDIR/fails.$T_N
	: >"$CHECK_FAILS"
	LAST_CMD=
	FAIL_SHOWN=
	RC=
	: >"$OUT_F"
	: >"$ERR_F"
	fy_snapshot
	"$@"
	LAST_CMD=
	fy_leftovers
	FY_ENV=()
	FY_STDIN=
	FY_CWD=
	FY_TIMEOUT=30
	if [ -s "$CHECK_FAILS" ]; then
		T_FAIL=$((T_FAIL + 1))
		echo "not ok $T_N - $name"
		sed 's/^/#   /' "$CHECK_FAILS"
	else
		T_PASS=$((T_PASS + 1))
		echo "ok $T_N - $name"
	fi
}

fy_done() {
	echo "1..$T_N"
	echo "$T_PASS passed, $T_FAIL failed"
	if [ "$T_FAIL" -gt 0 ]; then
		echo "# work files kept in $RUNDIR"
		exit 1
	fi
	rm -rf "$RUNDIR"
	exit 0
}

# ---- setup for a test script -------------------------------------------------------------------
# fy_init: lock (the tests of one build dir run one at a time; leftovers are attributed by session
# and tag, so other build dirs may run beside them), fixtures, a fresh copy of
# the ferry binary, and per-test directories: WORK (cwd, owned by the user) and DATA.
fy_init() {
	local name
	name=$(basename "$0" .sh)
	fy_paths
	exec 9>>"$FY_LOCK"
	if ! flock -n 9; then
		echo "# waiting for another integration test to finish (lock $FY_LOCK)"
		flock -w 1800 9 || fy_die "could not get $FY_LOCK"
	fi
	fy_setup_user
	if ! cmp -s "$FIXDIR/.complete" <(fy_fixtures_key); then
		echo "# fixtures missing or stale in $FIXDIR: building them"
		(cd "$FERRY_BUILDDIR" && FY_LOCKED=1 bash "$FY_LIBDIR/fixtures.sh") >&2 ||
			fy_die "fixtures.sh failed"
	fi
	RUNDIR=$TESTROOT/run/$name
	rm -rf "$RUNDIR"
	mkdir -p "$RUNDIR/bin" || fy_die "cannot create $RUNDIR"
	chmod 755 "$TESTROOT" "$TESTROOT/run" "$RUNDIR" "$RUNDIR/bin"
	OUT_F=$RUNDIR/stdout
	ERR_F=$RUNDIR/stderr
	# FERRY_BIN: test another binary (a peer, an installed ferry) with the same checks.
	local bin=${FERRY_BIN:-$FERRY_BUILDDIR/launcher/ferry}
	[ -x "$bin" ] || fy_die "$bin is not built"
	if [ -z "${FERRY_BIN:-}" ] && head -c2 "$bin" | grep -q '#!'; then
		fy_die "$bin is a libtool wrapper script, not the binary"
	fi
	install -m 755 "$bin" "$RUNDIR/bin/ferry" || fy_die "cannot copy $bin"
	# ferry runs its pull helper from its own directory (launcher/cli/pull_main.c).
	if [ -x "$(dirname "$bin")/ferry-pull" ]; then
		install -m 755 "$(dirname "$bin")/ferry-pull" "$RUNDIR/bin/ferry-pull" ||
			fy_die "cannot copy ferry-pull"
	fi
	FERRY=$RUNDIR/bin/ferry
	FERRY_ORIG=$bin
	# FERRY_WRAP: a program that runs ferry (fy, fy_bg), e.g. tests/tools/no-openat2.
	FY_WRAP=()
	if [ -n "${FERRY_WRAP:-}" ]; then
		install -m 755 "$FERRY_WRAP" "$RUNDIR/bin/wrap" || fy_die "cannot copy $FERRY_WRAP"
		FY_WRAP=("$RUNDIR/bin/wrap")
	fi
	WORK=$RUNDIR/work
	DATA=$RUNDIR/data
	fy_user_dir "$WORK" "$DATA"
	ITEST_RUN_TAG=$name-$$-$(date +%s%N)
	: >"$RUNDIR/sids"
	BASE_ENV=("HOME=$THOME" "USER=$TUSER" "LOGNAME=$TUSER" "PATH=/usr/local/bin:/usr/bin:/bin"
		"LC_ALL=C" "SHELL=/bin/sh" "ITEST_RUN_TAG=$ITEST_RUN_TAG")
	# Images (built by fixtures.sh; see there).
	IMG=$FIXDIR/bb.sqfs
	IMGDIR=$FIXDIR/bb.dir
	HOSTNAME_HOST=$(hostname)
	fy_require_kernel
	echo "# ferry: $FERRY (from $bin)"
	echo "# user: $TUSER ($TUID:$TGID) home $THOME; fixtures: $FIXDIR"
}

# Only a kernel that lacks a feature may skip: user namespaces or FUSE.
# fy_umoci_busybox LAYOUT TAG BUNDLE APPLET...: a new image TAG in the OCI layout LAYOUT
# (created if missing) unpacked into BUNDLE, whose rootfs holds $BUSYBOX as /bin/busybox, the
# APPLET links and an empty /etc. The caller adds what its test needs and runs umoci repack.
fy_umoci_busybox() {
	local lay=$1 tag=$2 b=$3 l
	shift 3
	[ -d "$lay" ] || umoci init --layout "$lay" || return 1
	umoci new --image "$lay:$tag" && umoci unpack --image "$lay:$tag" "$b" &&
		mkdir -p "$b/rootfs/bin" "$b/rootfs/etc" && cp "$BUSYBOX" "$b/rootfs/bin/busybox" || return 1
	for l in "$@"; do ln -s busybox "$b/rootfs/bin/$l" || return 1; done
}

fy_require_kernel() {
	grep -qw fuse /proc/filesystems || fy_skip "the kernel has no FUSE filesystem (/proc/filesystems)"
	if ! fy_as_user unshare -Ur true 2>/dev/null; then
		fy_skip "unprivileged user namespaces are not available to $TUSER (unshare -Ur true failed)"
	fi
}

# The fixture set's identity: the fixture script's hash.
fy_fixtures_key() {
	sha256sum <"$FY_LIBDIR/fixtures.sh" | cut -d' ' -f1
}
