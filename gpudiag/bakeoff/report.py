"""What the rows mean: winners, speed-ups, margins, what the knobs bought and cost, and the gate;
``BakeoffReport`` is the one document a bake-off produces. The recommendation in plain words that
the summary carries is written by ``recommend.py``.

Pure functions over a ``BakeoffRun``; nothing here measures, prints or exits.
"""

from __future__ import annotations

import math
import signal
from dataclasses import asdict, dataclass, field

from gpudiag.bakeoff import plausibility
from gpudiag.bakeoff.gate import Baseline, GateReport, evaluate
from gpudiag.bakeoff.knobs import has_mechanism
from gpudiag.bakeoff.modes import ALL_MODES, AUTOTUNE_MODES, CUDAGRAPH_PAIRS
from gpudiag.bakeoff.recommend import INPUT_COPY_NOTE, recommend
from gpudiag.bakeoff.results import FAILED, NOT_THE_MODE, SCHEMA, BakeoffRun, Limits, ModeResult, VariantDecision
from gpudiag.errors import EXIT_NO, EXIT_OK

HURT_THRESHOLD = 0.03  # a CUDA-graph mode more than 3% slower than its twin, beyond the spread, "hurt"
# Below this, copying a call's inputs into a CUDA graph's buffers is too small to name as a cause.
INPUT_COPY_NOTABLE_BYTES = 16 * 2**20


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


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n / 1024:.0f} KiB"
