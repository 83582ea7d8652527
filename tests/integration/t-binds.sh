#!/bin/bash
# t-binds: -B/--bind and --mount: forms, read-only, lists, missing sources, destinations that the
# read-only image lacks, files, relative sources.
. "$(dirname "$0")/lib.sh"
fy_init

D1=$DATA/d1
D2=$DATA/d2
fy_user_dir "$D1" "$D2"
echo one >"$D1/file"
echo two >"$D2/file"
echo 'host file' >"$DATA/host-file.txt"
chown -R "$TUID:$TGID" "$DATA" 2>/dev/null

t_bind_same() {
	fy exec -B "$D1" "$IMG" cat "$D1/file"
	expect_rc 0
	expect_out one
}
check "-B SRC binds at the same path (created in the read-only image)" t_bind_same

t_bind_dst() {
	fy exec --bind "$D1:/mnt" "$IMG" cat /mnt/file
	expect_rc 0
	expect_out one
}
check "--bind SRC:DST onto an existing directory" t_bind_dst

t_bind_new_dst() {
	fy exec -B "$D1:/does/not/exist/deep" "$IMG" cat /does/not/exist/deep/file
	expect_rc 0
	expect_out one
	# The image itself is unchanged.
	fy exec "$IMG" sh -c 'if test -e /does; then echo /does-still-there; else echo no-/does; fi'
	expect_rc 0
	expect_out no-/does
}
check "bind destination missing from the read-only image gets created" t_bind_new_dst

t_bind_dir_image() {
	fy exec -B "$D1:/does/not/exist" "$FIXDIR/bb.dir" cat /does/not/exist/file
	expect_rc 0
	expect_out one
	[ ! -e "$FIXDIR/bb.dir/does" ] || fail_plain "ferry created /does inside the directory image on the host"
}
check "missing destination in a directory image, host tree untouched" t_bind_dir_image

t_bind_rw() {
	fy exec -B "$D1:/mnt:rw" "$IMG" sh -c 'echo written > /mnt/rw-file'
	expect_rc 0
	[ "$(cat "$D1/rw-file" 2>/dev/null)" = written ] || fail "the write did not reach the host"
}
check "SRC:DST:rw is writable" t_bind_rw

t_bind_ro() {
	fy exec -B "$D1:/mnt:ro" "$IMG" sh -c 'echo x > /mnt/ro-file'
	expect_rc 1
	expect_err_has "can't create /mnt/ro-file: Read-only file system"
	[ ! -e "$D1/ro-file" ] || fail "the file was created on the host"
	fy exec -B "$D1:/mnt:ro" "$IMG" cat /mnt/file
	expect_rc 0
	expect_out one
}
check "SRC:DST:ro is read-only and readable" t_bind_ro

t_bind_list() {
	fy exec -B "$D1:/mnt/a,$D2:/mnt/b:ro" "$IMG" cat /mnt/a/file /mnt/b/file
	expect_rc 0
	expect_out "one
two"
}
check "comma-separated list in one -B" t_bind_list

t_bind_repeat() {
	fy exec -B "$D1:/mnt/a" --bind "$D2:/mnt/b" "$IMG" cat /mnt/a/file /mnt/b/file
	expect_rc 0
	expect_out "one
two"
}
check "-B repeated" t_bind_repeat

t_bind_nested() {
	# The inner mount point must exist in the outer bind: ferry creates nothing on the host
	# (t-hostbind.sh checks the refusal).
	fy_user_dir "$D1/sub"
	fy exec -B "$D1:/mnt/x" -B "$D2:/mnt/x/sub" "$IMG" cat /mnt/x/file /mnt/x/sub/file
	expect_rc 0
	expect_out "one
two"
}
check "nested binds (parent first)" t_bind_nested

t_mount() {
	fy exec --mount "type=bind,src=$D1,dst=/mnt/m" "$IMG" cat /mnt/m/file
	expect_rc 0
	expect_out one
	fy exec --mount "type=bind,source=$D1,destination=/mnt/m,ro" "$IMG" sh -c 'echo x > /mnt/m/f'
	expect_rc 1
	expect_err_has "can't create /mnt/m/f: Read-only file system"
	[ ! -e "$D1/f" ] || fail "--mount ...,ro wrote to the host"
}
check "--mount type=bind,src=,dst=[,ro]" t_mount

t_bind_file() {
	fy exec -B "$DATA/host-file.txt:/etc/motd" "$IMG" cat /etc/motd
	expect_rc 0
	expect_out 'host file'
}
check "bind a file over a file of the image" t_bind_file

t_bind_file_new() {
	fy exec -B "$DATA/host-file.txt:/opt/new-file.txt" "$IMG" cat /opt/new-file.txt
	expect_rc 0
	expect_out 'host file'
}
check "bind a file to a path the image lacks" t_bind_file_new

t_bind_relative() {
	FY_CWD=$DATA
	fy exec -B "d1:/mnt/rel" "$IMG" cat /mnt/rel/file
	expect_rc 0
	expect_out one
}
check "relative SRC resolves against the cwd" t_bind_relative

t_bind_over_cwd() {
	fy exec -B "$D2:$WORK" "$IMG" cat file
	expect_rc 0
	expect_out two
}
check "a user bind over the cwd wins over the automatic cwd bind" t_bind_over_cwd

t_bind_missing() {
	fy exec -B "$DATA/no-such-dir:/mnt" "$IMG" true
	expect_error 2 'no-such-dir'
}
check "missing bind source: exit 2, one line naming it" t_bind_missing

t_bind_symlink() {
	ln -sfn "$D1" "$DATA/link-to-d1"
	fy exec -B "$DATA/link-to-d1:/mnt/l" "$IMG" cat /mnt/l/file
	expect_rc 0
	expect_out one
}
check "bind source that is a symlink to a directory" t_bind_symlink

fy_done
