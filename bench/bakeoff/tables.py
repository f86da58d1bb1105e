"""Markdown tables for docs/BENCHMARKS.md from `gpudiag bakeoff --output` JSON files.

python3 -m bench.bakeoff.tables wl_rmsnorm.json wl_softmax_vocab.json ...
"""

import json
import sys


def ms(x):
    return "—" if x is None else f"{x:.4f}"


for path in sys.argv[1:]:
    with open(path) as fh:
        d = json.load(fh)
    print(f"#### `{d['settings']['script'].split('/')[-1]}` ({'complete' if d['complete'] else 'interrupted'})\n")
    summary = {w["workload"]: w for w in d["summary"]["workloads"]}
    for wl in d["workloads"]:
        w = summary[wl["name"]]
        notes = []
        print(f"**{wl['name']}** ({', '.join(wl['args'])}): winner **{w['winner']}**\n")
        print(
            "| mode | compile s | median ms | q1–q3 ms | min ms | loop ms | vs eager | max abs err "
            "| vs fp64 (judged as) | breaks/recompiles | status |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in d["rows"]:
            if r["workload"] != wl["name"]:
                continue
            t = r["timing"] or {}
            label = r.get("label", r["mode"])
            sp = w["speedup_vs_eager"].get(label)
            err = r["correctness"]["max_abs_error"] if r.get("correctness") else None
            comp = "—" if r["compile_s"] is None else f"{r['compile_s']:.2f}"
            seen = r.get("observed") or r  # schema 2 keeps the counts under "observed"
            counts = "—" if seen["graph_breaks"] is None else f"{seen['graph_breaks']}/{seen['recompiles']}"
            numerics = r.get("numerics")
            cells = [
                label,
                comp,
                ms(t.get("median_ms")),
                f"{ms(t.get('q1_ms'))}–{ms(t.get('q3_ms'))}",
                ms(t.get("min_ms")),
                "—" if t.get("loop_ms") is None else ms(t["loop_ms"]) + ("*" if t.get("launch_bound") else ""),
                f"{sp:.2f}x" if sp else "—",
                "—" if err is None else f"{err:.1e}",
                "—" if not numerics else f"{numerics['rel_rmse']:.1e} ({numerics['judged_as']})",
                counts,
                r["status"],
            ]
            print("| " + " | ".join(cells) + " |")
            for note in (r.get("correctness") or {}).get("notes", []):
                notes.append(f"{label}: {note}")
        print()
        for note in notes:
            print(f"- {note}")
        if notes:
            print()
    print(f"Recommendation: {d['summary']['recommendation']}\n")
