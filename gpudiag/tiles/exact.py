"""``--exact``: compile the real Triton matmul (``matmul_kernel.py``) for a named target and read the
compiler's own numbers: dynamic shared memory, registers per thread, spills.

No GPU is needed: Triton compiles for ``GPUTarget("cuda", 90, 32)`` on a CPU-only machine (ptxas ships
in the Triton wheel). The kernel is compiled with the argument specialisation a real launch gets:
pointers and every stride, M, N, K divisible by 16 (``tt.divisibility = 16``), and the unit strides
as the constant 1 (Triton's launcher specialises the integer 1 to a constexpr). Without that, the
pipeliner is not applied and the numbers are several times too small.

The compiles run in check-tiles' one compile engine (``compile_engine.py``): each in a forked child
whose output never reaches the user's terminal or ``--json`` document, its temporary files removed
afterwards, its results cached on disk. Triton's own cache goes under gpudiag's cache folder
(``GPUDIAG_CACHE_DIR``), or is thrown away with ``--no-cache``.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gpudiag import files
from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles import compile_engine as engine
from gpudiag.tiles.compile_engine import default_jobs, triton_version
from gpudiag.tiles.compile_engine import resource_usage as _resource_usage
from gpudiag.tiles.compile_engine import summarise as _summarise
from gpudiag.tiles.dtypes import DType

__all__ = ["ExactJob", "ExactResult", "_resource_usage", "default_jobs", "run_exact", "triton_version"]

DEFAULT_STAGES = 3  # triton.Config / compile default num_stages
DEFAULT_WARPS = 4  # triton.Config / compile default num_warps
LAYOUTS = ("row", "col")
MAX_JOBS = 256


@dataclass(frozen=True)
class ExactJob:
    """Everything that decides the compiled kernel, and nothing else (it is the cache key)."""

    block_m: int
    block_n: int
    block_k: int
    stages: int
    warps: int
    a_dtype: str  # Triton element type, "fp16"
    b_dtype: str
    out_dtype: str
    dot_precision: str  # "default", "tf32", "ieee"
    a_layout: str  # "row": K contiguous; "col": M contiguous
    b_layout: str  # "row": N contiguous; "col": K contiguous (K-major)
    capability: int  # 90, 100, 121
    warp_size: int = 32


@dataclass
class ExactResult:
    shared_bytes: int | None
    regs_per_thread: int | None
    spills: int | None  # as Triton counts them: local (stack) bytes per thread / 4
    local_bytes: int | None
    compile_s: float
    cached: bool
    error: str | None = None  # the compiler's whole message
    regs_source: str | None = None  # "cuobjdump -res-usage" or why not available
    summary: str | None = None  # the engine's one line for ``error``

    @property
    def error_summary(self) -> str | None:
        """The compiler's failure in one readable line (its first specific message)."""
        if not self.error:
            return None
        return self.summary or summarize_error(self.error)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, res: engine.CompileResult) -> ExactResult:
        if res.failure is not None:
            return cls(
                None,
                None,
                None,
                None,
                res.compile_s,
                res.cached,
                error=res.exception or res.compiler_output or res.reason or res.failure,
                summary=res.reason,
            )
        return cls(
            res.shared_bytes,
            res.regs_per_thread,
            res.spills,
            res.local_bytes,
            res.compile_s,
            res.cached,
            regs_source=res.regs_source,
        )


def summarize_error(text: str) -> str:
    """``CompilationError: at 14:33: ... arange's range must be a power of 2`` -> the reason line."""
    return _summarise(text)


@functools.cache
def model_source_hash(kernel_file: str) -> str:
    """The first 16 hex digits of the SHA-256 of a model kernel's file beside this one (part of every
    compile's cache key, so an edited model recompiles); read once per process."""
    return hashlib.sha256(Path(__file__).with_name(kernel_file).read_bytes()).hexdigest()[:16]


def kernel_source_hash() -> str:
    return model_source_hash("matmul_kernel.py")


def _strides(job: ExactJob) -> dict[str, int | None]:
    """Which strides are the unit stride (specialised to the constant 1) for these layouts."""
    return {
        "stride_am": 1 if job.a_layout == "col" else None,
        "stride_ak": 1 if job.a_layout == "row" else None,
        "stride_bk": 1 if job.b_layout == "col" else None,
        "stride_bn": 1 if job.b_layout == "row" else None,
        "stride_cm": None,
        "stride_cn": 1,
    }


def _divisibility_attr():
    """``[["tt.divisibility", 16]]`` as the installed Triton's backend spells it."""
    try:
        from triton.backends.compiler import BaseBackend

        return BaseBackend.parse_attr("D")
    except Exception:
        return [["tt.divisibility", 16]]


