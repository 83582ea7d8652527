#!/bin/bash
# podman.sh: drive the OCI runtime $OCI_RUNTIME with `podman --runtime` (podman 4 and conmon, as
# root), with a busybox image built offline (tests/oci/lib.sh) and loaded with `podman load`.
#
# Everything podman keeps lives under T=/tmp/ferry-podman-test.XXXXXX: storage (vfs driver, --root,
# --runroot), --tmpdir, the events file, networks config, containers.conf and storage.conf (so the
# machine's own configuration and images are not touched); containers get --network=none and a
# cgroup parent of their own. Afterwards containers and images are removed with podman, then
# conmon and any container process are stopped by pid, mounts under T and the cgroups removed.
# Validate the test itself with: OCI_RUNTIME=$(command -v runc) sh tests/oci/podman.sh
# OCI_SHOW_ARGV=1 prints every distinct runtime command line podman and conmon used.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

. "$(dirname "$0")/lib.sh"

oci_need_root
oci_need_tools podman conmon umoci skopeo script flock timeout file
oci_init podman
oci_lock /var/tmp/ferry-podman-test.lock
oci_argv_wrapper

IMG=docker.io/library/ferry-oci-test:1
CGP=ferry-podman-test-$$
mkdir -p "$T/tmp" "$T/networks"
# Root lacks CAP_SYS_RESOURCE on some machines (containers, this VM): podman's default rlimits for
# root (nofile and nproc 1048576) cannot be raised there, so ask for small ones any root can set.
cat >"$T/containers.conf" <<EOF
[containers]
netns = "none"
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$T/events.log"
tmp_dir = "$T/tmp"
volume_path = "$T/volumes"
static_dir = "$T/root/libpod"
[network]
network_config_dir = "$T/networks"
EOF
cat >"$T/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "$T/runroot"
graphroot = "$T/root"
EOF
export CONTAINERS_CONF=$T/containers.conf CONTAINERS_STORAGE_CONF=$T/storage.conf
P=(podman --root "$T/root" --runroot "$T/runroot" --storage-driver vfs --tmpdir "$T/tmp"
	--cgroup-manager cgroupfs --events-backend file --network-config-dir "$T/networks"
	--runtime "$OCI_RUNTIME")
RUN=(run --network=none --cgroup-parent "/$CGP")

