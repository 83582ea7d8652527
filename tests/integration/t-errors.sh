#!/bin/bash
# t-errors: every bad input gives exactly one line on stderr starting with "ferry: ", the
# documented exit status (2 usage, 4 image, 5 host cannot), and leaves nothing behind.
. "$(dirname "$0")/lib.sh"
fy_init

fy_user_dir "$DATA/d"
head -c 20000 "$FIXDIR/bb.sif" >"$RUNDIR/trunc.sif" 2>/dev/null
head -c 100 "$FIXDIR/bb.sqfs" >"$RUNDIR/tiny.sqfs"
cp "$FIXDIR/bb.sqfs" "$RUNDIR/unreadable.sqfs"
chmod 644 "$RUNDIR/trunc.sif" "$RUNDIR/tiny.sqfs"
chmod 000 "$RUNDIR/unreadable.sqfs"

# ---- images: exit 4 ----------------------------------------------------------------------------
t_img() { # t_img PATH REGEX...
	local p=$1
	shift
	fy exec "$p" true
	expect_error 4 "$@"
	fy run "$p"
	expect_error 4 "$@"
}
check "missing image" t_img "$DATA/no-such-image.sqfs" 'no-such-image\.sqfs'
check "bad magic (random bytes)" t_img "$FIXDIR/random.sqfs" 'random\.sqfs'
check "truncated squashfs" t_img "$FIXDIR/trunc.sqfs" 'trunc\.sqfs'
check "squashfs cut inside the superblock" t_img "$RUNDIR/tiny.sqfs" 'tiny\.sqfs'
check "empty file" t_img "$FIXDIR/empty.sqfs" 'empty\.sqfs'
check "text file named like an image" t_img "$FIXDIR/text.sqfs" 'text\.sqfs'
check "truncated SIF" t_img "$RUNDIR/trunc.sif" 'trunc\.sif'
check "unreadable image file" t_img "$RUNDIR/unreadable.sqfs" 'unreadable\.sqfs' 'permission denied'
check "missing directory image" t_img "$DATA/d/no-such-subdir/" 'no-such-subdir'

t_run_nocfg() {
	fy run "$FIXDIR/nocfg.sqfs"
	expect_rc_in "2 4"
	expect_one_error_line 'nocfg\.sqfs|config|entrypoint|\.ferry'
}
check "run on an image without /.ferry/config.json: clear error, exit 2 or 4" t_run_nocfg

# ---- usage: exit 2 -----------------------------------------------------------------------------
t_usage() { # t_usage REGEX -- ARG...
	local re=$1
	shift
	fy "$@"
	expect_error 2 "$re"
}
check "no command at all" t_usage 'command|usage'
check "unknown command" t_usage 'frobnicate' frobnicate "$IMG"
check "unknown option" t_usage 'bogus' exec --bogus "$IMG" true
check "unknown global option" t_usage 'bogus' --bogus exec "$IMG" true
check "exec without image" t_usage 'image|usage' exec
check "exec without command" t_usage 'command|cmd' exec "$IMG"
check "run without image" t_usage 'image|usage' run
check "shell with an extra argument" t_usage 'argument|usage|shell' shell "$IMG" extra arg
check "option missing its value" t_usage 'bind' exec --bind
check "malformed bind: empty" t_usage 'bind' exec -B '' "$IMG" true
check "malformed bind: relative destination" t_usage 'relative/dst' exec -B "$DATA/d:relative/dst" "$IMG" true
check "malformed bind: bad mode" t_usage 'bogus' exec -B "$DATA/d:/mnt:bogus" "$IMG" true
check "malformed bind: too many fields" t_usage 'bind|extra' exec -B "$DATA/d:/mnt:ro:extra" "$IMG" true
check "malformed bind: empty item in a list" t_usage 'bind' exec -B "$DATA/d:/mnt,," "$IMG" true
check "missing bind source" t_usage 'no-such-dir' exec -B "$DATA/no-such-dir:/mnt" "$IMG" true
check "--mount without destination" t_usage 'dst|destination|mount' exec --mount "type=bind,src=$DATA/d" "$IMG" true
check "--mount with an unknown type" t_usage 'type|volume' exec --mount "type=volume,src=$DATA/d,dst=/mnt" "$IMG" true
check "--mount with an unknown key" t_usage 'colour' exec --mount "type=bind,src=$DATA/d,dst=/mnt,colour=red" "$IMG" true
check "--net with an unknown value" t_usage 'net|bogus' exec --net=bogus "$IMG" true
check "--env without =" t_usage 'env|NOEQUALS' exec --env NOEQUALS "$IMG" true
check "--home with a relative destination" t_usage 'home|relative' exec --home "$DATA/d:rel" "$IMG" true
check "--pwd relative" t_usage 'pwd|relative' exec --pwd rel/dir "$IMG" true

# ---- the host cannot: exit 5 -------------------------------------------------------------------
t_userns_off() {
	# A user namespace may set its own user.max_user_namespaces (user_namespaces(7), "/proc/sys/user"
	# limits are per user namespace): 0 there makes unshare(CLONE_NEWUSER) fail with ENOSPC.
	fy_cmd unshare -Ur sh -c 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" exec "$1" true' \
		"$FERRY" "$IMG"
	expect_error 5 'user\.max_user_namespaces|max_user_namespaces'
}
check "user namespaces disabled: exit 5 naming user.max_user_namespaces" t_userns_off

t_fuse_missing() {
	printf 'fuse_device = /nonexistent/fuse\n' >"$DATA/fuse-missing.conf"
	chmod 644 "$DATA/fuse-missing.conf"
	FY_ENV=("FERRY_CONF=$DATA/fuse-missing.conf")
	fy exec "$IMG" true
	expect_error 5 '/nonexistent/fuse' 'fuse'
}
check "FUSE device missing: exit 5, says so" t_fuse_missing

t_fuse_denied() {
	: >"$DATA/fuse-000"
	chmod 000 "$DATA/fuse-000"
	printf 'fuse_device = %s\n' "$DATA/fuse-000" >"$DATA/fuse-denied.conf"
	chmod 644 "$DATA/fuse-denied.conf"
	FY_ENV=("FERRY_CONF=$DATA/fuse-denied.conf")
	fy exec "$IMG" true
	expect_error 5 'fuse-000' 'permission denied|access'
}
check "FUSE device inaccessible: exit 5, says so" t_fuse_denied

t_fuse_dir_image() {
	# A directory image needs no FUSE at all.
	printf 'fuse_device = /nonexistent/fuse\n' >"$DATA/fuse-missing.conf"
	chmod 644 "$DATA/fuse-missing.conf"
	FY_ENV=("FERRY_CONF=$DATA/fuse-missing.conf")
	fy exec "$FIXDIR/bb.dir" echo no-fuse-needed
	expect_rc 0
	expect_out no-fuse-needed
}
check "a directory image runs without a FUSE device" t_fuse_dir_image

t_bad_conf() {
	FY_ENV=("FERRY_CONF=$DATA/no-such.conf")
	fy exec "$IMG" true
	expect_error 3 'no-such\.conf'
}
check "FERRY_CONF naming a missing file: exit 3" t_bad_conf

# issue 8 D9: an empty CMD is a bad command line, not a program the container could not run.
t_empty_cmd() {
	fy exec "$IMG" ''
	expect_error 2 "^ferry: exec: empty CMD$"
}
check "ferry exec IMG '': exit 2, 'exec: empty CMD' (issue 8 D9)" t_empty_cmd

fy_done
