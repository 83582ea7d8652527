#!/bin/bash
# tests/oci/gaps2.sh: issue 16's gaps 5, 6 and 8-13 (the peer suites' checks where runc or crun
# pass), as root and, where the gap has a rootless side, as the unprivileged test user.
#   5  the host's /dev bound with rbind under device-cgroup rules (no ELOOP on /dev/stdin);
#   6  a device node with a uid/gid in a user namespace made by root (created and chowned);
#   8  exec --cap of an unknown capability is a warning, exec --env replaces an earlier entry
#      (the last wins), exec --pid-file without --detach writes the file;
#   9  a hook without env sees the runtime's PATH;
#   10 bind sources opened before the identity switch (mode-000 parent, symlinked source);
#   11 a missing process.cwd is created in a read-only root;
#   12 sysctls without their namespace are refused in runc's words;
#   13 SCMP_ACT_NOTIFY with a listenerPath.
# Runs against any runc-compatible runtime (OCI_RUNTIME=$(command -v runc)); the comments on
# each check say where runc 1.1 differs.
set -u
umask 022
. "$(dirname "$0")/lib.sh"

oci_need_root
oci_init gaps2
oci_need_tools python3 setpriv useradd

RT=$T/bin/$(basename "$OCI_RUNTIME")
oci_install_runtime "$T/bin" || oci_die "cannot copy $OCI_RUNTIME"
TUSER=${OCI_TEST_USER:-ferrytest}
id -u "$TUSER" >/dev/null 2>&1 || useradd -m -s /bin/sh "$TUSER" || oci_die "useradd $TUSER"
TUID=$(id -u "$TUSER")
TGID=$(id -g "$TUSER")
chmod 755 "$T"

# bundle MODE NAME SCRIPT [PYTHON]: see oci_bundle in lib.sh.
bundle() { oci_bundle "$@"; }

# rt MODE ARG...: the runtime as the mode's user with a private --root and PATH=$RT_PATH.
RT_PATH=/usr/sbin:/usr/bin:/sbin:/bin
rt() {
	local mode=$1 as=()
	shift
	[ "$mode" = root ] || as=(setpriv --reuid="$TUID" --regid="$TGID" --init-groups)
	oci_run "${as[@]}" env -i PATH="$RT_PATH" "$RT" --root "$T/$mode/state" "$@"
}

# run_in MODE NAME SCRIPT [PYTHON]: bundle + run.
run_in() {
	local mode=$1 name=$2
	mkdir -p "$T/$mode"
	bundle "$@" || {
		fail "cannot make the bundle $name"
		return 1
	}
	rt "$mode" run --bundle "$T/$mode/$name" "$name-$mode"
}

expect_nothing_left() {
	[ -z "$(ls -A "$T/$1/state" 2>/dev/null)" ] || fail "state left: $(ls -A "$T/$1/state")"
}

# expect_err_unq TEXT: stderr has TEXT once the log format's \" are plain quotes.
expect_err_unq() {
	printf '%s' "${ERR//\\\"/\"}" | grep -qiF -- "$1" || fail_cmd "expected stderr to contain '$1'"
}

# started MODE NAME [PYTHON]: a created and started container running sleep, id NAME-MODE;
# removed at exit.
started() {
	local mode=$1 name=$2
	mkdir -p "$T/$mode"
	bundle "$mode" "$name" 'exec sleep 300' "${3:-}" || {
		fail "cannot make the bundle $name"
		return 1
	}
	oci_at_exit "rt $mode delete -f $name-$mode >/dev/null 2>&1"
	rt "$mode" create --bundle "$T/$mode/$name" "$name-$mode"
	[ "$RC" = 0 ] || {
		fail_cmd "create failed"
		return 1
	}
	rt "$mode" start "$name-$mode"
	[ "$RC" = 0 ] || {
		fail_cmd "start failed"
		return 1
	}
}

