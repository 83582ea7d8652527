#!/bin/bash
# containerd.sh: drive the OCI runtime $OCI_RUNTIME through a private containerd 1.6 and its runc v2
# shim (`ctr run --runc-binary`), as Kubernetes nodes do (issue 4, DESIGN.md section 5).
#
# The daemon gets its own root, state, sockets and opt dir under T=/tmp/ferry-ctr-test.XXXXXX and no
# CRI plugin, so a system containerd is untouched; ctr uses a namespace of its own, the runtime its
# own --root (--runc-root) and FIFOs stay in T (--fifo-dir). A busybox image built offline (umoci,
# skopeo; tests/oci/lib.sh) is imported with `ctr images import`. Runs are serialised by a lock.
# Afterwards containerd, the shims and any container process are stopped by pid, mounts under T
# removed, and the namespace's cgroups and the shim socket dirs containerd made are deleted.
# Validate the test itself with: OCI_RUNTIME=$(command -v runc) sh tests/oci/containerd.sh
# OCI_SHOW_ARGV=1 prints every distinct runtime command line the shim used.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

. "$(dirname "$0")/lib.sh"

oci_need_root
oci_need_tools containerd ctr containerd-shim-runc-v2 umoci skopeo script flock timeout file
oci_init ctr
oci_lock /var/tmp/ferry-containerd-test.lock
oci_argv_wrapper

NS=ferry-oci-test-$$
IMG=docker.io/library/ferry-oci-test:1
SOCK=$T/containerd.sock
C=(ctr --address "$SOCK" --namespace "$NS")
RT=(--runc-binary "$OCI_RUNTIME" --runc-root "$T/runtime-root" --fifo-dir "$T/fifo")
SHARED=$T/shared
MNT=(--mount "type=bind,src=$SHARED,dst=/shared,options=rbind:rw")
mkdir -p "$SHARED" "$T/fifo"

# ---- the private daemon ------------------------------------------------------------------------
# Directories under /run/containerd that containerd 1.6 creates whatever its config says (shim
# sockets in /run/containerd/s, ctr's default FIFO dir): removed afterwards when we made them.
RUNDIRS_NEW=
for d in /run/containerd/s /run/containerd/fifo /run/containerd/runc /run/containerd; do
	[ -e "$d" ] || RUNDIRS_NEW="$RUNDIRS_NEW $d"
done

cat >"$T/config.toml" <<EOF
version = 2
root = "$T/root"
state = "$T/state"
# Only what ctr run needs: no CRI (it would want CNI and conflict with a node's kubelet setup).
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = "$T/debug.sock"
  level = "info"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$T/opt"
EOF

