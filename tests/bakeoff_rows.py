"""Bake-off rows and runs built by hand, as a child would have measured them, for report and gate tests."""

from __future__ import annotations

from gpudiag.bakeoff.results import (
    BakeoffRun,
    Environment,
    ModeResult,
    Numerics,
    Observations,
    OpCensus,
    Timing,
    WorkloadInfo,
)
from gpudiag.bakeoff.timing import with_per_call


def timing(
    median: float,
    spread: float = 0.01,
    loop: float | None = None,
    floor: float | None = None,
    empty: float | None = None,
) -> Timing:
    t = Timing(
        timer="fake do_bench",
        warmup_ms=25.0,
        rep_ms=100.0,
        median_ms=median,
        min_ms=median * 0.9,
        q1_ms=median * (1 - spread),
        q3_ms=median * (1 + spread),
        max_ms=median * 1.5,
        mean_ms=median,
        reps=10,
        per_call_ms=median,
        per_call_q1_ms=median * (1 - spread),
        per_call_q3_ms=median * (1 + spread),
        per_call_source="do_bench",
        floor_ms=floor,
        empty_ms=empty,
    )
    if loop is not None:
        t.loop_ms, t.loop_q1_ms, t.loop_q3_ms = loop, loop * (1 - spread), loop * (1 + spread)
        with_per_call(t)
    return t


def row(
    wl: str,
    mode: str,
    median: float | None,
    status: str = "ok",
    spread: float = 0.01,
    compile_s: float = 1.0,
    big: bool = True,
    knobs: tuple[str, ...] = (),
    loop: float | None = None,
    **fields,
) -> ModeResult:
    r = ModeResult(
        wl,
        mode,
        status,
        None if status == "ok" else "why",
        knobs=list(knobs),
        compile_s=None if mode == "eager" else compile_s,
        timing=None if median is None else timing(median, spread, loop),
        environment=Environment(
            is_big_gpu=big, compute_capability="9.0", float32_matmul_precision="highest", conv_tf32=True
        ),
    )
    for name, value in fields.items():
        setattr(r, name, value)
    return r


def census(**fields) -> OpCensus:
    base = dict(
        ops=10,
        fp32_matmuls=0,
        fp32_convs=0,
        parameter_bytes=0,
        written_bytes=1000,
        dead_bytes=0,
        op_ms=1.0,
        dead_ms=0.0,
    )
    return OpCensus(**{**base, **fields})


def numerics(rel: float, eager: float, ok: bool = True, judged_as: str = "float16") -> Numerics:
    return Numerics(
        rel_rmse=rel, eager_rel_rmse=eager, max_abs_error=rel * 10, judged_as=judged_as, tolerance=1e-2, ok=ok
    )


def observed(**fields) -> Observations:
    return Observations(**fields)


def make_run(rows: list[ModeResult], workloads: list[str], device: dict | None = None, **fields) -> BakeoffRun:
    run = BakeoffRun(
        settings={},
        device=device or {"kind": "cuda", "name": "NVIDIA H200", "sm_count": 132, "is_big_gpu_min_sms": 68},
        versions={},
        started_at="",
        workloads=[WorkloadInfo(w, "gpudiag_workloads") for w in workloads],
        rows=rows,
    )
    for name, value in fields.items():
        setattr(run, name, value)
    return run
