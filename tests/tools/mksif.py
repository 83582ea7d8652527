#!/usr/bin/env python3
"""Wrap a squashfs file in an Apptainer/Singularity SIF container, for ferry's tests.

Usage: mksif.py [--parttype primsys|system] [--deffile FILE] in.sqfs out.sif

The layout mirrors what Apptainer writes (github.com/apptainer/sif, pkg/sif): a 128-byte global
header, a table of 48 descriptors of 585 bytes at offset 4096, data objects from offset 32768.
Two descriptors are used: a definition file, then the squashfs partition at the next
4096-aligned offset. All integers are little-endian and fields are packed without padding,
as Go's encoding/binary writes them. Set SOURCE_DATE_EPOCH for reproducible output.
"""
import argparse
import hashlib
import os
import platform
import struct
import sys
import time
import uuid

LAUNCH = b"#!/usr/bin/env run-singularity\n"
DESCR_OFFSET = 4096
DESCR_TOTAL = 48
DESCR_SIZE = 585
DATA_OFFSET = 32768
ALIGN = 4096

DATA_DEFFILE = 0x4001
DATA_PARTITION = 0x4004
FS_SQUASH = 1
PART_SYSTEM = 1
PART_PRIMSYS = 2
GROUP_DEFAULT = 0xF0000001

# pkg/sif arch codes, two ASCII digits and a NUL.
ARCH = {"i386": b"01", "i686": b"01", "x86_64": b"02", "amd64": b"02", "armv7l": b"03",
        "aarch64": b"04", "arm64": b"04", "ppc64": b"05", "ppc64le": b"06", "s390x": b"11"}

DEFAULT_DEFFILE = b"bootstrap: scratch\n\n%labels\n    made-by ferry tests/tools/mksif.py\n"


def descriptor(dtype, ident, offset, size, stamp, name=b"", extra=b""):
    d = struct.pack("<i?III", dtype, True, ident, GROUP_DEFAULT, 0)
    d += struct.pack("<qqqqqqq", offset, size, size, stamp, stamp, 0, 0)
    d += name.ljust(128, b"\0") + extra.ljust(384, b"\0")
    assert len(d) == DESCR_SIZE
    return d


def align(n):
    return (n + ALIGN - 1) // ALIGN * ALIGN


def build(squashfs, deffile, parttype, stamp, arch):
    def_off = DATA_OFFSET
    part_off = align(def_off + len(deffile))
    end = part_off + len(squashfs)
    # A UUID derived from the content keeps the output deterministic.
    ident = uuid.UUID(bytes=hashlib.sha256(squashfs + deffile).digest()[:16], version=4)
    descrs = descriptor(DATA_DEFFILE, 1, def_off, len(deffile), stamp)
    extra = struct.pack("<ii", FS_SQUASH, parttype) + arch + b"\0"
    descrs += descriptor(DATA_PARTITION, 2, part_off, len(squashfs), stamp,
                         name=b"rootfs", extra=extra)
    used = 2
    header = LAUNCH.ljust(32, b"\0") + b"SIF_MAGIC\0" + b"01\0" + arch + b"\0" + ident.bytes
    header += struct.pack("<qqqqqqqq", stamp, stamp, DESCR_TOTAL - used, DESCR_TOTAL,
                          DESCR_OFFSET, DESCR_TOTAL * DESCR_SIZE, DATA_OFFSET, end - DATA_OFFSET)
    assert len(header) == 128
    out = bytearray(end)
    out[0:128] = header
    out[DESCR_OFFSET:DESCR_OFFSET + len(descrs)] = descrs
    out[def_off:def_off + len(deffile)] = deffile
    out[part_off:end] = squashfs
    return bytes(out)


def main():
    ap = argparse.ArgumentParser(description="wrap a squashfs file in a SIF container")
    ap.add_argument("--parttype", choices=["primsys", "system"], default="primsys",
                    help="partition type (default: primsys, what Apptainer writes)")
    ap.add_argument("--deffile", help="definition file to store (default: a small stub)")
    ap.add_argument("input")
    ap.add_argument("output")
    args = ap.parse_args()

    with open(args.input, "rb") as f:
        squashfs = f.read()
    if squashfs[:4] != b"hsqs":
        sys.exit(f"mksif.py: {args.input} is not a squashfs file")
    deffile = DEFAULT_DEFFILE
    if args.deffile:
        with open(args.deffile, "rb") as f:
            deffile = f.read()
    stamp = int(os.environ.get("SOURCE_DATE_EPOCH", time.time()))
    arch = ARCH.get(platform.machine().lower(), b"00")
    parttype = PART_PRIMSYS if args.parttype == "primsys" else PART_SYSTEM
    data = build(squashfs, deffile, parttype, stamp, arch)
    tmp = args.output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o755)  # SIF files start with a #! line and are meant to be executable
    os.replace(tmp, args.output)


if __name__ == "__main__":
    main()
