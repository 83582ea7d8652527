#!/bin/bash
# hardcase: one multi-layer OCI image that holds every hard case of a layer merge, built with
# real tools (umoci for ordinary layers, buildah on overlay storage for an opaque directory,
# GNU tar only for what no image tool writes: hardlinks into lower layers and a pax sparse
# member), converted by fy-convert and by `ferry pull oci:DIR --dest` as an unprivileged user,
# and compared with `umoci unpack` of the same image (run as root, so owners, devices and
# xattrs are real): the treelist.py description of the unsquashfs'ed tree, the `unsquashfs
# -lln` listing, and explicit assertions on each case, run on both trees so a case the
# fixture failed to build cannot pass unnoticed. Ends with `ferry exec IMAGE ls -l /` as the
# unprivileged test user.
# Needs root, umoci, buildah (overlay), GNU tar, unsquashfs, python3, setcap/getcap,
# setfattr/getfattr, setpriv. Usage: FERRY_BUILDDIR=/path/to/build bash tests/convert/hardcase.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${FERRY_BUILDDIR:-$here/../../build}
conv=$build/tests/convert/fy-convert
: "${BUSYBOX:=/bin/busybox}"
export TZ=UTC LC_ALL=C.UTF-8
fail=0
pass=0
ok() { pass=$((pass + 1)); echo "PASS: $*"; }
ko() { fail=$((fail + 1)); echo "FAIL: $*"; }
die() { echo "FAIL: $*"; echo "hardcase: $pass passed, $((fail + 1)) failed"; exit 1; }

# A missing tool is a failure, not a skip (DESIGN.md 3.10): scripts/install-deps.sh test has them.
[ "$(id -u)" = 0 ] || die "needs root: umoci unpack must create devices, owners and security.* xattrs"
for tool in umoci buildah tar unsquashfs python3 setcap getcap setfattr getfattr setpriv mkfifo; do
	command -v $tool >/dev/null || die "$tool is missing (scripts/install-deps.sh test installs it)"
done
tar --version | grep -q 'GNU tar' || die "tar is not GNU tar"
[ -x "$conv" ] || die "$conv is not built"
[ -x "$BUSYBOX" ] || die "busybox (static, busybox-static) is needed at $BUSYBOX"