# conmon, podman's exit commands and anything in our cgroups, by pid.
our_pids() {
	local f p
	for f in /proc/[0-9]*/cmdline; do
		p=${f#/proc/}
		p=${p%/cmdline}
		[ "$p" != "$$" ] || continue
		{ tr '\0' ' ' <"$f"; } 2>/dev/null | grep -qF -- "$T/" && echo "$p"
	done
	find /sys/fs/cgroup/*/"$CGP" -name cgroup.procs -exec cat {} + 2>/dev/null
	return 0
}

stop_all() {
	timeout 30 "${P[@]}" rm -a -f -t 0 >/dev/null 2>&1
	timeout 30 "${P[@]}" rmi -a -f >/dev/null 2>&1
	# shellcheck disable=SC2046
	oci_kill_pids $(our_pids | sort -u)
	awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" || echo "# cannot unmount $m"; done
	find /sys/fs/cgroup -mindepth 2 -depth -type d -path "/sys/fs/cgroup/*/$CGP*" -exec rmdir {} + 2>/dev/null
	return 0
}
oci_at_exit stop_all

oci_make_image "$T/image.tar" "$IMG"
oci_run "${P[@]}" load -i "$T/image.tar"
[ "$RC" = 0 ] || oci_die "podman load failed: $ERR"
"${P[@]}" images --format '{{.Repository}}:{{.Tag}}' | grep -qxF "$IMG" ||
	oci_die "image $IMG not listed after podman load"


# ---- checks ------------------------------------------------------------------------------------
t_output() {
	oci_run "${P[@]}" "${RUN[@]}" --rm "$IMG" sh -c \
		'echo "hello $FOO"; id -u; [ -t 1 ] || echo no-tty; cat /proc/self/comm'
	expect_rc 0
	expect_out "hello from-image
0
no-tty
cat"
}

t_exit7() {
	oci_run "${P[@]}" "${RUN[@]}" --rm "$IMG" sh -c 'echo before; exit 7'
	expect_rc 7
	expect_out before
}

t_tty() {
	oci_in_tty "stty rows 33 cols 101; $(oci_quote "${P[@]}" "${RUN[@]}" --rm -t "$IMG" sh -c \
		'tty; [ -t 0 ] && [ -t 1 ] && echo TTY-YES; stty size; exit 5')"
	expect_rc 5
	expect_out_has /dev/pts/
	expect_out_has TTY-YES
	expect_out_has "33 101"
}

t_env() {
	oci_run "${P[@]}" "${RUN[@]}" --rm -e FOO=from-cli -e "SPACED=a b  c" --env-host=false "$IMG" \
		sh -c 'echo "$FOO|$SPACED|$PATH"'
	expect_rc 0
	expect_out "from-cli|a b  c|/usr/sbin:/usr/bin:/sbin:/bin"
}

t_user() {
	oci_run "${P[@]}" "${RUN[@]}" --rm --user 1234:1235 "$IMG" sh -c 'id -u; id -g; id -un; touch /root/x'
	expect_rc 1
	expect_out "1234
1235
tuser"
	expect_err_has "permission denied"
}

t_readonly() {
	oci_run "${P[@]}" "${RUN[@]}" --rm --read-only "$IMG" sh -c \
		'touch /etc/x || echo "ro-refused"; echo tmp-ok >/tmp/y && cat /tmp/y'
	expect_rc 0
	expect_out "ro-refused
tmp-ok"
	expect_err_has "read-only file system"
}

t_exec() {
	local pid
	oci_run "${P[@]}" "${RUN[@]}" -d --name p1 "$IMG" sleep 1000
	expect_rc 0
	oci_run "${P[@]}" inspect -f '{{.State.Status}} {{.State.Pid}}' p1
	expect_rc 0
	pid=${OUT#running }
	[ "$OUT" != "$pid" ] || fail "p1 is not running: $OUT"
	# Only stdio from conmon reaches the process (looked at from the host: busybox sh would list
	# its own fds); 0 1 2 are /dev/null and conmon's pipes.
	expect_eq "fds of the container process $pid" "0 1 2" \
		"$(ls "/proc/$pid/fd" 2>&1 | sort -n | tr '\n' ' ' | sed 's/ $//')"
	oci_run "${P[@]}" exec -e E=1 p1 sh -c 'echo "in-exec $E"; readlink /proc/self/ns/pid; exit 4'
	expect_rc 4
	expect_out "in-exec 1
$(readlink "/proc/$pid/ns/pid")"
	oci_in_tty "$(oci_quote "${P[@]}" exec -t p1 sh -c 'tty; [ -t 0 ] && echo TTY-YES; exit 6')"
	expect_rc 6
	expect_out_has /dev/pts/
	expect_out_has TTY-YES
	oci_run "${P[@]}" rm -f -t 2 p1
	expect_rc 0
	oci_wait_for 5 '! kill -0 "$pid" 2>/dev/null' || fail "container process $pid alive after podman rm -f"
}

t_fail() {
	oci_run "${P[@]}" "${RUN[@]}" --rm "$IMG" /nonexistent-cmd
	[ "$RC" != 0 ] || fail "run of /nonexistent-cmd succeeded"
	expect_err_has /nonexistent-cmd
	expect_err_has "no such file or directory"
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
	left=$("${P[@]}" ps -a -q)
	[ -z "$left" ] || fail "containers left: $left"
	# podman's own exit command (conmon, `podman container cleanup --rm`) runs after `podman run`
	# has returned and can take seconds on a loaded machine: give it up to 30 s to go.
	for _ in $(seq 60); do
		left=$(find /sys/fs/cgroup/*/"$CGP" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u | live_pids | tr '\n' ,)
		[ -n "$left" ] || break
		sleep 0.5
	done
	[ -z "$left" ] || fail "processes left in the cgroups $CGP: $(ps -o pid=,ppid=,args= -p "${left%,}" | tr '\n' ';')"
	left=$(awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo)
	[ -z "$left" ] || fail "mounts left under $T: $left"
}

check "podman run: output, exit 0" t_output
check "podman run: exit code 7" t_exit7
check "podman run -t: a terminal of the caller's size" t_tty
check "podman run -e: environment" t_env
check "podman run --user 1234:1235" t_user
check "podman run --read-only: the root is read-only, /tmp is not" t_readonly
check "podman exec (with and without -t) in a detached container" t_exec
check "podman run of a nonexistent command: the error reaches podman" t_fail
check "nothing left: containers, cgroup processes, mounts" t_nothing_left

oci_done
