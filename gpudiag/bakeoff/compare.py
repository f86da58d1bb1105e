"""Correctness of a compiled mode against eager: max abs/rel error with a tolerance per dtype.

Where elements fall outside the tolerance, an fp64 run of the same workload can arbitrate (the rule
dynamo's own accuracy checks use, ``torch._dynamo.utils.same(..., fp64_ref=...)``): a fused kernel
that rounds once where eager rounds after every op can differ from eager by an ulp on cancelling
sums while being closer to the exact result. Such a mode passes when its RMSE against fp64 is at
most FP64_MULTIPLIER x eager's (+ atol / 10), with the elementwise numbers kept in the report.

Pure functions on torch tensors (imported inside the bake-off child only).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

# (atol, rtol) per dtype name: |out - ref| <= atol + rtol * |ref| elementwise. Looser than
# torch.testing's defaults because inductor legitimately reorders reductions and picks other GEMM
# kernels; tight enough that a wrong kernel (not a rounding difference) is flagged.
TOLERANCES = {
    "float64": (1e-7, 1e-7),
    "float32": (1e-4, 1e-3),
    "complex64": (1e-4, 1e-3),
    "float16": (1e-3, 1e-2),
    "bfloat16": (1e-2, 2e-2),
    "float8_e4m3fn": (1e-1, 1.25e-1),
    "float8_e5m2": (1e-1, 2.5e-1),
}


@dataclass
class Comparison:
    ok: bool
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    atol: float | None = None
    rtol: float | None = None
    dtype: str | None = None
    reason: str | None = None  # why it is not ok (structure, shape, dtype, values)
    elements: int = 0
    mismatched: int = 0
    notes: list[str] = field(default_factory=list)
    judged_by: str = "elementwise"  # or "fp64 reference" when that arbitrated an elementwise failure
    values_only: bool = True  # every failure was a value outside tolerance (not shape, dtype, structure)
    fp64_rmse: float | None = None  # this mode's output against the fp64 run (worst leaf)
    eager_fp64_rmse: float | None = None  # eager's, on the same leaf

    def to_dict(self) -> dict:
        return asdict(self)


def _dtype_name(dtype: Any) -> str:
    return str(dtype).replace("torch.", "")


def tolerance(dtype: Any) -> tuple[float, float]:
    return TOLERANCES.get(_dtype_name(dtype), (0.0, 0.0))  # integers and bools: exact


# torch/_dynamo/utils.py same(): multiplier 3.0 for fp16/bf16 outputs and 2.0 otherwise.
FP64_MULTIPLIER = {"float16": 3.0, "bfloat16": 3.0}
FP64_MULTIPLIER_DEFAULT = 2.0


def compare(out: Any, ref: Any, where: str = "output", result: Comparison | None = None) -> Comparison:
    """Compare a (possibly nested) output against the eager reference (into ``result``, when given)."""
    result = result or Comparison(ok=True)
    _walk(out, ref, where, result)
    return result


def arbitrate(result: Comparison, out: Any, ref: Any, fp64: Any) -> Comparison:
    """Re-judge a values-only failure against an fp64 run's output ``fp64`` (same structure as ``ref``)."""
    import torch

    if result.ok or not result.values_only:
        return result
    worst: tuple[float, float] | None = None  # (mode, eager) RMSE on the leaf where the mode fares worst
    for o, r, x in _leaves(out, ref, fp64):
        if (
            not (isinstance(r, torch.Tensor) and r.is_floating_point() and isinstance(x, torch.Tensor))
            or r.numel() == 0
        ):
            continue
        if x.shape != r.shape:
            return result
        exact = x.detach().double().to(r.device)
        mode_rmse, eager_rmse = _rmse(o, exact), _rmse(r, exact)
        atol, _ = tolerance(r.dtype)
        if not math.isfinite(eager_rmse):
            return result  # eager itself is not finite here: nothing to arbitrate with
        if (
            not math.isfinite(mode_rmse)
            or mode_rmse > FP64_MULTIPLIER.get(_dtype_name(r.dtype), FP64_MULTIPLIER_DEFAULT) * eager_rmse + atol / 10
        ):
            result.fp64_rmse, result.eager_fp64_rmse = mode_rmse, eager_rmse
            result.reason = (
                f"{result.reason}; and further from an fp64 run than eager is "
                f"(RMSE {mode_rmse:.3g} vs eager's {eager_rmse:.3g})"
            )
            return result
        if worst is None or mode_rmse - eager_rmse > worst[0] - worst[1]:
            worst = (mode_rmse, eager_rmse)
    if worst is None:
        return result  # no floating-point leaf to judge
    result.fp64_rmse, result.eager_fp64_rmse = worst
    result.notes.append(
        f"{result.reason}, but no further from an fp64 run of the workload than eager is "
        f"(RMSE {worst[0]:.3g} vs eager's {worst[1]:.3g}): rounding order, not a wrong kernel"
    )
    result.ok, result.reason, result.judged_by = True, None, "fp64 reference"
    return result


