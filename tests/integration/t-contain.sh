#!/bin/bash
# t-contain: isolation options: --contain, --containall, --writable-tmpfs, --hostname, --pid,
# --net=none, --fakeroot.
. "$(dirname "$0")/lib.sh"
fy_init

HOSTTMP=/tmp/fyitest-hostfile-$$
echo host >"$HOSTTMP"
chmod 644 "$HOSTTMP"
trap 'rm -f "$HOSTTMP" ${HOSTDEV_MADE:+"$HOSTDEV_MADE"}' EXIT
echo 'marker in home' >"$THOME/.fyitest-marker"
chown "$TUID:$TGID" "$THOME/.fyitest-marker" 2>/dev/null
HOSTDEV=
for d in vda sda nvme0n1 xvda kmsg mem loop0 port; do
	if [ -e "/dev/$d" ]; then
		HOSTDEV=$d
		break
	fi
done
# A host without any of them: as root, make a device node (the null device, 1:3) to look for.
if [ -z "$HOSTDEV" ] && [ "$(id -u)" = 0 ] && mknod -m 666 "/dev/fyitest-dev-$$" c 1 3; then
	HOSTDEV=fyitest-dev-$$
	HOSTDEV_MADE=/dev/$HOSTDEV
fi
NO_HOSTDEV="no host device to look for: none of /dev/{vda,sda,nvme0n1,xvda,kmsg,mem,loop0,port} exists and /dev/fyitest-dev-$$ could not be made (needs root)"

t_default_shares() {
	# Baseline for the checks below: without --contain the host /tmp and home are there.
	fy exec "$IMG" cat "$HOSTTMP" "$THOME/.fyitest-marker"
	expect_rc 0
	expect_out "host
marker in home"
	if [ -n "$HOSTDEV" ]; then
		fy exec "$IMG" ls "/dev/$HOSTDEV"
		expect_rc 0
		expect_out "/dev/$HOSTDEV"
	else
		fail_plain "$NO_HOSTDEV"
	fi
}
check "without --contain: host /tmp, home and /dev are shared" t_default_shares

t_contain_dev() {
	local d
	fy exec --contain "$IMG" ls -A /dev
	expect_rc 0
	for d in null zero full random urandom tty ptmx pts shm; do
		grep -qx "$d" "$OUT_F" || fail "--contain: /dev/$d is missing"
	done
	[ -n "$HOSTDEV" ] || fail_plain "$NO_HOSTDEV"
	! grep -qx "$HOSTDEV" "$OUT_F" || fail "--contain: host /dev/$HOSTDEV is visible"
	[ "$(wc -l <"$OUT_F")" -le 20 ] || fail "--contain: /dev has $(wc -l <"$OUT_F") entries"
	fy exec -c "$IMG" sh -c 'echo x > /dev/null && head -c 4 /dev/zero | od -An -tx1 && test -d /dev/pts && test -w /dev/shm && echo ok'
	expect_rc 0
	expect_out " 00 00 00 00
ok"
}
check "--contain: minimal /dev (null zero tty ptmx pts shm ..., no host devices)" t_contain_dev

t_contain_tmp() {
	fy exec --contain "$IMG" sh -c "ls /tmp; test -e $HOSTTMP && echo visible; echo x > /tmp/inside && echo written; echo y > /var/tmp/inside && echo written"
	expect_rc 0
	expect_out_lacks visible
	expect_out_lacks "${HOSTTMP#/tmp/}"
	expect_out_has written
	[ ! -e /tmp/inside ] || fail "--contain: /tmp/inside appeared on the host"
	[ ! -e /var/tmp/inside ] || fail "--contain: /var/tmp/inside appeared on the host"
}
check "--contain: private, writable /tmp and /var/tmp" t_contain_tmp

t_contain_home() {
	# The commands' own messages: the container ran and the paths were not there.
	fy exec -c "$IMG" cat "$THOME/.fyitest-marker"
	expect_rc 1
	expect_err_has "cat: can't open '$THOME/.fyitest-marker': No such file or directory"
	fy exec -c "$IMG" ls "$WORK"
	expect_rc 1
	expect_err_has "ls: $WORK: No such file or directory"
}
check "--contain: no host home, no host cwd" t_contain_home

t_contain_bind() {
	fy_user_dir "$DATA/b"
	echo b >"$DATA/b/f"
	fy exec -c -B "$DATA/b:/mnt" "$IMG" cat /mnt/f
	expect_rc 0
	expect_out b
}
check "--contain still honours explicit binds" t_contain_bind

t_containall() {
	FY_ENV=(FYITEST_VAR=1)
	fy exec --containall "$IMG" sh -c "echo \"\${FYITEST_VAR-unset} \$\$\"; test -e $HOSTTMP && echo tmp-visible; test -e $THOME/.fyitest-marker && echo home-visible; ls /dev | wc -l"
	expect_rc 0
	expect_out_re '^unset [0-9]$'
	expect_out_lacks visible
	FY_ENV=(FYITEST_VAR=1)
	fy exec -C "$IMG" sh -c 'echo "$FOO"'
	expect_out from-image
}
check "--containall/-C: contain + cleanenv + pid" t_containall