# /var/tmp: world-traversable, so the unprivileged user can read the image and the layout.
work=$(mktemp -d "${TMPDIR:-/var/tmp}/ferry-hardcase.XXXXXX")
chmod 755 "$work"
B=(buildah --root "$work/storage" --runroot "$work/runroot" --storage-driver overlay)
cleanup() {
	[ -d "$work/storage" ] && "${B[@]}" rm -a >/dev/null 2>&1
	[ -d "$work/storage" ] && "${B[@]}" rmi -af >/dev/null 2>&1
	# overlay mounts of a failed buildah run would make rm fail: unmount ours only
	grep -o " $work/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount "$m" 2>/dev/null; done
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
t0=$(date +%s)

# ---- layer 1 (umoci): a bit of everything ---------------------------------------------------
umoci init --layout lay
umoci new --image lay:hc
umoci unpack --image lay:hc b >/dev/null
r=b/rootfs
mkdir -p $r/bin $r/etc $r/srv $r/nodes $r/swap $r/del/gonedir/sub $r/opq/sub $r/lower $r/pair \
	$r/empty/nested $r/times
cp "$BUSYBOX" $r/bin/busybox
for l in sh ls cat readlink stat wc; do ln -s busybox $r/bin/$l; done
cp "$BUSYBOX" $r/bin/suid && chmod 4755 $r/bin/suid
cp "$BUSYBOX" $r/bin/ping && setcap cap_net_raw+ep $r/bin/ping
echo hello >$r/etc/hello
setfattr -n user.note -v "some value" $r/etc/hello
setfattr -n user.second -v "$(printf 'bin\001ary')" $r/etc/hello
# a symlink chain: relative, climbing, then the file; an absolute one and a dangling one
ln -s link2 $r/etc/link1
ln -s ../etc/link3 $r/etc/link2
ln -s hello $r/etc/link3
ln -s /etc/hello $r/etc/abs-link
ln -s /nonexistent/target $r/etc/dangling
echo pair-in-layer >$r/etc/hl-a && ln $r/etc/hl-a $r/etc/hl-b
# setgid and sticky directories, odd modes and owners (3000000 needs pax/base-256 in tar)
mkdir $r/srv/setgid $r/srv/sticky $r/srv/d0000
chmod 2775 $r/srv/setgid && chown 0:1234 $r/srv/setgid
chmod 1777 $r/srv/sticky
echo m0000 >$r/srv/m0000 && chmod 0000 $r/srv/m0000
echo m0640 >$r/srv/m0640 && chmod 0640 $r/srv/m0640 && chown 1000:1000 $r/srv/m0640
echo m6711 >$r/srv/m6711 && chmod 6711 $r/srv/m6711
echo bigid >$r/srv/bigid && chown 3000000:3000001 $r/srv/bigid
echo nobody >$r/srv/nobody && chown 65534:65534 $r/srv/nobody
chmod 0000 $r/srv/d0000
mkfifo $r/nodes/fifo
mknod $r/nodes/null c 1 3
mknod $r/nodes/loop9 b 7 9
mknod $r/nodes/bigminor c 240 70000
# a 255-byte ASCII name, a 255-byte UTF-8 name (127 two-byte characters and one byte), other
# non-ASCII names
long=$(printf 'n%.0s' $(seq 255))
echo long >"$r/etc/$long"
ulong=$(printf '\303\251%.0s' $(seq 127))x
echo ulong >"$r/etc/$ulong"
mkdir "$r/données" "$r/日本語"
echo café >"$r/données/café.txt"
echo 🚀 >"$r/日本語/ロケット🚀"
# a deep path: 100 levels, 2.7 KB in all
deep=$r/deep
for i in $(seq -w 100); do deep=$deep/dir-with-a-longer-name-$i; done
mkdir -p "$deep" && echo deep >"$deep/leaf"
# cases for the upper layers
echo gone >$r/del/gone
echo gone-in-dir >$r/del/gonedir/sub/f
echo buildah-gone >$r/del/buildah-gone
echo a >$r/opq/a && echo c >$r/opq/sub/c
echo file >$r/swap/file2dir
mkdir $r/swap/dir2file && echo inner >$r/swap/dir2file/inner
echo file >$r/swap/file2link
echo lower-target >$r/lower/target
echo old-data >$r/lower/replaced
echo first-old >$r/pair/first && ln $r/pair/first $r/pair/second
# mtimes: the epoch, 2100, on files and directories (sub-second ones come in layer 4: Go's
# tar writer rounds them to seconds)
echo e >$r/times/epoch && touch -d @0 $r/times/epoch
echo f >$r/times/future && touch -d '2100-01-01 00:00:00' $r/times/future
mkdir $r/times/dir-epoch && touch -d @0 $r/times/dir-epoch
touch -h -d '2001-02-03 04:05:06' $r/etc/link1
umoci repack --image lay:hc b >/dev/null
rm -rf b

# ---- layer 2 (umoci): whiteouts, type changes, an attribute change --------------------------
umoci unpack --image lay:hc b >/dev/null
r=b/rootfs
rm $r/del/gone
rm -r $r/del/gonedir
rm $r/swap/file2dir && mkdir $r/swap/file2dir && echo now-a-dir >$r/swap/file2dir/child
rm -r $r/swap/dir2file && echo now-a-file >$r/swap/dir2file
rm $r/swap/file2link && ln -s ../etc/hello $r/swap/file2link
chmod 0600 $r/etc/hl-a
umoci repack --image lay:hc b >/dev/null
rm -rf b

# ---- layer 3 (buildah, overlay storage): a replaced directory becomes an opaque one, and the
# first name of a hardlink pair is replaced: only that name is copied up, so the layer leaves
# pair/second to the lower layer's data (umoci repack would re-emit it, its link count changed).
ctr=$("${B[@]}" from -q oci:lay:hc)
mnt=$("${B[@]}" mount "$ctr")
rm -rf "$mnt/opq" && mkdir "$mnt/opq" && echo new >"$mnt/opq/new"
rm "$mnt/del/buildah-gone"
rm "$mnt/pair/first" && echo first-new >"$mnt/pair/first"
"${B[@]}" umount "$ctr" >/dev/null
"${B[@]}" commit -q "$ctr" oci:"$work/lay2":hc >/dev/null
"${B[@]}" rm "$ctr" >/dev/null
rm -rf lay && mv lay2 lay
l3=$(python3 -c 'import json;m=json.load(open("lay/index.json"))["manifests"][0]["digest"][7:];print(json.load(open("lay/blobs/sha256/"+m))["layers"][-1]["digest"][7:])')
if python3 -c 'import sys, tarfile; print("\n".join(tarfile.open(sys.argv[1]).getnames()))' \
	lay/blobs/sha256/$l3 | grep -qx 'opq/.wh..wh..opq'; then
	ok "buildah wrote an opaque whiteout for the replaced directory"
else
	ko "buildah's layer has no opq/.wh..wh..opq: the opaque case is not exercised"
fi

# ---- layers 4 and 5 (GNU tar): a hardlink into a lower layer, and one whose target the next
# layer replaces; a sparse member. No image tool writes a hardlink whose target is in a lower
# layer (buildah cannot even import one), so the targets are tarred and then deleted from the
# archive (tar --delete keeps the link members as they are).
mkdir -p g/lower g/lnk g/sparse
echo x >g/lower/target && ln g/lower/target g/lnk/to-lower
echo x >g/lower/replaced && ln g/lower/replaced g/lnk/to-replaced
truncate -s 64M g/sparse/gnu
printf 'start' | dd of=g/sparse/gnu conv=notrunc status=none
printf 'middle' | dd of=g/sparse/gnu bs=1M seek=33 conv=notrunc status=none
printf 'end' | dd of=g/sparse/gnu bs=1 seek=$((64 * 1048576 - 3)) conv=notrunc status=none
touch -d '2022-01-01 00:00:00' g/lnk g/sparse g/lower g/lower/* g/sparse/gnu
mkdir g/times && echo s >g/times/subsec && touch -d '2020-02-02 02:02:02.75' g/times/subsec
gtar() { (cd g && tar --format=posix --numeric-owner --owner=0 --group=0 "$@"); }
gtar -cf ../l4.tar lower/target lower/replaced lnk times/subsec
tar --delete -f l4.tar lower/target lower/replaced
# (a sparse member uses GNU.sparse pax records: umoci 0.4 refuses GNU type 'S'; appended,
# because tar 1.34 --delete aborts on sparse members)
gtar --sparse -rf ../l4.tar sparse
tar -tvf l4.tar | grep -q '^hrw.* lnk/to-lower link to lower/target$' ||
	die "l4.tar: tar --delete did not keep the hardlink member: $(tar -tvf l4.tar)"
umoci raw add-layer --image lay:hc l4.tar
echo new-data >g/lower/replaced
gtar -cf ../l5.tar lower/replaced
umoci raw add-layer --image lay:hc l5.tar

# ---- layer 6 (umoci): a sparse 1 GiB file (Go's tar writes it as 1 GiB of zeros) ------------
umoci unpack --image lay:hc b >/dev/null
mkdir b/rootfs/big
truncate -s 1G b/rootfs/big/sparse-1g
umoci repack --image lay:hc b >/dev/null
rm -rf b
umoci config --image lay:hc --config.cmd /bin/ls --config.env HARD=case
t_built=$(date +%s)
echo "# image built in $((t_built - t0)) s"

# ---- ground truth: umoci unpack as root ------------------------------------------------------
umoci unpack --image lay:hc ref >/dev/null
python3 "$here/treelist.py" ref/rootfs >ref.list
python3 "$here/treelist.py" --lln ref/rootfs >ref.lln

# ---- fy-convert ------------------------------------------------------------------------------
t1=$(date +%s%N)
if ! "$conv" oci:lay:hc out.sqfs 2>conv.err; then
	die "fy-convert failed: $(cat conv.err)"
fi
echo "# fy-convert: $((($(date +%s%N) - t1) / 1000000)) ms, $(stat -c %s out.sqfs) bytes"
unsquashfs -q -d x out.sqfs >/dev/null 2>unsq.err || die "unsquashfs failed: $(cat unsq.err)"
python3 "$here/treelist.py" x .ferry >x.list
if diff -u ref.list x.list >x.diff; then
	ok "fy-convert: same tree as umoci unpack ($(wc -l <ref.list) entries: types, modes, owners, sizes, mtimes, contents, links, devices, xattrs)"
else
	ko "fy-convert: differs from umoci unpack:"
	head -60 x.diff
fi
unsquashfs -lln out.sqfs >x.lln.raw 2>/dev/null || die "unsquashfs -lln failed"
python3 "$here/treelist.py" --parse-lln x.lln.raw .ferry >x.lln
if diff -u ref.lln x.lln >lln.diff; then
	ok "fy-convert: unsquashfs -lln listing equals umoci's tree ($(wc -l <ref.lln) entries)"
else
	ko "fy-convert: unsquashfs -lln listing differs from umoci's tree:"
	head -60 lln.diff
fi

# ---- every case, asserted on the ground truth (is the case really in the image?) and on
# ferry's tree -----------------------------------------------------------------------------------
# expect LABEL WHAT ACTUAL EXPECTED
expect() {
	if [ "$3" = "$4" ]; then ok "$1: $2"; else ko "$1: $2: got '$3', expected '$4'"; fi
}
cases() { # LABEL DIR
	local l=$1 d=$2 ino
	expect "$l" "whiteout-ed files are absent" \
		"$(ls -A "$d/del")" ""
	expect "$l" "no whiteout or opaque marker anywhere" \
		"$(find "$d" -name '.wh.*' | head -3)" ""
	expect "$l" "the opaque directory holds only the upper entries" "$(ls -A "$d/opq")" new
	expect "$l" "hardlink into a lower layer" \
		"$(stat -c %i "$d/lnk/to-lower")-$(cat "$d/lnk/to-lower")" \
		"$(stat -c %i "$d/lower/target")-lower-target"
	expect "$l" "hardlink whose target an upper layer replaced keeps the old data" \
		"$(cat "$d/lnk/to-replaced")/$(cat "$d/lower/replaced")/$(stat -c %h "$d/lower/replaced")" \
		"old-data/new-data/1"
	ino=$(stat -c %i "$d/pair/first")
	expect "$l" "same-layer pair whose first name was replaced" \
		"$(cat "$d/pair/second")/$(cat "$d/pair/first")/$(stat -c %h "$d/pair/second")" \
		"first-old/first-new/1"
	[ "$(stat -c %i "$d/pair/second")" != "$ino" ] || ko "$l: pair/second still shares pair/first's inode"
	expect "$l" "hardlinks within a layer (attributes of layer 2)" \
		"$(stat -c '%h %a' "$d/etc/hl-a")/$(stat -c %i "$d/etc/hl-b")" \
		"2 600/$(stat -c %i "$d/etc/hl-a")"
	expect "$l" "symlink chain" \
		"$(readlink "$d/etc/link1") $(readlink "$d/etc/link2") $(readlink "$d/etc/link3") $(cat "$d/etc/link1")" \
		"link2 ../etc/link3 hello hello"
	expect "$l" "absolute and dangling symlinks" \
		"$(readlink "$d/etc/abs-link") $(readlink "$d/etc/dangling")" "/etc/hello /nonexistent/target"
	expect "$l" "setuid binary, setgid and sticky directories" \
		"$(stat -c '%A %u:%g' "$d/bin/suid" "$d/srv/setgid" "$d/srv/sticky" | tr '\n' ' ')" \
		"-rwsr-xr-x 0:0 drwxrwsr-x 0:1234 drwxrwxrwt 0:0 "
	expect "$l" "file capability" "$(getcap "$d/bin/ping" | sed 's/.* //')" "cap_net_raw=ep"
	expect "$l" "user.* xattrs" \
		"$(getfattr --absolute-names -d -e hex "$d/etc/hello" | grep '^user' | tr '\n' ' ')" \
		"user.note=0x736f6d652076616c7565 user.second=0x62696e01617279 "
	expect "$l" "fifo, char and block devices (minor over 255 too)" \
		"$(stat -c '%F %t:%T' "$d/nodes/fifo" "$d/nodes/null" "$d/nodes/loop9" "$d/nodes/bigminor" | tr '\n' ' ')" \
		"fifo 0:0 character special file 1:3 block special file 7:9 character special file f0:11170 "
	expect "$l" "255-byte names (ASCII, UTF-8)" \
		"$(cat "$d/etc/$long") $(cat "$d/etc/$ulong") ${#long}" "long ulong 255"
	expect "$l" "UTF-8 names" "$(cat "$d/données/café.txt" "$d/日本語/ロケット🚀" | tr '\n' ' ')" "café 🚀 "
	expect "$l" "deep path (100 levels)" \
		"$(cat "$d/${deep#b/rootfs/}/leaf") $(($(printf %s "${deep#b/rootfs/deep/}" | tr -cd / | wc -c) + 1))" \
		"deep 100"
	expect "$l" "empty directories" "$(ls -A "$d/empty")/$(ls -A "$d/empty/nested")" "nested/"
	expect "$l" "odd modes and owners" \
		"$(stat -c '%a %u:%g' "$d/srv/m0000" "$d/srv/m0640" "$d/srv/m6711" "$d/srv/d0000" "$d/srv/bigid" "$d/srv/nobody" | tr '\n' ' ')" \
		"0 0:0 640 1000:1000 6711 0:0 0 0:0 644 3000000:3000001 644 65534:65534 "
	expect "$l" "mtimes: epoch, 2100, epoch directory, sub-second (seconds)" \
		"$(stat -c %Y "$d/times/epoch" "$d/times/future" "$d/times/dir-epoch" "$d/times/subsec" | tr '\n' ' ')" \
		"0 4102444800 0 1580608922 "
	expect "$l" "file replaced by a directory, directory by a file, file by a symlink" \
		"$(ls "$d/swap/file2dir") $(cat "$d/swap/dir2file") $(readlink "$d/swap/file2link")" \
		"child now-a-file ../etc/hello"
	expect "$l" "sparse 1 GiB file reads as zeros" \
		"$(stat -c %s "$d/big/sparse-1g") $(cmp -n 1073741824 "$d/big/sparse-1g" /dev/zero && echo zeros)" \
		"1073741824 zeros"
	expect "$l" "pax sparse member" \
		"$(stat -c %s "$d/sparse/gnu") $(head -c 5 "$d/sparse/gnu") $(dd if="$d/sparse/gnu" bs=1M skip=33 count=1 status=none | head -c 6) $(tail -c 3 "$d/sparse/gnu")" \
		"67108864 start middle end"
}
cases umoci ref/rootfs
cases ferry x
# squashfs keeps seconds: the fraction is in the ground truth only
expect umoci "sub-second mtime" "$(stat -c %y ref/rootfs/times/subsec | cut -c1-22)" "2020-02-02 02:02:02.75"

# About the image file itself.
if grep -q '\.wh\.' x.lln.raw; then ko "whiteout names in the squashfs listing"; else ok "no .wh. names in the squashfs listing"; fi
size=$(stat -c %s out.sqfs)
if [ "$size" -lt $((4 * 1048576)) ]; then
	ok "image is $size bytes: the 1 GiB and 64 MiB sparse files take almost nothing"
else
	ko "image is $size bytes: sparse files stored as data?"
fi

# ---- errors: hardlinks to what no layer keeps ------------------------------------------------
bad() { # NAME TAR-PYTHON EXPECTED-ERROR-REGEX [TAR-PYTHON of a layer above]
	cp -a lay "bad-$1"
	python3 -c "import io, tarfile
with tarfile.open('bad-$1.tar', 'w', format=tarfile.PAX_FORMAT) as t:
$2
with tarfile.open('bad-$1-up.tar', 'w', format=tarfile.PAX_FORMAT) as t:
${4:-    pass}" || die "cannot write bad-$1.tar"
	umoci raw add-layer --image "bad-$1:hc" "bad-$1.tar"
	[ -z "${4:-}" ] || umoci raw add-layer --image "bad-$1:hc" "bad-$1-up.tar"
	mkdir "bad-$1.out"
	local rc=0
	"$conv" "oci:bad-$1:hc" "bad-$1.out/x.sqfs" 2>"bad-$1.err" || rc=$?
	if [ "$rc" = 0 ]; then
		ko "$1: accepted"
	elif [ "$rc" != 4 ]; then
		ko "$1: exit status $rc, want 4 (a bad image): $(cat "bad-$1.err")"
	elif grep -qE "$3" "bad-$1.err" && [ -z "$(ls -A "bad-$1.out")" ]; then
		ok "$1: $(cat "bad-$1.err")"
	else
		ko "$1: $(cat "bad-$1.err"); left: $(ls -A "bad-$1.out")"
	fi
}
hl='    ti = tarfile.TarInfo("newlink"); ti.type = tarfile.LNKTYPE'
bad link-to-deleted "$hl; ti.linkname = 'del/gone'; t.addfile(ti)" \
	"hardlink to 'del/gone': no such file in this or a lower layer"
# the layer above replaces the target, and no layer below the link has it
bad link-to-replaced-missing "$hl; ti.linkname = 'only-up'; t.addfile(ti)" \
	"hardlink 'newlink' to 'only-up': an upper layer replaced or deleted it and no lower layer has it" \
	'    ti = tarfile.TarInfo("only-up"); t.addfile(ti, io.BytesIO(b""))'
bad link-to-dir "$hl; ti.linkname = 'srv/setgid'; t.addfile(ti)" "hardlink to directory 'srv/setgid'"
bad link-outside "$hl; ti.linkname = '../../etc/passwd'; t.addfile(ti)" "climbs above the root"

# ---- ferry pull oci:DIR --dest and ferry exec, as the unprivileged test user -----------------
. "$here/../integration/lib.sh"
fy_setup_user >/dev/null
mkdir -p bin home
install -m 755 "$build/launcher/ferry" "$build/launcher/ferry-pull" bin/
chmod -R a+rX lay && chown "$TUID:$TGID" home
as_user() {
	(cd home && timeout 120 setpriv --reuid="$TUID" --regid="$TGID" --init-groups env -i \
		HOME="$work/home" PATH=/usr/bin:/bin FERRY_CACHEDIR="$work/home/cache" "$@")
}
t1=$(date +%s%N)
if as_user "$work/bin/ferry" pull --dest "$work/home/pulled.sqfs" "oci:$work/lay:hc" >pull.out 2>pull.err; then
	echo "# ferry pull: $((($(date +%s%N) - t1) / 1000000)) ms"
	unsquashfs -q -d p home/pulled.sqfs >/dev/null 2>unsq.err || die "unsquashfs of the pulled image: $(cat unsq.err)"
	python3 "$here/treelist.py" p .ferry >p.list
	if diff -u ref.list p.list >p.diff; then
		ok "ferry pull --dest (as $TUSER): same tree as umoci unpack"
	else
		ko "ferry pull --dest: differs from umoci unpack:"
		head -40 p.diff
	fi
else
	ko "ferry pull --dest oci:$work/lay:hc as $TUSER: $(cat pull.err)"
fi
if as_user "$work/bin/ferry" exec "$work/out.sqfs" sh -c \
	'ls -l /; cat /lnk/to-replaced /pair/second /etc/link1; ls -ln /srv' >exec.out 2>exec.err; then
	ls_root=$(awk '{print $1, $NF}' exec.out | grep -E ' (opq|swap|big|lnk)$' | tr '\n' ' ')
	expect "ferry exec" "ls -l / as $TUSER" "$ls_root" \
		"drwxr-xr-x big drwxr-xr-x lnk drwxr-xr-x opq drwxr-xr-x swap "
	expect "ferry exec" "old versions through hardlinks, the symlink chain" \
		"$(grep -xE 'old-data|first-old|hello' exec.out | tr '\n' ' ')" "old-data first-old hello "
	# owners other than the user are unmapped in its user namespace: modes only
	expect "ferry exec" "setuid, setgid and sticky modes" \
		"$(awk '$NF == "setgid" || $NF == "sticky" || $NF == "m6711" {print $1}' exec.out | tr '\n' ' ')" \
		"-rws--s--x drwxrwsr-x drwxrwxrwt "
else
	ko "ferry exec $work/out.sqfs as $TUSER: $(cat exec.err)"
fi

echo "# total $(($(date +%s) - t0)) s"
echo "hardcase: $pass passed, $fail failed"
[ $fail -eq 0 ]
