"""Bake-off rows and runs built by hand, as a child would have measured them, for report and gate tests;
and one child's measurement run in the test's own process (``child_in_process``)."""

from __future__ import annotations

import contextlib
import logging
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gpudiag.bakeoff.results import (
    BakeoffRun,
    Environment,
    Limits,
    ModeResult,
    Numerics,
    Observations,
    OpCensus,
    RunDevice,
    RunSettings,
    Timing,
    Versions,
    WorkloadInfo,
)
from gpudiag.bakeoff.timing import with_per_call


def timing(
    median: float,
    spread: float = 0.01,
    loop: float | None = None,
    floor: float | None = None,
    empty: float | None = None,
    source: str = "do_bench",
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
        per_call_source=source,
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
    source: str = "do_bench",
    **fields,
) -> ModeResult:
    r = ModeResult(
        wl,
        mode,
        status,
        None if status == "ok" else "why",
        knobs=list(knobs),
        compile_s=None if mode == "eager" else compile_s,
        timing=None if median is None else timing(median, spread, loop, source=source),
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


def settings(**fields) -> RunSettings:
    base = dict(
        script="/x/work.py",
        modes=["eager", "default"],
        knobs=None,
        device="cuda",
        timeout_s=1200.0,
        quick=True,
        warm_cache=False,
        entry=None,
        inputs=None,
        spawn="fork",
        seed=0,
        output=None,
        limits=Limits(),
        warmup_ms=25.0,
        rep_ms=100.0,
    )
    return RunSettings(**{**base, **fields})


H200 = {"kind": "cuda", "name": "NVIDIA H200", "sm": "sm_90", "sm_count": 132, "is_big_gpu_min_sms": 68}


def make_run(
    rows: list[ModeResult],
    workloads: list[str],
    device: dict | None = None,
    settings_fields: dict | None = None,
    **fields,
) -> BakeoffRun:
    run = BakeoffRun(
        settings=settings(**(settings_fields or {})),
        device=RunDevice(**(device or H200)),
        versions=Versions(gpudiag="0", torch="2.13.0", triton="3.9.0", python="3.11.7"),
        started_at="",
        workloads=[WorkloadInfo(w, "gpudiag_workloads") for w in workloads],
        rows=rows,
    )
    for name, value in fields.items():
        setattr(run, name, value)
    return run


@contextlib.contextmanager
def child_in_process(folder: Path) -> Iterator[Callable[..., ModeResult]]:
    """``run(script_body, mode="default")``: a bake-off child's first measurement (it lists the workloads
    and measures the first), in this process, on the CPU, with short budgets; the logging and dynamo
    state a child changes are put back afterwards."""
    import torch

    from gpudiag.bakeoff import child
    from gpudiag.bakeoff.request import Request

    loggers = {n: lg for n, lg in logging.root.manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    before = {n: list(lg.handlers) for n, lg in loggers.items()}

    def run(body: str, mode: str = "default", **request_fields: Any) -> ModeResult:
        script = folder / "work.py"
        script.write_text(textwrap.dedent(body))
        request = Request(
            script=str(script),
            result_path=str(folder / "r.json"),
            list_workloads=True,
            mode=mode,
            device="cpu",
            warmup_ms=1.0,
            rep_ms=5.0,
            **request_fields,
        )
        row = child.run(request).row
        assert row is not None
        return row

    try:
        yield run
    finally:
        for name, lg in logging.root.manager.loggerDict.items():
            if isinstance(lg, logging.Logger):
                lg.handlers[:] = before.get(name, [])
        torch._logging.set_logs()
        torch._dynamo.reset()
