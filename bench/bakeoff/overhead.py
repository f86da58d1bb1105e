"""Harness overhead of `gpudiag bakeoff`: where the wall time of a five-mode bake-off goes.

For a bake-off run: total wall time, the sum of the modes' cold compile times, the sum of their
timing budgets (warm-up + reps), and N x the time of `python -c "import torch"` (N = processes
started: one per measurement; the first also lists the script's workloads). Overhead = wall - compile - budgets - N x import,
reported as a share of the wall; also the share when the import cost is counted as overhead.
Runs the MLP bake-off with both ways of starting children (fork from a torch-importing zygote,
and a fresh interpreter per mode) so the two can be compared.

    python3 -m bench.bakeoff.overhead --device cuda --out DIR
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from gpudiag.bakeoff.modes import ALL_MODES
from gpudiag.bakeoff.session import run_bakeoff
from gpudiag.bakeoff.settings import Settings

MLP = Path(__file__).resolve().parents[1] / "workloads" / "kernelbench" / "small_mlp_prefill.py"


def import_torch_s(times: int = 3) -> float:
    xs = []
    for _ in range(times):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True)
        xs.append(time.perf_counter() - t0)
    return statistics.median(xs)


def breakdown(doc: dict, import_s: float) -> dict:
    rows = doc["rows"]
    timed = [r for r in rows if r.get("timing")]
    compile_sum = sum(r["compile_s"] or 0.0 for r in rows if r.get("compile_s"))
    # The first call of eager is not a compile, but it is unavoidable work all the same.
    first_calls = sum(r["first_call_s"] or 0.0 for r in rows if r["mode"] == "eager" and r.get("first_call_s"))
    # Every timer's budget is unavoidable work: do_bench's warm-up and reps, the back-to-back loop, and
    # (in the checks) the cross-check's second do_bench.
    budget_sum = (
        sum(
            r["timing"]["warmup_ms"]
            + r["timing"]["rep_ms"]
            + (r["timing"].get("loop_budget_ms") or 0.0)
            + (
                r["timing"]["warmup_ms"] + r["timing"]["rep_ms"]
                if r["timing"].get("crosscheck_median_ms") is not None
                else 0.0
            )
            for r in timed
        )
        / 1e3
    )
    n = sum(1 for r in rows if r["status"] not in ("skipped", "not_run"))  # one process per measurement
    wall = doc["wall_s"]
    overhead = wall - compile_sum - first_calls - budget_sum - n * import_s
    overhead_incl_import = wall - compile_sum - first_calls - budget_sum
    return {
        "spawn": doc["harness"]["spawn"],
        "wall_s": wall,
        "compile_sum_s": compile_sum,
        "eager_first_call_s": first_calls,
        "budget_sum_s": budget_sum,
        "processes": n,
        "import_torch_s": import_s,
        "n_x_import_s": n * import_s,
        "overhead_s": overhead,
        "overhead_share": overhead / wall,
        "overhead_counting_imports_s": overhead_incl_import,
        "overhead_counting_imports_share": overhead_incl_import / wall,
        "medians_ms": {r["mode"]: r["timing"].get("median_ms") for r in timed},
        "per_call_ms": {r["mode"]: r["timing"].get("per_call_ms") for r in timed},
        "statuses": {r["mode"]: r["status"] for r in rows},
    }


def bake(
    spawn: str,
    device: str,
    quick: bool,
    keep: str | None = None,
    timeout: float = 600.0,
    modes: list[str] | None = None,
    crosscheck: bool = False,
    script: Path = MLP,
) -> dict:
    """One bake-off of the modes alone (no knobs: the checks compare modes run to run)."""
    settings = Settings(
        script=str(script),
        modes=modes or list(ALL_MODES),
        device=device,
        spawn=spawn,
        quick=quick,
        timeout_s=timeout,
        keep_cache_root=keep,
        crosscheck=crosscheck,
        knobs="none",
    )
    return run_bakeoff(settings).to_dict()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=".")
    a = ap.parse_args()
    out = Path(a.out)
    imp = import_torch_s()
    result = {"import_torch_s": imp}
    for spawn in ("fork", "fresh"):
        doc = bake(spawn, a.device, a.quick)
        (out / f"overhead_{spawn}.json").write_text(json.dumps(doc, indent=2))
        result[spawn] = breakdown(doc, imp)
    print(json.dumps(result, indent=2))
    (out / "overhead_summary.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
