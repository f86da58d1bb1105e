"""``--exact``: compile the real Triton matmul (``matmul_kernel.py``) for a named target and read the
compiler's own numbers: dynamic shared memory, registers per thread, spills.

No GPU is needed: Triton compiles for ``GPUTarget("cuda", 90, 32)`` on a CPU-only machine (ptxas ships
in the Triton wheel). The kernel is compiled with the argument specialisation a real launch gets:
pointers and every stride, M, N, K divisible by 16 (``tt.divisibility = 16``), and the unit strides
as the constant 1 (Triton's launcher specialises the integer 1 to a constexpr). Without that, the
pipeliner is not applied and the numbers are several times too small.

Configs compile in parallel processes; results are cached on disk, keyed by Triton version, target,
operand dtypes and layouts, config and the kernel's source.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import inspect
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gpudiag import files
from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles.dtypes import DType

DEFAULT_STAGES = 3  # triton.Config / compile default num_stages
DEFAULT_WARPS = 4  # triton.Config / compile default num_warps
CACHE_SCHEMA = 1
LAYOUTS = ("row", "col")


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
    error: str | None = None
    regs_source: str | None = None  # "cuobjdump -res-usage" or why not available

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def triton_version() -> str | None:
    try:
        import triton
    except Exception:  # noqa: BLE001 - any import failure means "no Triton here"
        return None
    return triton.__version__


def kernel_source_hash() -> str:
    src = Path(__file__).with_name("matmul_kernel.py").read_bytes()
    return hashlib.sha256(src).hexdigest()[:16]


def cache_dir() -> Path:
    return files.cache_dir() / "tiles-exact"


def cache_key(job: ExactJob, tv: str) -> str:
    blob = json.dumps({"schema": CACHE_SCHEMA, "triton": tv, "kernel": kernel_source_hash(), **asdict(job)},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _strides(job: ExactJob) -> dict[str, int | None]:
    """Which strides are the unit stride (specialised to the constant 1) for these layouts."""
    return {
        "stride_am": 1 if job.a_layout == "col" else None, "stride_ak": 1 if job.a_layout == "row" else None,
        "stride_bk": 1 if job.b_layout == "col" else None, "stride_bn": 1 if job.b_layout == "row" else None,
        "stride_cm": None, "stride_cn": 1,
    }


def _divisibility_attr():
    """``[["tt.divisibility", 16]]`` as the installed Triton's backend spells it."""
    try:
        from triton.backends.compiler import BaseBackend
        return BaseBackend.parse_attr("D")
    except Exception:  # noqa: BLE001 - older layouts of the same information
        return [["tt.divisibility", 16]]


def build_source(job: ExactJob):
    """The ``ASTSource`` a real launch of ``matmul_kernel`` with 16-aligned tensors would build."""
    from triton.compiler import ASTSource

    from gpudiag.tiles.matmul_kernel import GROUP_M, matmul_kernel

    names = list(matmul_kernel.arg_names)
    sig: dict[str, str] = {n: "i32" for n in names}
    sig.update(a_ptr=f"*{job.a_dtype}", b_ptr=f"*{job.b_dtype}", c_ptr=f"*{job.out_dtype}")
    const: dict[str, Any] = {"BLOCK_M": job.block_m, "BLOCK_N": job.block_n, "BLOCK_K": job.block_k,
                             "GROUP_M": GROUP_M, "ACC_INT": job.a_dtype == "i8",
                             "DOT_PRECISION": job.dot_precision}
    for name, value in _strides(job).items():
        if value == 1:
            const[name] = 1
    for name in const:
        sig[name] = "constexpr"
    divisible = _divisibility_attr()
    params = inspect.signature(ASTSource.__init__).parameters
    if "constexprs" in params:  # Triton >= 3.3 (3.6 on the H100 machine, 3.9 in CI)
        attrs = {(names.index(n),): divisible for n in names if sig[n] != "constexpr"}
        return ASTSource(matmul_kernel, sig, {(names.index(k),): v for k, v in const.items()}, attrs)
    raise GpudiagError(f"--exact supports Triton >= 3.3 (ASTSource with constexprs/attrs); this is Triton "
                       f"{triton_version()}", EXIT_USAGE)


def _cuobjdump() -> str | None:
    try:
        import triton.backends.nvidia as nv
        cand = Path(nv.__file__).parent / "bin" / "cuobjdump"
        if cand.is_file():
            return str(cand)
    except Exception:  # noqa: BLE001
        pass
    return shutil.which("cuobjdump")


_RES_RE = re.compile(r"REG:(\d+)\s+STACK:(\d+)")


