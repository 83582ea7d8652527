#!/bin/bash
# t-config: the site configuration (FERRY_CONF): every key has its effect, policy refusals are
# clear, and a bad file is exit 3 with file:line.
. "$(dirname "$0")/lib.sh"
fy_init

HOSTTMP=/tmp/fyitest-hostfile-$$
echo host >"$HOSTTMP"
chmod 644 "$HOSTTMP"
trap 'rm -f "$HOSTTMP"' EXIT
echo 'marker in home' >"$THOME/.fyitest-marker"
chown "$TUID:$TGID" "$THOME/.fyitest-marker" 2>/dev/null
echo 'marker in cwd' >"$WORK/cwd-marker"
fy_user_dir "$DATA/site" "$DATA/site2" "$DATA/allowed"
echo site >"$DATA/site/file"
echo site2 >"$DATA/site2/file"

# conf NAME LINE...: write a site config, set FY_ENV to use it; CONF is its path.
conf() {
	CONF=$DATA/$1.conf
	shift
	{
		echo "# ferry.conf written by t-config"
		printf '%s\n' "$@"
	} >"$CONF"
	chmod 644 "$CONF"
	FY_ENV=("FERRY_CONF=$CONF")
}

t_bind() {
	conf bind '' "bind = $DATA/site:/mnt/site" "bind = $DATA/site2:/mnt/site2:ro"
	fy exec "$IMG" sh -c 'cat /mnt/site/file /mnt/site2/file; echo x > /mnt/site2/new'
	expect_out "site
site2"
	expect_rc 1
	expect_err_has "can't create /mnt/site2/new: Read-only file system"
	[ ! -e "$DATA/site2/new" ] || fail "the :ro site bind wrote to the host"
}
check "bind = (repeatable, :ro honoured)" t_bind

t_bind_plus_user() {
	conf bind "bind = $DATA/site:/mnt/site"
	fy exec -B "$DATA/site2:/mnt/user" "$IMG" cat /mnt/site/file /mnt/user/file
	expect_rc 0
	expect_out "site
site2"
}
check "site binds and user binds together" t_bind_plus_user

t_allowed_ok() {
	conf allowed "allowed_image_dir = /nonexistent-dir" "allowed_image_dir = $FIXDIR"
	fy exec "$IMG" echo allowed
	expect_rc 0
	expect_out allowed
	conf allowed "allowed_image_dir = $FIXDIR/"
	fy exec "$FIXDIR/bb.dir" echo allowed
	expect_rc 0
	expect_out allowed
}
check "allowed_image_dir allows images under it" t_allowed_ok

t_allowed_denied() {
	conf denied "allowed_image_dir = $DATA/allowed"
	fy exec "$IMG" echo should-not-run
	expect_rc 4
	expect_one_error_line 'bb\.sqfs'
	expect_out_lacks should-not-run
}
check "allowed_image_dir denies images elsewhere (exit 4, one line)" t_allowed_denied

t_allowed_symlink() {
	ln -sf "$IMG" "$DATA/allowed/link.sqfs"
	conf denied "allowed_image_dir = $DATA/allowed"
	fy exec "$DATA/allowed/link.sqfs" echo should-not-run
	expect_rc 4
	expect_one_error_line
	fy exec "$DATA/allowed/../../../../fixtures/bb.sqfs" echo should-not-run
	expect_rc 4
	expect_one_error_line
	# A sibling whose name starts with the allowed dir's name is not under it.
	mkdir -p "$DATA/allowed-not"
	cp "$IMG" "$DATA/allowed-not/bb.sqfs"
	chmod 644 "$DATA/allowed-not/bb.sqfs"
	fy exec "$DATA/allowed-not/bb.sqfs" echo should-not-run
	expect_rc 4
	expect_out_lacks should-not-run
}
check "allowed_image_dir: symlinks, .. and name prefixes do not escape" t_allowed_symlink