def relative_rmse(out: Any, ref: Any, fp64: Any) -> tuple[float, float, float, str] | None:
    """On the floating-point output where ``out`` fares worst: its relative RMSE against the fp64 run
    (||out - fp64|| / ||fp64||; plain RMSE where fp64 is all zeros), eager's (``ref``) on the same
    output, ``out``'s max abs error there, and the output's dtype. None without such an output."""
    import torch

    worst = None
    for o, r, x in _leaves(out, ref, fp64):
        if not all(isinstance(t, torch.Tensor) for t in (o, r, x)) or not r.is_floating_point() or r.numel() == 0:
            continue
        if x.shape != r.shape or o.shape != r.shape:
            continue
        exact = x.detach().double().to(r.device)
        norm = _rmse(torch.zeros_like(exact), exact) or 1.0
        mine, eager = _rmse(o, exact) / norm, _rmse(r, exact) / norm
        mine = mine if math.isfinite(mine) else math.inf
        if worst is None or mine > worst[0]:
            worst = (mine, eager, float((o.detach().double() - exact).abs().max()), _dtype_name(r.dtype))
    return worst


def _rmse(a: Any, exact: Any) -> float:
    return float(((a.detach().double() - exact) ** 2).mean().sqrt())


def _leaves(out: Any, ref: Any, fp64: Any):
    if isinstance(ref, (list, tuple)):
        for o, r, x in zip(out, ref, fp64):
            yield from _leaves(o, r, x)
    elif isinstance(ref, dict):
        for k in ref:
            yield from _leaves(out[k], ref[k], fp64[k])
    else:
        yield out, ref, fp64


def _fail(result: Comparison, reason: str, values: bool = False) -> None:
    if result.ok:
        result.reason = reason
    result.ok = False
    result.values_only = result.values_only and values


def _walk(out: Any, ref: Any, where: str, result: Comparison) -> None:
    import torch

    if isinstance(ref, torch.Tensor):
        if not isinstance(out, torch.Tensor):
            return _fail(result, f"{where}: eager gives a tensor, this mode gives {type(out).__name__}")
        if out.shape != ref.shape:
            return _fail(result, f"{where}: shape {tuple(out.shape)} differs from eager's {tuple(ref.shape)}")
        if out.dtype != ref.dtype:
            return _fail(
                result, f"{where}: dtype {_dtype_name(out.dtype)} differs from eager's {_dtype_name(ref.dtype)}"
            )
        _tensor(out, ref, where, result)
    elif isinstance(ref, (list, tuple)):
        if not isinstance(out, (list, tuple)) or len(out) != len(ref):
            return _fail(result, f"{where}: structure differs from eager's ({type(ref).__name__} of {len(ref)})")
        for i, (o, r) in enumerate(zip(out, ref)):
            _walk(o, r, f"{where}[{i}]", result)
    elif isinstance(ref, dict):
        if not isinstance(out, dict) or set(out) != set(ref):
            return _fail(result, f"{where}: keys differ from eager's")
        for k in ref:
            _walk(out[k], ref[k], f"{where}[{k!r}]", result)
    elif isinstance(ref, float):
        if not isinstance(out, (int, float)) or abs(out - ref) > 1e-6 + 1e-5 * abs(ref):
            _fail(result, f"{where}: {out!r} differs from eager's {ref!r}")
    elif out != ref:
        _fail(result, f"{where}: {out!r} differs from eager's {ref!r}")


def _tensor(out: Any, ref: Any, where: str, result: Comparison) -> None:
    import torch

    atol, rtol = tolerance(ref.dtype)
    result.dtype = result.dtype or _dtype_name(ref.dtype)
    result.atol = atol if result.atol is None else max(result.atol, atol)
    result.rtol = rtol if result.rtol is None else max(result.rtol, rtol)
    if ref.numel() == 0:
        return
    result.elements += ref.numel()
    if ref.is_complex():
        o, r = torch.view_as_real(out.detach()).double(), torch.view_as_real(ref.detach()).double()
    else:
        o, r = out.detach().double(), ref.detach().double()
    o, r = o.to(r.device), r
    both_nan = torch.isnan(o) & torch.isnan(r)
    same_inf = torch.isinf(o) & torch.isinf(r) & (o == r)
    diff = torch.where(both_nan | same_inf, torch.zeros_like(r), (o - r).abs())
    diff = torch.nan_to_num(diff, nan=float("inf"))  # NaN where eager has a number: infinitely wrong
    bad = diff > (atol + rtol * r.abs().nan_to_num(0.0))
    max_abs = float(diff.max())
    denom = r.abs().clamp_min(max(atol, 1e-30))
    max_rel = float((diff / denom).max())
    result.max_abs_error = max(result.max_abs_error, max_abs)
    result.max_rel_error = max(result.max_rel_error, max_rel)
    n_bad = int(bad.sum())
    if n_bad:
        result.mismatched += n_bad
        _fail(
            result,
            f"{where}: {n_bad} of {ref.numel()} elements off by more than "
            f"atol {atol:g} + rtol {rtol:g}·|eager| (max abs error {max_abs:.3g})",
            values=True,
        )
