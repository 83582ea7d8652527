#!/bin/bash
# t-badimg: squashfs images whose superblock lies (counts, table positions, sizes) are refused at
# open with one line naming the image and exit 4, before any FUSE server reads them: with an id
# count of 0 the in-process server used to crash (exit 139) on the first stat. Nothing of the
# test user is left behind (the harness checks after every check).
. "$(dirname "$0")/lib.sh"
fy_init

# A real image made here, then patched: patch NAME OFFSET FORMAT VALUE (struct.pack format).
mksquashfs "$FIXDIR/bb.dir" "$RUNDIR/base.sqfs" -noappend -quiet -all-root >/dev/null ||
	fy_die "mksquashfs failed"
size=$(stat -c %s "$RUNDIR/base.sqfs")
patch() {
	python3 -c 'import struct,sys
b = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into(sys.argv[4], b, int(sys.argv[3]), int(sys.argv[5], 0))
open(sys.argv[2], "wb").write(b)' "$RUNDIR/base.sqfs" "$RUNDIR/$1.sqfs" "$2" "$3" "$4" ||
		fy_die "cannot patch $1"
	chmod 644 "$RUNDIR/$1.sqfs"
}
patch ids0 26 '<H' 0
patch idtable-past-end 48 '<Q' "$size"
patch bytes-used-past-file 40 '<Q' $((size * 2))
patch block-log 22 '<H' 10
patch root-outside 32 '<Q' $((1 << 47))
patch fragments-huge 16 '<I' 0xffffffff
patch inode-table-zero 64 '<Q' 0

t_base() {
	fy exec --no-home "$RUNDIR/base.sqfs" /bin/busybox echo base-ok
	expect_rc 0
	expect_out base-ok
}
check "the unpatched image runs" t_base

t_bad() { # t_bad NAME REGEX
	fy exec --no-home "$RUNDIR/$1.sqfs" /bin/busybox true
	expect_error 4 "$1\\.sqfs" "$2"
}
check "id count 0: exit 4, one line" t_bad ids0 'id table has no entries'
check "id table past bytes_used: exit 4" t_bad idtable-past-end 'id table at [0-9]+ is outside'
check "bytes_used past the file: exit 4" t_bad bytes-used-past-file 'truncated'
check "block_log not matching block_size: exit 4" t_bad block-log 'block_log 10 does not match'
check "root inode outside the inode table: exit 4" t_bad root-outside 'root inode reference'
check "fragment count beyond its table: exit 4" t_bad fragments-huge 'fragment table at'
check "inode table inside the superblock: exit 4" t_bad inode-table-zero 'inode table at 0'

fy_done
