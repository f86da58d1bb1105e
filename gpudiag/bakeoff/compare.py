"""Correctness of a compiled mode against eager: max abs/rel error with a tolerance per dtype.

Pure functions on torch tensors (imported inside the bake-off child only).
"""

from __future__ import annotations

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

    def to_dict(self) -> dict:
        return asdict(self)


def _dtype_name(dtype: Any) -> str:
    return str(dtype).replace("torch.", "")


def tolerance(dtype: Any) -> tuple[float, float]:
    return TOLERANCES.get(_dtype_name(dtype), (0.0, 0.0))  # integers and bools: exact


def compare(out: Any, ref: Any) -> Comparison:
    """Compare a (possibly nested) output against the eager reference."""
    result = Comparison(ok=True)
    _walk(out, ref, "output", result)
    return result


def _fail(result: Comparison, reason: str) -> None:
    if result.ok:
        result.reason = reason
    result.ok = False


def _walk(out: Any, ref: Any, where: str, result: Comparison) -> None:
    import torch

    if isinstance(ref, torch.Tensor):
        if not isinstance(out, torch.Tensor):
            return _fail(result, f"{where}: eager gives a tensor, this mode gives {type(out).__name__}")
        if out.shape != ref.shape:
            return _fail(result, f"{where}: shape {tuple(out.shape)} differs from eager's {tuple(ref.shape)}")
        if out.dtype != ref.dtype:
            return _fail(result, f"{where}: dtype {_dtype_name(out.dtype)} differs from eager's {_dtype_name(ref.dtype)}")
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
        _fail(result, f"{where}: {n_bad} of {ref.numel()} elements off by more than "
                      f"atol {atol:g} + rtol {rtol:g}·|eager| (max abs error {max_abs:.3g})")