# ---- gap 5: the host's /dev bound with rbind -----------------------------------------------------
# crun's deny-devices/allow-device/allow-access cases: the bound /dev is used as it is (runc makes
# no nodes or links in it), its /dev/stdin is the host's link, device rules apply. Before the fix
# ferry-oci as root re-made the host's /dev/null etc. (mknod over the bind) and then, following
# /dev/stdin to the init's unlinked stdin, left a link "/dev/null (deleted)" in the host's /dev,
# which the next run met as a symlink loop (ELOOP): remove it by hand after such a run.
t_dev_rbind() {
	local mode=$1 before after
	# Names, and the nodes' inodes: a node made over the bound /dev would replace the host's.
	before=$(ls -A /dev | sort | tr '\n' ' '; stat -c '%n %i' /dev/null /dev/zero /dev/full /dev/tty)
	run_in "$mode" devbind 'readlink /dev/stdin; test -c /dev/null && echo x >/dev/null && echo null' "
c['mounts'].append({'destination': '/dev', 'type': 'bind', 'source': '/dev',
                    'options': ['rbind', 'nosuid', 'noexec']})
c['linux'].setdefault('resources', {})['devices'] = [
  {'allow': False, 'access': 'rwm'},
  {'allow': True, 'type': 'c', 'major': 1, 'minor': 3, 'access': 'rwm'}]" || return
	expect_rc 0
	expect_out $'/proc/self/fd/0\nnull'
	after=$(ls -A /dev | sort | tr '\n' ' '; stat -c '%n %i' /dev/null /dev/zero /dev/full /dev/tty)
	expect_eq "the host's /dev entries" "$before" "$after"
	expect_nothing_left "$mode"
}

# ---- gap 6: device nodes in a user namespace made by root ----------------------------------------
# Root with a user namespace (container root = host 100000): crun makes each node and chowns it to
# the entry's uid/gid; ferry-oci bound the host's node (owned by the host's root, seen as nobody),
# and had nothing to bind for numbers the host lacks. runc 1.1 binds the host file at the path.
USERNS_PY="
c['linux']['namespaces'].append({'type': 'user'})
c['linux']['uidMappings'] = [{'containerID': 0, 'hostID': 100000, 'size': 65536}]
c['linux']['gidMappings'] = [{'containerID': 0, 'hostID': 100000, 'size': 65536}]
c['linux']['devices'] = [
  {'path': '/dev/foo', 'type': 'c', 'major': 1, 'minor': 3, 'fileMode': 0o606, 'uid': 1, 'gid': 2},
  {'path': '/dev/mymem', 'type': 'c', 'major': 1, 'minor': 99, 'uid': 3, 'gid': 4}]"
t_userns_devices() {
	run_in root usernsdev \
		"stat -c '%n %F %t:%T %u:%g %a' /dev/foo /dev/mymem /dev/null; echo x >/dev/foo && echo written" \
		"$USERNS_PY" || return
	expect_rc 0
	expect_out "$(printf '%s\n' '/dev/foo character special file 1:3 1:2 606' \
		'/dev/mymem character special file 1:63 3:4 666' \
		'/dev/null character special file 1:3 0:0 666' 'written')"
	expect_nothing_left root
}

# ---- gap 10: bind sources the container's root cannot reach --------------------------------------
# Root with a user namespace (container root = host 100000): the source lies under a mode-000
# directory, directly and through a symlink; runc and crun open sources before the container's
# identity is taken.
t_bind_unreachable() {
	local d=$T/root/hidden
	rm -rf "$d" "$T/root/srclink"
	mkdir -p "$d/src" && echo bind-content >"$d/src/f" && chmod 000 "$d" &&
		ln -s "$d/src" "$T/root/srclink" || {
		fail "cannot make the sources"
		return
	}
	run_in root bindsrc 'cat /tmp/in/f /tmp/ln/f' "
c['linux']['namespaces'].append({'type': 'user'})
c['linux']['uidMappings'] = [{'containerID': 0, 'hostID': 100000, 'size': 65536}]
c['linux']['gidMappings'] = [{'containerID': 0, 'hostID': 100000, 'size': 65536}]
c['mounts'] += [{'destination': '/tmp/in', 'type': 'bind', 'source': '$d/src', 'options': ['bind']},
  {'destination': '/tmp/ln', 'type': 'bind', 'source': '$T/root/srclink', 'options': ['rbind', 'ro']}]" ||
		return
	expect_rc 0
	expect_out $'bind-content\nbind-content'
	expect_nothing_left root
	chmod 755 "$d"
}

