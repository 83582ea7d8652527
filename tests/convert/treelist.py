#!/usr/bin/env python3
"""Print a canonical, sorted description of a directory tree for comparisons:
one line per entry with type, mode, owner, mtime, size and sha256 (files), symlink target,
device numbers, xattrs, and the first name of its hardlink group. Usage: treelist.py DIR [SKIP...]
where SKIP are top-level names left out (e.g. .ferry).
  treelist.py --lln DIR [SKIP...]: the fields `unsquashfs -lln` shows (type and mode, uid/gid,
      size of non-directories or device numbers, mtime to the minute in UTC, symlink target).
  treelist.py --parse-lln FILE [SKIP...]: `unsquashfs -lln` output (run with TZ=UTC) in that form."""
import hashlib
import os
import re
import stat
import sys
import time


def describe(root, skip):
    out, groups = [], {}
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel == ".":
            dirnames[:] = [d for d in dirnames if d not in skip]
            filenames = [f for f in filenames if f not in skip]
        for name in dirnames + filenames:
            entries.append(os.path.normpath(os.path.join(rel, name)))
    entries.sort()
    for path in entries:
        full = os.path.join(root, path)
        st = os.lstat(full)
        if not stat.S_ISDIR(st.st_mode):
            groups.setdefault((st.st_dev, st.st_ino), []).append(path)
    for path in entries:
        full = os.path.join(root, path)
        st = os.lstat(full)
        mode = stat.S_IMODE(st.st_mode)
        fields = [repr(path), stat.filemode(st.st_mode), "%04o" % mode, "%d:%d" % (st.st_uid, st.st_gid)]
        if stat.S_ISREG(st.st_mode):
            h = hashlib.sha256()
            with open(full, "rb") as f:  # in pieces: the hard-case image has a 1 GiB file
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            digest = h.hexdigest()[:16]
            group = groups[(st.st_dev, st.st_ino)]
            fields += ["size=%d" % st.st_size, digest, "nlink=%d" % len(group), "link=" + repr(min(group))]
        elif stat.S_ISLNK(st.st_mode):
            fields.append("-> " + repr(os.readlink(full)))
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            fields.append("dev=%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)))
        if not stat.S_ISLNK(st.st_mode):
            fields.append("mtime=%d" % int(st.st_mtime))
            try:
                names = sorted(os.listxattr(full, follow_symlinks=False))
            except OSError:
                names = []
            for n in names:
                fields.append("xattr:%s=%s" % (n, os.getxattr(full, n, follow_symlinks=False).hex()))
        out.append(" ".join(fields))
    return out


def walk(root, skip):
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel == ".":
            dirnames[:] = [d for d in dirnames if d not in skip]
            filenames = [f for f in filenames if f not in skip]
        for name in dirnames + filenames:
            entries.append(os.path.normpath(os.path.join(rel, name)))
    return sorted(entries)


def lln_line(path, modestr, uid, gid, size, mtime, target):
    return " ".join([repr(path), modestr, "%d/%d" % (uid, gid), size, mtime] +
                    (["-> " + repr(target)] if target is not None else []))


def lln_describe(root, skip):
    out = []
    for path in walk(root, skip):
        full = os.path.join(root, path)
        st = os.lstat(full)
        if stat.S_ISDIR(st.st_mode):
            size = "-"  # a directory's size is its on-disk listing size, not comparable
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            size = "%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        else:
            size = str(st.st_size)
        mtime = time.strftime("%Y-%m-%d %H:%M", time.gmtime(int(st.st_mtime)))
        target = os.readlink(full) if stat.S_ISLNK(st.st_mode) else None
        out.append(lln_line(path, stat.filemode(st.st_mode), st.st_uid, st.st_gid, size, mtime, target))
    return sorted(out)


LLN = re.compile(r"^(\S{10}) (\d+)/(\d+) +(\d+|\d+, *\d+) (\d{4}-\d\d-\d\d \d\d:\d\d) squashfs-root(/.*)?$")


def lln_parse(listing, skip):
    out = []
    with open(listing, "rb") as f:
        lines = f.read().decode("utf-8", "surrogateescape").splitlines()
    for line in lines:
        m = LLN.match(line)
        if not m:
            raise SystemExit("treelist: cannot parse unsquashfs line %r" % line)
        modestr, uid, gid, size, mtime, path = m.groups()
        if not path:
            continue  # the root
        path, target = path[1:], None
        if modestr[0] == "l":
            path, target = path.split(" -> ", 1)
        if path.split("/")[0] in skip:
            continue
        if modestr[0] == "d":
            size = "-"
        elif modestr[0] in "cb":
            # unsquashfs 4.5 prints rdev >> 8 and rdev & 0xff of the stored new_encode_dev()
            # value, which is wrong for minors over 255: decode it as the kernel does
            # (include/linux/kdev_t.h new_decode_dev).
            pmaj, pmin = (int(x) for x in size.split(","))
            rdev = (pmaj << 8) | pmin
            size = "%d,%d" % ((rdev & 0xfff00) >> 8, (rdev & 0xff) | ((rdev >> 12) & 0xfff00))
        out.append(lln_line(path, modestr, int(uid), int(gid), size, mtime, target))
    return sorted(out)


if __name__ == "__main__":
    if sys.argv[1] == "--lln":
        print("\n".join(lln_describe(sys.argv[2], set(sys.argv[3:]))))
    elif sys.argv[1] == "--parse-lln":
        print("\n".join(lln_parse(sys.argv[2], set(sys.argv[3:]))))
    else:
        print("\n".join(describe(sys.argv[1], set(sys.argv[2:]))))
