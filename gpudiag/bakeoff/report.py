"""What the rows mean: winners, speedups, margins, and the recommendation in plain words.

Pure functions over ``BakeoffRun``; nothing here measures, prints or exits.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from gpudiag.bakeoff.modes import ALL_MODES, AUTOTUNE_MODES, CUDAGRAPH_PAIRS

if TYPE_CHECKING:
    from gpudiag.bakeoff.harness import BakeoffRun, ModeResult

HURT_THRESHOLD = 0.03  # a CUDA-graph mode more than 3% slower than its twin, beyond the spread, "hurt"
# Below this, copying a call's inputs into a CUDA graph's buffers is too small to name as a cause.
INPUT_COPY_NOTABLE_BYTES = 16 * 2**20
INPUT_COPY_NOTE = "every replay first copies the call's {size} of input tensors into the graph's own buffers"
FAILED = ("timeout", "crashed", "oom", "compile_error", "error", "harness_error")


@dataclass
class WorkloadSummary:
    """Modes are compared by ``ModeResult.per_call_ms``: do_bench's median unless launch-bound."""

    workload: str
    winner: str | None
    winner_ms: float | None
    runner_up: str | None
    runner_up_ms: float | None
    margin: float | None  # runner_up / winner - 1
    within_noise: bool | None  # the two best modes' quartile ranges overlap
    eager_ms: float | None
    speedup_vs_eager: dict[str, float] = field(default_factory=dict)
    launch_bound: list[str] = field(default_factory=list)  # modes whose host issue time exceeds the device time


@dataclass
class Summary:
    workloads: list[WorkloadSummary]
    wins: dict[str, int]
    geomean_speedup: dict[str, float]
    geomean_workloads: dict[str, int]
    average_win_margin: float | None
    any_ok: bool
    gemm_templates_disabled: bool | None
    cudagraphs_hurt: list[str]
    mismatches: list[str]
    failures: list[str]
    recommendation: str

    def to_dict(self) -> dict:
        return asdict(self)


def _ranked(rows: list[ModeResult]) -> list[ModeResult]:
    return sorted((r for r in rows if r.ok), key=lambda r: r.per_call_ms)


def summarize_workload(name: str, rows: list[ModeResult]) -> WorkloadSummary:
    ranked = _ranked(rows)
    eager = next((r for r in rows if r.mode == "eager" and r.ok), None)
    speedups = {r.mode: eager.per_call_ms / r.per_call_ms for r in ranked if eager and r.per_call_ms} if eager else {}
    bound = [r.mode for r in ranked if r.launch_bound]
    eager_ms = eager.per_call_ms if eager else None
    if not ranked:
        return WorkloadSummary(name, None, None, None, None, None, None, eager_ms, speedups, bound)
    best = ranked[0]
    second = ranked[1] if len(ranked) > 1 else None
    margin = (second.per_call_ms / best.per_call_ms - 1.0) if second and best.per_call_ms else None
    noise = None
    if second is not None:
        b_q3, s_q1 = best.per_call_quartiles[1], second.per_call_quartiles[0]
        noise = None if b_q3 is None or s_q1 is None else s_q1 <= b_q3
    return WorkloadSummary(name, best.mode, best.per_call_ms, second.mode if second else None,
                           second.per_call_ms if second else None, margin, noise, eager_ms, speedups, bound)


def summarize(run: BakeoffRun) -> Summary:
    names = [w["name"] for w in run.workloads] or sorted({r.workload for r in run.rows})
    by_wl = {n: [r for r in run.rows if r.workload == n] for n in names}
    per = [summarize_workload(n, by_wl[n]) for n in names]
    modes = [m for m in ALL_MODES if any(r.mode == m for r in run.rows)]
    wins = {m: sum(1 for w in per if w.winner == m) for m in modes}
    geo, geo_n = {}, {}
    for m in modes:
        xs = [w.speedup_vs_eager[m] for w in per if m in w.speedup_vs_eager]
        if xs:
            geo[m] = math.exp(sum(math.log(x) for x in xs) / len(xs))
            geo_n[m] = len(xs)
    margins = [w.margin for w in per if w.margin is not None]
    avg_margin = sum(margins) / len(margins) if margins else None
    gemm_off = _gemm_templates_disabled(run)
    hurt = _cudagraphs_hurt(by_wl, {w["name"]: w.get("input_bytes") for w in run.workloads})
    mismatches = [f"{r.mode} on {r.workload}: {r.reason}" for r in run.rows if r.status == "mismatch"]
    failures = [f"{r.mode} on {r.workload}: {r.status}: {r.reason}" for r in run.rows if r.status in FAILED]
    summary = Summary(per, wins, geo, geo_n, avg_margin, any(r.ok for r in run.rows), gemm_off, hurt,
                      mismatches, failures, "")
    summary.recommendation = recommend(run, summary, by_wl)
    return summary


