#!/bin/bash
# t-debian: a real distribution root made by mmdebstrap (Debian bookworm, minbase), as a zstd
# squashfs and as a directory: dpkg/apt tooling, bash, identity, nothing left behind.
. "$(dirname "$0")/lib.sh"
fy_init

DEB=$FIXDIR/debian.sqfs
DEBDIR=$FIXDIR/debian.dir
FY_TIMEOUT=120

t_version() { # t_version IMAGE
	FY_TIMEOUT=120
	fy exec "$1" cat /etc/debian_version
	expect_rc 0
	expect_out_re '^12\.[0-9]+$'
}
check "cat /etc/debian_version prints 12.x (squashfs)" t_version "$DEB"
check "cat /etc/debian_version prints 12.x (directory)" t_version "$DEBDIR"

t_apt() {
	FY_TIMEOUT=120
	fy exec "$DEB" apt-config dump
	expect_rc 0
	expect_out_has 'APT::Architecture "amd64";'
	fy exec "$DEB" dpkg-query -W -f '${Package} ${Status}\n' bash
	expect_rc 0
	expect_out 'bash install ok installed'
}
check "apt-config dump and dpkg-query work" t_apt

t_ls() {
	FY_TIMEOUT=120
	fy exec "$DEB" sh -c 'ls -l /usr/bin | head -n 5'
	expect_rc 0
	[ "$(wc -l <"$OUT_F")" = 5 ] || fail "expected 5 lines from ls -l /usr/bin | head -n 5"
	fy exec "$DEB" sh -c 'ls /usr/bin | wc -l'
	expect_rc 0
	[ "$OUT" -gt 100 ] 2>/dev/null || fail "/usr/bin has only $OUT entries"
}
check "ls -l /usr/bin | head" t_ls

t_id() {
	FY_TIMEOUT=120
	fy exec "$DEB" id
	expect_rc 0
	expect_out_re "^uid=$TUID\\($TUSER\\) gid=$TGID\\($TGROUP\\)"
	fy exec "$DEB" whoami
	expect_rc 0
	expect_out "$TUSER"
	fy exec "$DEB" sh -c 'echo "$HOME"; getent passwd root | cut -d: -f1'
	expect_rc 0
	expect_out "$THOME
root"
}
check "id, whoami, getent inside Debian" t_id

t_bash_shell() {
	FY_TIMEOUT=120
	printf 'echo "bash=${BASH_VERSION%%%%.*}"\nexit 0\n' >"$DATA/in"
	FY_STDIN=$DATA/in
	fy shell "$DEB"
	expect_rc 0
	expect_out bash=5
}
check "ferry shell picks bash" t_bash_shell

t_dynamic() {
	FY_TIMEOUT=120
	# Dynamically linked programs (ld.so, libc from the image) and a non-trivial read pattern.
	fy exec "$DEB" sh -c 'ldd /usr/bin/ls | grep -c libc.so.6; sha256sum /usr/lib/x86_64-linux-gnu/libc.so.6 | cut -c1-64'
	expect_rc 0
	local host
	host=$(unsquashfs -cat "$DEB" /usr/lib/x86_64-linux-gnu/libc.so.6 2>/dev/null | sha256sum | cut -c1-64)
	expect_out "1
$host"
}
check "dynamic programs run; libc read through FUSE matches unsquashfs" t_dynamic

t_env() {
	FY_TIMEOUT=120
	fy exec "$DEB" sh -c 'echo "$PATH"'
	expect_rc 0
	# No /.ferry config: ferry's default PATH, not the host's.
	expect_out_re '/usr/bin'
}
check "a PATH is set without an image config" t_env

t_pid_debian() {
	FY_TIMEOUT=120
	fy exec --pid --contain "$DEB" sh -c 'ps -e 2>/dev/null | wc -l; ls /proc | grep -c "^[0-9]"'
	expect_rc 0
	[ "$(sed -n 2p "$OUT_F")" -le 4 ] 2>/dev/null || fail "--pid shows too many processes"
}
check "--pid --contain on Debian" t_pid_debian

t_run_nocfg() {
	FY_TIMEOUT=120
	fy run "$DEB"
	expect_rc_in "2 4"
	expect_one_error_line
}
check "run on Debian (no /.ferry): clear error" t_run_nocfg

fy_done
