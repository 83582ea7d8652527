#!/bin/bash
# tests/oci/devices.sh: linux.devices as root (mknod) and rootless (a bind of the host's node),
# issue 8 D5 and D9: a path with ".." is refused naming the entry and nothing runs (it bound
# host files such as /etc/hostname); the node a rootless container gets is the host's device of
# the declared type and numbers, not the host file at the entry's path; a device outside /dev
# (/foo-dev, as runc and crun allow) works; a device the host lacks fails create naming the
# entry; a fifo is made in both modes; the default devices have their numbers; a root.path of
# the host's / is refused with a message that says so (it said "/dev/null: No such file").
# Runs against any runc-compatible runtime (OCI_RUNTIME), whose messages may differ; runc 1.1
# fails the ".." checks and most rootless ones (it binds the host's file at the entry's path) and
# the root block /dev/null one (its init reopens /dev/null).
set -u
umask 022
. "$(dirname "$0")/lib.sh"

oci_need_root
oci_init devices
oci_need_tools python3 setpriv useradd

RT=$T/bin/$(basename "$OCI_RUNTIME")
oci_install_runtime "$T/bin" || oci_die "cannot copy $OCI_RUNTIME"
TUSER=${OCI_TEST_USER:-ferrytest}
id -u "$TUSER" >/dev/null 2>&1 || useradd -m -s /bin/sh "$TUSER" || oci_die "useradd $TUSER"
TUID=$(id -u "$TUSER")
TGID=$(id -g "$TUSER")
THOME=$(getent passwd "$TUSER" | cut -d: -f6)
chmod 755 "$T"
# A host file the ".." entries aim at, with a marker a container must never print.
[ -d "$THOME" ] || oci_die "the test user $TUSER has no home $THOME"
echo "host-profile-marker" >"$THOME/.profile-fyoci-dev"
oci_at_exit 'rm -f "$THOME/.profile-fyoci-dev"'
HOSTNAME_NOW=$(cat /etc/hostname 2>/dev/null)
[ -n "$HOSTNAME_NOW" ] || oci_die "the host has no /etc/hostname to aim the '..' entry at"

# host_has TYPE MAJ MIN: the host's /dev holds such a node (no links followed).
host_has() {
	python3 - "$@" <<'PY'
import os, stat, sys
t, ma, mi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
want = stat.S_IFCHR if t == "c" else stat.S_IFBLK
for d, dirs, files in os.walk("/dev"):
    for n in dirs + files:
        try:
            st = os.lstat(os.path.join(d, n))
        except OSError:
            continue
        if stat.S_IFMT(st.st_mode) == want and st.st_rdev == os.makedev(ma, mi):
            sys.exit(0)
sys.exit(1)
PY
}

# bundle MODE NAME SCRIPT DEVICES_JSON [PYTHON]: oci_bundle (lib.sh) with linux.devices
# DEVICES_JSON; PYTHON edits `c` further.
bundle() {
	oci_bundle "$1" "$2" "$3" "c['linux']['devices'] = json.loads(args[0])
${5:-}" "$4"
}

# rt MODE ARG...: the runtime as the mode's user with a private --root.
rt() {
	local mode=$1 as=()
	shift
	[ "$mode" = root ] || as=(setpriv --reuid="$TUID" --regid="$TGID" --init-groups)
	oci_run "${as[@]}" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$RT" --root "$T/$mode/state" "$@"
}

# run_dev MODE NAME SCRIPT DEVICES_JSON [PYTHON]: bundle + run.
run_dev() {
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

t_dotdot() {
	local mode=$1 p
	for p in /dev/../etc/hostname "/dev/../..$THOME/.profile-fyoci-dev"; do
		run_dev "$mode" dotdot 'echo ran; cat /etc/hostname '"$THOME"'/.profile-fyoci-dev' \
			"[{\"path\": \"$p\", \"type\": \"c\", \"major\": 1, \"minor\": 3}]" || return
		expect_rc 1
		expect_err_has "linux.devices[0].path $p must be an absolute path without"
		case $OUT in
		*ran* | *"$HOSTNAME_NOW"* | *host-profile-marker*)
			fail_cmd "the container ran or saw the host file" ;;
		esac
		expect_nothing_left "$mode"
	done
}

