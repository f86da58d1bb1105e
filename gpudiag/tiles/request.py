"""What a user asks ``check-tiles``: the options as given (``CheckRequest``), each checked on its own
before any config is read or a target resolved (``validate``), and the configs gathered from every
source in order (``collect_configs``). Never prints; raises ``GpudiagError``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles import exact as exact_mod
from gpudiag.tiles.dtypes import lookup
from gpudiag.tiles.parse import TileConfig, parse_file, parse_tile
from gpudiag.tiles.report import MAX_REGS_PER_THREAD
from gpudiag.tiles.target import validate_selectors
from gpudiag.tiles.waves import Shape, parse_shape


@dataclass
class CheckRequest:
    """Everything a user can ask ``check-tiles``, as given (validated by ``validate``)."""

    tiles: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    from_inductor: bool = False
    inductor_set: str = "mm"
    from_script: str | None = None
    gpu: str | None = None
    arch: str | None = None
    index: int | None = None
    smem_limit: int | None = None
    sms: int | None = None
    dtype: str | None = None  # None: fp16, or the dtype an inductor set carries
    b_dtype: str | None = None
    a_layout: str | None = None
    b_layout: str | None = None
    model: str = "triton"  # or "cutlass"
    exact: bool = False
    jobs: int | None = None
    use_cache: bool = True
    regs: int | None = None
    shape: str | None = None
    groups: int = 1
    grouped: bool = False
    epilogue_smem: int | None = None  # None: unknown, so a CUTLASS total is only a lower bound
    kernel_carveout: int | None = None
    block_scaled: bool | None = None  # None: yes for fp4, no otherwise
    scale_vector: int | None = None


def validate(req: CheckRequest) -> Shape | None:
    """Every option on its own, before configs are read or a target resolved (a typo is not a
    "no GPU" problem). Returns the parsed ``--shape``."""
    if req.model not in ("triton", "cutlass"):
        raise GpudiagError(f"unknown --model '{req.model}': triton or cutlass", EXIT_USAGE)
    for name, lay in (("--a-layout", req.a_layout), ("--b-layout", req.b_layout)):
        if lay is not None and lay not in exact_mod.LAYOUTS:
            raise GpudiagError(f"{name} must be row or col, got '{lay}'", EXIT_USAGE)
    for name in filter(None, (req.dtype, req.b_dtype)):
        lookup(name)
    if req.exact and req.model == "cutlass":
        raise GpudiagError("--exact compiles the Triton matmul; it does not apply to --model cutlass", EXIT_USAGE)
    if req.groups < 1:
        raise GpudiagError(f"--groups must be >= 1, got {req.groups}", EXIT_USAGE)
    if req.jobs is not None and not 1 <= req.jobs <= exact_mod.MAX_JOBS:
        raise GpudiagError(f"--jobs must be 1..{exact_mod.MAX_JOBS} parallel compiles, got {req.jobs}", EXIT_USAGE)
    if req.regs is not None:
        if not 1 <= req.regs <= MAX_REGS_PER_THREAD:
            raise GpudiagError(
                f"--regs must be 1..{MAX_REGS_PER_THREAD} registers per thread (the most a thread "
                f"can have), got {req.regs}",
                EXIT_USAGE,
            )
        if req.exact:
            raise GpudiagError(
                "--regs and --exact both give registers: --exact reads them from the compiler; drop one", EXIT_USAGE
            )
    if any(x is not None and x < 0 for x in (req.epilogue_smem, req.kernel_carveout)):
        raise GpudiagError("--epilogue-smem and --kernel-carveout must be >= 0", EXIT_USAGE)
    if req.scale_vector is not None and req.scale_vector <= 0:
        raise GpudiagError(f"--scale-vector must be a positive number of elements, got {req.scale_vector}", EXIT_USAGE)
    if req.from_inductor:
        from gpudiag.tiles.inductor import SETS

        if req.inductor_set not in SETS:
            raise GpudiagError(f"unknown --inductor-set '{req.inductor_set}': one of {', '.join(SETS)}", EXIT_USAGE)
    validate_selectors(req.gpu, req.arch, req.index, req.smem_limit, req.sms)
    return parse_shape(req.shape) if req.shape is not None else None


def collect_configs(
    req: CheckRequest, shape: Shape | None = None
) -> tuple[list[TileConfig], dict[str, Any] | None, dict[str, Any] | None]:
    """The configs of every source, in order: arguments, files, inductor's set, the script's kernels;
    and what the inductor set and the script were (for the report)."""
    configs = [parse_tile(t, f"argument {i + 1}") for i, t in enumerate(req.tiles)]
    for f in req.files:
        configs.extend(parse_file(f))
    inductor_info = script_info = None
    if req.from_inductor:
        configs_ind, inductor_info = _inductor(req, shape)
        configs.extend(configs_ind)
    if req.from_script:
        from gpudiag.tiles.from_script import kernels_from_script

        kernels = kernels_from_script(req.from_script)
        script_info = {
            "path": req.from_script,
            "kernels": [
                {
                    "name": k.name,
                    "line": k.line,
                    "configs": len(k.configs),
                    "skipped": k.skipped,
                    "dtype_hint": k.dtype_hint,
                    "dtype_hint_from": k.dtype_hint_from,
                }
                for k in kernels
            ],
            "dtype_assumed": req.dtype is None,  # the script's configs say no element type
        }
        for k in kernels:
            configs.extend(k.configs)
    if not configs:
        raise GpudiagError(
            "no tile configs given: pass tiles like 128x128x64:3@4, --file, --from-inductor or --from-script",
            EXIT_USAGE,
        )
    return configs, inductor_info, script_info


def _inductor(req: CheckRequest, shape: Shape | None) -> tuple[list[TileConfig], dict[str, Any]]:
    """Inductor's candidates, with the operand type its set is for and, for fp32 operands, the dot
    precision its templates ask for (ALLOW_TF32)."""
    from gpudiag.tiles import precision as prec
    from gpudiag.tiles.inductor import allow_tf32, inductor_configs

    ind = inductor_configs(req.inductor_set)
    own_dtype = ind.dtype if req.dtype is None else None
    dtype = own_dtype or req.dtype or "fp16"
    precision = None
    tf32 = None
    a = lookup(dtype)
    if prec.is_f32(a) and a.dot_precision is None:  # --dtype fp32: the template's tl.dot(allow_tf32=ALLOW_TF32)
        tf32 = allow_tf32(shape)
        precision = prec.f32_default(tf32.allowed)
    configs = [
        TileConfig(
            c.block_m,
            c.block_n,
            c.block_k,
            c.stages,
            c.warps,
            c.k_in_bytes,
            c.where,
            c.group,
            own_dtype,
            precision.value if precision else None,
        )
        for c in ind.configs
    ]
    info = {
        "torch_version": ind.torch_version,
        "source": ind.source,
        "set": req.inductor_set,
        "count": len(ind.configs),
        "dtype": dtype,
        "dtype_source": ind.dtype_source if own_dtype else "--dtype",
        "prunes_by_smem": ind.prunes_by_smem,
        "allow_tf32": None if tf32 is None else tf32.allowed,
        "allow_tf32_source": None if tf32 is None else tf32.source,
        "input_precision": None if precision is None else precision.value,
    }
    return configs, info
