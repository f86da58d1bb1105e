"""Honest-measurement checks of `gpudiag bakeoff` on the small MLP of the issue (Linear 1024->1024,
ReLU, Linear 1024->1024, batch 256, fp32), all five modes:

(a) gpudiag's per-mode medians vs a plain do_bench of the same compiled callable, run by the same child
    process right after gpudiag's own timing (a_same_process), and vs a hand-written do_bench in a separate
    process (bench/bakeoff/handwritten_do_bench.py, compiling each mode from the cache the bake-off kept): within 3%;
(b) the same bake-off twice (both fork children from a torch-importing zygote unless --run2-spawn fresh):
    the same advice (the same winner, or the same two best called a tie both times), medians within 3%,
    and the ranking figure (per_call_ms) within 3%;
plus the harness-overhead breakdown of both runs (overhead.breakdown), and what the CI gate
(`--baseline run1 --max-regression 3`) says of run 2: GPU-bound rows by the percentage, launch-bound rows
beyond their measured spread.

    python3 -m bench.bakeoff.checks --device cuda --out DIR [--script KB.py --tag NAME]

--script runs the same checks on another KernelBench file, e.g. a GPU-bound control.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.bakeoff.overhead import MLP, bake, breakdown, import_torch_s

TOL = 0.03


def winner(doc: dict) -> str | None:
    return doc["summary"]["workloads"][0]["winner"]


def gate_against(baseline_path: Path, doc: dict, pct: float = TOL * 100) -> dict:
    """gpudiag's own --baseline gate, applied to ``doc`` with ``baseline_path`` as the earlier run."""
    from gpudiag.bakeoff import gate
    from gpudiag.bakeoff.results import BakeoffRun, from_dict
    from gpudiag.bakeoff.settings import Limits

    run = from_dict(BakeoffRun, doc)  # the rows, the device and the environment, as the run recorded them
    limits = Limits(baseline=str(baseline_path), max_regression_pct=pct)
    return gate.evaluate(run, limits, gate.load_baseline(str(baseline_path))).to_dict()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--quick", action="store_true", help="short budgets (CPU dry runs)")
    ap.add_argument("--out", default=".")
    ap.add_argument("--modes", default=None, help="comma-separated subset (default: all five)")
    ap.add_argument("--script", default=str(MLP))
    ap.add_argument("--tag", default="checks")
    ap.add_argument("--run2-spawn", default="fork", choices=("fork", "fresh"))
    ap.add_argument(
        "--resummarize",
        action="store_true",
        help="rebuild TAG_summary.json in --out from the saved run 1, hand-written and run 2 "
        "documents (after a change to the checks themselves; nothing is re-measured)",
    )
    a = ap.parse_args()
    script = Path(a.script)
    out = Path(a.out)
    if a.resummarize:

        def saved(name: str):
            return json.loads((out / f"{a.tag}_{name}.json").read_text())

        old = saved("summary") if (out / f"{a.tag}_summary.json").exists() else {}
        imp = old.get("import_torch_s") or old["overhead"]["run1"]["import_torch_s"]
        summarize(
            out,
            a.tag,
            Path(saved("run1")["settings"]["script"]),
            saved("run1"),
            saved("handwritten"),
            saved("run2"),
            imp,
            measured=old.get("date") or saved("run2")["finished_at"],
        )
        return
    modes = a.modes.split(",") if a.modes else None
    keep = tempfile.mkdtemp(prefix="gpudiag-checks-cache-")
    run1 = bake("fork", a.device, a.quick, keep=keep, modes=modes, crosscheck=True, script=script)
    (out / f"{a.tag}_run1.json").write_text(json.dumps(run1, indent=2))
    print(f"run 1 done: wall {run1['wall_s']:.1f} s", file=sys.stderr, flush=True)
    budgets = (run1["settings"]["warmup_ms"], run1["settings"]["rep_ms"])
    hand = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).parent / "handwritten_do_bench.py"),
            str(script),
            "--device",
            a.device,
            "--cache-root",
            keep,
            "--workload",
            run1["workloads"][0]["name"],
            "--warmup",
            str(budgets[0]),
            "--rep",
            str(budgets[1]),
            "--modes",
            ",".join(r["mode"] for r in run1["rows"] if r.get("timing")),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    handwritten = json.loads(hand.stdout)
    (out / f"{a.tag}_handwritten.json").write_text(json.dumps(handwritten, indent=2))  # kept if run 2 is cut short
    print("hand-written done", file=sys.stderr, flush=True)
    run2 = bake(a.run2_spawn, a.device, a.quick, modes=modes, crosscheck=True, script=script)
    (out / f"{a.tag}_run2.json").write_text(json.dumps(run2, indent=2))
    summarize(out, a.tag, script, run1, handwritten, run2, import_torch_s())


