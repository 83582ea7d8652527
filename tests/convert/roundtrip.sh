#!/bin/sh
# Round trip for the converter (part of `make check`): build OCI layouts with umoci,
# skopeo and hand-written tar layers (whiteouts, opaque directories, hardlinks into lower
# layers, xattrs, devices, long names, deep paths), convert them with fy-convert, and compare
# the unsquashfs'ed result with `umoci unpack` of the same image: the same entries, modes,
# owners, times, contents, symlink targets, devices, xattrs and hardlink groups.
# Needs root (devices, ownership, security.* xattrs), umoci, skopeo, zstd, unsquashfs, python3,
# setcap (scripts/install-deps.sh test installs them); without them it fails, saying which.
# Usage: FERRY_BUILDDIR=/path/to/build sh tests/convert/roundtrip.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${FERRY_BUILDDIR:-$here/../../build}
conv=$build/tests/convert/fy-convert
work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-roundtrip.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
fail=0
pass=0

for tool in umoci skopeo unsquashfs python3 zstd setcap; do
	command -v $tool >/dev/null || { echo "FAIL: $tool missing (scripts/install-deps.sh test)"; exit 1; }
done
[ -x "$conv" ] || { echo "FAIL: $conv not built"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root (devices, ownership, security.* xattrs)"; exit 1; }

ok() { pass=$((pass + 1)); echo "PASS: $*"; }
ko() { fail=$((fail + 1)); echo "FAIL: $*"; }

cd "$work"
umoci init --layout lay
umoci new --image lay:t1

# ---- layer 1: a bit of everything ----
umoci unpack --image lay:t1 b >/dev/null
r=b/rootfs
mkdir -p $r/bin $r/etc $r/tmp $r/dev $r/usr/lib $r/opt/old $r/data $r/conf
cp /bin/busybox $r/bin/busybox
chmod 4755 $r/bin/busybox
ln -s busybox $r/bin/sh
ln -s /nonexistent/abs $r/bin/dangling
echo hello >$r/etc/hello
ln $r/etc/hello $r/etc/hello.hard
: >$r/etc/empty
chmod 1777 $r/tmp
chmod 2750 $r/data
chown 1234:5678 $r/data
mknod $r/dev/null c 1 3
mknod $r/dev/loop9 b 7 9
mkfifo $r/dev/fifo
setfattr -n user.note -v "some value" $r/etc/hello
cp /bin/busybox $r/bin/ping
setcap cap_net_raw+ep $r/bin/ping
head -c 3000000 /dev/urandom >$r/usr/lib/big
cp $r/usr/lib/big $r/usr/lib/big.copy
truncate -s 5M $r/usr/lib/sparse
printf 'middle' | dd of=$r/usr/lib/sparse bs=1 seek=2000000 conv=notrunc 2>/dev/null
long=$(printf 'n%.0s' $(seq 255))
echo long >"$r/etc/$long"
printf 'caf\303\251\n' >"$r/etc/caf$(printf '\303\251')"
deep=$r/deep
for i in $(seq 60); do deep=$deep/d$i; done
mkdir -p "$deep" && echo deep >"$deep/leaf"
echo old >$r/opt/old/file
echo a >$r/conf/a
echo x >$r/usr/lib/to-be-dir
mkdir $r/usr/lib/to-be-file
echo y >$r/usr/lib/to-be-file/inner
echo gone >$r/etc/gone
touch -h -d '2001-02-03 04:05:06' $r/etc/hello $r/bin/sh
umoci repack --image lay:t1 b >/dev/null
rm -rf b

# ---- layer 2: deletions (whiteouts), type changes, attribute changes ----
umoci unpack --image lay:t1 b >/dev/null
r=b/rootfs
rm $r/etc/gone
rm -r $r/conf
echo conf >$r/conf
rm $r/usr/lib/to-be-dir && mkdir $r/usr/lib/to-be-dir && echo z >$r/usr/lib/to-be-dir/z
rm -r $r/usr/lib/to-be-file && echo now-a-file >$r/usr/lib/to-be-file
chmod 0700 $r/opt
echo changed >$r/etc/hello.hard
umoci repack --image lay:t1 b >/dev/null
rm -rf b

# ---- layer 3, by hand: opaque directory, explicit whiteout, hardlink into a lower layer,
# pax xattrs, GNU long names ----
python3 - <<'EOF'
import io, tarfile
def add(t, name, typ=tarfile.REGTYPE, data=b"", **kw):
    ti = tarfile.TarInfo(name)
    ti.type = typ
    ti.mode = kw.pop("mode", 0o644)
    ti.mtime = 1700000000
    for k, v in kw.items():
        setattr(ti, k, v)
    ti.size = len(data) if typ == tarfile.REGTYPE else 0
    t.addfile(ti, io.BytesIO(data) if typ == tarfile.REGTYPE else None)
with tarfile.open("l3.tar", "w", format=tarfile.PAX_FORMAT) as t:
    add(t, "opt/", tarfile.DIRTYPE, mode=0o755)
    add(t, "opt/new", data=b"new\n")
    add(t, "opt/.wh..wh..opq")
    add(t, "usr/lib/.wh.big.copy")
    add(t, "bin/linked-busybox", tarfile.LNKTYPE, linkname="bin/busybox")
    ti = tarfile.TarInfo("etc/with-xattr")
    ti.mtime = 1700000000
    ti.size = 3
    ti.pax_headers = {"SCHILY.xattr.user.pax": "from-pax", "SCHILY.xattr.trusted.t": "tv"}
    t.addfile(ti, io.BytesIO(b"xa\n"))
with tarfile.open("l4.tar", "w", format=tarfile.GNU_FORMAT) as t:
    # explicit parents: umoci gives implicit ones the unpack time, ferry the image's time
    add(t, "gnu/", tarfile.DIRTYPE, mode=0o755)
    add(t, "gnu/" + "L" * 150 + "/", tarfile.DIRTYPE, mode=0o750)
    add(t, "gnu/" + "L" * 150 + "/" + "m" * 120, data=b"gnu long name\n")
    add(t, "gnu/link-" + "k" * 120, tarfile.SYMTYPE, linkname="../" + "t" * 140)
EOF
umoci raw add-layer --image lay:t1 l3.tar
umoci raw add-layer --image lay:t1 l4.tar
umoci config --image lay:t1 --config.cmd /bin/sh --config.env FOO=bar

# ---- variants: zstd layers through skopeo ----
# Checked below: a failed copy must not drop the zstd-layer case silently.
zcopy=0
skopeo copy -q --dest-compress-format zstd oci:lay:t1 oci:layz:t1 2>skopeo.err || zcopy=$?

umoci unpack --image lay:t1 ref >/dev/null
python3 "$here/treelist.py" ref/rootfs >ref.list

check() { # name layout:tag sqfs
	name=$1
	if [ "$name" = lz4 ]; then
		# unsquashfs 4.5.1 cannot read the lz4 metadata that libsquashfs 1.2 writes (nor
		# tar2sqfs -c lz4 output); the kernel and squashfuse can. Extract with sqfs2tar.
		mkdir "x-$name"
		sqfs2tar "$3" 2>"x-$name.err" | tar --xattrs --xattrs-include='*' --numeric-owner \
			-xpf - -C "x-$name" 2>>"x-$name.err" || { ko "$name: sqfs2tar: $(cat "x-$name.err")"; return; }
	elif ! unsquashfs -q -d "x-$name" "$3" >/dev/null 2>"x-$name.err"; then
		ko "$name: unsquashfs failed: $(cat "x-$name.err")"
		return
	fi
	python3 "$here/treelist.py" "x-$name" .ferry >"x-$name.list"
	if diff -u ref.list "x-$name.list" >"x-$name.diff"; then
		ok "$name: same tree as umoci unpack ($(wc -l <ref.list) entries)"
	else
		ko "$name: differs from umoci unpack:"
		head -40 "x-$name.diff"
	fi
	rm -rf "x-$name"
}

for comp in zstd lz4 gzip none; do
	if "$conv" -c $comp oci:lay:t1 out-$comp.sqfs 2>err; then
		check $comp lay:t1 out-$comp.sqfs
	else
		ko "$comp: convert failed: $(cat err)"
	fi
done
if [ "$zcopy" != 0 ]; then
	ko "zstd layers: skopeo copy --dest-compress-format zstd failed ($zcopy): $(cat skopeo.err)"
elif ! grep -q 'application/vnd.oci.image.layer.v1.tar+zstd' layz/blobs/sha256/*; then
	ko "zstd layers: skopeo wrote no layer of media type ...tar+zstd"
elif "$conv" oci:layz:t1 out-z.sqfs 2>err; then
	check zstd-layers layz:t1 out-z.sqfs
else
	ko "zstd layers: $(cat err)"
fi

# metadata, as doc/image-format.md says
unsquashfs -q -cat out-zstd.sqfs .ferry/image.json >meta.json
if grep -q '"source":"oci:lay:t1"' meta.json && grep -q '"manifest_digest":"sha256:' meta.json; then
	ok "image.json: $(cat meta.json)"
else ko "image.json: $(cat meta.json)"; fi
cfg=$(python3 -c 'import json;m=json.load(open("lay/index.json"))["manifests"][0]["digest"][7:];print(json.load(open("lay/blobs/sha256/"+m))["config"]["digest"][7:])')
if unsquashfs -q -cat out-zstd.sqfs .ferry/config.json | cmp -s - lay/blobs/sha256/$cfg; then
	ok "config.json is the config blob, byte for byte"
else ko "config.json differs from the config blob"; fi

# determinism: thread counts do not change the bytes
"$conv" -j 1 oci:lay:t1 j1.sqfs && "$conv" -j 4 oci:lay:t1 j4.sqfs && "$conv" -j 4 oci:lay:t1 j4b.sqfs
if cmp -s j1.sqfs j4.sqfs && cmp -s j4.sqfs j4b.sqfs && cmp -s j1.sqfs out-zstd.sqfs; then
	ok "deterministic: -j1, -j4 and the default give identical bytes"
else ko "output depends on the thread count"; fi

# a corrupt layer blob: error names the digest, nothing left behind
cp -a lay bad
big=$(ls -S bad/blobs/sha256 | head -1)
chmod u+w bad/blobs/sha256/$big
printf 'XXXX' | dd of=bad/blobs/sha256/$big bs=1 seek=5000 conv=notrunc 2>/dev/null
mkdir outdir
rc=0
"$conv" oci:bad:t1 outdir/bad.sqfs 2>err || rc=$?
if [ $rc = 0 ]; then ko "corrupt layer accepted"
elif [ $rc != 4 ]; then ko "corrupt layer: exit status $rc, want 4: $(cat err)"
elif grep -q "sha256:$big" err && [ -z "$(ls -A outdir)" ]; then ok "corrupt layer: $(cat err)"
else ko "corrupt layer: $(cat err); outdir: $(ls -A outdir)"; fi
# truncated blob
head -c 100000 lay/blobs/sha256/$big >bad/blobs/sha256/$big
rc=0
"$conv" oci:bad:t1 outdir/bad.sqfs 2>err || rc=$?
if [ $rc = 0 ]; then ko "truncated layer accepted"
elif [ $rc != 4 ]; then ko "truncated layer: exit status $rc, want 4: $(cat err)"
elif grep -Eq "sha256[:/]$big" err && [ -z "$(ls -A outdir)" ]; then ok "truncated layer: $(cat err)"
else ko "truncated layer: $(cat err)"; fi
# unknown tag, layer trying to write /.ferry
if "$conv" oci:lay:nope x.sqfs 2>err; then ko "unknown tag accepted"; else ok "unknown tag: $(cat err)"; fi
python3 -c '
import io, tarfile
with tarfile.open("evil.tar", "w") as t:
    ti = tarfile.TarInfo(".ferry/config.json"); ti.size = 2; t.addfile(ti, io.BytesIO(b"{}"))'
cp -a lay evil && umoci raw add-layer --image evil:t1 evil.tar
if "$conv" oci:evil:t1 x.sqfs 2>err; then ko "/.ferry layer accepted"; else ok "reserved /.ferry: $(cat err)"; fi
python3 -c '
import io, tarfile
with tarfile.open("esc.tar", "w") as t:
    ti = tarfile.TarInfo("lnk"); ti.type = tarfile.SYMTYPE; ti.linkname = "/etc"; t.addfile(ti)
    ti = tarfile.TarInfo("lnk/passwd"); ti.size = 1; t.addfile(ti, io.BytesIO(b"x"))'
cp -a lay esc && umoci raw add-layer --image esc:t1 esc.tar
if "$conv" oci:esc:t1 x.sqfs 2>err; then ko "path through a symlink accepted"; else ok "symlink escape: $(cat err)"; fi

echo "roundtrip: $pass passed, $fail failed"
[ $fail -eq 0 ]
