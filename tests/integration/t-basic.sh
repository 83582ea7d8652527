#!/bin/bash
# t-basic: the first things a user sees: the demo image, exec, identity, hostname, cwd, HOME,
# host files, help and version, no_new_privs.
. "$(dirname "$0")/lib.sh"
fy_init

DEMO=$RUNDIR/demo.sqfs
install -m 644 "$FERRY_BUILDDIR/image/demo/demo.sqfs" "$DEMO" || echo "# demo image not built"
echo 'marker in home' >"$THOME/.fyitest-marker"
chown "$TUID:$TGID" "$THOME/.fyitest-marker" 2>/dev/null
echo 'marker in cwd' >"$WORK/cwd-marker"

t_demo() {
	fy run "$DEMO"
	expect_rc 0
	# The greeting, and facts only a container run as the caller with no_new_privs can report.
	[ "$(sed -n 1p "$OUT_F")" = 'Hello from inside a ferry container!' ] || fail "no greeting from the demo"
	expect_out_re "^  user +: uid=$TUID gid=$TGID \($TUSER\)$"
	expect_out_re '^  image os +: ferry demo image'
	expect_out_re '^  no_new_privs +: 1$'
}
check "ferry run demo.sqfs (the README's first command)" t_demo

t_demo_exec() {
	fy exec "$DEMO" /bin/sh -c 'echo demo-sh-works'
	expect_rc 0
	expect_out demo-sh-works
}
check "ferry exec demo.sqfs /bin/sh -c ..." t_demo_exec

t_echo() {
	fy exec "$IMG" echo hello world
	expect_rc 0
	expect_out "hello world"
	expect_err_empty
}
check "exec echo prints its arguments, nothing on stderr" t_echo

t_ids() {
	fy exec "$IMG" id -u
	expect_rc 0
	expect_out "$TUID"
	fy exec "$IMG" id -g
	expect_rc 0
	expect_out "$TGID"
}
check "uid and gid inside are the caller's" t_ids

t_passwd() {
	fy exec "$IMG" grep "^$TUSER:" /etc/passwd
	expect_rc 0
	expect_out_re "^$TUSER:[^:]*:$TUID:$TGID:"
	fy exec "$IMG" id -un
	expect_rc 0
	expect_out "$TUSER"
	fy exec "$IMG" id -gn
	expect_rc 0
	expect_out "$TGROUP"
	# The image's own entries stay (merge, not replace).
	fy exec "$IMG" grep -c '^root:' /etc/passwd
	expect_out 1
}
check "/etc/passwd and /etc/group contain the user, image entries kept" t_passwd

t_hostname() {
	fy exec "$IMG" hostname
	expect_rc 0
	expect_out "$HOSTNAME_HOST"
}
check "hostname is the host's by default" t_hostname

t_cwd() {
	fy exec "$IMG" pwd
	expect_rc 0
	expect_out "$WORK"
	fy exec "$IMG" cat cwd-marker
	expect_rc 0
	expect_out 'marker in cwd'
}
check "cwd is bound and is the working directory (exec ignores WorkingDir)" t_cwd

t_cwd_write() {
	fy exec "$IMG" sh -c 'echo written > new-file'
	expect_rc 0
	[ "$(cat "$WORK/new-file" 2>/dev/null)" = written ] || fail "file written in cwd is not on the host"
}
check "cwd is writable and writes reach the host" t_cwd_write

t_home() {
	fy exec "$IMG" sh -c 'echo "$HOME"; cat "$HOME/.fyitest-marker"'
	expect_rc 0
	expect_out "$THOME
marker in home"
}
check "HOME is set and the host home is bound" t_home

t_pwd_opt() {
	fy exec --pwd /etc "$IMG" pwd
	expect_rc 0
	expect_out /etc
}
check "--pwd sets the working directory" t_pwd_opt

t_home_opt() {
	fy_user_dir "$DATA/althome"
	echo alt >"$DATA/althome/alt-marker"
	fy exec --home "$DATA/althome:/home/alt" "$IMG" sh -c 'echo "$HOME"; cat /home/alt/alt-marker'
	expect_rc 0
	expect_out "/home/alt
alt"
	fy exec --home "$DATA/althome" "$IMG" sh -c 'echo "$HOME"; cat "$HOME/alt-marker"'
	expect_rc 0
	expect_out "$DATA/althome
alt"
}
check "--home SRC:DST and --home SRC" t_home_opt

t_no_home() {
	fy exec --no-home "$IMG" cat "$THOME/.fyitest-marker"
	# cat's own message: the container ran and the home was not there.
	expect_rc 1
	expect_err_has "cat: can't open '$THOME/.fyitest-marker': No such file or directory"
}
check "--no-home hides the host home" t_no_home

t_hostfiles() {
	fy exec "$IMG" cat /etc/hosts
	expect_rc 0
	[ "$OUT" = "$(cat /etc/hosts)" ] || fail "/etc/hosts differs from the host's"
	fy exec "$IMG" cat /etc/resolv.conf
	expect_rc 0
	[ "$OUT" = "$(cat /etc/resolv.conf)" ] || fail "/etc/resolv.conf differs from the host's"
	fy exec "$IMG" test -e /etc/localtime
	expect_rc 0
}
check "/etc/hosts, /etc/resolv.conf, /etc/localtime come from the host" t_hostfiles