def _gemm_templates_disabled(run: BakeoffRun) -> bool | None:
    """True when max-autotune ran on a GPU below inductor's is_big_gpu SM gate."""
    ran = [r for r in run.rows if r.mode in AUTOTUNE_MODES and r.status not in ("skipped", "not_run")]
    if not ran or run.device.get("kind") != "cuda":
        return None
    # The child's own is_big_gpu() call is the authority; the parent's SM-count reading backs it up.
    seen = [r.environment.get("is_big_gpu") for r in ran if r.environment and r.environment.get("is_big_gpu") is not None]
    if seen:
        return not all(seen)
    return run.device.get("gemm_templates_disabled")


def _cudagraphs_hurt(by_wl: dict[str, list[ModeResult]], inputs: dict[str, int | None]) -> list[str]:
    out = []
    for name, rows in by_wl.items():
        ok = {r.mode: r for r in rows if r.ok}
        for graphs, plain in CUDAGRAPH_PAIRS:
            g, p = ok.get(graphs), ok.get(plain)
            if not g or not p:
                continue
            slower = g.per_call_ms / p.per_call_ms - 1.0
            g_q1, p_q3 = g.per_call_quartiles[0], p.per_call_quartiles[1]
            beyond_spread = (g_q1 if g_q1 is not None else g.per_call_ms) > (p_q3 if p_q3 is not None else p.per_call_ms)
            if slower > HURT_THRESHOLD and beyond_spread:
                text = f"{graphs} was {slower:.0%} slower than {plain} on {name}"
                copied = inputs.get(name)
                if not g.launch_bound and copied and copied >= INPUT_COPY_NOTABLE_BYTES:
                    # cudagraph_trees' CUDAGraphNode.run copies every non-static input (not a parameter,
                    # buffer or earlier graph's output) into the graph's own buffers before the replay.
                    text += f" (GPU-bound, and {INPUT_COPY_NOTE.format(size=_mib(copied))})"
                out.append(text)
    return out


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n / 1024:.0f} KiB"


def _ms(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.4g} ms"


