#!/bin/bash
# t-process: the command's life: exit statuses, exec failures, signal forwarding, stdin, a
# terminal session, reaping under --pid, fd hygiene, and ferry itself killed with SIGKILL.
. "$(dirname "$0")/lib.sh"
fy_init

t_status() {
	local s
	for s in 0 1 42 255; do
		fy exec "$IMG" sh -c "exit $s"
		expect_rc "$s"
		expect_err_empty
	done
}
check "exit status of the command is ferry's (0, 1, 42, 255)" t_status

t_status_pid() {
	fy exec --pid "$IMG" sh -c 'exit 42'
	expect_rc 42
}
check "exit status under --pid passes through the init" t_status_pid

t_self_kill() {
	fy exec "$IMG" sh -c 'kill -TERM $$'
	expect_rc 143
	fy exec "$IMG" sh -c 'kill -KILL $$'
	expect_rc 137
	fy exec "$IMG" sh -c 'kill -USR1 $$'
	expect_rc 138
	fy exec --pid "$IMG" sh -c 'kill -TERM $$'
	expect_rc 143
}
check "command killed by signal N: exit 128+N (with and without --pid)" t_self_kill

t_notfound() {
	fy exec "$IMG" no-such-command arg
	expect_error 127 'no-such-command'
	fy exec "$IMG" /no/such/path
	expect_error 127 '/no/such/path'
	fy exec --pid "$IMG" no-such-command
	expect_error 127 'no-such-command'
}
check "command not found in the image: exit 127, one line" t_notfound

t_noexec() {
	fy exec "$IMG" /etc/notexec
	expect_error 126 '/etc/notexec'
	fy exec "$IMG" /etc
	expect_error 126 '/etc'
}
check "command not executable (file, directory): exit 126, one line" t_noexec

t_path_lookup() {
	# fixtures.sh: /opt/fy/bin is only in the image config's PATH, not in ferry's default PATH.
	fy exec "$IMG" fy-probe
	expect_rc 0
	expect_out fy-probe-from-image-path
	fy exec --fakeroot --writable-tmpfs "$IMG" sh -c 'printf "#!/bin/sh\necho from-path\n" > /opt/fy/bin/myprog; chmod +x /opt/fy/bin/myprog; myprog'
	expect_rc 0
	expect_out from-path
	# Without an image config the default PATH applies, which lacks /opt/fy/bin.
	fy exec "$FIXDIR/nocfg.sqfs" fy-probe
	expect_error 127 'fy-probe'
}
check "command looked up in the image PATH (by ferry and by the shell)" t_path_lookup

# Signal forwarding: the container's sh traps SIG and exits 0 after printing it. Signals arrive
# at ferry from outside (the harness, as root or as the same user).
SIG_SCRIPT='trap "echo got-$0; exit 0" $0; echo ready; while :; do sleep 0.1; done'
t_forward() {
	local sig=$1
	shift
	fy_bg exec "$@" "$IMG" sh -c "$SIG_SCRIPT" "$sig"
	if ! fy_bg_wait_output ready 20; then
		fy_bg_finish 1
		fail "the container did not start"
		return
	fi
	kill -s "$sig" "$BG_PID"
	fy_bg_finish 10
	expect_rc 0
	expect_out "ready
got-$sig"
}
for sig in INT TERM HUP QUIT USR1 USR2; do
	check "SIG$sig to ferry reaches the command" t_forward "$sig"
	check "SIG$sig to ferry reaches the command under --pid" t_forward "$sig" --pid
done

t_term_status() {
	fy_bg exec "$IMG" sh -c 'echo ready; exec sleep 100'
	fy_bg_wait_output ready 20 || fail "the container did not start"
	kill -TERM "$BG_PID"
	fy_bg_finish 10
	expect_rc 143
}
check "SIGTERM to ferry, command without a trap: exit 143" t_term_status

t_stdin() {
	printf 'hi\nthere\n' >"$DATA/stdin"
	FY_STDIN=$DATA/stdin
	fy exec "$IMG" cat
	expect_rc 0
	expect_out "hi
there"
	FY_STDIN=$DATA/stdin
	fy exec --pid "$IMG" wc -l
	expect_rc 0
	expect_out_re '^ *2$'
}
check "stdin passes through (with and without --pid)" t_stdin

t_stdin_pipe() {
	fy_cmd sh -c "echo hi | '$FERRY' exec '$IMG' cat"
	expect_rc 0
	expect_out hi
}
check "echo hi | ferry exec img cat" t_stdin_pipe

t_large_output() {
	fy exec "$IMG" sh -c 'head -c 1048576 /dev/zero | od -An -v -tx1 | wc -l'
	expect_rc 0
	expect_out 65536
}
check "large output is not truncated" t_large_output

