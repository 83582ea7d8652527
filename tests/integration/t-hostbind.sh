#!/bin/bash
# t-hostbind: image symlinks and bind destinations never make ferry create, write or mount over
# anything on the host (issue 8, D2). A mount point that would have to be created inside a host
# bind (home, /tmp, -B), or that an image symlink leads into one, is refused with one line;
# nothing is left on the host. Each image case runs as squashfs and as a directory image.
. "$(dirname "$0")/lib.sh"
fy_init

# Unique names in the shared /tmp, so that other runs cannot disturb the "nothing new" checks.
TX=/tmp/fyhb-x-$$
TY=/tmp/fyhb-y-$$
TA=/tmp/fyhb-a-$$
rm -rf "$TX" "$TY" "$TA" "$THOME/.ssh" "$THOME/newfile" "$THOME/hosts"

# mkimg NAME LINK TARGET: a busybox-only root whose LINK is a symlink to TARGET, as NAME.dir
# and NAME.sqfs.
mkimg() {
	local d=$DATA/$1.dir
	mkdir -p "$d/bin" "$d/tmp" "$d/proc" "$d/sys" "$d/dev" "$d/home" "$d/etc"
	install -m 755 "$BUSYBOX" "$d/bin/busybox"
	rm -rf "${d:?}/$2"
	ln -s "$3" "$d/$2"
	chmod -R a+rX "$d"
	"$MKSQUASHFS" "$d" "$DATA/$1.sqfs" -noappend -quiet -no-progress -all-root >/dev/null ||
		fy_die "mksquashfs $1 failed"
	chmod 644 "$DATA/$1.sqfs"
}
mkimg ssh etc "$THOME/.ssh"
mkimg tmpx etc "$TX"
mkimg tmpy home "$TY"
mkimg homeetc etc "$THOME"
echo 'src file' >"$DATA/f"
fy_user_dir "$DATA/src" "$DATA/d1" "$DATA/d2"
chown "$TUID:$TGID" "$DATA/f"

HOME_BEFORE=$(ls -A "$THOME")

# nothing_new: none of the paths exists, and the home directory lists as before.
nothing_new() {
	local p
	for p in "$@"; do
		[ ! -e "$p" ] && [ ! -L "$p" ] || fail "ferry created $p on the host: $(ls -la "$p" 2>&1 | head -5)"
	done
	[ "$(ls -A "$THOME")" = "$HOME_BEFORE" ] ||
		fail "the home directory changed: now $(ls -A "$THOME" | tr '\n' ' ')"
}

t_etc_ssh() {
	local img
	for img in "$DATA/ssh.sqfs" "$DATA/ssh.dir"; do
		fy exec "$img" /bin/busybox true
		expect_error 1 "^ferry: /etc/hosts: cannot create mount point /etc/hosts: a symlink leads it to $THOME/\.ssh/hosts, inside $THOME, which is bound from the host\$"
		nothing_new "$THOME/.ssh"
	done
}
check "/etc -> ~/.ssh in the image: refused, no ~/.ssh on the host" t_etc_ssh

t_etc_tmp() {
	local img
	for img in "$DATA/tmpx.sqfs" "$DATA/tmpx.dir"; do
		fy exec "$img" /bin/busybox true
		expect_error 1 "^ferry: /etc/hosts: cannot create mount point /etc/hosts: a symlink leads it to $TX/hosts, inside /tmp, which is bound from the host\$"
		nothing_new "$TX"
	done
}
check "/etc -> /tmp/x in the image: refused, no /tmp/x on the host" t_etc_tmp

t_home_tmp() {
	local img
	for img in "$DATA/tmpy.sqfs" "$DATA/tmpy.dir"; do
		fy exec "$img" /bin/busybox true
		expect_error 1 "^ferry: $THOME: cannot create mount point $THOME: a symlink leads it to $TY/${THOME#/home/}, inside /tmp, which is bound from the host\$"
		nothing_new "$TY"
	done
}
check "/home -> /tmp/y in the image: refused, no /tmp/y on the host" t_home_tmp

t_etc_home_existing() {
	local img
	echo 'host hosts' >"$THOME/hosts"
	chown "$TUID:$TGID" "$THOME/hosts"
	for img in "$DATA/homeetc.sqfs" "$DATA/homeetc.dir"; do
		fy exec "$img" /bin/busybox true
		expect_error 1 "^ferry: /etc/hosts: refusing mount point /etc/hosts: a symlink leads it to $THOME/hosts, inside $THOME, which is bound from the host\$"
		[ "$(cat "$THOME/hosts")" = 'host hosts' ] || fail "the host's $THOME/hosts changed"
	done
	rm -f "$THOME/hosts"
	nothing_new
}
check "/etc -> ~ in the image: no mount over the host's ~/hosts" t_etc_home_existing

t_bind_tmp_new() {
	fy exec -B "$DATA/src:$TA/b" "$IMG" true
	expect_error 1 "^ferry: $TA/b: cannot create mount point $TA/b inside /tmp, which is bound from the host \(create it there first\)\$"
	nothing_new "$TA"
}
check "-B SRC:/tmp/a/b: refused, no /tmp/a on the host" t_bind_tmp_new

t_bind_home_file() {
	fy exec -B "$DATA/f:$THOME/newfile" "$IMG" true
	expect_error 1 "^ferry: $THOME/newfile: cannot create mount point $THOME/newfile inside $THOME, which is bound from the host \(create it there first\)\$"
	nothing_new "$THOME/newfile"
}
check "-B FILE:~/newfile: refused, no ~/newfile on the host" t_bind_home_file

t_bind_nested_new() {
	fy exec -B "$DATA/d1:/mnt/x" -B "$DATA/d2:/mnt/x/sub" "$IMG" true
	expect_error 1 "^ferry: /mnt/x/sub: cannot create mount point /mnt/x/sub inside /mnt/x, which is bound from the host \(create it there first\)\$"
	nothing_new "$DATA/d1/sub"
}
check "a nested -B whose mount point the outer bind lacks: refused, nothing created" t_bind_nested_new

t_bind_existing_ok() {
	mkdir -p "$TA/b"
	: >"$TA/b/f"
	chown -R "$TUID:$TGID" "$TA"
	fy exec -B "$DATA/f:$TA/b/f" "$IMG" cat "$TA/b/f"
	expect_rc 0
	expect_out 'src file'
	[ ! -s "$TA/b/f" ] || fail "the host's $TA/b/f was written"
	rm -rf "$TA"
}
check "-B onto existing paths inside a host bind still works" t_bind_existing_ok

fy_done
