#!/usr/bin/env python3
"""Print a canonical, sorted description of a directory tree for comparisons:
one line per entry with type, mode, owner, mtime, size and sha256 (files), symlink target,
device numbers, xattrs, and the first name of its hardlink group. Usage: treelist.py DIR [SKIP...]
where SKIP are top-level names left out (e.g. .ferry)."""
import hashlib
import os
import stat
import sys


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
            with open(full, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()[:16]
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


if __name__ == "__main__":
    print("\n".join(describe(sys.argv[1], set(sys.argv[2:]))))