def same_advice(run1: dict, run2: dict) -> bool:
    """The two runs advise the same: the same winner, or the same two best called a tie (within each
    other's quartiles) both times, where the report prefers the same one of them."""
    w1, w2 = (d["summary"]["workloads"][0] for d in (run1, run2))
    if w1["winner"] == w2["winner"]:
        return True
    return bool(
        w1.get("within_noise")
        and w2.get("within_noise")
        and {w1["winner"], w1["runner_up"]} == {w2["winner"], w2["runner_up"]}
    )


def summarize(
    out: Path,
    tag: str,
    script: Path,
    run1: dict,
    handwritten: dict,
    run2: dict,
    imp: float,
    measured: str | None = None,
) -> None:
    budgets = (run1["settings"]["warmup_ms"], run1["settings"]["rep_ms"])

    def medians(doc: dict) -> dict:
        return {r["mode"]: r["timing"].get("median_ms") for r in doc["rows"] if r.get("timing")}

    def per_call(doc: dict) -> dict:
        return {r["mode"]: r["timing"].get("per_call_ms") for r in doc["rows"] if r.get("timing")}

    m1, m2 = medians(run1), medians(run2)
    p1, p2 = per_call(run1), per_call(run2)
    bound = {
        n: sorted(r["mode"] for r in d["rows"] if r.get("timing", {}).get("launch_bound"))
        for n, d in (("run1", run1), ("run2", run2))
    }
    check_a = {
        m: {
            "gpudiag_ms": m1[m],
            "handwritten_ms": handwritten[m]["median_ms"],
            "diff": m1[m] / handwritten[m]["median_ms"] - 1.0,
        }
        for m in m1
        if m in handwritten
    }
    check_b = {
        m: {"run1_ms": m1[m], "run2_ms": m2.get(m), "diff": (m2[m] / m1[m] - 1.0) if m2.get(m) else None} for m in m1
    }
    # (a) in the same process: the child's own plain do_bench of the same compiled callable.
    check_a_same = {}
    for run_name, doc, med in (("run1", run1, m1), ("run2", run2, m2)):
        same = {r["mode"]: r["timing"].get("crosscheck_median_ms") for r in doc["rows"] if r.get("timing")}
        for m in med:
            if same.get(m):
                check_a_same.setdefault(m, {})[run_name] = {
                    "gpudiag_ms": med[m],
                    "plain_do_bench_ms": same[m],
                    "diff": med[m] / same[m] - 1.0,
                }
    summary = {
        "date": measured or datetime.datetime.now().isoformat(timespec="seconds"),
        **({"resummarized": datetime.datetime.now().isoformat(timespec="seconds")} if measured else {}),
        "a_same_process": check_a_same,
        "a_same_process_pass": bool(check_a_same)
        and all(abs(x["diff"]) <= TOL for v in check_a_same.values() for x in v.values()),
        "script": str(script),
        "launch_bound": bound,
        "b_per_call": {
            m: {"run1_ms": p1[m], "run2_ms": p2.get(m), "diff": (p2[m] / p1[m] - 1.0) if p2.get(m) and p1[m] else None}
            for m in p1
        },
        "device": run1["device"],
        "versions": run1["versions"],
        "budgets_ms": budgets,
        "a_handwritten": check_a,
        "a_pass": all(abs(v["diff"]) <= TOL for v in check_a.values()),
        "b_runs": check_b,
        "b_winners": [winner(run1), winner(run2)],
        "b_same_advice": same_advice(run1, run2),
        "import_torch_s": imp,
        "b_pass": same_advice(run1, run2)
        and all(v["diff"] is not None and abs(v["diff"]) <= TOL for v in check_b.values()),
        "overhead": {"run1": breakdown(run1, imp), "run2": breakdown(run2, imp)},
        "compile_s": {
            "run1": {r["mode"]: r["compile_s"] for r in run1["rows"]},
            "run2": {r["mode"]: r["compile_s"] for r in run2["rows"]},
        },
        "gate_run2_vs_run1": gate_against(out / f"{tag}_run1.json", run2),
    }
    (out / f"{tag}_summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