t_kernel_fs() {
	fy exec "$IMG" sh -c 'test -r /proc/self/status && test -d /sys/kernel && test -c /dev/null &&
		test -c /dev/zero && test -d /tmp && test -d /var/tmp && echo all-there'
	expect_rc 0
	expect_out all-there
}
check "/proc, /sys, /dev, /tmp, /var/tmp are there" t_kernel_fs

t_nnp() {
	fy exec "$IMG" grep NoNewPrivs /proc/self/status
	expect_rc 0
	expect_out_re '^NoNewPrivs:[[:space:]]+1$'
}
check "PR_SET_NO_NEW_PRIVS is set" t_nnp

t_nosuid() {
	# Nothing setuid: the ferry binary has neither setuid bit nor file capabilities, and the
	# root is mounted nosuid inside.
	[ ! -u "$FERRY_ORIG" ] && [ ! -g "$FERRY_ORIG" ] || fail_plain "$FERRY_ORIG is setuid or setgid"
	if command -v getcap >/dev/null; then
		[ -z "$(getcap "$FERRY_ORIG")" ] || fail_plain "$FERRY_ORIG has file capabilities"
	else
		fail_plain "getcap is missing (libcap2-bin: scripts/install-deps.sh test): cannot check file capabilities"
	fi
	fy exec "$IMG" grep CapEff /proc/self/status
	expect_rc 0
	expect_out_re '^CapEff:[[:space:]]+0+$'
}
check "nothing setuid, no effective capabilities inside" t_nosuid

t_help() {
	local h
	for h in --help help; do
		fy $h
		expect_rc 0
		[ "$(sed -n 1p "$OUT_F")" = 'usage: ferry [--debug | -v | -q] COMMAND [ARGS]' ] ||
			fail "ferry $h: the first line is not the usage line"
		expect_out_has exec
		expect_out_has run
		expect_out_has shell
	done
	fy exec --help
	expect_rc 0
	[ "$(sed -n 1p "$OUT_F")" = 'usage: ferry exec [OPTIONS] IMAGE CMD [ARG...]' ] ||
		fail "ferry exec --help: the first line is not the usage line"
	expect_out_has --bind
	expect_out_has --contain
	fy run --help
	expect_rc 0
	[ "$(sed -n 1p "$OUT_F")" = 'usage: ferry run [OPTIONS] IMAGE [ARG...]' ] ||
		fail "ferry run --help: the first line is not the usage line"
	fy shell --help
	expect_rc 0
	[ "$(sed -n 1p "$OUT_F")" = 'usage: ferry shell [OPTIONS] IMAGE' ] ||
		fail "ferry shell --help: the first line is not the usage line"
}
check "--help, help, CMD --help exit 0 and list the commands and options" t_help

t_version() {
	local v
	v=$(sed -n 's/^PACKAGE_VERSION=.\(.*\).$/\1/p' "$FERRY_BUILDDIR/config.log" | head -n1)
	fy --version
	expect_rc 0
	expect_out_has "$v"
	fy version
	expect_rc 0
	expect_out_has "$v"
}
check "--version and version print the package version" t_version

t_verbosity() {
	fy -q exec "$IMG" echo quiet-ran
	expect_rc 0
	expect_out quiet-ran
	expect_err_empty
	fy --debug exec "$IMG" echo debug-ran
	expect_rc 0
	expect_out debug-ran
	# The start-up trace: "ferry[PID] T ms: step" for the steps of every exec.
	local step
	for step in 'plan built: ' 'user namespace entered' 'root filesystem mounted' 'container root ready'; do
		grep -qE "^ferry\[[0-9]+\] +[0-9.]+ ms: $step" "$ERR_F" || fail "--debug: no trace line '$step'"
	done
	# -v says more than the default but is not the trace (an exec has nothing more to say).
	fy -v exec "$IMG" echo verbose-ran
	expect_rc 0
	expect_out verbose-ran
	! grep -q ' ms: ' "$ERR_F" || fail "-v printed the --debug trace"
	fy -v --debug exec "$IMG" true
	expect_rc 0
	grep -q ' ms: root filesystem mounted' "$ERR_F" || fail "--debug after -v: no trace"
}
check "-q is quiet, --debug traces each step, -v runs without the trace" t_verbosity

t_dry_run() {
	fy exec --dry-run "$IMG" touch "$WORK/dry-run-marker"
	expect_rc 0
	# The plan: the root, the binds of the defaults, the command, the image's Env.
	local l
	for l in "root: squashfs $IMG (read-only)" "mount: bind  $THOME <- $THOME optional" "cwd: $WORK" \
		"argv: touch $WORK/dry-run-marker" 'env: FOO=from-image' \
		'env: PATH=/opt/fy/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'; do
		grep -qxF -- "$l" "$OUT_F" || fail "--dry-run: no plan line '$l'"
	done
	[ ! -e "$WORK/dry-run-marker" ] || fail "--dry-run ran the command"
}
check "--dry-run prints the plan and runs nothing" t_dry_run

t_image_relative() {
	FY_CWD=$FIXDIR
	fy exec bb.sqfs cat /etc/os-release
	expect_rc 0
	expect_out_has 'ferrytest busybox'
}
check "image path relative to cwd" t_image_relative

fy_done
