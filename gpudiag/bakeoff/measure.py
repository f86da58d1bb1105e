"""The steps of one measurement, inside its child: the reference, the compile, the checks, the timing.

1. **reference**: eager on a fresh copy of the inputs, then again on another (the op census runs on
   the eager row's second call); the arguments the first call wrote into are noted
   (``mutated_inputs``), and the two calls are compared (eager against itself);
2. the knobs are set, and for a compiled mode, what it will compile with is checked
   (``environ.check_compile``): a mode something else changed is not measured;
3. **compiling**: the first call on fresh inputs, timed (the cold compile);
4. **checking**: two more calls on fresh inputs (CUDA-graph modes: warm-up, record, replay), then
   ``judge`` sets the status; a compiled row for which dynamo captured no graph is ``not_compiled``;
5. **timing**: ``timing`` on one more fresh copy, reused by every timed call; on CUDA the launch floor.

Every compared call gets its own copy of the pristine inputs, so a workload that writes into them is
compared like any other; the pristine inputs go to nothing but copies.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gpudiag.bakeoff import environ, loader, observe, timing, training
from gpudiag.bakeoff import knobs as knob_table
from gpudiag.bakeoff.judge import Call, compare_calls, judge, one_line
from gpudiag.bakeoff.modes import CUDAGRAPH_MODES
from gpudiag.bakeoff.request import Request
from gpudiag.bakeoff.results import TIMED, ModeResult
from gpudiag.bakeoff.tensors import Inputs, clone_tree, state_versions


def compile_mode(torch: Any, fn: Any, mode: str, compile_kwargs: dict) -> Any:
    """``torch.compile`` as a user writes it for ``mode``."""
    return torch.compile(fn, mode=None if mode == "default" else mode, **compile_kwargs)


def measure(torch: Any, request: Request, wl: loader.Workload, row: ModeResult, phase: Callable[[str], None]) -> None:
    device = request.device
    fn = wl.fn
    if isinstance(fn, torch.nn.Module):
        fn = fn.to(device)
        if request.grad:
            fn.train()
        elif wl.form == "kernelbench":
            fn.eval()
    inputs = Inputs(torch, wl.args, wl.kwargs, device)
    # inference under no_grad, as KernelBench measures it; --grad: autograd on (training.py)
    with torch.enable_grad() if request.grad else torch.no_grad():
        _measure(torch, request, fn, inputs, row, phase)


def _as_step(torch: Any, request: Request, fn: Any) -> Any:
    """What each call runs: under --grad a module's forward and backward, otherwise ``fn`` itself."""
    if request.grad and isinstance(fn, torch.nn.Module):
        return training.train_step(torch, fn)
    return fn