t_wtmpfs() {
	fy exec --writable-tmpfs "$IMG" sh -c 'echo new > /newfile && cat /newfile'
	expect_rc 0
	expect_out new
	fy exec "$IMG" sh -c 'test -e /newfile && echo still-there; echo done'
	expect_out done
}
check "--writable-tmpfs: / writable, changes vanish" t_wtmpfs

t_wtmpfs_fakeroot() {
	# The usual use: fakeroot + writable tmpfs to change root-owned files of the image.
	fy exec --fakeroot --writable-tmpfs "$IMG" sh -c 'echo changed > /etc/motd && mkdir /usr/new && cat /etc/motd'
	expect_rc 0
	expect_out changed
	fy exec "$IMG" cat /etc/motd
	expect_out 'image motd'
}
check "--fakeroot --writable-tmpfs: root-owned image files writable, changes vanish" t_wtmpfs_fakeroot

t_wtmpfs_dir() {
	fy exec --writable-tmpfs "$FIXDIR/bb.dir" sh -c 'echo new > /newfile && rm /etc/motd && echo ok'
	expect_rc 0
	expect_out ok
	[ ! -e "$FIXDIR/bb.dir/newfile" ] && [ -e "$FIXDIR/bb.dir/etc/motd" ] ||
		fail "--writable-tmpfs changed the directory image on the host"
}
check "--writable-tmpfs over a directory image leaves the host tree alone" t_wtmpfs_dir

t_readonly_root() {
	fy exec "$IMG" sh -c 'echo x > /newfile'
	expect_rc 1
	expect_err_has "can't create /newfile: Read-only file system"
}
check "without --writable-tmpfs the root is read-only" t_readonly_root

t_hostname() {
	fy exec --hostname inside-box "$IMG" sh -c 'hostname; cat /proc/sys/kernel/hostname'
	expect_rc 0
	expect_out "inside-box
inside-box"
	[ "$(hostname)" = "$HOSTNAME_HOST" ] || fail_plain "the host's hostname changed to $(hostname)"
}
check "--hostname sets the name in a new UTS namespace only" t_hostname

t_pid() {
	fy exec --pid "$IMG" sh -c 'echo $$; ls /proc | grep -c "^[0-9]"'
	expect_rc 0
	local pid n
	pid=$(sed -n 1p "$OUT_F")
	n=$(sed -n 2p "$OUT_F")
	[ "$pid" != 1 ] || fail "--pid: the command is pid 1 (expected a small init as pid 1)"
	[ -n "$pid" ] && [ "$pid" -lt 10 ] 2>/dev/null || fail "--pid: command pid $pid is not in a new namespace"
	[ -n "$n" ] && [ "$n" -le 4 ] 2>/dev/null || fail "--pid: /proc shows $n processes"
	fy exec -p "$IMG" ps
	expect_rc 0
	[ "$(wc -l <"$OUT_F")" -le 5 ] || fail "--pid: ps shows too many processes"
}
check "--pid/-p: few processes, the command is not pid 1" t_pid

t_net_none() {
	fy exec --net=none "$IMG" sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
	expect_rc 0
	expect_out lo
	fy exec --net none "$IMG" sh -c 'ip -o link | wc -l'
	expect_rc 0
	expect_out 1
}
check "--net=none: only lo" t_net_none

t_net_default() {
	fy exec "$IMG" sh -c 'tail -n +3 /proc/net/dev | wc -l'
	expect_rc 0
	[ "$OUT" = "$(tail -n +3 /proc/net/dev | wc -l)" ] || fail "the host network is not shared by default"
}
check "default: host network shared" t_net_default

t_fakeroot() {
	fy exec --fakeroot "$IMG" sh -c 'id -u; id -g; touch /tmp/fr-test && stat -c %u /tmp/fr-test; rm /tmp/fr-test'
	expect_rc 0
	expect_out "0
0
0"
	fy exec --fakeroot "$IMG" sh -c 'echo "$(stat -c %u "$PWD") $(stat -c %u /bin/busybox)"'
	expect_rc 0
	expect_out_re '^0 (0|65534)$'
}
check "--fakeroot: uid and gid 0, own files are root's" t_fakeroot

t_fakeroot_hostview() {
	fy exec --fakeroot "$IMG" sh -c "echo x > $WORK/fr-file"
	expect_rc 0
	[ "$(stat -c %u "$WORK/fr-file" 2>/dev/null)" = "$TUID" ] || fail "a file made as fake root is not owned by $TUID on the host"
}
check "--fakeroot: files written belong to the caller on the host" t_fakeroot_hostview

t_tmpfs_size() {
	# The last mount on /tmp (the one in effect) is a tmpfs, and df sees it.
	fy exec -c "$IMG" sh -c 'awk '\''$2 == "/tmp" { t = $1 " " $3 } END { print t }'\'' /proc/mounts; df -k /tmp | tail -n 1'
	expect_rc 0
	[ "$(sed -n 1p "$OUT_F")" = "tmpfs tmpfs" ] || fail "--contain: /tmp is not a tmpfs mount in /proc/mounts"
	sed -n 2p "$OUT_F" | grep -qE '^tmpfs +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+% +/tmp$' ||
		fail "--contain: df /tmp does not show the tmpfs"
}
check "--contain /tmp is a mounted tmpfs (/proc/mounts, df)" t_tmpfs_size

fy_done