# Processes that belong to this run: containerd, shims naming our socket, and whatever sits in the
# namespace's cgroups (containers whose shim died).
our_pids() {
	local f p
	for f in /proc/[0-9]*/cmdline; do
		p=${f#/proc/}
		p=${p%/cmdline}
		[ "$p" != "$$" ] || continue
		{ tr '\0' ' ' <"$f"; } 2>/dev/null | grep -qF -- "$SOCK" && echo "$p"
	done
	cat /sys/fs/cgroup/*/"$NS"/*/cgroup.procs /sys/fs/cgroup/*/"$NS"/cgroup.procs 2>/dev/null
	return 0
}

stop_all() {
	local id
	if [ -S "$SOCK" ]; then
		for id in $("${C[@]}" task ls -q 2>/dev/null); do
			timeout 10 "${C[@]}" task kill -a -s SIGKILL "$id" >/dev/null 2>&1
			timeout 10 "${C[@]}" task delete -f "$id" >/dev/null 2>&1
		done
		for id in $("${C[@]}" container ls -q 2>/dev/null); do
			timeout 10 "${C[@]}" container rm "$id" >/dev/null 2>&1
		done
	fi
	# shellcheck disable=SC2046
	oci_kill_pids ${CTRD_PID:-} $(our_pids | sort -u)
	[ -z "${CTRD_PID:-}" ] || wait "$CTRD_PID" 2>/dev/null
	# Mounts under T (snapshots of a container whose shim was killed), innermost first.
	awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" || echo "# cannot unmount $m"; done
	find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -depth -type d -path "*/$NS*" -exec rmdir {} + 2>/dev/null
	for d in $RUNDIRS_NEW; do
		rm -rf "${d:?}/runc/$NS" 2>/dev/null
		rmdir "$d" 2>/dev/null
	done
	return 0
}
oci_at_exit stop_all

# fd 8 (the lock) closed: a daemon left behind must not hold the lock.
containerd --config "$T/config.toml" >"$T/containerd.log" 2>&1 8>&- &
CTRD_PID=$!
oci_wait_for 20 '[ -S "$SOCK" ] && "${C[@]}" version >/dev/null 2>&1' ||
	oci_die "containerd did not start: $(tail -n 5 "$T/containerd.log")"
echo "# containerd pid $CTRD_PID, socket $SOCK, namespace $NS"

oci_make_image "$T/image.tar" "$IMG"
oci_run "${C[@]}" images import "$T/image.tar"
[ "$RC" = 0 ] || oci_die "ctr images import failed: $ERR"
"${C[@]}" images ls -q | grep -qxF "$IMG" || oci_die "image $IMG not listed after import"

# ---- helpers -----------------------------------------------------------------------------------
task_field() { # task_field ID COLUMN(2=pid, 3=status)
	"${C[@]}" task ls 2>/dev/null | awk -v id="$1" -v c="$2" '$1 == id { print $c }'
}

# bg_start NAME CMD...: run CMD in the background (stdout/stderr to files); BG_PID
bg_start() {
	local n=$1
	shift
	BG_OUT=$T/bg.$n.out BG_ERR=$T/bg.$n.err
	BG_LAST=$(printf '%q ' "$@")
	timeout -k 5 "$OCI_TIMEOUT" "$@" </dev/null >"$BG_OUT" 2>"$BG_ERR" 8>&- &
	BG_PID=$!
}

bg_wait() {
	wait "$BG_PID"
	RC=$?
	LAST=$BG_LAST
	OUT=$(cat "$BG_OUT")
	ERR=$(cat "$BG_ERR")
}

# A process's parent's name: the container process must be the shim's child (runc contract).
parent_comm() {
	local pp
	pp=$(awk '{ print $4 }' "/proc/$1/stat" 2>/dev/null)
	cat "/proc/$pp/comm" 2>/dev/null
}

fds_of() {
	ls "/proc/$1/fd" 2>&1 | sort -n | tr '\n' ' ' | sed 's/ $//'
}

gone() { # gone PID...: true when none of them exists
	local p
	for p in "$@"; do
		kill -0 "$p" 2>/dev/null && return 1
	done
	return 0
}


# ---- checks ------------------------------------------------------------------------------------
t_run_output() {
	oci_run "${C[@]}" run --rm "${RT[@]}" --env BAR=from-ctr "$IMG" r0 \
		sh -c 'echo "hello $FOO $BAR $(id -u)"; [ -t 1 ] || echo no-tty; pwd'
	expect_rc 0
	expect_out "hello from-image from-ctr 0
no-tty
/"
	"${C[@]}" container ls -q | grep -qx r0 && fail "container r0 still listed after run --rm"
	[ ! -e "$T/runtime-root/$NS/r0" ] || fail "runtime state $T/runtime-root/$NS/r0 left after run --rm"
}

t_run_exit7() {
	oci_run "${C[@]}" run --rm "${RT[@]}" "$IMG" r7 sh -c 'echo before; exit 7'
	expect_rc 7
	expect_out before
}

t_run_sigkill() {
	bg_start r9 "${C[@]}" run --rm "${RT[@]}" "$IMG" r9 sh -c 'echo started; exec sleep 100'
	oci_wait_for 15 '[ "$(task_field r9 3)" = RUNNING ] && grep -q started "$BG_OUT"' ||
		fail "task r9 not RUNNING with output after 15 s: $(cat "$BG_OUT" "$BG_ERR")"
	local pid
	pid=$(task_field r9 2)
	oci_run "${C[@]}" task kill -s SIGKILL r9
	expect_rc 0
	bg_wait
	expect_rc 137
	expect_out started
	gone "$pid" || fail "container process $pid still exists after SIGKILL"
}

t_run_tty() {
	# The output travels through the pty master the runtime sent over the console socket. The
	# size is not checked here: ctr's resize of that master after start arrived in only about
	# two runs of three with runc (podman.sh checks the size, which podman puts in consoleSize).
	oci_in_tty "$(oci_quote "${C[@]}" run --rm -t "${RT[@]}" "$IMG" rt sh -c \
		'tty; [ -t 0 ] && [ -t 1 ] && echo TTY-YES; exit 5')"
	expect_rc 5
	expect_out_has /dev/pts/
	expect_out_has TTY-YES
}

t_detached() {
	oci_run "${C[@]}" run -d "${RT[@]}" "${MNT[@]}" "$IMG" d1 sh -c \
		'sleep 1000 & n=0; while :; do n=$((n + 1)); echo $n >/shared/tick; sleep 0.1; done'
	expect_rc 0
	oci_wait_for 10 '[ "$(task_field d1 3)" = RUNNING ] && [ -s "$SHARED/tick" ]' ||
		fail "task d1 not RUNNING (or not ticking) 10 s after run -d: $("${C[@]}" task ls 2>&1)"
	D1_PID=$(task_field d1 2)
	expect_eq "parent of the container process $D1_PID" containerd-shim "$(parent_comm "$D1_PID")"
}

t_exec() {
	oci_run "${C[@]}" task exec --fifo-dir "$T/fifo" --exec-id e1 d1 sh -c \
		'echo exec-out; [ -t 1 ] || echo no-tty; readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt
		exit 4'
	expect_rc 4
	expect_out "exec-out
no-tty
$(readlink "/proc/$D1_PID/ns/pid")
$(readlink "/proc/$D1_PID/ns/mnt")"
}

t_exec_tty() {
	oci_in_tty "$(oci_quote "${C[@]}" task exec -t --fifo-dir "$T/fifo" --exec-id e2 d1 sh -c \
		'tty; [ -t 0 ] && [ -t 1 ] && echo TTY-YES; exit 6')"
	expect_rc 6
	expect_out_has /dev/pts/
	expect_out_has TTY-YES
}

t_ps() {
	local p child
	child=$(for p in /proc/[0-9]*; do
		[ "$(awk '{ print $4 }' "$p/stat" 2>/dev/null)" = "$D1_PID" ] &&
			[ "$(cat "$p/comm" 2>/dev/null)" = sleep ] && [ "$(tr '\0' ' ' <"$p/cmdline")" = "sleep 1000 " ] &&
			echo "${p#/proc/}"
	done)
	[ -n "$child" ] || fail "no 'sleep 1000' child of $D1_PID on the host"
	D1_CHILD=$child
	oci_run "${C[@]}" task ps d1
	expect_rc 0
	for p in $D1_PID $child; do
		printf '%s\n' "$OUT" | awk '{ print $1 }' | grep -qx "$p" || fail_cmd "ctr task ps lacks pid $p"
	done
}

freezer_present() {
	# cgroup v1 freezer hierarchy, or a cgroup v2 unified mount (cgroup.freeze in every non-root group)
	[ -e /sys/fs/cgroup/freezer/cgroup.procs ] || [ -f /sys/fs/cgroup/cgroup.controllers ]
}

t_pause() {
	local a b
	oci_run "${C[@]}" task pause d1
	expect_rc 0
	expect_eq "status after pause" PAUSED "$(task_field d1 3)"
	a=$(cat "$SHARED/tick")
	sleep 0.5
	b=$(cat "$SHARED/tick")
	expect_eq "tick file while paused (the loop must not run)" "$a" "$b"
	oci_run "${C[@]}" task resume d1
	expect_rc 0
	expect_eq "status after resume" RUNNING "$(task_field d1 3)"
	oci_wait_for 5 '[ "$(cat "$SHARED/tick")" != "$b" ]' || fail "tick file unchanged 5 s after resume"
}

t_kill_all() {
	local pids
	oci_run "${C[@]}" task exec -d --fifo-dir "$T/fifo" --exec-id e3 d1 sleep 999
	expect_rc 0
	oci_wait_for 5 '[ "$("${C[@]}" task ps d1 | tail -n +2 | wc -l)" -ge 4 ]' ||
		fail "expected >= 4 processes in d1 (init, its sleep, the loop's sleep, exec e3): $("${C[@]}" task ps d1)"
	pids=$("${C[@]}" task ps d1 | awk 'NR > 1 { print $1 }')
	local p e3=
	for p in $pids; do
		[ "$({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null)" = "sleep 999 " ] && e3=$p
	done
	[ -n "$e3" ] || fail "exec e3 (sleep 999) not among the pids of ctr task ps d1: $pids"
	# Only the stdio the shim handed over reaches the processes (its fd 3, the runtime's and the
	# console socket must not leak). Looked at from the host: busybox sh runs ls in-process.
	[ -z "$e3" ] || expect_eq "fds of exec'd process $e3" "0 1 2" "$(fds_of "$e3")"
	expect_eq "fds of the init's child $D1_CHILD" "0 1 2" "$(fds_of "$D1_CHILD")"
	oci_run "${C[@]}" task kill -a -s SIGKILL d1
	expect_rc 0
	# shellcheck disable=SC2086
	oci_wait_for 5 gone $pids || fail "processes left after kill -a: $(ps -o pid=,args= -p "$(echo $pids | tr ' ' ,)")"
	oci_wait_for 5 '[ "$(task_field d1 3)" = STOPPED ]' || fail "d1 not STOPPED: $("${C[@]}" task ls)"
	oci_run "${C[@]}" task delete d1
	expect_rc 0
	oci_run "${C[@]}" container rm d1
	expect_rc 0
	[ ! -e "$T/runtime-root/$NS/d1" ] || fail "runtime state $T/runtime-root/$NS/d1 left after task delete"
}

t_kill_term() {
	bg_start k1 "${C[@]}" run --rm "${RT[@]}" "${MNT[@]}" "$IMG" k1 sh -c \
		'trap "echo got-term; echo term >/shared/k1.marker; exit 3" TERM; echo ready; while :; do sleep 0.1; done'
	oci_wait_for 15 '[ "$(task_field k1 3)" = RUNNING ] && grep -q ready "$BG_OUT"' ||
		fail "task k1 not ready after 15 s: $(cat "$BG_OUT" "$BG_ERR")"
	oci_run "${C[@]}" task kill k1
	expect_rc 0
	bg_wait
	expect_rc 3
	expect_out "ready
got-term"
	expect_eq "marker written by the TERM trap" term "$(cat "$SHARED/k1.marker" 2>&1)"
}

t_delete_force() {
	local pid
	oci_run "${C[@]}" run -d "${RT[@]}" "$IMG" d2 sleep 1000
	expect_rc 0
	oci_wait_for 10 '[ "$(task_field d2 3)" = RUNNING ]' || fail "d2 not RUNNING"
	pid=$(task_field d2 2)
	oci_run "${C[@]}" task delete -f d2
	expect_rc 0
	oci_wait_for 5 gone "$pid" || fail "container process $pid alive after task delete -f"
	[ -z "$(task_field d2 1)" ] || fail "task d2 still listed: $("${C[@]}" task ls)"
	oci_run "${C[@]}" container rm d2
	expect_rc 0
	[ ! -e "$T/runtime-root/$NS/d2" ] || fail "runtime state $T/runtime-root/$NS/d2 left after delete -f"
}

t_fail_cmd() {
	oci_run "${C[@]}" run --rm "${RT[@]}" "$IMG" f1 /nonexistent-cmd arg
	[ "$RC" != 0 ] || fail "run of /nonexistent-cmd succeeded"
	expect_err_has /nonexistent-cmd
	expect_err_has "no such file or directory"
	[ -z "$(task_field f1 1)" ] || fail "task f1 listed after the failed create"
	"${C[@]}" container rm f1 >/dev/null 2>&1
	[ ! -e "$T/runtime-root/$NS/f1" ] || fail "runtime state $T/runtime-root/$NS/f1 left after a failed create"
}

t_fail_cwd() {
	oci_run "${C[@]}" run --rm "${RT[@]}" --cwd /etc/passwd "$IMG" f2 pwd
	[ "$RC" != 0 ] || fail "run with cwd /etc/passwd (a file) succeeded"
	expect_err_has /etc/passwd
	expect_err_has "not a directory"
	"${C[@]}" container rm f2 >/dev/null 2>&1
	[ ! -e "$T/runtime-root/$NS/f2" ] || fail "runtime state $T/runtime-root/$NS/f2 left after a failed create"
}

# Pids that are not zombies: a zombie re-parented to a PID 1 that does not reap (as in some VMs and
# containers) holds nothing but its pid and is not the runtime's doing.
live_pids() {
	local p
	while read -r p; do
		[ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" = Z ] || [ ! -e "/proc/$p" ] || echo "$p"
	done
}

t_nothing_left() {
	local left
	left=$("${C[@]}" task ls -q)
	[ -z "$left" ] || fail "tasks left: $left"
	left=$("${C[@]}" container ls -q)
	[ -z "$left" ] || fail "containers left: $left"
	left=$(ls -A "$T/runtime-root/$NS" 2>/dev/null)
	[ -z "$left" ] || fail "runtime state left in $T/runtime-root/$NS: $left"
	left=$(cat /sys/fs/cgroup/*/"$NS"/*/cgroup.procs 2>/dev/null | sort -u | live_pids | tr '\n' ,)
	[ -z "$left" ] || fail "processes left in the namespace's cgroups: $(ps -o pid=,ppid=,args= -p "${left%,}" | tr '\n' ';')"
	left=$(awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo)
	[ -z "$left" ] || fail "mounts left under $T: $left"
}

check "ctr run: output, env, no tty, exit 0" t_run_output
check "ctr run: exit code 7" t_run_exit7
check "ctr run: SIGKILL from ctr task kill gives 137" t_run_sigkill
check "ctr run -t: the process has a terminal" t_run_tty
check "ctr run -d: task RUNNING, process is the shim's child" t_detached
check "ctr task exec: output, exit code, namespaces of the container" t_exec
check "ctr task exec -t: a terminal" t_exec_tty
check "ctr task ps: lists the init and its child" t_ps
if freezer_present; then
	check "ctr task pause/resume: PAUSED, frozen, RUNNING again" t_pause
else
	check "ctr task pause/resume: no freezer cgroup on this machine" fail "no freezer: cannot test pause"
fi
check "ctr task kill -a: every process dies, task STOPPED" t_kill_all
check "ctr task kill: TERM handled by the container's trap" t_kill_term
check "ctr task delete -f of a running task" t_delete_force
check "failing create (nonexistent command): error reaches ctr" t_fail_cmd
check "failing create (cwd is a file): error reaches ctr" t_fail_cwd
check "nothing left in containerd, runtime root, cgroups, mounts" t_nothing_left

oci_done
