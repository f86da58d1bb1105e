"""The recommendation in plain words: what a bake-off's summary (``report.summarize``) tells a user
to do, which mode and knobs to use and the code that gets them, and every caveat that goes with it
(noise, launch-bound rows, CUDA graphs that hurt, mismatches, rows that are not their mode).

Pure functions over a ``BakeoffRun`` and its ``Summary``; nothing here measures, prints or exits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpudiag.bakeoff.knobs import ABSENT, KNOBS

if TYPE_CHECKING:
    from gpudiag.bakeoff.report import Summary, WorkloadSummary
    from gpudiag.bakeoff.results import BakeoffRun, ModeResult

INPUT_COPY_NOTE = "every replay first copies the call's {size} of input tensors into the graph's own buffers"


def times(x: float) -> str:
    """A ratio as people read one: 1.42x, 12x, 1,417x."""
    return f"{x:,.0f}x" if x >= 10 else f"{x:.3g}x"


def _ms(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4g} ms"


def how_to_use(label: str) -> str:
    """The code a user writes to get ``label``: its mode and its knobs."""
    mode, *knobs = label.split(" +")
    compile_kwargs = [f'mode="{mode}"'] if mode not in ("default", "eager") else []
    settings = []
    for k in knobs:
        if KNOBS[k].setting.startswith("torch.compile("):
            compile_kwargs.append(f"dynamic={k == 'dynamic'}")
        else:
            settings.append(KNOBS[k].setting)
    if mode == "eager":
        return "eager (no torch.compile)" + (f", with {'; '.join(settings)}" if settings else "")
    return "; ".join([f"torch.compile({', '.join(compile_kwargs)})"] + settings)


def recommend(run: BakeoffRun, s: Summary) -> str:
    parts: list[str] = []
    if not s.any_ok:
        parts.append(
            "No mode produced a timed, correct result, so there is nothing to recommend; see the reasons above."
        )
    elif len(s.workloads) == 1:
        parts.append(_one_workload(s.workloads[0], run.rows_of(s.workloads[0].workload)))
    else:
        parts.extend(_many_workloads(s))
    for w in s.workloads:
        parts.extend(_knob_sentences(w, len(s.workloads) > 1))
        for label, reasons in w.implausible.items():
            parts.append(f"Check {label} on {w.workload}: " + "; ".join(reasons) + ".")
        if w.nondeterministic:
            parts.append(
                f"{w.workload}'s output changes from one eager call to the next (random numbers, or "
                "state kept between calls), so no row's correctness could be checked: they are marked "
                "'unchecked', not 'ok'."
            )
    if s.gemm_templates_disabled:
        d = run.device
        parts.append(
            f"max-autotune's GEMM templates were disabled on this GPU ({d.sm_count} SMs, below the "
            f"{d.is_big_gpu_min_sms} that inductor's is_big_gpu requires), so max-autotune could only "
            "tune pointwise and reduction kernels and kept the cuBLAS matmuls."
        )
    bound = [f"{', '.join(w.launch_bound)} on {w.workload}" for w in s.workloads if w.launch_bound]
    if bound:
        parts.append(
            "Launch-bound: " + "; ".join(bound) + ". There the host took longer to issue a call than the "
            "GPU took to run it, so those rows are ranked by their back-to-back time per call (loop ms); "
            "their do_bench medians understate it and move with host load. Fewer, larger calls "
            "(batching) or CUDA graphs are what help such workloads."
        )
    if s.cudagraphs_hurt:
        parts.append("CUDA graphs hurt here: " + "; ".join(s.cudagraphs_hurt) + ".")
        if any(INPUT_COPY_NOTE.split("{")[0] in h for h in s.cudagraphs_hurt):
            # Measured (bench/bakeoff/diag_cudagraph_input_copy.py): the copy is the whole gap on softmax_vocab's
            # prefill, and torch._dynamo.mark_static_address() on the input did not remove it (torch 2.11).
            parts.append(
                "A CUDA-graph mode copies each input tensor into its graph's own buffers on every "
                "call unless it is a parameter, a buffer or the output of an earlier CUDA graph; "
                "compiling the code that produces those inputs together with this workload avoids "
                "the copy, otherwise prefer the mode without CUDA graphs."
            )
    skips = sorted({r.label for r in run.rows if r.observed.cudagraph_skips})
    if skips:
        parts.append(f"Inductor skipped CUDA graphs in {', '.join(skips)} (see the row's warnings for why).")
    if s.mismatches:
        parts.append(
            "WARNING: results differ beyond tolerance for "
            + "; ".join(s.mismatches)
            + ". Those rows are excluded from the ranking."
        )
    if s.not_the_mode:
        parts.append(
            "Not measurements of their modes, so nothing above is drawn from them: " + "; ".join(s.not_the_mode) + "."
        )
    if run.environment_variables.get("CUDA_LAUNCH_BLOCKING") == "1":
        parts.append(
            "CUDA_LAUNCH_BLOCKING=1 was set: every kernel launch waited for the GPU to finish, so host-timed "
            "figures and what CUDA graphs save are not what a run without it sees."
        )
    if s.failures:
        parts.append(f"{len(s.failures)} measurement(s) failed (see the status column).")
    if run.interrupted:
        parts.append(f"The run was stopped ({run.interrupted_by}), so this covers only what finished.")
    return " ".join(parts)


def _many_workloads(s: Summary) -> list[str]:
    parts = []
    counted = {m: n for m, n in s.wins.items() if n}
    top = max(counted, key=lambda m: (counted[m], s.geomean_speedup.get(m, 0.0))) if counted else None
    n_scored = sum(1 for w in s.workloads if w.winner)
    if top:
        g = s.geomean_speedup.get(top)
        parts.append(
            f"{top} won {counted[top]} of {n_scored} workloads"
            + (f" (geometric-mean speedup {g:.2f}x over eager)" if g else "")
            + "."
        )
        others = [f"{m} won {n}" for m, n in counted.items() if m != top]
        if others:
            parts.append(
                "Elsewhere " + ", ".join(others) + ": check the per-workload winners, since the best "
                "mode depends on the shape."
            )
    best_geo = max(s.geomean_speedup.items(), key=lambda kv: kv[1]) if s.geomean_speedup else None
    if best_geo and best_geo[0] != top:
        parts.append(f"By geometric-mean speedup the best single choice is {best_geo[0]} ({best_geo[1]:.2f}x).")
    if s.average_win_margin is not None:
        parts.append(f"On average the winner led the runner-up by {s.average_win_margin:.1%}.")
    return parts


def _knob_sentences(w: WorkloadSummary, name_workload: bool) -> list[str]:
    where = f" on {w.workload}" if name_workload else ""
    out = []
    for k in w.knob_effects:
        if k.speedup is None:
            continue
        cost = ""
        if k.error_vs_fp64 is not None:
            cost = f"; its error against an fp64 run is {k.error_vs_fp64:.2g}"
            if k.error_cost is not None and k.error_cost > 1.5:
                cost += f", {times(k.error_cost)} eager's"
            cost += (
                f" ({'within' if k.status == 'ok' else 'beyond'} the tolerance of {k.judged_as}, the precision "
                "it computes in)"
            )
        if not k.mechanism:
            knob = k.label.split(" +")[-1]
            verdict = (
                f"{k.speedup:.2f}x {k.base}, but {knob} had nothing to act on here ({ABSENT.get(knob, 'no signal')}), "
                "so that difference is measurement noise, not an effect"
            )
        elif k.beyond_spread:
            verdict = f"{k.speedup:.2f}x {k.base}"
        else:
            verdict = f"within the spread of {k.base}"
        out.append(f"{k.label}{where}: {verdict}{cost}.")
    return out


def _one_workload(w: WorkloadSummary, rows: list[ModeResult]) -> str:
    if w.winner is None:
        return f"No mode produced a timed, correct result for {w.workload}."
    by = {r.label: r for r in rows}
    if w.winner == "eager" and w.runner_up is None:
        return (
            f"For {w.workload}, eager took {_ms(w.winner_ms)} per call; no compiled mode gave a timed, correct "
            "result, so this says nothing about whether torch.compile helps here."
        )
    effect = next((k for k in w.knob_effects if k.label == w.winner), None)
    if effect is not None and not effect.mechanism and effect.base in by:
        return (
            f"For {w.workload}, {w.winner} was fastest at {_ms(w.winner_ms)} per call, but its knob had nothing "
            f"to act on here, so the lead over {effect.base} is measurement noise: use {how_to_use(effect.base)}."
        )
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
            text += f" torch.compile did not pay off here: the best compiled choice, {m}, reached {x:.2f}x eager; keep eager."
        return text
    if w.within_noise and w.runner_up:
        a, b = by[w.winner], by[w.runner_up]
        cheaper = min((a, b), key=lambda r: r.compile_s if r.compile_s is not None else 0.0)
        if cheaper.label == "eager":
            return text + (
                f" {w.winner} and eager are within measurement noise (their quartile ranges overlap): "
                "torch.compile bought nothing measurable here, so keep eager."
            )
        return text + (
            f" The two best are within measurement noise (their quartile ranges overlap), so prefer "
            f"{cheaper.label} ({how_to_use(cheaper.label)}), whose cold compile took "
            f"{cheaper.compile_s or 0:.1f} s."
        )
    win = by[w.winner]
    text += f" Use {how_to_use(w.winner)}"
    if win.compile_s is not None:
        text += f"; its cold compile took {win.compile_s:.1f} s"
    return text + "."