t_dev_minimal() {
	conf dev 'dev = minimal'
	fy exec "$IMG" ls -A /dev
	expect_rc 0
	expect_out_has null
	expect_out_has pts
	[ "$(wc -l <"$OUT_F")" -le 20 ] || fail "dev = minimal: /dev has $(wc -l <"$OUT_F") entries"
	conf dev 'dev = host'
	fy exec "$IMG" ls -A /dev
	expect_rc 0
	[ "$(wc -l <"$OUT_F")" = "$(ls -A /dev | wc -l)" ] || fail "dev = host: /dev differs from the host's"
}
check "dev = minimal | host" t_dev_minimal

t_mount_home() {
	conf home 'mount_home = no'
	fy exec "$IMG" cat "$THOME/.fyitest-marker"
	# cat's own message: the container ran and the home was not there.
	expect_rc 1
	expect_err_has "cat: can't open '$THOME/.fyitest-marker': No such file or directory"
	conf home 'mount_home = yes'
	fy exec "$IMG" cat "$THOME/.fyitest-marker"
	expect_rc 0
	expect_out 'marker in home'
}
check "mount_home = no | yes" t_mount_home

t_mount_tmp() {
	conf tmp 'mount_tmp = no'
	fy exec "$IMG" sh -c "test -e $HOSTTMP && echo visible; echo x > /tmp/t && echo writable"
	expect_rc 0
	expect_out writable
	[ ! -e /tmp/t ] || fail "mount_tmp = no: /tmp/t reached the host"
}
check "mount_tmp = no: private /tmp" t_mount_tmp

t_mount_cwd() {
	# The cwd is under /var/tmp here, which mount_tmp would show anyway.
	conf cwd 'mount_cwd = no' 'mount_tmp = no'
	fy exec "$IMG" cat "$WORK/cwd-marker"
	expect_rc 1
	expect_err_has "cat: can't open '$WORK/cwd-marker': No such file or directory"
}
check "mount_cwd = no" t_mount_cwd

t_mount_hostfiles() {
	conf hf 'mount_hostfiles = no'
	fy exec "$IMG" cat /etc/hosts
	expect_rc 0
	expect_out '127.0.0.1 fyimage-localhost'
}
check "mount_hostfiles = no: the image's /etc/hosts" t_mount_hostfiles

t_env_deny() {
	conf deny 'env_deny = FYITEST_*' 'env_deny = FYSECRET'
	FY_ENV+=(FYITEST_A=1 FYITEST_B=2 FYSECRET=s FYSECRETX=kept FYOTHER=kept)
	fy exec "$IMG" sh -c 'echo "${FYITEST_A-unset} ${FYITEST_B-unset} ${FYSECRET-unset} $FYSECRETX $FYOTHER"'
	expect_rc 0
	expect_out "unset unset unset kept kept"
}
check "env_deny = NAME and PREFIX*" t_env_deny

t_wtmpfs_refused() {
	conf wt 'allow_writable_tmpfs = no'
	fy exec --writable-tmpfs "$IMG" echo should-not-run
	expect_rc 3
	expect_one_error_line 'writable-tmpfs|writable_tmpfs'
	expect_out_lacks should-not-run
	fy exec "$IMG" echo without-option
	expect_rc 0
	expect_out without-option
}
check "allow_writable_tmpfs = no refuses --writable-tmpfs (exit 3)" t_wtmpfs_refused

t_fakeroot_refused() {
	conf fr 'allow_fakeroot = no'
	fy exec --fakeroot "$IMG" echo should-not-run
	expect_rc 3
	expect_one_error_line 'fakeroot'
	expect_out_lacks should-not-run
}
check "allow_fakeroot = no refuses --fakeroot (exit 3)" t_fakeroot_refused

