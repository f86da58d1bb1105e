"""What the rows mean: winners, speed-ups, margins, what the knobs bought and cost, the gate, and the
recommendation in plain words; ``BakeoffReport`` is the one document a bake-off produces.

Pure functions over a ``BakeoffRun``; nothing here measures, prints or exits.
"""

from __future__ import annotations

import math
import signal
from dataclasses import asdict, dataclass, field

from gpudiag.bakeoff import plausibility
from gpudiag.bakeoff.gate import Baseline, GateReport, evaluate
from gpudiag.bakeoff.knobs import ABSENT, KNOBS, has_mechanism
from gpudiag.bakeoff.modes import ALL_MODES, AUTOTUNE_MODES, CUDAGRAPH_PAIRS
from gpudiag.bakeoff.results import FAILED, NOT_THE_MODE, SCHEMA, BakeoffRun, Limits, ModeResult, VariantDecision
from gpudiag.errors import EXIT_NO, EXIT_OK

HURT_THRESHOLD = 0.03  # a CUDA-graph mode more than 3% slower than its twin, beyond the spread, "hurt"
# Below this, copying a call's inputs into a CUDA graph's buffers is too small to name as a cause.
INPUT_COPY_NOTABLE_BYTES = 16 * 2**20
INPUT_COPY_NOTE = "every replay first copies the call's {size} of input tensors into the graph's own buffers"


@dataclass
class KnobEffect:
    """A knob row against the row it was applied to: what it bought, and what it cost in accuracy."""

    label: str
    base: str
    speedup: float | None  # base per call / this per call
    beyond_spread: bool | None  # the two quartile ranges do not overlap
    status: str
    error_vs_fp64: float | None  # relative RMSE against an fp64 run
    error_cost: float | None  # that, as a multiple of eager's own error against fp64
    judged_as: str | None
    # False: the workload gave the knob nothing to act on (freezing without parameters), so the
    # difference from its base is noise and is never called an effect
    mechanism: bool = True


@dataclass
class WorkloadSummary:
    """Rows are compared by ``ModeResult.per_call_ms``: do_bench's median unless launch-bound."""

    workload: str
    winner: str | None
    winner_ms: float | None
    runner_up: str | None
    runner_up_ms: float | None
    margin: float | None  # runner_up / winner - 1
    within_noise: bool | None  # the two best rows' quartile ranges overlap
    eager_ms: float | None
    speedup_vs_eager: dict[str, float] = field(default_factory=dict)
    launch_bound: list[str] = field(default_factory=list)  # rows whose host issue time exceeds the device time
    knob_effects: list[KnobEffect] = field(default_factory=list)
    implausible: dict[str, list[str]] = field(default_factory=dict)  # label -> why its figures cannot be right
    nondeterministic: bool = False  # eager's own output changes from call to call


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
    # rows that are not a measurement of their mode (compilation disabled, the mode overridden)
    not_the_mode: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class BakeoffReport:
    """The whole answer: the run, what it means, and the gate's verdict; it owns its JSON."""

    run: BakeoffRun
    summary: Summary
    gates: GateReport | None = None

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            **self.run.to_dict(),
            "summary": self.summary.to_dict(),
            "gates": self.gates.to_dict() if self.gates else None,
        }

    @property
    def exit_code(self) -> int:
        """128 + the signal when stopped (130 for Ctrl-C), 1 when no row was timed or a gate failed."""
        if self.run.interrupted:
            return 128 + int(getattr(signal, self.run.interrupted_by or "SIGINT", signal.SIGINT))
        if not self.summary.any_ok or (self.gates is not None and not self.gates.passed):
            return EXIT_NO
        return EXIT_OK


def build(run: BakeoffRun, limits: Limits | None = None, baseline: Baseline | None = None) -> BakeoffReport:
    summary = summarize(run)
    return BakeoffReport(run, summary, evaluate(run, limits, baseline) if limits else None)


def _ranked(rows: list[ModeResult]) -> list[ModeResult]:
    return sorted((r for r in rows if r.timed), key=lambda r: r.timed_ms)


def _beyond_spread(fast: ModeResult, slow: ModeResult) -> bool:
    return fast.timed_timing.per_call_q3_ms < slow.timed_timing.per_call_q1_ms


def summarize_workload(
    name: str, rows: list[ModeResult], variants: list[VariantDecision] | None = None
) -> WorkloadSummary:
    ranked = _ranked(rows)
    eager = next((r for r in rows if r.mode == "eager" and not r.knobs and r.timed), None)
    speedups = {r.label: eager.timed_ms / r.timed_ms for r in ranked if r.timed_ms} if eager else {}
    ws = WorkloadSummary(
        name,
        None,
        None,
        None,
        None,
        None,
        None,
        eager.per_call_ms if eager else None,
        speedups,
        [r.label for r in ranked if r.launch_bound],
        _knob_effects(name, rows, variants),
        plausibility.flags(rows, speedups),
        any(r.nondeterminism is not None for r in rows),
    )
    if ranked:
        best = ranked[0]
        ws.winner, ws.winner_ms = best.label, best.per_call_ms
        if len(ranked) > 1:
            second = ranked[1]
            ws.runner_up, ws.runner_up_ms = second.label, second.per_call_ms
            ws.margin = second.timed_ms / best.timed_ms - 1.0
            ws.within_noise = not _beyond_spread(best, second)
    return ws


