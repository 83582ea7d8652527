#!/usr/bin/env python3
"""Measurement wrapper and report for benchmarks/convert.sh.

  convert-report.py measure --json F [--timeout S] [--stdout F] [--stderr F] -- CMD...
      Run CMD as a child, wait for it, and write one JSON object to F: wall time (monotonic
      clock), CPU time (user and system of all waited-for descendants, getrusage(2)
      RUSAGE_CHILDREN), peak RSS (ru_maxrss of RUSAGE_CHILDREN: the largest single process of
      the tree, not the sum of processes running at the same time) and the bytes the tree caused
      to be written to storage (write_bytes of /proc/self/io, read after the wait: the kernel
      adds the counters of reaped children to their parent, see proc(5) and
      Documentation/filesystems/proc.rst). Exits with CMD's status (124 on timeout).
  convert-report.py addsize --json F --file OUT
      Add the size of the output file to F.
  convert-report.py addpull --json F --stderr ERR
      Add to F, parsed, the timing line that `ferry pull --debug` printed on stderr ("pull:
      resolve ...; download ...; layer ...; compress ...; total ..."; see ferry(1)), or null.
  convert-report.py report --raw DIR --out DIR
      Turn status.tsv, meta.tsv and the per-run JSON files into convert.md, convert.json and
      convert-plot.dat. Every number comes from those files; nothing is typed in by hand.
"""
import argparse
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time

import benchlib as bl
from benchlib import cell


def read_io():
    io = {}
    with open("/proc/self/io") as f:
        for line in f:
            k, _, v = line.partition(":")
            io[k.strip()] = int(v)
    return io