def model_source(fn: Any, sig: dict[str, str], const: dict[str, Any], not_divisible: tuple[str, ...] = ()):
    """The ``ASTSource`` a launch of the model kernel ``fn`` builds: ``sig`` the element types of its
    arguments, ``const`` those it specialises (constexprs, unit strides), and every other argument
    divisible by 16 as a launch with aligned tensors sees it, except those in ``not_divisible``."""
    from triton.compiler import ASTSource

    require_astsource_api()
    names = list(fn.arg_names)
    sig = {**sig, **dict.fromkeys(const, "constexpr")}
    divisible = _divisibility_attr()
    attrs = {(names.index(n),): divisible for n in names if sig[n] != "constexpr" and n not in not_divisible}
    return ASTSource(fn, sig, {(names.index(k),): v for k, v in const.items()}, attrs)


def model_task(kind: str, kernel_file: str, job: Any, build: Any) -> engine.Task:
    """The compile engine's task for one job of a model kernel: keyed by the job and the kernel's source."""
    return engine.Task(
        kind=kind,
        identity=engine.digest({"kernel": model_source_hash(kernel_file), **asdict(job)}),
        capability=job.capability,
        options=(("num_stages", job.stages), ("num_warps", job.warps)),
        warp_size=job.warp_size,
        make_source=functools.partial(build, job),
        job=job,
    )


def build_source(job: ExactJob):
    """The ``ASTSource`` a real launch of ``matmul_kernel`` with 16-aligned tensors would build."""
    from gpudiag.tiles.matmul_kernel import GROUP_M, matmul_kernel

    sig: dict[str, str] = dict.fromkeys(matmul_kernel.arg_names, "i32")
    sig.update(a_ptr=f"*{job.a_dtype}", b_ptr=f"*{job.b_dtype}", c_ptr=f"*{job.out_dtype}")
    const: dict[str, Any] = {
        "BLOCK_M": job.block_m,
        "BLOCK_N": job.block_n,
        "BLOCK_K": job.block_k,
        "GROUP_M": GROUP_M,
        "ACC_INT": job.a_dtype == "i8",
        "DOT_PRECISION": job.dot_precision,
    }
    for name, value in _strides(job).items():
        if value == 1:
            const[name] = 1
    return model_source(matmul_kernel, sig, const)


def require_astsource_api() -> None:
    """--exact builds an ``ASTSource`` with constexprs and attrs (Triton >= 3.3)."""
    import inspect

    from triton.compiler import ASTSource

    if "constexprs" not in inspect.signature(ASTSource.__init__).parameters:
        raise GpudiagError(
            f"--exact supports Triton >= 3.3 (ASTSource with constexprs/attrs); this is Triton {triton_version()}",
            EXIT_USAGE,
        )


def task_for(job: ExactJob) -> engine.Task:
    return model_task("exact", "matmul_kernel.py", job, build_source)


Progress = engine.Progress  # (compiled so far, to compile)


def run_exact(
    jobs: list[ExactJob], parallel: int | None = None, use_cache: bool = True, progress: Progress | None = None
) -> list[ExactResult]:
    """Results in the order of ``jobs``; identical jobs compile once, each in an isolated child."""
    engine.require_triton("--exact")
    if jobs:
        require_astsource_api()
    triton_cache = str(files.cache_dir() / "triton") if use_cache else None
    results = engine.run(
        [task_for(j) for j in jobs],
        what="--exact",
        parallel=parallel,
        use_cache=use_cache,
        on_progress=_only_compiles(progress),
        triton_cache=triton_cache,
    )
    return [ExactResult.of(r) for r in results]


def _only_compiles(progress: Progress | None) -> Progress | None:
    """--exact's progress counts the compiles (the engine counts cached answers too)."""
    if progress is None:
        return None
    start: list[int] = []

    def update(done: int, total: int) -> None:
        if not start:
            start.append(done)
        if total > start[0]:
            progress(done - start[0], total - start[0])

    return update


def layouts_for(a: DType, b: DType, a_layout: str | None, b_layout: str | None) -> tuple[str, str]:
    """A row-major unless told; B as real kernels of that dtype take it (fp8: K-major, see dtypes.toml)."""
    return (a_layout or "row"), (b_layout or b.b_layout)


def job_for(
    bm: int,
    bn: int,
    bk: int,
    stages: int | None,
    warps: int | None,
    a: DType,
    b: DType,
    a_layout: str,
    b_layout: str,
    capability: int,
) -> ExactJob:
    if a.triton is None or b.triton is None:
        bad = a if a.triton is None else b
        raise GpudiagError(
            f"--exact cannot compile {bad.name}: the matmul kernel takes "
            "fp32, tf32, fp16, bf16, fp8e4m3, fp8e5m2 or int8",
            EXIT_USAGE,
        )
    precision = a.dot_precision or b.dot_precision or "default"
    return ExactJob(
        bm,
        bn,
        bk,
        stages or DEFAULT_STAGES,
        warps or DEFAULT_WARPS,
        a.triton,
        b.triton,
        a.out or "fp32",
        precision,
        a_layout,
        b_layout,
        capability,
    )
