"""``--from-inductor``: the matmul candidate configs the installed torch's inductor would autotune.

Read through inductor's own heuristics module, whichever layout the installed torch has:
  torch >= 2.9   torch._inductor.template_heuristics.triton.CUDAConfigHeuristic
  torch 2.8      torch._inductor.template_heuristics.CUDAConfigHeuristic
  torch <= 2.7   torch._inductor.kernel.mm_common.mm_kernel_configs (list of dicts)
These are the candidates before inductor prunes them against the device (it needs a GPU for that);
checking them is exactly what shows which ones a GPU's shared memory rejects.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles.parse import TileConfig, validate

# --inductor-set NAME -> attribute of the heuristic object
SETS = {
    "mm": "mm_configs",
    "scaled_mm": "scaled_mm_configs",
    "persistent_mm": "persistent_mm_configs",
    "extra_mm": "extra_mm_configs",
    "exhaustive": "exhaustive_configs",
    "int8_mm": "int8_mm_configs",
}
# The operand type a set is tuned for, where it has one of its own (the others follow --dtype):
# torch._inductor.kernel.mm's tuned_scaled_mm autotunes torch._scaled_mm, whose operands are fp8
# (float8_e4m3fn in practice), with scaled_mm_configs; tuned_int_mm autotunes torch._int_mm
# (int8 x int8 -> int32) with int8_mm_configs.
SET_DTYPES = {
    "scaled_mm": ("fp8e4m3", "torch._inductor.kernel.mm.tuned_scaled_mm: torch._scaled_mm takes fp8 operands"),
    "int8_mm": ("int8", "torch._inductor.kernel.mm.tuned_int_mm: torch._int_mm takes int8 operands"),
}
_LEGACY_SETS = {
    "mm": "mm_kernel_configs",
    "persistent_mm": "persistent_mm_kernel_configs",
    "scaled_mm": "scaled_mm_kernel_configs",
    "extra_mm": "extra_mm_kernel_configs",
    "int8_mm": "int8_mm_kernel_configs",
}


@dataclass(frozen=True)
class InductorConfigs:
    torch_version: str
    source: str  # module.Class.attribute the configs were read from
    configs: list[TileConfig]
    # torch._inductor.config.max_autotune_prune_choices_based_on_shared_mem: whether inductor itself drops
    # candidates its estimate puts above the device's opt-in limit (None: this torch has no such switch).
    prunes_by_smem: bool | None = None
    dtype: str | None = None  # the operand type this set is for (SET_DTYPES), None: the caller's
    dtype_source: str | None = None


def _field(obj, *names):
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return None


def _to_tile(raw, where: str, group: str) -> TileConfig | None:
    if isinstance(raw, dict) and "config" in raw:  # torch <= 2.7: {"config": (BM, BN, BK, stages, warps), "cond": bool}
        if raw.get("cond") is False:
            return None
        vals = raw["config"]
        bm, bn, bk, st, w = (list(vals) + [None, None])[:5]
    else:
        bm, bn, bk = (
            _field(raw, "block_m", "BLOCK_M"),
            _field(raw, "block_n", "BLOCK_N"),
            _field(raw, "block_k", "BLOCK_K"),
        )
        st, w = _field(raw, "num_stages"), _field(raw, "num_warps")
    if bm is None or bn is None or bk is None:
        return None
    return validate(
        TileConfig(int(bm), int(bn), int(bk), int(st) if st else None, int(w) if w else None, where=where, group=group)
    )


def inductor_configs(which: str = "mm") -> InductorConfigs:
    if which not in SETS:
        raise GpudiagError(f"unknown --inductor-set '{which}': one of {', '.join(SETS)}", EXIT_USAGE)
    try:
        torch = importlib.import_module("torch")
    except Exception as exc:
        raise GpudiagError(f"--from-inductor needs torch, which does not import here: {exc}", EXIT_USAGE) from None
    version = str(torch.__version__)
    for modname in ("torch._inductor.template_heuristics.triton", "torch._inductor.template_heuristics"):
        try:
            mod = importlib.import_module(modname)
        except Exception:
            continue
        cls = getattr(mod, "CUDAConfigHeuristic", None)
        if cls is None:
            continue
        heuristic = cls()
        raw = getattr(heuristic, SETS[which], None)
        if raw is None:
            raise GpudiagError(
                f"torch {version} has no inductor config set '{which}' ({modname}.CUDAConfigHeuristic."
                f"{SETS[which]} is missing)",
                EXIT_USAGE,
            )
        src = f"{modname}.CUDAConfigHeuristic.{SETS[which]}"
        break
    else:
        try:
            mod = importlib.import_module("torch._inductor.kernel.mm_common")
        except Exception as exc:
            raise GpudiagError(
                f"torch {version}: cannot import inductor's matmul heuristics: {exc}", EXIT_USAGE
            ) from None
        attr = _LEGACY_SETS.get(which)
        raw = getattr(mod, attr, None) if attr else None
        if raw is None:
            raise GpudiagError(f"torch {version} keeps no inductor config set '{which}' in mm_common", EXIT_USAGE)
        src = f"torch._inductor.kernel.mm_common.{attr}"
    configs = []
    for i, item in enumerate(raw):
        tile = _to_tile(item, f"{src}[{i}]", f"inductor {which}")
        if tile is not None:
            configs.append(tile)
    if not configs:
        raise GpudiagError(f"torch {version}: {src} holds no configs", EXIT_USAGE)
    try:
        prune = getattr(
            importlib.import_module("torch._inductor.config"), "max_autotune_prune_choices_based_on_shared_mem", None
        )
    except Exception:
        prune = None
    own = SET_DTYPES.get(which, (None, None))
    return InductorConfigs(version, src, configs, None if prune is None else bool(prune), *own)


# ALLOW_TF32, the tl.dot(allow_tf32=...) of inductor's matmul templates (triton_mm, triton_persistent_tma_mm,
# the scaled and int8 sets through the same mm template), as MMTemplateConfigMixin.get_extra_kwargs sets it
# (torch/_inductor/template_heuristics/triton.py, torch >= 2.9):
#     torch.backends.cuda.matmul.fp32_precision == "tf32" and M >= 16 and min(N, K) >= 512
# and, before, mm_options in torch/_inductor/kernel/mm_common.py:
#     torch.backends.cuda.matmul.allow_tf32 and (not force_same_precision or M % 16 == N % 16 == K % 8 == 0)
TF32_MIN_M, TF32_MIN_NK = 16, 512


@dataclass(frozen=True)
class AllowTf32:
    allowed: bool
    source: str


def _shape_allows(shape: Any, legacy: bool) -> tuple[bool, str]:
    if shape is None:
        rule = "M, N, K multiples of 16, 16, 8" if legacy else f"M >= {TF32_MIN_M} and min(N, K) >= {TF32_MIN_NK}"
        return True, f"for shapes with {rule} (give --shape to decide)"
    if legacy:
        ok = shape.m % 16 == 0 and shape.n % 16 == 0 and shape.k % 8 == 0
        return ok, f"{shape.m}x{shape.n}x{shape.k} {'is' if ok else 'is not'} aligned to 16, 16, 8"
    ok = shape.m >= TF32_MIN_M and min(shape.n, shape.k) >= TF32_MIN_NK
    return ok, f"{shape.m}x{shape.n}x{shape.k} {'meets' if ok else 'misses'} M >= 16 and min(N, K) >= 512"


def allow_tf32(shape: Any = None) -> AllowTf32:
    """Inductor's ALLOW_TF32 for its matmul templates in this process's torch: whether their fp32
    dots run as tf32. torch's default is full fp32 precision ('highest'): a workload that calls
    torch.set_float32_matmul_precision('high') gets tf32, and gpudiag cannot see that from here."""
    try:
        matmul = importlib.import_module("torch").backends.cuda.matmul
    except Exception as exc:
        raise GpudiagError(f"--from-inductor needs torch, which does not import here: {exc}", EXIT_USAGE) from None
    precision = getattr(matmul, "fp32_precision", None)
    if isinstance(precision, str):  # torch >= 2.9
        on = precision == "tf32"
        why = f"torch.backends.cuda.matmul.fp32_precision is '{precision}'"
        legacy = False
    else:
        on = bool(getattr(matmul, "allow_tf32", False))
        why = f"torch.backends.cuda.matmul.allow_tf32 is {on}"
        legacy = True
    if not on:
        return AllowTf32(
            False,
            f"ALLOW_TF32=False: {why} in this process (torch's default; a workload that calls "
            "torch.set_float32_matmul_precision('high') gets tf32: give --dtype tf32 for it)",
        )
    ok, shape_why = _shape_allows(shape, legacy)
    return AllowTf32(ok, f"ALLOW_TF32={ok}: {why}, {shape_why}")
