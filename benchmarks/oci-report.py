#!/usr/bin/env python3
"""Turn the raw output of benchmarks/oci.sh into oci.md, oci.json and the plot data.

Input (--raw DIR): status.tsv (one line per runner: part, id, label, status, note, command,
hyperfine argv split by \\x1f), meta.tsv (machine and versions), PART-RUNNER.json (hyperfine
--export-json). Output (--out DIR): oci.md, oci.json, oci-plot.dat (for plot.gnuplot). Every
number comes from the hyperfine exports; nothing is typed in by hand.
"""
import shlex
import sys

import benchlib as bl

PARTS = [
    ("root", "As root: `RUNTIME run` of one bundle (`runc spec` defaults, process /bin/true)"),
    ("rootless", "Rootless: each runtime's own `spec --rootless` bundle, process /bin/true"),
]

# (part, reference runner, target ratio runtime/reference, what the goal says)
GOALS = [
    ("root", "crun", 1.0, "as root, at most crun's median"),
    ("root", "runc", 0.5, "as root, at most 0.5× runc's median"),
    ("rootless", "crun", 1.0, "rootless, at most crun's rootless median"),
]


def load(raw):
    meta = bl.read_meta(raw)
    rows = []
    for part, rid, label, status, note, cmd, hf in bl.read_status(raw, 7):
        argv = bl.split_argv(hf)
        runner = rid.split("-", 1)[1]
        rows.append({"part": part, "id": rid, "runner": runner, "label": label, "status": status,
                     "note": note, "command": cmd,
                     "hyperfine_invocation": shlex.join(argv) if argv else "",
                     "result": bl.hyperfine_result(raw, f"{part}-{runner}.json", status)})
    return meta, rows


def median(rows, part, runner):
    for r in rows:
        if r["part"] == part and r["runner"] == runner and r["result"]:
            return r["result"]["median"]
    return None


def goals(rows):
    res = []
    for part, ref, target, what in GOALS:
        fm, rm = median(rows, part, "rt"), median(rows, part, ref)
        ratio, met = bl.ratio_met(fm, rm, target)
        res.append({"part": part, "reference": ref, "target": target, "goal": what, "runtime_median_s": fm,
                    "reference_median_s": rm, "ratio": ratio, "met": met})
    return res


def main():
    a = bl.raw_out_args()
    meta, rows = load(a.raw)
    gl = goals(rows)
    rt = meta.get("rt_label", "ferry-oci")
    vs = bl.baseline_compare(rows, lambda r: f"{r['part']}: {r['label']}")

    md = bl.header(meta, "OCI runtime start-up benchmark", "benchmarks/oci.sh")
    if meta.get("mode") == "quick":
        md += ["> **Quick mode**: few runs; for development only, not for quoting.", ""]
    if rt != "ferry-oci":
        md += [f"> The runtime under test is **{rt}**, not ferry-oci (a validation run of the script).", ""]

    md += bl.meta_table("Machine", meta, ("host", "nproc", "cpu", "kernel", "os", "cgroups", "loadavg_start",
                                          "loadavg_end", "runs", "user"))
    md += bl.ratio_goals(gl, rt, "runtime_median_s", reference_column=True)
    md += bl.baseline_section(vs, rt, meta.get("runtime_label", "this build"), meta.get("baseline_label", "baseline"),
                              meta.get("baseline", ""))

    for part, title in PARTS:
        sel = [r for r in rows if r["part"] == part]
        if not sel:
            continue
        md += [f"## {title}", "", f"`÷ {rt}` is the row's median divided by {rt}'s: above 1 means {rt} is faster.", "",
               f"| runtime | median | mean ± σ | min | max | ÷ {rt} | notes |", "|---|---|---|---|---|---|---|"]
        base = median(rows, part, "rt")
        for r in sel:
            res = r["result"]
            if not res:
                md.append(f"| {r['label']} | did not run | | | | | {r['note']} |")
                continue
            rel = f"{res['median'] / base:.2f}" if base else "–"
            md.append(f"| {r['label']} | {bl.hyperfine_cells(res)} | {rel} | {r['note']} |")
        md.append("")

    versions = ("runtime", "runtime_label") + (("baseline",) if "baseline" in meta else ()) + (
        "crun", "runc", "hyperfine", "busybox")
    md += bl.meta_table("Versions", meta, versions, code=True)
    md += ["## Exact command lines", "",
           "Each row was first checked (the bundle's root must be the container's: `cat` of a marker file), "
           "run once, then timed by the hyperfine invocation below, started by root from the temporary "
           "work directory (/var/tmp/ferry-oci-bench.*, removed afterwards).", "", "```"]
    for r in rows:
        md.append(r["hyperfine_invocation"] or f"# not timed: {r['command']}")
    md += ["```", ""]

    bl.write_md(a.out, "oci.md", md)
    bl.write_json(a.out, "oci.json", bl.by_part(meta, gl, rows, vs))
    # Plot data in plot.gnuplot's format: one block per part, "label" median_ms is_runtime (2: the
    # baseline).
    bl.write_plot(a.out, "oci-plot.dat", "label median_ms is_runtime", bl.hyperfine_plot_blocks(
        rows, PARTS, lambda r: {"rt": rt, "rt-baseline": f"{rt} baseline"}.get(r["runner"], r["runner"]),
        lambda r: {"rt": 1, "rt-baseline": 2}.get(r["runner"], 0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
