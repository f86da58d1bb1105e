"""Markdown for docs/BENCHMARKS.md from bench/bakeoff/checks.py's output folder.

python3 -m bench.bakeoff.checks_tables DIR TAG    # reads DIR/TAG_summary.json, DIR/TAG_run1.json, DIR/TAG_run2.json
"""

import json
import sys
from pathlib import Path

TOL = 0.03


def pct(x):
    if x is None:
        return "—"
    s = f"{x:+.1%}"
    return f"**{s}**" if abs(x) > TOL else s


def ms(x):
    return "—" if x is None else f"{x:.4f}"


def main(folder: str, tag: str) -> None:
    d = Path(folder)
    summary = json.loads((d / f"{tag}_summary.json").read_text())
    runs = [json.loads((d / f"{tag}_run{i}.json").read_text()) for i in (1, 2)]
    timing = [{r["mode"]: r.get("timing") or {} for r in run["rows"]} for run in runs]
    print(
        "| mode | run 1 median | same-process do_bench | (a) same process | hand-written | (a) hand-written "
        "| run 2 median | (b) median | loop run 1 / run 2 | launch-bound run 1 / 2 | (b) ranking figure |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for mode, b in summary["b_runs"].items():
        same = summary["a_same_process"].get(mode, {}).get("run1", {})
        hand = summary.get("a_handwritten", {}).get(mode, {})
        loops = " / ".join(ms(t.get(mode, {}).get("loop_ms")) for t in timing)
        bound = " / ".join("yes" if t.get(mode, {}).get("launch_bound") else "no" for t in timing)
        print(
            f"| {mode} | {ms(b['run1_ms'])} | {ms(same.get('plain_do_bench_ms'))} | {pct(same.get('diff'))} "
            f"| {ms(hand.get('handwritten_ms'))} | {pct(hand.get('diff'))} | {ms(b['run2_ms'])} | {pct(b['diff'])} "
            f"| {loops} | {bound} | {pct(summary['b_per_call'][mode]['diff'])} |"
        )
    run2 = ", ".join(
        f"{m} {pct(v.get('run2', {}).get('diff'))}".replace("**", "") for m, v in summary["a_same_process"].items()
    )
    w = summary["b_winners"]
    print(f"\nRun 2's own same-process check: {run2}.")
    print(
        f"Winners: run 1 **{w[0]}**, run 2 **{w[1]}**. All ms; diffs are gpudiag / reference − 1 and "
        "run 2 / run 1 − 1; bold = beyond 3%.\n"
    )
    for name, o in summary["overhead"].items():
        print(
            f"- overhead {name}: wall {o['wall_s']:.1f} s, Σ compile {o['compile_sum_s']:.1f} s, Σ timing budgets "
            f"{o['budget_sum_s']:.1f} s, {o['processes']} × import torch ({o['import_torch_s']:.2f} s) = "
            f"{o['n_x_import_s']:.1f} s → overhead {o['overhead_s']:.1f} s = **{o['overhead_share']:.1%}** of the "
            f"wall ({o['overhead_counting_imports_share']:.1%} counting the imports the zygote saves)"
        )
    phases = [
        r["child"].get("phase_s", {}).get("reference")
        for run in runs
        for r in run["rows"]
        if r["mode"] != "eager" and r.get("child")
    ]
    phases = [p for p in phases if p is not None]
    if phases:
        print(
            f'- compiled modes\' "reference" phase (builds torch.compile, runs eager): '
            f"{min(phases):.2f}-{max(phases):.2f} s; zygote import {runs[0]['harness'].get('zygote_import_s', 0):.1f} s"
        )


if __name__ == "__main__":
    main(*sys.argv[1:3])
