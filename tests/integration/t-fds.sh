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

# PEEK: from inside, try to read through ferry's process (the parent, or the --pid init as PID
# 1): the host tree behind its root, its root, fds, environment and memory (the last two need
# ptrace access, as an attach does).
PEEK='p=$PPID; [ "$p" = 0 ] && p=1; for c in "cat /proc/$p/root/oldroot$0" "ls /proc/$p/root/" \
	"ls /proc/$p/fd" "cat /proc/$p/environ" "cat /proc/$p/mem"; do $c >/dev/null; echo "rc=$?"; done'
t_no_peek() {
	echo 'host secret' >"$DATA/peek-marker"
	chmod 644 "$DATA/peek-marker"
	fy exec --contain "$@" "$IMG" sh -c "$PEEK" "$DATA/peek-marker"
	expect_rc 0
	expect_out "rc=1
rc=1
rc=1
rc=1
rc=1"
	[ "$(grep -c 'Permission denied$' "$ERR_F")" = 5 ] ||
		fail "want 5 'Permission denied' errors, one per attempt"
}
check "--contain: ferry's process cannot be read through, traced or entered" t_no_peek
check "--contain --fakeroot: ferry's process cannot be read through, traced or entered" t_no_peek --fakeroot
check "--contain --pid: the init cannot be read through, traced or entered" t_no_peek --pid
check "--contain --pid --fakeroot: the init cannot be read through, traced or entered" t_no_peek --pid --fakeroot

t_fakeroot_mounts() {
	# The fakeroot container's own user namespace still owns its mount namespace.
	fy exec --fakeroot "$IMG" sh -c 'mount -t tmpfs none /mnt && echo mounted && id -u'
	expect_rc 0
	expect_out "mounted
0"
}
check "--fakeroot: root inside can still mount in its own namespace" t_fakeroot_mounts

t_core_caller() {
	# fy-core-caller runs a directory image (busybox alone, made here) and a squashfs image
	# through fy_exec_start/fy_exec_wait and checks that it is unchanged itself afterwards.
	local caller=$FERRY_BUILDDIR/tests/integration/fy-core-caller root=$DATA/bbroot
	[ -x "$caller" ] || {
		fail_plain "$caller is not built"
		return
	}
	install -m 755 "$caller" "$RUNDIR/bin/fy-core-caller"
	rm -rf "$root"
	mkdir -p "$root/bin" && cp "$BUSYBOX" "$root/bin/busybox" && ln -s busybox "$root/bin/sh" &&
		ln -s busybox "$root/bin/true" && chmod -R a+rX "$root" || fail_plain "cannot make $root"
	fy_cmd "$RUNDIR/bin/fy-core-caller" "$root" "$IMG"
	expect_rc 0
	expect_out "caller unchanged"
}
check "the core leaves its caller unchanged (namespaces, signals, cwd, root, subreaper, fds)" t_core_caller

fy_done