def recommend(run: BakeoffRun, s: Summary, by_wl: dict[str, list[ModeResult]]) -> str:
    parts: list[str] = []
    if not s.any_ok:
        parts.append("No mode produced a timed, correct result, so there is nothing to recommend; see the reasons above.")
    elif len(s.workloads) == 1:
        w = s.workloads[0]
        parts.append(_one_workload(w, by_wl[w.workload]))
    else:
        counted = {m: n for m, n in s.wins.items() if n}
        top = max(counted, key=lambda m: (counted[m], s.geomean_speedup.get(m, 0.0))) if counted else None
        n_scored = sum(1 for w in s.workloads if w.winner)
        if top:
            g = s.geomean_speedup.get(top)
            parts.append(f"{top} won {counted[top]} of {n_scored} workloads"
                         + (f" (geometric-mean speedup {g:.2f}x over eager)" if g else "") + ".")
            others = [f"{m} won {n}" for m, n in counted.items() if m != top]
            if others:
                parts.append("Elsewhere " + ", ".join(others) + ": check the per-workload winners, since the best "
                             "mode depends on the shape.")
        best_geo = max(s.geomean_speedup.items(), key=lambda kv: kv[1]) if s.geomean_speedup else None
        if best_geo and best_geo[0] != top:
            parts.append(f"By geometric-mean speedup the best single mode is {best_geo[0]} ({best_geo[1]:.2f}x).")
        if s.average_win_margin is not None:
            parts.append(f"On average the winner led the runner-up by {s.average_win_margin:.1%}.")
    if s.gemm_templates_disabled:
        d = run.device
        parts.append(f"max-autotune's GEMM templates were disabled on this GPU ({d.get('sm_count')} SMs, below the "
                     f"{d.get('is_big_gpu_min_sms')} that inductor's is_big_gpu requires), so max-autotune could only "
                     "tune pointwise and reduction kernels and kept the cuBLAS matmuls.")
    bound = [f"{', '.join(w.launch_bound)} on {w.workload}" for w in s.workloads if w.launch_bound]
    if bound:
        parts.append("Launch-bound: " + "; ".join(bound) + ". There the host took longer to issue a call than the "
                     "GPU took to run it, so those modes are ranked by their back-to-back time per call (loop ms); "
                     "their do_bench medians understate it and move with host load. Fewer, larger calls "
                     "(batching) or CUDA graphs are what help such workloads.")
    if s.cudagraphs_hurt:
        parts.append("CUDA graphs hurt here: " + "; ".join(s.cudagraphs_hurt) + ".")
        if any(INPUT_COPY_NOTE.split("{")[0] in h for h in s.cudagraphs_hurt):
            # Measured (bench/bakeoff_diag_cudagraph_input_copy.py): the copy is the whole gap on softmax_vocab's
            # prefill, and torch._dynamo.mark_static_address() on the input did not remove it (torch 2.11).
            parts.append("A CUDA-graph mode copies each input tensor into its graph's own buffers on every "
                         "call unless it is a parameter, a buffer or the output of an earlier CUDA graph; "
                         "compiling the code that produces those inputs together with this workload avoids "
                         "the copy, otherwise prefer the mode without CUDA graphs.")
    skips = sorted({r.mode for r in run.rows if r.cudagraph_skips})
    if skips:
        parts.append(f"Inductor skipped CUDA graphs in {', '.join(skips)} (see the mode's warnings for why).")
    if s.mismatches:
        parts.append("WARNING: results differ from eager beyond tolerance for " + "; ".join(s.mismatches)
                     + ". Those rows are excluded from the ranking.")
    if s.failures:
        parts.append(f"{len(s.failures)} measurement(s) failed (see the status column).")
    if run.interrupted:
        parts.append("The run was interrupted, so this covers only the modes that finished.")
    return " ".join(parts)


def _one_workload(w: WorkloadSummary, rows: list[ModeResult]) -> str:
    if w.winner is None:
        return f"No mode produced a timed, correct result for {w.workload}."
    by = {r.mode: r for r in rows}
    text = f"For {w.workload}, {w.winner} was fastest at {_ms(w.winner_ms)} per call"
    sp = w.speedup_vs_eager.get(w.winner)
    if w.winner != "eager" and sp:
        text += f" ({sp:.2f}x eager)"
    if w.runner_up:
        text += f", {w.margin:.1%} ahead of {w.runner_up}"
    text += "."
    if w.winner == "eager":
        compiled = [(m, x) for m, x in w.speedup_vs_eager.items() if m != "eager"]
        if compiled:
            m, x = max(compiled, key=lambda kv: kv[1])
            text += f" torch.compile did not pay off here: the best compiled mode, {m}, reached {x:.2f}x eager; keep eager."
        return text
    if w.within_noise and w.runner_up:
        a, b = by[w.winner], by[w.runner_up]
        cheaper = min((a, b), key=lambda r: r.compile_s if r.compile_s is not None else 0.0)
        if cheaper.mode == "eager":
            return text + (f" {w.winner} and eager are within measurement noise (their quartile ranges overlap): "
                           "torch.compile bought nothing measurable here, so keep eager.")
        text += (f" The two best are within measurement noise (their quartile ranges overlap), so prefer "
                 f"{cheaper.mode}, whose cold compile took {cheaper.compile_s or 0:.1f} s.")
    else:
        win = by[w.winner]
        if win.compile_s is not None:
            text += f" Use torch.compile(mode=\"{w.winner}\")" if w.winner != "default" else " Use torch.compile()"
            text += f"; its cold compile took {win.compile_s:.1f} s."
    return text