# /dev/kmsg declared as char 1:3: the node is null's device, not the host's /dev/kmsg (1:11).
t_numbers_not_path() {
	run_dev "$1" kmsg "stat -c '%F %t:%T' /dev/kmsg; echo x >/dev/kmsg && echo written" \
		'[{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 3}]' || return
	expect_rc 0
	expect_out $'character special file 1:3\nwritten'
}

# /dev/null declared as block 1:3 (a ramdisk): root makes that node; rootless binds the host's
# block 1:3 when there is one, else refuses naming the entry; never the real char /dev/null.
t_type_mismatch() {
	local mode=$1
	run_dev "$mode" blk "stat -c '%F %t:%T' /dev/null" \
		'[{"path": "/dev/null", "type": "b", "major": 1, "minor": 3}]' || return
	if [ "$mode" = root ] || host_has b 1 3; then
		expect_rc 0
		expect_out "block special file 1:3"
	else
		expect_rc 1
		expect_err_has "linux.devices[0] /dev/null (block 1:3): no such device in the host's /dev"
		expect_nothing_left "$mode"
	fi
}

t_outside_dev() {
	run_dev "$1" foo "stat -c '%F %t:%T' /foo-dev; echo x >/foo-dev && echo written" \
		'[{"path": "/foo-dev", "type": "c", "major": 1, "minor": 3}]' || return
	expect_rc 0
	expect_out $'character special file 1:3\nwritten'
}

# char 1:99 is no device of Linux (mem's minors end at 12): root makes the node anyway (as runc);
# rootless has nothing to bind and says which entry.
t_missing() {
	local mode=$1
	host_has c 1 99 && oci_die "the host has a char 1:99 device; pick other numbers"
	run_dev "$mode" missing "stat -c '%F %t:%T' /dev/mymem" \
		'[{"path": "/dev/zero", "type": "c", "major": 1, "minor": 5},
		  {"path": "/dev/mymem", "type": "c", "major": 1, "minor": 99}]' || return
	if [ "$mode" = root ]; then
		expect_rc 0
		expect_out "character special file 1:63"
	else
		expect_rc 1
		expect_err_has "linux.devices[1] /dev/mymem (char 1:99): no such device in the host's /dev"
		expect_nothing_left "$mode"
	fi
}

t_fifo() {
	run_dev "$1" fifo "stat -c '%F' /run/f" '[{"path": "/run/f", "type": "p"}]' || return
	expect_rc 0
	expect_out "fifo"
}

t_defaults() {
	run_dev "$1" defaults \
		"stat -c '%n %F %t:%T' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty" \
		'[]' || return
	expect_rc 0
	expect_out "$(printf '%s\n' '/dev/null character special file 1:3' \
		'/dev/zero character special file 1:5' '/dev/full character special file 1:7' \
		'/dev/random character special file 1:8' '/dev/urandom character special file 1:9' \
		'/dev/tty character special file 5:0')"
}

# D9: the host's / as root.path.
t_host_root() {
	local mode=$1
	run_dev "$mode" hostroot 'echo ran' '[]' 'c["root"]["path"] = "/"' || return
	expect_rc 1
	expect_err_has "root.path / is the host's root directory: a container needs a root filesystem of its own"
	case $OUT in *ran*) fail_cmd "the container ran" ;; esac
	expect_nothing_left "$mode"
}

for mode in root rootless; do
	check "$mode: device paths with '..' are refused, naming the entry" t_dotdot "$mode"
	check "$mode: the node has the declared numbers, not the host file at the path" \
		t_numbers_not_path "$mode"
	check "$mode: a declared type the host node lacks is made or refused, never ignored" \
		t_type_mismatch "$mode"
	check "$mode: a device outside /dev (/foo-dev, char 1:3) is /dev/null's device" \
		t_outside_dev "$mode"
	check "$mode: a device the host lacks: made by root, refused rootless naming the entry" \
		t_missing "$mode"
	check "$mode: a fifo entry is made" t_fifo "$mode"
	check "$mode: the default devices have their numbers" t_defaults "$mode"
	check "$mode: root.path / is refused with a message that says so" t_host_root "$mode"
done
oci_done
