#!/bin/bash
# t-images: every image form ferry runs (squashfs with each compressor, directory, SIF, enroot and
# Charliecloud images) and `run` with the image's Entrypoint, Cmd and WorkingDir.
. "$(dirname "$0")/lib.sh"
fy_init

# exec_image NAME PATH: the image runs and is the one we built.
exec_image() {
	fy exec "$1" cat /etc/os-release
	expect_rc 0
	expect_out_has 'NAME="ferrytest busybox"'
	fy exec "$1" sh -c 'ls /bin/busybox && echo "$((6 * 7))"'
	expect_rc 0
	expect_out "/bin/busybox
42"
}

# exec_image_cfg NAME PATH: that, and the image config's PATH (fixtures.sh) is the command's.
exec_image_cfg() {
	exec_image "$1"
	fy exec "$1" sh -c 'echo "$PATH"'
	expect_rc 0
	expect_out /opt/fy/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
}

check "squashfs (mksquashfs defaults, gzip)" exec_image_cfg "$FIXDIR/bb.sqfs"
for c in gzip xz lz4 zstd; do
	check "squashfs compressed with $c" exec_image_cfg "$FIXDIR/bb-$c.sqfs"
done
check "directory image" exec_image_cfg "$FIXDIR/bb.dir"
check "directory image given with a trailing slash" exec_image_cfg "$FIXDIR/bb.dir/"

SIF=$FIXDIR/bb.sif
if [ ! -f "$SIF" ] && [ -f "$FERRY_SRCDIR/tests/tools/mksif.py" ]; then
	SIF=$RUNDIR/bb.sif
	python3 "$FERRY_SRCDIR/tests/tools/mksif.py" "$FIXDIR/bb.sqfs" "$SIF" && chmod 644 "$SIF"
fi
t_sif() {
	[ -f "$SIF" ] || {
		fail_plain "no SIF fixture: tests/tools/mksif.py is missing"
		return
	}
	exec_image_cfg "$SIF"
	fy run "$SIF"
	expect_rc 0
	expect_out "entry default-cmd"
}
check "Apptainer SIF (squashfs partition at an offset)" t_sif

t_enroot() {
	exec_image "$FIXDIR/enroot.sqsh"
	# enroot images carry no /.ferry: exec works, the PATH is a sane default.
	fy exec "$FIXDIR/enroot.sqsh" sh -c 'echo "$PATH"'
	expect_rc 0
	expect_out /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
}
check "enroot-style image (.sqsh, lzo, -noD, no /.ferry)" t_enroot

t_ch() {
	exec_image "$FIXDIR/ch.sqfs"
	fy exec "$FIXDIR/ch.sqfs" cat /ch/environment
	expect_rc 0
	expect_out FOO=from-ch
}
check "Charliecloud-style image (/ch metadata)" t_ch

t_run_default() {
	fy run "$FIXDIR/bb.sqfs"
	expect_rc 0
	expect_out "entry default-cmd"
}
check "run: Entrypoint + Cmd" t_run_default

t_run_args() {
	fy run "$FIXDIR/bb.sqfs" one "two words"
	expect_rc 0
	expect_out "entry one two words"
}
check "run: arguments replace Cmd, Entrypoint kept" t_run_args

t_run_dir() {
	fy run "$FIXDIR/bb.dir" from-dir
	expect_rc 0
	expect_out "entry from-dir"
}
check "run: directory image" t_run_dir

t_workdir() {
	fy run "$FIXDIR/bbwd.sqfs"
	expect_rc 0
	expect_out /opt/work
}
check "run: WorkingDir honoured" t_workdir

t_workdir_pwd() {
	fy run --pwd /etc "$FIXDIR/bbwd.sqfs"
	expect_rc 0
	expect_out /etc
}
check "run: --pwd overrides WorkingDir" t_workdir_pwd

t_image_env() {
	fy exec "$FIXDIR/bb.sqfs" sh -c 'echo "$FOO"'
	expect_rc 0
	expect_out from-image
}
check "image Env applied" t_image_env

t_symlink_image() {
	ln -sf "$FIXDIR/bb.sqfs" "$DATA/link.sqfs"
	exec_image "$DATA/link.sqfs"
}
check "image given through a symlink" t_symlink_image

t_read_all() {
	# Read every file of the image through FUSE: catches bad block/fragment handling.
	FY_TIMEOUT=120
	fy exec "$FIXDIR/bb-xz.sqfs" sh -c 'find / -xdev -type f | wc -l; md5sum /bin/busybox'
	expect_rc 0
	expect_out_has "$(md5sum <"$BUSYBOX" | cut -d' ' -f1)"
}
check "file content read through FUSE is intact" t_read_all

t_concurrent() {
	# Two containers of the same image at once: each has its own FUSE server, both clean up.
	local p1 p2 r1 r2
	(
		fy_close_fds
		cd "$WORK" && exec "${AS_USER[@]}" env -i "${BASE_ENV[@]}" "$FERRY" exec "$IMG" sh -c 'sleep 1; echo one'
	) >"$RUNDIR/c1" 2>&1 &
	p1=$!
	(
		fy_close_fds
		cd "$WORK" && exec "${AS_USER[@]}" env -i "${BASE_ENV[@]}" "$FERRY" exec "$IMG" sh -c 'sleep 1; echo two'
	) >"$RUNDIR/c2" 2>&1 &
	p2=$!
	wait $p1
	r1=$?
	wait $p2
	r2=$?
	[ "$r1.$r2" = 0.0 ] || fail_plain "concurrent runs exited $r1 and $r2: $(cat "$RUNDIR/c1" "$RUNDIR/c2")"
	[ "$(cat "$RUNDIR/c1")" = one ] || fail_plain "first concurrent run printed '$(cat "$RUNDIR/c1")'"
	[ "$(cat "$RUNDIR/c2")" = two ] || fail_plain "second concurrent run printed '$(cat "$RUNDIR/c2")'"
}
check "two containers of one image at the same time" t_concurrent

fy_done
