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

# ---- --fakeroot installs packages (issue 14): the calls about other ids are faked ----------------
# A tiny package made here: /usr/bin/fy-hello, and a file owned by 123:456 in the archive, so
# dpkg must chown to an id that is not mapped.
make_deb() {
	local d=$DATA/debsrc
	rm -rf "$d" && mkdir -p "$d/DEBIAN" "$d/usr/bin" "$d/usr/share/fy-hello" || return 1
	printf 'Package: fy-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: ferry tests <t@example.invalid>\nDescription: ferry fakeroot test package\n' >"$d/DEBIAN/control"
	printf '#!/bin/sh\necho "hello from fy-hello"\n' >"$d/usr/bin/fy-hello"
	chmod 755 "$d/usr/bin/fy-hello"
	echo owned >"$d/usr/share/fy-hello/owned"
	chown 123:456 "$d/usr/share/fy-hello/owned"
	mkdir -p "$DATA/repo" && dpkg-deb --build "$d" "$DATA/repo/fy-hello_1.0_all.deb" >/dev/null || return 1
	chmod -R a+rX "$DATA/repo"
}
make_deb || fy_die "cannot build the test package with dpkg-deb"
HELLO_DEB=$DATA/repo/fy-hello_1.0_all.deb

t_fakeroot_dry_run() {
	fy exec --fakeroot --dry-run "$DEB" true
	expect_rc 0
	expect_out_re '^faked \(return 0\): chown fchown lchown fchownat .* setresuid .* mknod\(devices\) mknodat\(devices\)$'
	expect_out_has "env: APT_CONFIG=/etc/ferry-fakeroot-apt.conf"
	fy exec --dry-run "$DEB" true
	expect_rc 0
	expect_out_lacks "faked"
}
check "--fakeroot --dry-run lists the faked calls" t_fakeroot_dry_run

t_fakeroot_install_deb() {
	FY_TIMEOUT=120
	fy exec --fakeroot --writable-tmpfs "$DEB" sh -c "apt-get install -y $HELLO_DEB >/dev/null 2>&1 || apt-get install -y $HELLO_DEB; fy-hello; stat -c %u:%g /usr/share/fy-hello/owned; dpkg-query -W -f '\${Status}\n' fy-hello"
	expect_rc 0
	# The chown to 123:456 "succeeded": the file keeps the caller's owner, root inside.
	expect_out "hello from fy-hello
0:0
install ok installed"
}
check "--fakeroot --writable-tmpfs: apt-get install ./fy-hello.deb" t_fakeroot_install_deb

# A local stand-in for a Debian mirror: a flat repository (Packages and Release) served on
# 127.0.0.1 by python3's http.server, trusted=yes since it is unsigned.
make_repo() {
	local r=$DATA/repo size sha
	size=$(stat -c %s "$HELLO_DEB") sha=$(sha256sum "$HELLO_DEB" | cut -c1-64)
	{
		sed -n 's/^\(Package\|Version\|Architecture\|Maintainer\|Description\):/&/p' "$DATA/debsrc/DEBIAN/control"
		printf 'Filename: ./fy-hello_1.0_all.deb\nSize: %s\nSHA256: %s\n\n' "$size" "$sha"
	} >"$r/Packages"
	{
		printf 'Origin: ferry-tests\nLabel: ferry-tests\nDate: %s\nSHA256:\n' "$(LC_ALL=C date -u -R)"
		printf ' %s %s Packages\n' "$(sha256sum "$r/Packages" | cut -c1-64)" "$(stat -c %s "$r/Packages")"
	} >"$r/Release"
	chmod a+r "$r/Packages" "$r/Release"
}
make_repo || fy_die "cannot write the test repository"

HTTP_PID=
http_start() { # serves $DATA/repo; sets HTTP_PORT
	local i
	python3 -u -m http.server --bind 127.0.0.1 --directory "$DATA/repo" 0 >"$DATA/http.out" 2>"$DATA/http.err" &
	HTTP_PID=$!
	for ((i = 0; i < 100; i++)); do
		HTTP_PORT=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$DATA/http.out" 2>/dev/null | head -n1)
		[ -n "$HTTP_PORT" ] && return 0
		sleep 0.1
	done
	fail "python3 -m http.server did not start: $(cat "$DATA/http.err")"
	return 1
}
http_stop() {
	[ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null && wait "$HTTP_PID" 2>/dev/null
	HTTP_PID=
}

t_fakeroot_apt_repo() {
	FY_TIMEOUT=180
	http_start || return
	fy exec --fakeroot --writable-tmpfs "$DEB" sh -c "echo 'deb [trusted=yes] http://127.0.0.1:$HTTP_PORT/ ./' >/etc/apt/sources.list && apt-get update && apt-get install -y fy-hello && fy-hello"
	http_stop
	expect_rc 0
	expect_out_has "hello from fy-hello"
	expect_out_lacks "Could not switch"
}
check "--fakeroot --writable-tmpfs: apt-get update && apt-get install from a local http repository" t_fakeroot_apt_repo

t_fakeroot_chown() {
	FY_TIMEOUT=120
	fy_as_user sh -c "rm -f '$DATA/owned' && echo x >'$DATA/owned'"
	fy exec --fakeroot "$DEB" sh -c "chown 123:456 $DATA/owned && chgrp 7 $DATA/owned && stat -c %u:%g $DATA/owned"
	expect_rc 0
	expect_out "0:0"
	[ "$(stat -c %u:%g "$DATA/owned")" = "$TUID:$TGID" ] ||
		fail "after the faked chown the host sees $(stat -c %u:%g "$DATA/owned"), not $TUID:$TGID"
	# Without --fakeroot nothing is faked: the kernel's answer comes through (EINVAL: 123 is
	# not mapped in the namespace at all).
	fy exec "$DEB" chown 123:456 "$DATA/owned"
	expect_rc 1
	grep -qE "changing ownership of .*: (Invalid argument|Operation not permitted)" "$ERR_F" ||
		fail "chown without --fakeroot did not fail with EINVAL or EPERM"
}
check "--fakeroot: chown 123:456 succeeds, the file keeps the caller's owner; without it EINVAL" t_fakeroot_chown

t_fakeroot_overlay() {
	FY_TIMEOUT=180
	local ovl=$DATA/ovl
	rm -rf "$ovl" && fy_user_dir "$ovl"
	fy exec --fakeroot --overlay "$ovl" "$DEB" sh -c "apt-get install -y $HELLO_DEB >/dev/null 2>&1 || apt-get install -y $HELLO_DEB"
	expect_rc 0
	# A second container on the same overlay, not even fakeroot: the package is there.
	fy exec --overlay "$ovl" "$DEB" sh -c "fy-hello; dpkg-query -W -f '\${Status}\n' fy-hello"
	expect_rc 0
	expect_out "hello from fy-hello
install ok installed"
	[ -f "$ovl/upper/usr/bin/fy-hello" ] || fail "$ovl/upper/usr/bin/fy-hello is missing on the host"
	rm -rf "$ovl"
}
check "--fakeroot --overlay DIR: the installed package persists" t_fakeroot_overlay

fy_done