def cmd_measure(a):
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        sys.exit("convert-report.py measure: no command")
    io0 = read_io()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = open(a.stdout or os.devnull, "w")
    err = open(a.stderr or os.devnull, "w")
    t0 = time.monotonic()
    # A session of its own, so a timeout can end the whole tree (a pipeline, helpers).
    p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
    timed_out = False
    try:
        rc = p.wait(timeout=a.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(p.pid, signal.SIGKILL)
        rc = p.wait()
    wall = time.monotonic() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    io1 = read_io()
    res = {
        "wall_s": wall,
        "user_s": ru.ru_utime - ru0.ru_utime,
        "sys_s": ru.ru_stime - ru0.ru_stime,
        "cpu_s": (ru.ru_utime - ru0.ru_utime) + (ru.ru_stime - ru0.ru_stime),
        "peak_rss_kib": ru.ru_maxrss,
        "write_bytes": io1["write_bytes"] - io0["write_bytes"],
        "cancelled_write_bytes": io1["cancelled_write_bytes"] - io0["cancelled_write_bytes"],
        "read_bytes": io1["read_bytes"] - io0["read_bytes"],
        "exit_status": 124 if timed_out else rc,
    }
    with open(a.json, "w") as f:
        json.dump(res, f)
    if timed_out:
        return 124
    return rc if rc >= 0 else 128 - rc


def cmd_addsize(a):
    with open(a.json) as f:
        res = json.load(f)
    res["output_bytes"] = os.stat(a.file).st_size
    with open(a.json, "w") as f:
        json.dump(res, f)
    return 0


# ---- ferry pull's timing line (image/store/pull.c, fy_pull_stats_format) ----

_T = r"(\d+(?:\.\d+)?) (ms|s)"


def _s(v, unit):
    return float(v) / 1000.0 if unit == "ms" else float(v)


def _time_after(label, seg):
    m = re.search(re.escape(label) + " " + _T, seg)
    return _s(m.group(1), m.group(2)) if m else None


def parse_pull_line(text):
    """The last "pull: ..." line of ferry's stderr as a dict of seconds and MiB, or None."""
    line = None
    for ln in text.splitlines():
        i = ln.find("pull: ")
        if i >= 0 and ("; total " in ln):
            line = ln[i + len("pull: "):]
    if line is None:
        return None
    res = {"line": line.strip(), "layers": [], "converted": True}
    for seg in line.strip().split("; "):
        if seg.startswith("resolve "):
            res["resolve_s"] = _time_after("resolve", seg)
        elif seg.startswith("download "):
            m = re.match(r"download (?:(\d+) of )?(\d+) blobs ([\d.]+) MiB", seg)
            if m:
                res["blobs"] = int(m.group(2))
                res["fetched"] = int(m.group(1)) if m.group(1) else int(m.group(2))
                res["download_mib"] = float(m.group(3))
            res["download_s"] = _time_after(" in", seg)
            m = re.search(r"\(([\d.]+) MiB/s, (\d+) parallel\)", seg)
            if m:
                res["download_mib_s"], res["parallel"] = float(m.group(1)), int(m.group(2))
        elif seg.startswith("layer ") or seg.startswith("layers "):
            m = re.match(r"(layers? \S+) (\S+) ([\d.]+) -> ([\d.]+) MiB in " + _T + ": (.*)", seg)
            if not m:
                continue
            rest = m.group(7)
            res["layers"].append({
                "name": m.group(1), "compression": m.group(2), "blob_mib": float(m.group(3)),
                "tar_mib": float(m.group(4)), "wall_s": _s(m.group(5), m.group(6)),
                "read_s": _time_after("read", rest), "decompress_s": _time_after("decompress", rest),
                "tar_merge_s": _time_after("tar+merge", rest),
                "writer_wait_s": _time_after("writer wait", rest)})
        elif seg.startswith("compress "):
            m = re.match(r"compress ([\d.]+) s CPU on (\d+) threads, ([\d.]+) -> ([\d.]+) MiB"
                         r"(?: \(workers ([\d.]+) s CPU\))?", seg)
            if m:
                res["compress_cpu_s"], res["threads"] = float(m.group(1)), int(m.group(2))
                res["compress_in_mib"], res["compress_out_mib"] = float(m.group(3)), float(m.group(4))
                if m.group(5):
                    res["workers_cpu_s"] = float(m.group(5))
        elif seg.startswith("last blocks "):
            res["last_blocks_s"] = _time_after("last blocks", seg)
        elif seg.startswith("tables "):
            res["tables_s"] = _time_after("tables", seg)
        elif seg.startswith("write "):
            m = re.match(r"write ([\d.]+) MiB " + _T, seg)
            if m:
                res["write_mib"], res["write_s"] = float(m.group(1)), _s(m.group(2), m.group(3))
            res["fsync_s"] = _time_after("fsync", seg)
        elif seg.startswith("convert "):
            res["convert_s"] = _time_after("convert", seg)
        elif seg.startswith("total "):
            res["total_s"] = _time_after("total", seg)
        elif "not converted" in seg:
            res["converted"] = False
    # Sums over the layers, for tables that show one number per image.
    for k in ("read_s", "decompress_s", "tar_merge_s", "writer_wait_s", "wall_s", "blob_mib", "tar_mib"):
        vals = [l[k] for l in res["layers"] if l.get(k) is not None]
        res["layers_" + k] = sum(vals) if vals else None
    return res


def cmd_addpull(a):
    with open(a.json) as f:
        res = json.load(f)
    with open(a.stderr, errors="replace") as f:
        res["pull"] = parse_pull_line(f.read())
    with open(a.json, "w") as f:
        json.dump(res, f)
    return 0


IMAGES = [
    ("base", "Debian base: one gzip layer"),
    ("multi", "multi-layer: base + python3, numpy, scipy, Open MPI, compilers"),
]
PARTS = [
    ("local", "from an OCI layout on disk"),
    ("registry", "pulled from the local registry (TLS on loopback)"),
]
FERRY = {"local": "ferry-oci", "registry": "ferry-registry"}
MIB = 1048576.0

# (image, kind, what, target, text). kinds: "ratio_max": ferry wall / reference wall <= target;
# "speedup_min": reference wall / ferry wall >= target; "rss_max": ferry peak RSS (MiB) <= target;
# "written_max": ferry bytes written / its output size <= target; "size_band": ferry output /
# reference output within 1 +- target.
GOALS = [
    ("base", "ratio_max", "zcat-mksquashfs-tar", 0.7,
     "base: ferry wall time ≤ 0.7× `zcat layer | mksquashfs - out -tar`"),
    ("base", "speedup_min", "umoci-mksquashfs", 10.0,
     "base: ferry ≥ 10× faster than `umoci unpack` + `mksquashfs`"),
    ("multi", "rss_max", None, 512.0, "multi-layer: ferry peak RSS ≤ 512 MiB"),
    ("multi", "written_max", None, 1.05, "multi-layer: ferry bytes written ≤ 1.05× its output size"),
    ("multi", "size_band", "umoci-mksquashfs", 0.03,
     "multi-layer: ferry output size within 3% of `mksquashfs` (umoci unpack + mksquashfs)"),
]
METRICS = ("wall_s", "cpu_s", "user_s", "sys_s", "peak_rss_kib", "write_bytes", "output_bytes")


PULL_KEYS = ("resolve_s", "download_s", "download_mib", "download_mib_s", "blobs", "fetched", "parallel",
             "layers_read_s", "layers_decompress_s", "layers_tar_merge_s", "layers_writer_wait_s",
             "layers_wall_s", "layers_blob_mib", "layers_tar_mib", "compress_cpu_s", "threads",
             "compress_in_mib", "compress_out_mib", "workers_cpu_s", "last_blocks_s", "tables_s",
             "write_mib", "write_s", "fsync_s", "convert_s", "total_s")


def pull_median(runs):
    """Medians of ferry's own timings over the runs that reported them, or None."""
    ps = [r["pull"] for r in runs if r.get("pull")]
    if not ps:
        return None
    med_ = {"runs": len(ps), "layers": len(ps[0]["layers"]), "line": ps[0]["line"]}
    for k in PULL_KEYS:
        vals = [p[k] for p in ps if p.get(k) is not None]
        med_[k] = statistics.median(vals) if vals else None
    return med_


def load(raw):
    meta = bl.read_meta(raw)
    rows = []
    for part, img, tool, label, status, note, entries, cmd in bl.read_status(raw, 8):
        row = {"part": part, "image": img, "tool": tool, "label": label, "status": status, "note": note,
               "entries": int(entries) if entries else None, "command": cmd, "runs": [], "median": None}
        i = 1
        while status == "ok":
            path = os.path.join(raw, f"{img}-{tool}-{i}.json")
            if not os.path.exists(path):
                break
            with open(path) as j:
                row["runs"].append(json.load(j))
            i += 1
        if row["runs"]:
            row["median"] = {k: statistics.median(r[k] for r in row["runs"]) for k in METRICS}
        row["pull"] = pull_median(row["runs"])
        rows.append(row)
    return meta, rows


def find(rows, img, tool):
    for r in rows:
        if r["image"] == img and r["tool"] == tool:
            return r
    return None


def med(row, key):
    return row["median"][key] if row and row["median"] else None


def secs(v):
    return f"{v:.2f} s" if v < 100 else f"{v:.0f} s"


def mib(v):
    return f"{v / MIB:.1f} MiB" if v < 100 * MIB else f"{v / MIB:.0f} MiB"


def goal_eval(rows, g):
    img, kind, ref, target, text = g
    f = find(rows, img, "ferry-oci")
    r = find(rows, img, ref) if ref else None
    res = {"image": img, "kind": kind, "reference": ref, "target": target, "goal": text,
           "ferry": None, "ref": None, "value": None, "met": None, "verdict": "unknown"}
    if not any(x["image"] == img for x in rows):
        res["verdict"] = f"not measured (image {img} not in this run)"
        return res
    if not med(f, "wall_s"):
        res["verdict"] = "unknown: ferry did not run"
        return res
    if ref and not med(r, "wall_s"):
        res["verdict"] = f"unknown: {r['label'] if r else ref} did not run"
        return res
    if kind == "ratio_max":
        res["ferry"], res["ref"] = secs(med(f, "wall_s")), secs(med(r, "wall_s"))
        v = med(f, "wall_s") / med(r, "wall_s")
        res["value"], res["shown"] = v, f"{v:.2f}×"
        res["met"] = v <= target
        res["verdict"] = "met" if res["met"] else f"missed: {v / target:.2f}× the limit (ferry {v / target * 100 - 100:.0f}% too slow)"
    elif kind == "speedup_min":
        res["ferry"], res["ref"] = secs(med(f, "wall_s")), secs(med(r, "wall_s"))
        v = med(r, "wall_s") / med(f, "wall_s")
        res["value"], res["shown"] = v, f"{v:.1f}× faster"
        res["met"] = v >= target
        res["verdict"] = "met" if res["met"] else f"missed: {v:.1f}× instead of {target:g}× (ferry would need {target / v:.2f}× less time)"
    elif kind == "rss_max":
        v = med(f, "peak_rss_kib") / 1024.0
        res["ferry"], res["value"], res["shown"] = f"{v:.0f} MiB", v, f"{v:.0f} MiB"
        res["met"] = v <= target
        res["verdict"] = "met" if res["met"] else f"missed by {v - target:.0f} MiB ({v / target:.2f}× the limit)"
    elif kind == "written_max":
        v = med(f, "write_bytes") / med(f, "output_bytes")
        res["ferry"] = f"{mib(med(f, 'write_bytes'))} written, {mib(med(f, 'output_bytes'))} output"
        res["value"], res["shown"] = v, f"{v:.3f}×"
        res["met"] = v <= target
        res["verdict"] = "met" if res["met"] else f"missed: {v:.3f}× instead of ≤ {target}×"
    elif kind == "size_band":
        res["ferry"], res["ref"] = mib(med(f, "output_bytes")), mib(med(r, "output_bytes"))
        v = med(f, "output_bytes") / med(r, "output_bytes") - 1.0
        res["value"], res["shown"] = v, f"{v * 100:+.2f}%"
        res["met"] = abs(v) <= target
        res["verdict"] = "met" if res["met"] else f"missed by {abs(v) * 100 - target * 100:.2f} percentage points"
    return res


def table(rows, img, part, md):
    sel = [r for r in rows if r["image"] == img and r["part"] == part]
    if not sel:
        return
    fw = med(find(rows, img, FERRY[part]), "wall_s")
    md.append("| tool | wall (median) | wall min–max | CPU user+sys | peak RSS | written to disk | output | "
              "written ÷ output | entries | ÷ ferry | notes |")
    md.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in sel:
        if not r["median"]:
            md.append(f"| {cell(r['label'])} | **did not run** | – | – | – | – | – | – | – | – | {cell(r['note'])} |")
            continue
        m = r["median"]
        walls = [x["wall_s"] for x in r["runs"]]
        ratio = f"{m['wall_s'] / fw:.2f}×" if fw else "n/a"
        ent = r["entries"] if r["entries"] is not None else "–"
        md.append(f"| {cell(r['label'])} | {secs(m['wall_s'])} | {secs(min(walls))}–{secs(max(walls))} | "
                  f"{secs(m['cpu_s'])} | {mib(m['peak_rss_kib'] * 1024)} | {mib(m['write_bytes'])} | "
                  f"{mib(m['output_bytes'])} | {m['write_bytes'] / m['output_bytes']:.2f}× | {ent} | {ratio} | "
                  f"{cell(r['note'])} |")
    md.append("")


def s_or_dash(v):
    return "–" if v is None else secs(v)


def pull_breakdown(rows, img, md):
    """Where `ferry pull`'s time went, from the line it prints with --debug (medians)."""
    sel = [r for r in rows if r["image"] == img and r["tool"] in ("ferry-registry", "ferry-oci")]
    sel.sort(key=lambda r: r["tool"] != "ferry-registry")
    if not sel:
        return
    md += [f"### {img}: pull breakdown (ferry's own timings)", ""]
    if not any(r.get("pull") for r in sel):
        md += ["ferry printed no timing line (`ferry pull --debug`); built from an older tree?", ""]
        return
    md.append("| source | resolve | download | read + sha256 | decompress | tar+merge | writer wait | "
              "compress CPU | write + fsync | tables | ferry total | wall (wrapper) |")
    md.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in sel:
        p = r.get("pull")
        if not p:
            md.append(f"| {cell(r['label'])} | – | – | – | – | – | – | – | – | – | – | did not report |")
            continue
        if p.get("blobs"):
            dl = f"{p['download_mib']:.1f} MiB in {secs(p['download_s'])}"
            if p.get("download_mib_s"):
                dl += f" ({p['download_mib_s']:.0f} MiB/s, {p['parallel']:.0f} parallel)"
            if p.get("fetched") != p.get("blobs"):
                dl += f", {p['blobs'] - p['fetched']:.0f} of {p['blobs']:.0f} blobs cached"
        else:
            dl = "– (read in place)"
        comp = "–"
        if p.get("compress_cpu_s") is not None:
            comp = f"{secs(p['compress_cpu_s'])} on {p['threads']:.0f} threads"
        wr = "–"
        if p.get("write_s") is not None:
            wr = f"{p['write_mib']:.1f} MiB: {secs(p['write_s'])} + {s_or_dash(p.get('fsync_s'))}"
        md.append(f"| {cell(r['label'])} | {s_or_dash(p.get('resolve_s'))} | {dl} | "
                  f"{s_or_dash(p.get('layers_read_s'))} | {s_or_dash(p.get('layers_decompress_s'))} | "
                  f"{s_or_dash(p.get('layers_tar_merge_s'))} | {s_or_dash(p.get('layers_writer_wait_s'))} | "
                  f"{comp} | {wr} | {s_or_dash(p.get('tables_s'))} | {s_or_dash(p.get('total_s'))} | "
                  f"{secs(r['median']['wall_s'])} |")
    md.append("")
    for r in sel:
        p = r.get("pull")
        if not p or not p.get("total_s"):
            continue
        tot = p["total_s"]
        parts = []
        if p.get("download_s") is not None and p.get("blobs"):
            parts.append(f"fetching {secs((p.get('resolve_s') or 0) + p['download_s'])} "
                         f"({((p.get('resolve_s') or 0) + p['download_s']) / tot * 100:.0f}% of ferry's total)")
        if p.get("convert_s") is not None:
            parts.append(f"converting {secs(p['convert_s'])} ({p['convert_s'] / tot * 100:.0f}%)")
        if p.get("layers_writer_wait_s") is not None and p.get("convert_s"):
            parts.append(f"of which the converting thread waited {secs(p['layers_writer_wait_s'])} "
                         f"({p['layers_writer_wait_s'] / p['convert_s'] * 100:.0f}% of the conversion) for the "
                         f"compression workers ({secs(p['compress_cpu_s'])} of compression CPU on "
                         f"{p['threads']:.0f} threads)")
        md.append(f"- `{r['label']}`: " + "; ".join(parts) + ".")
    md += ["", "Columns, from the line `ferry pull --debug` prints on stderr (medians over the runs; "
           "see ferry(1)): **resolve**: manifest requests; **download**: the blob phase's wall time (blobs "
           "download in parallel into the blob cache); **read + sha256**, **decompress** (time inside "
           "the gzip/zstd decoder), **tar+merge** (the rest of the layer's time: tar parsing, the "
           "whiteout merge, copying file data) and **writer wait** (handing file data to the squashfs "
           "writer, which blocks while its compression workers are busy) are summed over the layers "
           "and run one after the other on one thread; **compress CPU**: CPU time inside the "
           "compressor, all worker threads together, overlapping the layer columns; **write + fsync**: "
           "time in pwrite(2), then fsync(2) + rename(2); **tables**: squashfs tables at the end; "
           "**ferry total**: ferry's own clock, **wall (wrapper)**: the same run from outside "
           "(process start and exit included).", ""]


def cmd_report(a):
    meta, rows = load(a.raw)
    gl = [goal_eval(rows, g) for g in GOALS]
    md = bl.header(meta, "ferry conversion benchmark: OCI image to squashfs", "benchmarks/convert.sh",
                   f", {meta.get('runs')} run(s) per tool, medians shown")
    if meta.get("mode") == "quick" or meta.get("runs") == "1":
        md += ["> **One run per tool** (or quick mode): no spread, for checking the script, not for quoting.", ""]
    md += bl.meta_table("Machine and settings", meta, ("host", "nproc", "cpu", "memory", "kernel", "os", "disk",
                                                       "loadavg_start", "loadavg_end", "settings", "caches",
                                                       "registry"), escape=True)
    md += bl.loadavg_note("the CPUs and the disk")

    md += ["## Goals", "", "From issue 3, \"Performance goal\". Medians of this run.", "",
           "| goal | ferry | reference | value | verdict |", "|---|---|---|---|---|"]
    for g in gl:
        v = g["verdict"] if g["met"] is not False else f"**{g['verdict']}**"
        md.append(f"| {cell(g['goal'])} | {g['ferry'] or '–'} | {g['ref'] or '–'} | {g.get('shown', '–')} | {cell(v)} |")
    md += ["", "Pulls from the local registry should be limited by the registry and the network, not by "
           "ferry. The **pull breakdown** under each image splits `ferry pull docker://` (and `ferry pull "
           "oci:` for comparison) into resolving, downloading, decompression, tar parsing and merging, "
           "compression and writing, from the timings ferry prints with `--debug`: a pull is limited by "
           "the registry when fetching takes most of it and the conversion does not wait for its "
           "compression workers.", ""]

    for img, title in IMAGES:
        if not any(r["image"] == img for r in rows):
            continue
        layers = meta.get(f"image_{img}_layers", "").split()
        md += [f"## Image `{img}`: {title}", "",
               f"{len(layers)} layer(s), compressed sizes {', '.join(mib(int(x)) for x in layers)}; merged tree as "
               f"one tar: {mib(int(meta.get(f'image_{img}_tar_bytes', '0')))}, "
               f"{meta.get(f'image_{img}_tar_entries', '?')} entries of which "
               f"{meta.get(f'image_{img}_tar_files', '?')} regular files.", "",
               f"Recipe: `{meta.get(f'image_{img}_recipe', '')}`", ""]
        for part, ptitle in PARTS:
            if not any(r["image"] == img and r["part"] == part for r in rows):
                continue
            md += [f"### {img}, {ptitle}", ""]
            table(rows, img, part, md)
        pull_breakdown(rows, img, md)
    md += ["### How the columns are measured", "",
           "- **wall**: monotonic clock around the command; caches are dropped before every run (see "
           "`caches` above), so every tool starts from disk.",
           "- **CPU user+sys**: `getrusage(RUSAGE_CHILDREN)` of the wrapper after waiting, which sums every "
           "waited-for process of the tree (pipelines, helpers).",
           "- **peak RSS**: `ru_maxrss` of `RUSAGE_CHILDREN`: the largest single process of the tree, not "
           "the sum of processes alive at the same time (in a pipeline both sides count separately).",
           "- **written to disk**: `write_bytes` of the wrapper's `/proc/PID/io` after the wait (the kernel "
           "adds reaped children's counters to their parent); it counts the pages the tree dirtied on a "
           "block device, including trees unpacked to disk and later removed (the scratch trees are removed "
           "after the measurement).",
           "- **entries**: the entries `unsquashfs -lls` lists in the first run's output: the same image "
           "converted by two tools should give (nearly) the same count; ferry adds its `/.ferry` metadata.",
           "- **÷ ferry**: this row's wall median divided by ferry's in the same table; above 1 means ferry "
           "is faster.", ""]
    md += bl.meta_table("Versions", meta, ("ferry", "umoci", "mksquashfs", "sqfstar", "tar2sqfs", "ch-image",
                                           "docker-registry", "skopeo", "mmdebstrap", "zcat", "gnuplot"),
                        code=True, escape=True)
    md += ["## Exact command lines", "",
           "Each runs as `sh -c` under `env -i` with PATH, HOME, FERRY_CACHEDIR and XDG_CONFIG_HOME set "
           "(the last one holds the registry's CA for ferry); OUT is a file in the scratch directory.", ""]
    for img, _ in IMAGES:
        sel = [r for r in rows if r["image"] == img]
        if sel:
            md += [f"### {img}", "", "```"] + [f"# {r['label']}\n{r['command']}" for r in sel] + ["```", ""]

    bl.write_md(a.out, "convert.md", md)
    bl.write_json(a.out, "convert.json", {"meta": meta, "goals": gl, "rows": rows})

    # Plot data (convert.gnuplot): one block per image,
    # "label" wall_s cpu_s peak_rss_mib written_mib output_mib is_ferry
    # Plot labels: short, and never "ferry-oci", which is the OCI runtime's name.
    plot_label = {"ferry-oci": "ferry (oci:)", "ferry-registry": "ferry (docker://)",
                  "zcat-mksquashfs-tar": "zcat|mksquashfs", "sqfstar": "sqfstar" if any(
                      r["tool"] == "sqfstar" and r["label"].startswith("sqfstar") for r in rows)
                  else "mksquashfs -tar", "umoci-mksquashfs": "umoci+mksquashfs"}
    blocks = []
    for img, _ in IMAGES:
        lines = []
        for r in rows:
            if r["image"] != img or not r["median"]:
                continue
            m = r["median"]
            lines.append(f"\"{plot_label.get(r['tool'], r['tool'])}\" {m['wall_s']:.4f} {m['cpu_s']:.4f} {m['peak_rss_kib'] / 1024.0:.2f} "
                         f"{m['write_bytes'] / MIB:.2f} {m['output_bytes'] / MIB:.2f} "
                         f"{1 if r['tool'].startswith('ferry') else 0}")
        blocks.append((img, lines))
    bl.write_plot(a.out, "convert-plot.dat", "tool wall_s cpu_s peak_rss_mib written_mib output_mib is_ferry",
                  blocks)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--json", required=True)
    m.add_argument("--timeout", type=float, default=None)
    m.add_argument("--stdout")
    m.add_argument("--stderr")
    m.add_argument("cmd", nargs=argparse.REMAINDER)
    s = sub.add_parser("addsize")
    s.add_argument("--json", required=True)
    s.add_argument("--file", required=True)
    pl = sub.add_parser("addpull")
    pl.add_argument("--json", required=True)
    pl.add_argument("--stderr", required=True)
    bl.add_raw_out(sub.add_parser("report"))
    a = ap.parse_args()
    return {"measure": cmd_measure, "addsize": cmd_addsize, "addpull": cmd_addpull,
            "report": cmd_report}[a.what](a)


if __name__ == "__main__":
    sys.exit(main())