def _resource_usage(cubin: bytes) -> tuple[int | None, int | None, str]:
    tool = _cuobjdump()
    if tool is None:
        return None, None, "no cuobjdump (not in the Triton wheel nor on PATH)"
    with tempfile.NamedTemporaryFile(suffix=".cubin", delete=False) as f:
        f.write(cubin)
        name = f.name
    try:
        out = subprocess.run([tool, "-res-usage", name], capture_output=True, text=True, timeout=60).stdout
    finally:
        os.unlink(name)
    m = _RES_RE.search(out)
    if not m:
        return None, None, "cuobjdump printed no REG/STACK line"
    return int(m.group(1)), int(m.group(2)), "cuobjdump -res-usage"


def compile_job(job: ExactJob) -> ExactResult:
    """Compile one config now (no cache). Compiler failures become ``error``, never an exception."""
    os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")  # 3.9 warns when unset; 1 is its default and 3.6's
    t0 = time.perf_counter()
    try:
        import triton
        from triton.backends.compiler import GPUTarget

        src = build_source(job)
        kernel = triton.compile(src, target=GPUTarget("cuda", job.capability, job.warp_size),
                                options={"num_warps": job.warps, "num_stages": job.stages})
        shared = int(kernel.metadata.shared)
        regs, local, how = _resource_usage(kernel.asm["cubin"])
    except GpudiagError:
        raise
    except Exception as exc:  # noqa: BLE001 - the compiler's own failure is the answer for this config
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        return ExactResult(None, None, None, None, time.perf_counter() - t0, False,
                           error=f"{type(exc).__name__}: {first[:300]}")
    return ExactResult(shared, regs, None if local is None else local // 4, local, time.perf_counter() - t0, False,
                       regs_source=how)


def _worker(job_dict: dict[str, Any]) -> dict[str, Any]:
    return compile_job(ExactJob(**job_dict)).to_dict()


def _read_cache(path: Path) -> ExactResult | None:
    try:
        data = json.loads(path.read_text())
        data["cached"] = True
        return ExactResult(**data)
    except (OSError, ValueError, TypeError):
        return None


def _write_cache(path: Path, res: ExactResult) -> None:
    if res.error is not None:  # a failure may be environmental (ptxas missing): do not pin it
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        files.write_json_atomic(path, res.to_dict(), indent=None)
    except OSError:
        pass  # a read-only home still gets answers, only slower next time


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_exact(jobs: list[ExactJob], parallel: int | None = None, use_cache: bool = True) -> list[ExactResult]:
    """Results in the order of ``jobs``; identical jobs compile once."""
    tv = triton_version()
    if tv is None:
        raise GpudiagError("--exact needs Triton, which is not importable here (pip install triton)", EXIT_USAGE)
    results: dict[ExactJob, ExactResult] = {}
    todo: list[ExactJob] = []
    paths: dict[ExactJob, Path] = {}
    for job in dict.fromkeys(jobs):
        paths[job] = cache_dir() / f"{cache_key(job, tv)}.json"
        hit = _read_cache(paths[job]) if use_cache else None
        if hit is not None:
            results[job] = hit
        else:
            todo.append(job)
    workers = min(parallel or default_jobs(), len(todo))
    if workers <= 1:
        for job in todo:
            results[job] = compile_job(job)
    elif todo:
        # fork: the workers inherit the imported Triton instead of importing it again (seconds each).
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else methods[0])
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            for job, res in zip(todo, pool.map(_worker, [asdict(j) for j in todo])):
                results[job] = ExactResult(**res)
    for job in todo:
        if use_cache:
            _write_cache(paths[job], results[job])
    return [results[j] for j in jobs]


def layouts_for(a: DType, b: DType, a_layout: str | None, b_layout: str | None) -> tuple[str, str]:
    """A row-major unless told; B as real kernels of that dtype take it (fp8: K-major, see dtypes.toml)."""
    return (a_layout or "row"), (b_layout or b.b_layout)


def job_for(bm: int, bn: int, bk: int, stages: int | None, warps: int | None, a: DType, b: DType,
            a_layout: str, b_layout: str, capability: int) -> ExactJob:
    if a.triton is None or b.triton is None:
        bad = a if a.triton is None else b
        raise GpudiagError(f"--exact cannot compile {bad.name}: the matmul kernel takes "
                           "fp32, tf32, fp16, bf16, fp8e4m3, fp8e5m2 or int8", EXIT_USAGE)
    precision = a.dot_precision or b.dot_precision or "default"
    return ExactJob(bm, bn, bk, stages or DEFAULT_STAGES, warps or DEFAULT_WARPS, a.triton, b.triton,
                    a.out or "fp32", precision, a_layout, b_layout, capability)
