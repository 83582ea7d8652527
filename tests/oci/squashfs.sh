#!/bin/bash
# tests/oci/squashfs.sh: a squashfs file as the container's root (annotation
# org.ferry.rootfs.squashfs), as root and rootless: read-only and writable (tmpfs overlay) roots,
# mount points the image lacks, the image file untouched, the FUSE server gone with the
# container (with and without a PID namespace), a bad annotation refused cleanly.
# ferry-specific: runc has no such annotation, so this runs only against ferry-oci.
set -u
umask 022
. "$(dirname "$0")/lib.sh"

oci_need_root
oci_init sqfs
oci_need_tools python3 setpriv mksquashfs sha256sum pgrep useradd

RT=$T/bin/ferry-oci
mkdir -p "$T/bin" && install -m 755 "$OCI_RUNTIME" "$RT" || oci_die "cannot copy $OCI_RUNTIME"
TUSER=${OCI_TEST_USER:-ferrytest}
id -u "$TUSER" >/dev/null 2>&1 || useradd -m -s /bin/sh "$TUSER" || oci_die "useradd $TUSER"
TUID=$(id -u "$TUSER")
TGID=$(id -g "$TUSER")
chmod 755 "$T"

# The image: busybox with a marker; made by mksquashfs as any site would.
oci_make_rootfs "$T/tree" || oci_die "cannot make the root filesystem"
echo squashed-root >"$T/tree/marker"
mksquashfs "$T/tree" "$T/root.sqfs" -quiet -noappend -comp zstd >/dev/null ||
	oci_die "mksquashfs failed"
chmod 644 "$T/root.sqfs"
SUM=$(sha256sum <"$T/root.sqfs")
mkdir -p "$T/hostdir" && echo from-host >"$T/hostdir/file" && chmod -R a+rX "$T/hostdir"

# bundle MODE NAME READONLY PIDNS: a bundle from the runtime's own spec, the image annotated, a
# bind of $T/hostdir onto /newdir (absent from the image), owned by the mode's user.
bundle() {
	local mode=$1 name=$2 ro=$3 pidns=$4 dir=$T/$1/$2
	mkdir -p "$dir/rootfs"
	if [ "$mode" = root ]; then
		(cd "$dir" && "$RT" spec) || return 1
	else
		# the rootless spec maps the uid that runs `spec`
		chown -R "$TUID:$TGID" "$T/$mode"
		(cd "$dir" && setpriv --reuid="$TUID" --regid="$TGID" --init-groups "$RT" spec --rootless) ||
			return 1
	fi
	python3 - "$dir/config.json" "$T/root.sqfs" "$ro" "$pidns" "$T/hostdir" <<'PY' || return 1
import json, sys
path, image, ro, pidns, hostdir = sys.argv[1:]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", "cat /marker /newdir/file; "
                        "if echo x >/written 2>/dev/null; then echo writable; else echo read-only; fi; "
                        "ls / | tr '\\n' ' '; echo"]
c["root"]["readonly"] = ro == "ro"
c.setdefault("annotations", {})["org.ferry.rootfs.squashfs"] = image
c["mounts"].append({"destination": "/newdir", "type": "bind", "source": hostdir,
                    "options": ["rbind", "ro"]})
if pidns == "nopid":
    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]
    c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/proc"]
json.dump(c, open(path, "w"), indent=1)
PY
	[ "$mode" = root ] || chown -R "$TUID:$TGID" "$T/$mode"
}

# rt MODE ARG...: the runtime as the mode's user with a private --root.
rt() {
	local mode=$1
	shift
	local as=()
	[ "$mode" = root ] || as=(setpriv --reuid="$TUID" --regid="$TGID" --init-groups)
	oci_run "${as[@]}" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$RT" --root "$T/$mode/state" "$@"
}

servers() {
	pgrep -x ferry-sqfuse | tr '\n' ' '
}

t_run() {
	local mode=$1 ro=$2 pidns=$3 name="c-$2-$3"
	mkdir -p "$T/$mode" && [ "$mode" = root ] || chown "$TUID:$TGID" "$T/$mode"
	bundle "$mode" "$name" "$ro" "$pidns" || { fail "cannot make the bundle"; return; }
	rt "$mode" run --bundle "$T/$mode/$name" "$name"
	expect_rc 0
	expect_out_has squashed-root
	expect_out_has from-host
	if [ "$ro" = ro ]; then expect_out_has read-only; else expect_out_has writable; fi
	expect_out_has newdir
	expect_eq "the image file" "$SUM" "$(sha256sum <"$T/root.sqfs")"
	oci_wait_for 5 '[ -z "$(servers)" ]' || fail "FUSE servers left running: $(servers)"
	[ -z "$(ls -A "$T/$mode/state" 2>/dev/null)" ] || fail "state left: $(ls -A "$T/$mode/state")"
	! grep -q "$T/$mode/$name" /proc/self/mountinfo || fail "mounts left in the host's namespace"
}

t_bad_image() {
	local mode=$1
	mkdir -p "$T/$mode" && [ "$mode" = root ] || chown "$TUID:$TGID" "$T/$mode"
	bundle "$mode" bad ro pid || { fail "cannot make the bundle"; return; }
	sed -i "s|$T/root.sqfs|$T/missing.sqfs|" "$T/$mode/bad/config.json"
	rt "$mode" create --bundle "$T/$mode/bad" --pid-file "$T/$mode/bad.pid" bad
	expect_eq "exit status" 1 "$RC"
	expect_err_has "org.ferry.rootfs.squashfs: $T/missing.sqfs: No such file or directory"
	[ -z "$(ls -A "$T/$mode/state" 2>/dev/null)" ] || fail "state left: $(ls -A "$T/$mode/state")"
}

for mode in root rootless; do
	check "$mode: read-only squashfs root, missing mount point presented" t_run "$mode" ro pid
	check "$mode: writable squashfs root (tmpfs overlay), image untouched" t_run "$mode" rw pid
	check "$mode: no PID namespace: the server dies with the container" t_run "$mode" ro nopid
	check "$mode: a missing image fails create with one clear error" t_bad_image "$mode"
done
oci_done