# ---- gap 8: exec flags -------------------------------------------------------------------------
# runc and crun ignore a capability they do not know, with a warning.
t_exec_unknown_cap() {
	local mode=$1
	started "$mode" xcap || return
	rt "$mode" exec --cap CAP_UNKNOWN --cap CAP_CHOWN "xcap-$mode" sh -c 'echo ran'
	expect_rc 0
	expect_out "ran"
	expect_err_has "CAP_UNKNOWN"
	rt "$mode" delete -f "xcap-$mode"
}

# --env KEY=V over an entry of process.env: one entry, the last value (runc's os.Setenv).
t_exec_env_last() {
	local mode=$1
	started "$mode" xenv || return
	# busybox env prints environ as execve gave it (a shell would keep the last itself).
	rt "$mode" exec --env PATH=/usr/bin --env FOO=1 --env FOO=2 "xenv-$mode" /usr/bin/env
	expect_rc 0
	expect_eq "PATH and FOO entries" $'PATH=/usr/bin\nFOO=2' "$(printf '%s\n' "$OUT" | grep -E '^(PATH|FOO)=')"
	rt "$mode" delete -f "xenv-$mode"
}

# runc writes --pid-file for a foreground exec too (the pid while it runs).
t_exec_pidfile_fg() {
	local mode=$1 f
	started "$mode" xpid || return
	f=$T/$mode/xpid.pid
	rm -f "$f"
	[ "$mode" = root ] || chown "$TUID:$TGID" "$T/$mode"
	rt "$mode" exec --pid-file "$f" "xpid-$mode" sh -c 'echo $$'
	expect_rc 0
	[ -s "$f" ] || fail_cmd "no pid file $f after exec without --detach"
	grep -qx '[0-9][0-9]*' "$f" 2>/dev/null || fail "pid file: '$(cat "$f" 2>/dev/null)'"
	rt "$mode" delete -f "xpid-$mode"
}

# ---- gap 9: a hook without env -----------------------------------------------------------------
# runc runs it with the runtime's environment (its PATH); [] stays an empty one.
t_hook_path() {
	local mode=$1 f=$T/$1/hook.env g=$T/$1/hook-empty.env
	rm -f "$f" "$g"
	run_in "$mode" hookpath 'echo ran' "
c['hooks'] = {'prestart': [
  {'path': '/bin/sh', 'args': ['sh', '-c', 'echo \"PATH=\$PATH\" >$f']},
  {'path': '/bin/sh', 'args': ['sh', '-c', 'env >$g'], 'env': []}]}" || return
	expect_rc 0
	expect_out "ran"
	expect_eq "the hook's PATH" "PATH=$RT_PATH" "$(cat "$f" 2>/dev/null)"
	grep -q "^PATH=$RT_PATH\$" "$g" 2>/dev/null && fail "a hook with env [] got the runtime's PATH"
	expect_nothing_left "$mode"
}

# ---- gap 12: sysctls without their namespace ---------------------------------------------------
# sysctl_refused MODE NAME DROP_NS SYSCTL_JSON MESSAGE [PYTHON]: create fails with MESSAGE
# (runc's words) and nothing runs.
sysctl_refused() {
	local mode=$1 name=$2
	run_in "$mode" "$name" 'echo ran' "
c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != '$3']
c['linux']['sysctl'] = $4
${6:-}" || return
	expect_rc 1
	expect_err_unq "$5"
	case $OUT in *ran*) fail_cmd "the container ran" ;; esac
	expect_nothing_left "$mode"
}

t_sysctl_ns() {
	local mode=$1
	sysctl_refused "$mode" mq ipc "{'fs.mqueue.msg_max': '12'}" \
		'sysctl "fs.mqueue.msg_max" is not allowed in the hosts ipc namespace'
	sysctl_refused "$mode" shm ipc "{'kernel.shmmni': '100'}" \
		'sysctl "kernel.shmmni" is not allowed in the hosts ipc namespace'
	sysctl_refused "$mode" net network "{'net.ipv4.ip_forward': '1'}" \
		'sysctl "net.ipv4.ip_forward" not allowed in host network namespace'
	sysctl_refused "$mode" hn none "{'kernel.hostname': 'x'}" \
		'sysctl "kernel.hostname" is not allowed as it conflicts with the OCI "hostname" field'
	sysctl_refused "$mode" hn2 uts "{'kernel.hostname': 'x'}" \
		'sysctl "kernel.hostname" is not in a separate kernel namespace' "c.pop('hostname', None)"
	sysctl_refused "$mode" vm none "{'vm.swappiness': '10'}" \
		'sysctl "vm.swappiness" is not in a separate kernel namespace'
}

