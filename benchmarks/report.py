#!/usr/bin/env python3
"""Turn the raw output of benchmarks/startup.sh into startup.md, startup.json and the plot data.

Input (--raw DIR): status.tsv (one line per runner, written by startup.sh), meta.tsv (machine
and versions), PART-ID.json (hyperfine --export-json, one per runner that ran).
Output (--out DIR): startup.md, startup.json, startup-plot.dat. Every number in the output
comes from the hyperfine exports; nothing is typed in by hand.
"""
import shlex
import sys

import benchlib as bl

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


def argv_line(field, home):
    """startup.sh writes the argv split by \\x1f; make it a line a root shell can run."""
    argv = bl.split_argv(field)
    if not argv:
        return ""
    return f"cd {shlex.quote(home)} && " + shlex.join(argv).replace("'$RAW/", "\"$RAW\"'/")


def load(raw):
    meta = bl.read_meta(raw)
    rows = []
    for part, rid, label, status, note, entries, cmd, hf in bl.read_status(raw, 8):
        rows.append({"part": part, "id": rid, "label": label, "status": status, "note": note,
                     "entries": int(entries) if entries else None, "command": cmd,
                     "hyperfine_invocation": argv_line(hf, meta.get("user_home", "~")),
                     "result": bl.hyperfine_result(raw, f"{part}-{rid}.json", status)})
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
        out.append(f"| {r['label']} |{ent} {bl.hyperfine_cells(h)} | {len(h['times'])} | {ratio} | {r['note']} |")
    out.append("")


def what(row):
    """A row's name in the baseline table: part, workload (in the metadata parts) and runner."""
    w = workload_of(row)
    return f"{row['part']}{' ' + dict(WORKLOADS)[w] if w else ''}: {row['label']}"


def goals(rows):
    res = []
    for part, w, f, ref, target, what in GOALS:
        if not any(r["part"] == part for r in rows):
            continue
        fr, rr = find_row(rows, part, w, f), find_row(rows, part, w, ref)
        fm, rm = median(fr), median(rr)
        ratio, met = bl.ratio_met(fm, rm, target)
        res.append({"part": part, "workload": w, "ferry": f, "reference": ref, "target": target, "goal": what,
                    "ferry_median_s": fm, "reference_median_s": rm, "ratio": ratio, "met": met})
    return res


def main():
    a = bl.raw_out_args()
    meta, rows = load(a.raw)
    gl = goals(rows)
    vs = bl.baseline_compare(rows, what)

    md = bl.header(meta, "ferry start-up and metadata benchmark", "benchmarks/startup.sh")
    if meta.get("mode") == "quick":
        md += ["> **Quick mode**: few runs and no cold part; for development only, not for quoting.", ""]

    md += bl.meta_table("Machine", meta, ("host", "nproc", "cpu", "memory", "kernel", "os", "cgroups",
                                          "loadavg_start", "loadavg_end", "runs", "user"))
    md += bl.loadavg_note()
    md += bl.ratio_goals(gl, "ferry", "ferry_median_s")
    md += bl.baseline_section(vs, "ferry", meta.get("ferry_label", "this build"),
                              meta.get("baseline_label", "baseline"), meta.get("baseline", ""))

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

    versions = ("ferry", "ferry_label") + (("baseline",) if "baseline" in meta else ()) + (
        "hyperfine", "ch-run", "bwrap", "crun", "runc", "squashfuse_ll", "fuse3", "util-linux", "mksquashfs",
        "mmdebstrap", "gnuplot", "image_cmd", "image_dir", "image_sqfs", "image_python3", "image_numpy")
    md += bl.meta_table("Versions and image", meta, versions, code=True)

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

    bl.write_md(a.out, "startup.md", md)
    bl.write_json(a.out, "startup.json", bl.by_part(meta, gl, rows, vs))
    # Plot data (plot.gnuplot): one block per part, "label" median_ms is_ferry (2: the baseline).
    bl.write_plot(a.out, "startup-plot.dat", "label median_ms is_ferry", bl.hyperfine_plot_blocks(
        rows, PARTS,
        lambda r: r["id"].replace("-", " ").replace("squashfuse bwrap", "sqfuse+bwrap").replace("chrun", "ch-run"),
        lambda r: 2 if r["id"].endswith(bl.BASELINE_SUFFIX) else runner_of(r).startswith("ferry")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
