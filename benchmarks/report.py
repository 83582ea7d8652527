#!/usr/bin/env python3
"""Turn the raw output of benchmarks/startup.sh into startup.md, startup.json and the plot data.

Input (--raw DIR): status.tsv (one line per runner, written by startup.sh), meta.tsv (machine
and versions), PART-ID.json (hyperfine --export-json, one per runner that ran).
Output (--out DIR): startup.md, startup.json, startup-plot.dat. Every number in the output
comes from the hyperfine exports; nothing is typed in by hand.
"""
import argparse
import json
import os
import shlex
import sys

PARTS = [
    ("startup", "1. Start-up: `CMD /bin/true`"),
    ("metadata-warm", "2. Metadata-heavy work, warm (caches kept: warm-up runs first)"),
    ("metadata-cold", "3. Metadata-heavy work, cold (caches dropped before every run)"),
]
WORKLOADS = [("find", "`find / -xdev`"), ("numpy", '`python3 -c "import numpy"`')]

# (part, workload or None, ferry runner, reference runner, target, what the goal says)
GOALS = [
    ("startup", None, "ferry-sqfs", "chrun-sqfs", 0.5, "start-up ≤ 0.5× ch-run on the same squashfs"),
    ("startup", None, "ferry-sqfs", "bwrap-dir", 1.5, "start-up (squashfs) ≤ 1.5× bwrap on the directory"),
    ("startup", None, "ferry-dir", "bwrap-dir", 1.5, "start-up (directory) ≤ 1.5× bwrap on the directory"),
]
for _part in ("metadata-warm", "metadata-cold"):
    for _w, _ in WORKLOADS:
        for _f, _kind in (("ferry-sqfs", "squashfs"), ("ferry-dir", "directory")):
            GOALS.append((_part, _w, _f, "dir", 1.5,
                          f"{_part.split('-')[1]} `{_w}` ({_kind}) ≤ 1.5× the plain directory"))


def ms(seconds):
    v = seconds * 1000.0
    if v < 10:
        return f"{v:.2f} ms"
    if v < 1000:
        return f"{v:.1f} ms"
    return f"{v:.0f} ms"


def argv_line(field, home):
    """startup.sh writes the argv split by \\x1f; make it a line a root shell can run."""
    argv = [a for a in field.split("\x1f") if a]
    if not argv:
        return ""
    return f"cd {shlex.quote(home)} && " + shlex.join(argv).replace("'$RAW/", "\"$RAW\"'/")