# ferry-oci and crun refuse a kernel.domainname other than the domainname field (runc 1.1 sets
# both, the sysctl last).
t_sysctl_domainname() {
	sysctl_refused "$1" dn none "{'kernel.domainname': 'b.example'}" \
		'sysctl "kernel.domainname" is not allowed as it conflicts with the OCI "domainname" field' \
		"c['domainname'] = 'a.example'"
}

# With their namespaces they are set (root: an IPC and a network namespace of its own).
t_sysctl_ok() {
	run_in root sysok 'cat /proc/sys/fs/mqueue/msg_max /proc/sys/kernel/domainname' "
c['linux']['sysctl'] = {'fs.mqueue.msg_max': '12', 'kernel.domainname': 'd.example',
                        'net.ipv4.ip_forward': '1'}" || return
	expect_rc 0
	expect_out $'12\nd.example'
}

# ---- gap 13: SCMP_ACT_NOTIFY --------------------------------------------------------------------
# ferry-oci does not implement seccomp user notification: create fails naming it and features
# does not list it (runc 1.1 implements it: it runs the container and lists the action).
t_notify() {
	local mode=$1
	run_in "$mode" notify 'echo ran' "
c['linux']['seccomp'] = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': T + '/notify.sock',
  'syscalls': [{'names': ['mkdirat'], 'action': 'SCMP_ACT_NOTIFY'}]}" || return
	expect_rc 1
	expect_err_has "SCMP_ACT_NOTIFY is not supported"
	case $OUT in *ran*) fail_cmd "the container ran" ;; esac
	expect_nothing_left "$mode"
	rt "$mode" features
	expect_rc 0
	case $OUT in *SCMP_ACT_NOTIFY*) fail_cmd "features lists SCMP_ACT_NOTIFY" ;; esac
	case $OUT in *SCMP_ACT_ALLOW*) ;; *) fail_cmd "features lists no seccomp actions" ;; esac
}

# ---- gap 11: a missing process.cwd in a read-only root -----------------------------------------
# runc and crun create it (0755) before the root is made read-only.
t_cwd_created() {
	local mode=$1
	rm -rf "$T/$mode/rootfs/newcwd"
	run_in "$mode" cwd 'pwd; stat -c %a .; touch /x 2>/dev/null || echo read-only' \
		"c['process']['cwd'] = '/newcwd/sub'" || return
	expect_rc 0
	expect_out $'/newcwd/sub\n755\nread-only'
	expect_nothing_left "$mode"
}

for mode in root rootless; do
	check "$mode: gap 5: the host's /dev bound with rbind and device rules" t_dev_rbind "$mode"
	check "$mode: gap 8: exec --cap of an unknown capability warns and runs" \
		t_exec_unknown_cap "$mode"
	check "$mode: gap 8: exec --env replaces an earlier entry, the last wins" \
		t_exec_env_last "$mode"
	check "$mode: gap 8: exec --pid-file without --detach writes the file" \
		t_exec_pidfile_fg "$mode"
	check "$mode: gap 9: a hook without env sees the runtime's PATH" t_hook_path "$mode"
	check "$mode: gap 11: a missing process.cwd is created in a read-only root" \
		t_cwd_created "$mode"
	check "$mode: gap 12: sysctls without their namespace are refused in runc's words" \
		t_sysctl_ns "$mode"
	check "$mode: gap 12: kernel.domainname conflicting with domainname is refused" \
		t_sysctl_domainname "$mode"
	check "$mode: gap 13: SCMP_ACT_NOTIFY fails create and is not in features" t_notify "$mode"
done
check "root: gap 12: sysctls with their namespaces are set" t_sysctl_ok
check "root: gap 10: bind sources under a mode-000 directory, direct and symlinked" \
	t_bind_unreachable
check "root: gap 6: a user namespace's device nodes are made and chowned (uid/gid)" \
	t_userns_devices
oci_done