t_tty() {
	printf 'tty\ntest -t 0 && echo stdin-is-tty\nexit 3\n' >"$DATA/tty-in"
	FY_STDIN=$DATA/tty-in
	fy_cmd script -qec "$FERRY shell $IMG" /dev/null
	expect_rc 3
	expect_out_re '/dev/pts/[0-9]+'
	expect_out_has stdin-is-tty
}
check "ferry shell in a terminal (script): the shell sees a tty" t_tty

t_tty_exec() {
	printf '' >"$DATA/empty-in"
	FY_STDIN=$DATA/empty-in
	fy_cmd script -qec "$FERRY exec --pid $IMG tty" /dev/null
	expect_rc 0
	expect_out_re '/dev/pts/[0-9]+'
}
check "exec --pid in a terminal: tty works" t_tty_exec

t_shell_stdin() {
	printf 'echo "shell:$0"; exit 7\n' >"$DATA/shell-in"
	FY_STDIN=$DATA/shell-in
	fy shell "$IMG"
	expect_rc 7
	expect_out_re '^shell:(/bin/)?sh$'
}
check "ferry shell reads commands from stdin, sh when no bash" t_shell_stdin

t_zombies() {
	# Orphans reparent to the namespace's init, which must reap them.
	fy exec --pid "$IMG" sh -c '
		for i in 1 2 3; do sh -c "sleep 0.2 & exit 0"; done
		sleep 1
		for f in /proc/[0-9]*/stat; do read -r l < "$f" && echo "$l"; done'
	expect_rc 0
	# The list was printed (the init, pid 1, and the shell at least), and holds no zombie.
	grep -qE '^1 \([^)]*\) [A-Z] ' "$OUT_F" || fail "the process list lacks the init (pid 1)"
	[ "$(grep -cE '^[0-9]+ \([^)]*\) [A-Z] ' "$OUT_F")" -ge 2 ] || fail "the process list has fewer than 2 processes"
	if grep -qE '^[0-9]+ \([^)]*\) Z' "$OUT_F"; then
		fail "zombie processes remain under --pid"
	fi
}
check "no zombies: orphans are reaped under --pid" t_zombies

t_zombie_init() {
	# The command forks and exits right away: the init must wait for it and for the orphan.
	fy exec --pid "$IMG" sh -c 'sleep 0.5 & exit 5'
	expect_rc 5
}
check "--pid: the command's status wins, orphans do not block" t_zombie_init

t_fds() {
	fy exec "$IMG" ls /proc/self/fd
	expect_rc 0
	local extra
	extra=$(grep -vxE '0|1|2' "$OUT_F" | wc -l)
	[ "$extra" -le 1 ] || fail "fds beyond 0,1,2 and ls's own are open in the container"
	fy exec --pid "$IMG" ls /proc/self/fd
	expect_rc 0
	extra=$(grep -vxE '0|1|2' "$OUT_F" | wc -l)
	[ "$extra" -le 1 ] || fail "fds beyond 0,1,2 and ls's own are open in the container (--pid)"
}
check "no fd leaks into the container" t_fds

t_fd_passed() {
	# An fd the caller opened on purpose (PMI_FD style) survives into the container.
	fy_cmd sh -c "exec 5<'$FIXDIR/bb.dir/etc/os-release'; '$FERRY' exec '$IMG' sh -c 'head -n1 <&5'"
	expect_rc 0
	expect_out 'NAME="ferrytest busybox"'
}
check "an inherited fd (PMI_FD style) survives" t_fd_passed

t_sigkill() {
	local pid
	fy_bg exec "$@" "$IMG" sh -c 'echo ready; exec sleep 1000'
	if ! fy_bg_wait_output ready 20; then
		fy_bg_finish 1
		fail "the container did not start"
		return
	fi
	kill -KILL "$BG_PID"
	wait "$BG_PID" 2>/dev/null
	# fy_leftovers (after the check) waits 3 s for processes and mounts to go.
}
check "ferry killed with SIGKILL leaves no process and no mount" t_sigkill
check "ferry --pid killed with SIGKILL leaves no process and no mount" t_sigkill --pid

t_sigkill_fuse() {
	# Killing the whole process group (as a batch system does) cleans up too.
	fy_bg exec "$IMG" sh -c 'echo ready; exec sleep 1000'
	fy_bg_wait_output ready 20 || fail "the container did not start"
	local pids
	pids=$(fy_new_user_pids)
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -KILL $pids
	wait "$BG_PID" 2>/dev/null
}
check "all ferry processes killed with SIGKILL: no mount left" t_sigkill_fuse

t_many() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		fy exec "$IMG" true
		[ "$RC" = 0 ] || {
			fail "run $i of 10 failed"
			return
		}
	done
}
check "ten runs in a row" t_many

fy_done
