#!/bin/bash
# t-fds: which process holds what. The FUSE device fd and the image fd live only in the FUSE
# server, so the server's death always ends the connection and no container process can wait
# forever on a request nobody will answer (an unkillable D-state process); ferry's own processes
# cannot be traced, entered or read through by the container, fakeroot or not.
. "$(dirname "$0")/lib.sh"
fy_init

# fd_holders PATTERN: pids of the run's processes with an fd whose target matches PATTERN.
fd_holders() {
	local pid
	for pid in $(fy_new_user_pids); do
		if ls -l "/proc/$pid/fd" 2>/dev/null | grep -qE -- "$1\$"; then
			echo "$pid"
		fi
	done
}

t_fd_holders() {
	local fuse img
	fy_bg exec "$@" "$IMG" sh -c 'echo ready; exec sleep 100'
	if ! fy_bg_wait_output ready 20; then
		fy_bg_finish 1
		fail "the container did not start"
		return
	fi
	[ "$(id -u)" = 0 ] || fail_plain "needs root to read the fds of the user's processes"
	fuse=$(fd_holders /dev/fuse)
	img=$(fd_holders "$IMG")
	[ "$(echo "$fuse" | grep -c .)" = 1 ] ||
		fail_plain "$(echo "$fuse" | grep -c .) processes hold /dev/fuse (want 1): $(ps -o pid=,comm= -p "$(echo $fuse | tr ' ' ,)" | tr '\n' ';')"
	[ "$img" = "$fuse" ] ||
		fail_plain "the image is held by [$(echo $img)], the FUSE device by [$(echo $fuse)]"
	kill -TERM "$BG_PID"
	fy_bg_finish 10
	expect_rc 143
}
check "only the FUSE server holds /dev/fuse and the image" t_fd_holders
check "only the FUSE server holds /dev/fuse and the image (--pid)" t_fd_holders --pid

t_kill_during_setup() {
	# A bind destination 1500 components deep makes the container's setup walk the FUSE
	# mount for a while; ferry killed meanwhile must leave nothing, and nothing unkillable.
	local deep i d left start=$SECONDS
	deep=$(printf '/d%.0s' $(seq 1500))
	fy_user_dir "$DATA/bsrc"
	for ((i = 0; i < 20 && SECONDS - start < 60; i++)); do
		fy_bg exec -B "$DATA/bsrc:$deep/x" "$IMG" sleep 3
		sleep 0.1
		kill -KILL "$BG_PID"
		wait "$BG_PID" 2>/dev/null
	done
	[ "$i" -ge 5 ] || fail_plain "only $i tries in 60 s"
	# Killed processes go within moments; one blocked on a dead FUSE connection never does.
	for ((i = 0; i < 50; i++)); do
		left=$(fy_new_user_pids)
		[ -n "$left" ] || break
		sleep 0.1
	done
	d=$(for p in $left; do ps -o pid=,stat=,comm= -p "$p"; done | awk '$2 ~ /^D/')
	[ -z "$d" ] || fail_plain "in D state after ferry was killed: $(echo "$d" | tr '\n' ';')"
	[ -z "$left" ] || fail_plain "left after ferry was killed: $(echo $left)"
}
check "ferry killed during setup (20 times): nothing left in D state" t_kill_during_setup

fy_done
