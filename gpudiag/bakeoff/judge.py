"""A row's status from what its calls gave back: against eager, against itself, and against fp64.

Every compared call ran on a fresh copy of the pristine inputs (``tensors.Inputs``), so a workload
that writes into its inputs is compared like any other, and what it wrote is compared too:

1. eager against itself (two fresh calls, judged by ``measure``): when they differ, nothing can be
   checked and the row is ``unchecked``;
2. the row against itself: its first call and its last (a CUDA-graph replay) on the same fresh
   inputs must agree; a row whose output drifts from call to call changes state between calls
   (its inputs, tensors it closes over, its own buffers) and is a ``mismatch``, never "rounding";
3. the row against eager, outputs and written arguments, with the dtype's tolerance; an fp64 run of
   the workload, on pristine inputs and state only, arbitrates an output that differs by rounding;
4. a knob that lowers float32's precision is judged against the fp64 run alone, with the tolerance
   of the precision it computes in (``numerics``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from gpudiag.bakeoff import knobs as knob_table
from gpudiag.bakeoff.compare import TOLERANCES, Comparison, arbitrate, compare, relative_rmse
from gpudiag.bakeoff.results import ModeResult, Numerics
from gpudiag.bakeoff.tensors import Inputs, clone_tree


@dataclass
class Call:
    """One call on a fresh copy of the inputs: its output, and the arguments it wrote that eager writes."""

    out: Any
    written: list[tuple[str, Any]] = field(default_factory=list)


def one_line(exc: BaseException, limit: int = 300) -> str:
    text = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return line if len(line) <= limit else line[:limit] + " [cut; the full error is in the log]"


def compare_calls(out: Call, ref: Call, against: str = "eager's") -> tuple[Comparison, Comparison]:
    """(outputs, written arguments) of ``out`` against ``ref``; only the first can be arbitrated."""
    outputs = compare(out.out, ref.out)
    written = Comparison(ok=True)
    for (name, t), (_, r) in zip(out.written, ref.written):
        compare(t, r, f"{name}, written in place by the call,", written)
    if outputs.reason and against != "eager's":
        outputs.reason = outputs.reason.replace("eager's", against)
    return outputs, written


def judge(
    torch: Any,
    knobs: list[str],
    row: ModeResult,
    fn: Any,
    inputs: Inputs,
    ref: Call,
    first: Call,
    last: Call,
    state_changed: list[str],
) -> None:
    """Set the row's status from its calls (see the module's docstring)."""
    if row.nondeterminism is not None:
        row.status = "unchecked"
        row.reason = (
            "nondeterministic output: correctness not checked (eager's two calls on fresh copies of the same "
            f"inputs differ: {row.nondeterminism.reason}; random numbers, or state the workload changes "
            "between calls)"
        )
        return
    drift_out, drift_in = compare_calls(last, first, "the row's own first call's")
    if not (drift_out.ok and drift_in.ok):
        drift = drift_out if not drift_out.ok else drift_in
        row.correctness = drift
        row.status = "mismatch"
        row.reason = (
            "its output changes from one call to the next on fresh copies of the same inputs, so it changes "
            f"state between calls (its inputs, tensors it closes over, its own buffers): {drift.reason}"
        )
        return
    (c_first, w_first), (c_last, w_last) = compare_calls(first, ref), compare_calls(last, ref)
    lowered = knob_table.lowered_precision(knobs)
    needs_fp64 = bool(knobs) or any(not c.ok and c.values_only for c in (c_first, c_last))
    fp64: Any = None
    if needs_fp64:
        if state_changed:
            fp64 = (
                f"the workload wrote into its own {', '.join(state_changed[:3])}, so an fp64 copy of it would "
                "not start from the state eager started from"
            )
        else:
            fp64 = fp64_reference(torch, fn, inputs)
    if isinstance(fp64, str):
        for c in (c_first, c_last):
            if not c.ok:
                c.notes.append(f"no fp64 run to arbitrate: {fp64}")
        fp64 = None
    if fp64 is not None and not lowered:
        c_first, c_last = arbitrate(c_first, first.out, ref.out, fp64), arbitrate(c_last, last.out, ref.out, fp64)
    if fp64 is not None:
        row.numerics = numerics(last.out, ref.out, fp64, lowered)
    if lowered:
        # A knob that lowers float32's precision differs from eager by design: the fp64 run judges it.
        if row.numerics is None:
            row.status = "unchecked"
            row.reason = (
                f"{', '.join(knobs)} changes results by design, and no fp64 run of the "
                "workload was possible to judge it against"
            )
            return
        row.status = "ok" if row.numerics.ok else "mismatch"
        if not row.numerics.ok:
            row.reason = (
                f"error against an fp64 run {row.numerics.rel_rmse:.2g} (relative RMSE) is beyond "
                f"{row.numerics.judged_as}'s tolerance {row.numerics.tolerance:g}"
            )
        return
    worst = next((c for c in (c_first, c_last, w_first, w_last) if not c.ok), c_first)
    everything = (c_first, c_last, w_first, w_last)
    worst.max_abs_error = max(c.max_abs_error for c in everything)
    worst.max_rel_error = max(c.max_rel_error for c in everything)
    worst.notes = list(dict.fromkeys(n for c in everything for n in c.notes))
    row.correctness = worst
    row.status = "ok" if worst.ok else "mismatch"
    if not worst.ok:
        row.reason = f"output differs from eager: {worst.reason}"


def numerics(out: Any, ref: Any, fp64: Any, lowered: str | None) -> Numerics | None:
    """The row's and eager's relative RMSE against fp64 (worst leaf), judged with the tolerance of the
    output's dtype, or of the precision a knob lowers float32 to."""
    worst = relative_rmse(out, ref, fp64)
    if worst is None:
        return None
    mode_err, eager_err, max_abs, dtype = worst
    judged_as = lowered if lowered and dtype == "float32" else dtype
    tol = TOLERANCES.get(judged_as, (0.0, 0.0))[1]
    return Numerics(
        rel_rmse=mode_err,
        eager_rel_rmse=eager_err,
        max_abs_error=max_abs,
        judged_as=judged_as,
        tolerance=tol,
        ok=mode_err <= max(tol, eager_err),
    )


def fp64_reference(torch: Any, fn: Any, inputs: Inputs) -> Any:
    """The workload run eagerly in float64 on a copy of the pristine inputs (floating ones widened) and
    a float64 copy of the module, or why not. The pristine inputs themselves are never handed over."""
    try:
        model = copy.deepcopy(fn).double() if isinstance(fn, torch.nn.Module) else fn
        args, kwargs = inputs.widened()
        out = model(*args, **kwargs)  # in the bake-off's grad mode: no_grad, or --grad's training step
        return clone_tree(torch, out)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        return one_line(exc, 160)
    finally:
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.empty_cache()