def _sync(torch: Any, device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _measure(
    torch: Any, request: Request, fn: Any, inputs: Inputs, row: ModeResult, phase: Callable[[str], None]
) -> None:
    mode, device, knobs = request.mode, request.device, list(request.knobs)
    state_before = state_versions(torch, fn)
    module, fn = fn, _as_step(torch, request, fn)

    phase("reference")
    try:
        a, k = inputs.fresh()
        ref_out = clone_tree(torch, fn(*a, **k))
        row.mutated_inputs = inputs.written(a, k)
        ref = Call(ref_out, inputs.written_leaves(a, k, row.mutated_inputs))
        a2, k2 = inputs.fresh()
        if request.census:
            out, row.census = observe.census(torch, lambda: fn(*a2, **k2), device)
        else:
            out = fn(*a2, **k2)
        again = Call(clone_tree(torch, out), inputs.written_leaves(a2, k2, row.mutated_inputs))
        del out
        _sync(torch, device)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        row.status, row.reason = "error", f"the workload raised in eager mode: {one_line(exc)}"
        if not request.grad and "does not require grad" in str(exc):
            row.reason += (
                "; it runs backward(), and the bake-off measures inference under torch.no_grad() unless given --grad"
            )
        row.user_traceback = loader.user_frames(exc, Path(request.script)) or None
        row.child.failed_phase = "reference"
        return
    outputs, written = compare_calls(again, ref)
    if not (outputs.ok and written.ok):
        row.nondeterminism = outputs if not outputs.ok else written

    compile_kwargs = knob_table.apply(torch, knobs)
    if mode == "eager":
        compiled = fn
    else:
        check = row.compile_check = environ.check_compile(torch, mode, knobs, device, os.environ)
        if check.overrides:  # not the mode it is named after: not worth its compile time
            row.status = "not_compiled" if check.dynamo_disabled else "overridden"
            row.reason = environ.override_reason(mode, check)
            return
        observe.reset_counters(torch)
        compiled = _as_step(torch, request, compile_mode(torch, module, mode, compile_kwargs))
    uses_cudagraphs = device == "cuda" and mode in CUDAGRAPH_MODES
    mark_step = getattr(getattr(torch, "compiler", None), "cudagraph_mark_step_begin", None)

    def kept_call() -> Call:
        """One call on fresh inputs whose output (and what it wrote) is kept."""
        a, k = inputs.fresh()
        # A new step before every call whose output we keep: the previous replay's outputs are dead.
        if uses_cudagraphs and mark_step is not None:
            mark_step()
        out = compiled(*a, **k)
        _sync(torch, device)
        return Call(clone_tree(torch, out), inputs.written_leaves(a, k, row.mutated_inputs))

    if device == "cuda":
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        row.resident_bytes = int(torch.cuda.memory_allocated())

    phase("compiling")
    t0 = time.perf_counter()
    first = kept_call()
    row.first_call_s = time.perf_counter() - t0
    row.compile_s = None if mode == "eager" else row.first_call_s

    phase("checking")
    # CUDA-graph modes: call 1 warms up, call 2 records, call 3 replays. Compare the replay too.
    kept_call()
    last = kept_call()
    peak_before_fp64 = int(torch.cuda.max_memory_allocated()) if device == "cuda" else 0
    state_after = state_versions(torch, module)
    changed = [name for name, v in state_before.items() if state_after.get(name, v) != v]
    judge(torch, knobs, row, fn, inputs, ref, first, last, changed)
    del first, last, ref, again
    if mode != "eager" and row.status in TIMED and observe.graphs_captured(torch) == 0:
        row.status = "not_compiled"
        row.reason = (
            f"torch.compile captured no graph (dynamo compiled nothing: it skipped or gave up on every "
            f"frame), so this row ran eager; it is not a measurement of {mode}"
        )
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()  # the fp64 copy is gpudiag's, not the workload's

    phase("timing")
    if device == "cuda":
        row.peak_bytes = max(int(torch.cuda.max_memory_allocated()), peak_before_fp64)
        torch.cuda.reset_peak_memory_stats()
    ta, tk = inputs.fresh()  # one copy for every timed call: a workload that writes into it keeps doing so

    def call() -> None:
        compiled(*ta, **tk)

    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # as timeit does: a collection inside a timed call is noise, not the workload
    try:
        if device == "cuda":
            row.timing = timing.time_cuda(call, torch.cuda.synchronize, request.warmup_ms, request.rep_ms)
            # Includes do_bench's own L2-flush buffer (256 MiB on current triton), so it is kept apart
            # from peak_bytes (compile + first calls), which is the workload's own footprint.
            row.steady_peak_bytes = int(torch.cuda.max_memory_allocated())
            row.timing.empty_ms, row.timing.floor_ms = timing.launch_floor(torch)
        else:
            row.timing = timing.time_cpu(call, request.warmup_ms, request.rep_ms)
        if request.crosscheck:
            # The same compiled callable, timed again right away by the plain timer with no gpudiag code
            # around it: the difference from median_ms is what the harness itself adds.
            if device == "cuda":
                from triton.testing import do_bench

                row.timing.crosscheck_median_ms = float(
                    do_bench(call, warmup=request.warmup_ms, rep=request.rep_ms, return_mode="median")
                )
            else:
                row.timing.crosscheck_median_ms = timing.stats(
                    timing.do_bench_cpu(call, request.warmup_ms, request.rep_ms)
                ).median_ms
    finally:
        if gc_was_enabled:
            gc.enable()
    phase("done")