t_tmpfs_size() {
	conf ts 'tmpfs_size = 1m'
	fy exec --contain "$IMG" sh -c 'df -k /tmp | tail -n 1'
	expect_rc 0
	expect_out_re '^[^ ]+ +1024 '
	conf ts 'tmpfs_size = 2m'
	fy exec --writable-tmpfs "$IMG" dd if=/dev/zero of=/big bs=1M count=3
	# dd's own message (head says only "I/O error"): the container ran and the tmpfs filled up.
	expect_rc 1
	expect_err_has "dd: error writing '/big': No space left on device"
}
check "tmpfs_size limits --contain /tmp and --writable-tmpfs" t_tmpfs_size

t_fuse_threads() {
	conf ft 'fuse_threads = 2'
	fy exec "$IMG" sh -c 'cat /bin/busybox | wc -c'
	expect_rc 0
	expect_out "$(stat -c %s "$BUSYBOX")"
}
check "fuse_threads = 2" t_fuse_threads

t_comments() {
	conf ok '' '   # indented comment' '' 'mount_home = yes' '	'
	fy exec "$IMG" true
	expect_rc 0
}
check "comments and blank lines" t_comments

# conf_error NAME EXPECTED_LINE LINE...: the file is rejected with exit 3 naming file:line.
conf_error() {
	local name=$1 line=$2
	shift 2
	conf "$name" "$@"
	fy exec "$IMG" echo should-not-run
	expect_error 3 "$(basename "$CONF"):$line"
	expect_out_lacks should-not-run
}
check "unknown key: exit 3, file:line" conf_error badkey 3 'mount_home = yes' 'colour = blue'
check "bad dev value: exit 3, file:line" conf_error badval 2 'dev = sometimes'
check "bad boolean: exit 3, file:line" conf_error badbool 2 'mount_home = perhaps'
check "line without '=': exit 3, file:line" conf_error noeq 2 'mount_home'
check "bad fuse_threads: exit 3, file:line" conf_error badnum 2 'fuse_threads = many'
check "relative bind in the config: exit 3, file:line" conf_error relbind 2 'bind = relative/path'

t_conf_unreadable() {
	conf unreadable 'mount_home = yes'
	chmod 000 "$CONF"
	fy exec "$IMG" true
	expect_error 3 'unreadable\.conf'
}
check "unreadable FERRY_CONF: exit 3" t_conf_unreadable

t_conf_missing() {
	FY_ENV=("FERRY_CONF=$DATA/missing.conf")
	fy exec "$IMG" true
	expect_error 3 'missing\.conf'
}
check "missing FERRY_CONF: exit 3" t_conf_missing

# issue 8 D6: a FIFO (no writer) named as the configuration is refused at once, not waited on;
# the shorter timeout is only the failure condition.
t_conf_fifo() {
	local FY_TIMEOUT=10
	rm -f "$DATA/fifo.conf"
	mkfifo -m 666 "$DATA/fifo.conf" || fail_plain "mkfifo failed"
	FY_ENV=("FERRY_CONF=$DATA/fifo.conf")
	fy exec "$IMG" echo should-not-run
	expect_error 3 'FERRY_CONF.*fifo\.conf is not a regular file'
	expect_out_lacks should-not-run
	rm -f "$DATA/fifo.conf"
}
check "FERRY_CONF naming a FIFO: exit 3 at once (issue 8 D6)" t_conf_fifo

# issue 8 D9: a NUL byte would end the line (and the file) silently: refused with file and line.
t_conf_nul() {
	printf '# c\nmount_home = yes\0bogus\n' >"$DATA/nul.conf"
	chmod 644 "$DATA/nul.conf"
	FY_ENV=("FERRY_CONF=$DATA/nul.conf")
	fy exec "$IMG" echo should-not-run
	expect_error 3 'nul\.conf:2: NUL byte in the line'
	expect_out_lacks should-not-run
}
check "a NUL byte in FERRY_CONF: exit 3, file:line (issue 8 D9)" t_conf_nul

fy_done