def load(raw):
    meta = {}
    with open(os.path.join(raw, "meta.tsv")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    rows = []
    with open(os.path.join(raw, "status.tsv")) as f:
        for line in f:
            part, rid, label, status, note, entries, cmd, hf = (line.rstrip("\n").split("\t") + [""] * 8)[:8]
            row = {"part": part, "id": rid, "label": label, "status": status, "note": note,
                   "entries": int(entries) if entries else None, "command": cmd,
                   "hyperfine_invocation": argv_line(hf, meta.get("user_home", "~")), "result": None}
            path = os.path.join(raw, f"{part}-{rid}.json")
            if status == "ok" and os.path.exists(path):
                with open(path) as j:
                    row["result"] = json.load(j)["results"][0]
            rows.append(row)
    return meta, rows


def workload_of(row):
    for w, _ in WORKLOADS:
        if row["id"].startswith(w + "-"):
            return w
    return None


def runner_of(row):
    w = workload_of(row)
    return row["id"][len(w) + 1:] if w else row["id"]


def find_row(rows, part, workload, runner):
    for r in rows:
        if r["part"] == part and workload_of(r) == workload and runner_of(r) == runner:
            return r
    return None


def median(row):
    return row["result"]["median"] if row and row["result"] else None


def table(rows, part, workload, out):
    sel = [r for r in rows if r["part"] == part and workload_of(r) == workload]
    if not sel:
        return
    # The ratio's base is ferry on the squashfs, or on the directory when that row did not run.
    base = "squashfs"
    ferry = median(find_row(rows, part, workload, "ferry-sqfs"))
    if not ferry:
        base, ferry = "directory", median(find_row(rows, part, workload, "ferry-dir"))
    show_entries = workload == "find"
    head = "| runner |" + (" entries |" if show_entries else "") + \
        f" median | mean ± σ | min | max | runs | ÷ ferry ({base}) | notes |"
    out.append(head)
    out.append("|" + "---|" * (head.count("|") - 1))
    for r in sel:
        ent = (f" {r['entries'] if r['entries'] is not None else '–'} |" if show_entries else "")
        if not r["result"]:
            out.append(f"| {r['label']} |{ent} **did not run** | – | – | – | – | – | {r['note']} |")
            continue
        h = r["result"]
        ratio = f"{h['median'] / ferry:.2f}×" if ferry else "n/a (ferry did not run)"
        out.append(f"| {r['label']} |{ent} {ms(h['median'])} | {ms(h['mean'])} ± {ms(h['stddev'] or 0.0)}"
                   f" | {ms(h['min'])} | {ms(h['max'])} | {len(h['times'])} | {ratio} | {r['note']} |")
    out.append("")


def goals(rows):
    res = []
    for part, w, f, ref, target, what in GOALS:
        if not any(r["part"] == part for r in rows):
            continue
        fr, rr = find_row(rows, part, w, f), find_row(rows, part, w, ref)
        fm, rm = median(fr), median(rr)
        g = {"part": part, "workload": w, "ferry": f, "reference": ref, "target": target, "goal": what,
             "ferry_median_s": fm, "reference_median_s": rm, "ratio": None, "met": None}
        if fm and rm:
            g["ratio"] = fm / rm
            g["met"] = g["ratio"] <= target
        res.append(g)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    meta, rows = load(a.raw)
    gl = goals(rows)

    md = ["# ferry start-up and metadata benchmark", "",
          f"Generated by `{meta.get('invocation', 'benchmarks/startup.sh')}` on {meta.get('date')} "
          f"({meta.get('mode')} mode). Do not edit by hand: run the script again "
          "(see [README.md](../README.md) for how to read this file).", ""]
    if meta.get("mode") == "quick":
        md += ["> **Quick mode**: few runs and no cold part; for development only, not for quoting.", ""]

    md += ["## Machine", "", "| | |", "|---|---|"]
    for k in ("host", "nproc", "cpu", "memory", "kernel", "os", "cgroups", "loadavg_start", "loadavg_end", "runs",
              "user"):
        md.append(f"| {k} | {meta.get(k, '')} |")
    md += ["", "The load averages (1, 5, 15 minutes) at the start and the end show whether other work "
           "shared the CPUs.", ""]

    md += ["## Goals", "", "Ratio = ferry median ÷ reference median; the goal is met when it is at most the target.", "",
           "| goal | ferry median | reference median | ratio | target | met |", "|---|---|---|---|---|---|"]
    for g in gl:
        fm = ms(g["ferry_median_s"]) if g["ferry_median_s"] else "did not run"
        rm = ms(g["reference_median_s"]) if g["reference_median_s"] else "did not run"
        ratio = f"{g['ratio']:.2f}×" if g["ratio"] is not None else "–"
        met = {True: "yes", False: "**no**", None: "unknown"}[g["met"]]
        md.append(f"| {g['goal']} | {fm} | {rm} | {ratio} | ≤ {g['target']}× | {met} |")
    md.append("")

    for part, title in PARTS:
        if not any(r["part"] == part for r in rows):
            if part == "metadata-cold":
                md += [f"## {title}", "", "Not measured in this run (quick mode or --cold-runs 0).", ""]
            continue
        md += [f"## {title}", ""]
        md += ["`÷ ferry` is this runner's median divided by ferry's (on the squashfs; on the directory "
               "when ferry's squashfs row did not run): above 1 means ferry is faster.", ""]
        if part == "startup":
            table(rows, part, None, md)
        else:
            for w, wt in WORKLOADS:
                md += [f"### {wt}", ""]
                table(rows, part, w, md)
            md += ["`entries` is the number of lines `find / -xdev` printed in the check run before timing: "
                   "a different count means that runner walks a different tree.", ""]

    md += ["## Versions and image", "", "| | |", "|---|---|"]
    for k in ("ferry", "hyperfine", "ch-run", "bwrap", "crun", "runc", "squashfuse_ll", "fuse3", "util-linux",
              "mksquashfs", "mmdebstrap", "gnuplot", "image_cmd", "image_dir", "image_sqfs", "image_python3",
              "image_numpy"):
        md.append(f"| {k} | `{meta.get(k, '')}` |")
    md.append("")

    md += ["## Exact command lines", "",
           "Each runner is first run once (its exit status and output checked), then timed with the "
           "hyperfine invocation below, run by root. `-N` means no shell is started around the command; "
           "`$RAW` is the temporary directory the JSON exports went to (merged into startup.json).", ""]
    for part, title in PARTS:
        sel = [r for r in rows if r["part"] == part]
        if not sel:
            continue
        md += [f"### {part}", "", "```"]
        for r in sel:
            md.append(r["hyperfine_invocation"] if r["hyperfine_invocation"] else f"# not timed: {r['command']}")
        md += ["```", ""]

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "startup.md"), "w") as f:
        f.write("\n".join(md))
    doc = {"meta": meta, "goals": gl, "parts": {}}
    for r in rows:
        doc["parts"].setdefault(r["part"], []).append(r)
    with open(os.path.join(a.out, "startup.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")

    # Plot data: one block per part (two blank lines between), "label" median_ms.
    blocks, titles = [], []
    for part, _ in PARTS:
        sel = [r for r in rows if r["part"] == part and r["result"]]
        if not sel:
            continue
        titles.append(part)
        lines = []
        for r in sel:
            label = r["id"].replace("-", " ").replace("squashfuse bwrap", "sqfuse+bwrap").replace("chrun", "ch-run")
            is_ferry = 1 if runner_of(r).startswith("ferry") else 0
            lines.append(f"\"{label}\" {r['result']['median'] * 1000.0:.4f} {is_ferry}")
        blocks.append("\n".join(lines))
    with open(os.path.join(a.out, "startup-plot.dat"), "w") as f:
        f.write(f"# titles: {' '.join(titles)}\n# label median_ms is_ferry\n")
        f.write("\n\n\n".join(blocks) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