def _knob_effects(name: str, rows: list[ModeResult], variants: list[VariantDecision] | None) -> list[KnobEffect]:
    plain = {r.mode: r for r in rows if not r.knobs}
    out = []
    for r in rows:
        base = plain.get(r.mode)
        if not r.knobs or base is None:
            continue
        both = r.timed and base.timed
        n = r.numerics
        out.append(
            KnobEffect(
                r.label,
                base.label,
                base.timed_ms / r.timed_ms if both else None,
                _beyond_spread(r, base) or _beyond_spread(base, r) if both else None,
                r.status,
                n.rel_rmse if n else None,
                n.cost if n else None,
                n.judged_as if n else None,
                variants is None or all(has_mechanism(name, k, variants) for k in r.knobs),
            )
        )
    return out


def summarize(run: BakeoffRun) -> Summary:
    names = [w.name for w in run.workloads] or sorted({r.workload for r in run.rows})
    per = [summarize_workload(n, run.rows_of(n), run.variants) for n in names]
    labels = list(
        dict.fromkeys(
            [m for m in ALL_MODES if any(r.label == m for r in run.rows)] + [r.label for r in run.rows if r.knobs]
        )
    )
    wins = {m: sum(1 for w in per if w.winner == m) for m in labels}
    geo, geo_n = {}, {}
    for m in labels:
        xs = [w.speedup_vs_eager[m] for w in per if m in w.speedup_vs_eager]
        if xs:
            geo[m] = math.exp(sum(math.log(x) for x in xs) / len(xs))
            geo_n[m] = len(xs)
    margins = [w.margin for w in per if w.margin is not None]
    hurt = _cudagraphs_hurt(run, {w.name: w.input_bytes for w in run.workloads})
    summary = Summary(
        per,
        wins,
        geo,
        geo_n,
        sum(margins) / len(margins) if margins else None,
        any(r.timed for r in run.rows),
        _gemm_templates_disabled(run),
        hurt,
        [f"{r.label} on {r.workload}: {r.reason}" for r in run.rows if r.status == "mismatch"],
        [f"{r.label} on {r.workload}: {r.status}: {r.reason}" for r in run.rows if r.status in FAILED],
        "",
        [f"{r.label} on {r.workload}: {r.reason}" for r in run.rows if r.status in NOT_THE_MODE],
    )
    summary.recommendation = recommend(run, summary)
    return summary


def _gemm_templates_disabled(run: BakeoffRun) -> bool | None:
    """True when max-autotune ran on a GPU below inductor's is_big_gpu SM gate."""
    ran = [r for r in run.rows if r.mode in AUTOTUNE_MODES and r.status not in ("skipped", "not_run")]
    if not ran or run.device.kind != "cuda":
        return None
    # The child's own is_big_gpu() call is the authority; the parent's SM-count reading backs it up.
    seen = [r.environment.is_big_gpu for r in ran if r.environment and r.environment.is_big_gpu is not None]
    if seen:
        return not all(seen)
    return run.device.gemm_templates_disabled


def _cudagraphs_hurt(run: BakeoffRun, inputs: dict[str, int]) -> list[str]:
    out = []
    for name in inputs or {r.workload: 0 for r in run.rows}:
        timed = {r.mode: r for r in run.rows_of(name) if r.timed and not r.knobs}
        for graphs, plain in CUDAGRAPH_PAIRS:
            g, p = timed.get(graphs), timed.get(plain)
            if not g or not p:
                continue
            slower = g.timed_ms / p.timed_ms - 1.0
            if slower > HURT_THRESHOLD and _beyond_spread(p, g):
                text = f"{graphs} was {slower:.0%} slower than {plain} on {name}"
                copied = inputs.get(name)
                if not g.launch_bound and copied and copied >= INPUT_COPY_NOTABLE_BYTES:
                    # cudagraph_trees' CUDAGraphNode.run copies every non-static input (not a parameter,
                    # buffer or earlier graph's output) into the graph's own buffers before the replay.
                    text += f" (GPU-bound, and {INPUT_COPY_NOTE.format(size=_mib(copied))})"
                out.append(text)
    return out


def times(x: float) -> str:
    """A ratio as people read one: 1.42x, 12x, 1,417x."""
    return f"{x:,.0f}x" if x >= 10 else f"{x:.3g}x"


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n / 1024:.0f} KiB"


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
