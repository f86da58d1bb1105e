"""``--exact``: compile the real Triton matmul (``matmul_kernel.py``) for a named target and read the
compiler's own numbers: dynamic shared memory, registers per thread, spills.

No GPU is needed: Triton compiles for ``GPUTarget("cuda", 90, 32)`` on a CPU-only machine (ptxas ships
in the Triton wheel). The kernel is compiled with the argument specialisation a real launch gets:
pointers and every stride, M, N, K divisible by 16 (``tt.divisibility = 16``), and the unit strides
as the constant 1 (Triton's launcher specialises the integer 1 to a constexpr). Without that, the
pipeliner is not applied and the numbers are several times too small.

Every compile runs in a worker process whose stdout and stderr go to a log, never to the user's
terminal or ``--json`` document (Triton prints the whole PTX when ptxas fails), with a private
temporary folder that is removed afterwards (ptxas leaves ``tmp*.ptx`` files behind on failure).
Triton's own cache goes under gpudiag's cache folder (``GPUDIAG_CACHE_DIR``), or into that
temporary folder with ``--no-cache``. gpudiag's results are cached on disk too, keyed by Triton
version, target, operand dtypes and layouts, config and the kernel's source.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gpudiag import files
from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles.dtypes import DType

DEFAULT_STAGES = 3  # triton.Config / compile default num_stages
DEFAULT_WARPS = 4  # triton.Config / compile default num_warps
CACHE_SCHEMA = 2
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

    @property
    def error_summary(self) -> str | None:
        """The compiler's failure in one readable line (the last line that says what went wrong)."""
        return summarize_error(self.error) if self.error else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_NOISE = re.compile(r"^(=+|please share the reproducer.*|Repro command:.*|`ptxas` stderr:|\s*\^\s*)$")


def summarize_error(text: str) -> str:
    """``CompilationError: at 14:33: ... arange's range must be a power of 2`` -> the reason line."""
    kind, _, rest = text.partition(": ")
    lines = [ln.strip() for ln in rest.splitlines() if ln.strip() and not _NOISE.match(ln.strip())]
    ptxas = [ln for ln in lines if ln.startswith("ptxas") and ("error" in ln or "fatal" in ln)]
    cause = [ln for ln in lines if ln.startswith("caused by ")]
    if ptxas:
        reason = ptxas[0]
    elif cause:  # Triton's own message was only the source excerpt; say where and what failed
        where = lines[0].rstrip(":") if lines[0].startswith("at ") else ""
        reason = cause[-1][len("caused by ") :] + (f" {where}" if where else "") + f" ({lines[-2]})"
    elif kind == "CompilationError" and len(lines) > 1:
        reason = lines[-1]  # Triton puts the source excerpt first and the message last
    else:
        reason = lines[0] if lines else ""
    reason = reason if len(reason) <= 300 else reason[:297] + "..."
    return f"{kind}: {reason}" if reason else kind


def triton_version() -> str | None:
    """The installed Triton's version, read from its metadata (importing Triton takes seconds)."""
    from importlib import metadata

    try:
        return metadata.version("triton")
    except metadata.PackageNotFoundError:
        return None


def kernel_source_hash() -> str:
    src = Path(__file__).with_name("matmul_kernel.py").read_bytes()
    return hashlib.sha256(src).hexdigest()[:16]


def cache_dir() -> Path:
    return files.cache_dir() / "tiles-exact"


def cache_key(job: ExactJob, tv: str) -> str:
    blob = json.dumps(
        {"schema": CACHE_SCHEMA, "triton": tv, "kernel": kernel_source_hash(), **asdict(job)}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()


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


def build_source(job: ExactJob):
    """The ``ASTSource`` a real launch of ``matmul_kernel`` with 16-aligned tensors would build."""
    from triton.compiler import ASTSource

    from gpudiag.tiles.matmul_kernel import GROUP_M, matmul_kernel

    names = list(matmul_kernel.arg_names)
    sig: dict[str, str] = {n: "i32" for n in names}
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
    for name in const:
        sig[name] = "constexpr"
    import inspect

    divisible = _divisibility_attr()
    params = inspect.signature(ASTSource.__init__).parameters
    if "constexprs" in params:  # Triton >= 3.3 (3.6 on the H100 machine, 3.9 in CI)
        attrs = {(names.index(n),): divisible for n in names if sig[n] != "constexpr"}
        return ASTSource(matmul_kernel, sig, {(names.index(k),): v for k, v in const.items()}, attrs)
    raise GpudiagError(
        f"--exact supports Triton >= 3.3 (ASTSource with constexprs/attrs); this is Triton {triton_version()}",
        EXIT_USAGE,
    )


def _cuobjdump() -> str | None:
    import shutil

    try:
        import triton.backends.nvidia as nv

        cand = Path(nv.__file__).parent / "bin" / "cuobjdump"
        if cand.is_file():
            return str(cand)
    except Exception:
        pass
    return shutil.which("cuobjdump")


_RES_RE = re.compile(r"REG:(\d+)\s+STACK:(\d+)")


def _resource_usage(cubin: bytes) -> tuple[int | None, int | None, str]:
    import subprocess

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
    """Compile one config in this process now (no cache). Compiler failures become ``error``, never an
    exception. Call it through ``run_exact``, which keeps the compiler's output off the terminal."""
    t0 = time.perf_counter()
    try:
        import triton
        from triton.backends.compiler import GPUTarget

        src = build_source(job)
        kernel = triton.compile(
            src,
            target=GPUTarget("cuda", job.capability, job.warp_size),
            options={"num_warps": job.warps, "num_stages": job.stages},
        )
        shared = int(kernel.metadata.shared)
        regs, local, how = _resource_usage(kernel.asm["cubin"])
    except GpudiagError:
        raise
    except Exception as exc:
        cause = exc.__cause__
        why = f"\ncaused by {type(cause).__name__}: {cause}".rstrip(": ") if cause is not None else ""
        return ExactResult(
            None, None, None, None, time.perf_counter() - t0, False, error=f"{type(exc).__name__}: {exc}{why}"
        )
    return ExactResult(
        shared, regs, None if local is None else local // 4, local, time.perf_counter() - t0, False, regs_source=how
    )


def _init_worker(triton_cache: str, tmp: str) -> None:
    """A compile worker: Triton's cache and temporary files in the given folders, and everything the
    compiler prints (a failed ptxas prints the whole PTX) into a log instead of the user's streams."""
    os.environ["TRITON_CACHE_DIR"] = triton_cache
    os.environ["TMPDIR"] = tmp
    tempfile.tempdir = tmp
    os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")  # 3.9 warns when unset; 1 is its default and 3.6's
    log = os.open(os.path.join(tmp, f"compile-{os.getpid()}.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.stdout = sys.stderr = open(log, "w", closefd=False)  # noqa: SIM115 - the worker's streams until it exits


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


Progress = Callable[[int, int], None]  # (compiled so far, to compile)


def run_exact(
    jobs: list[ExactJob], parallel: int | None = None, use_cache: bool = True, progress: Progress | None = None
) -> list[ExactResult]:
    """Results in the order of ``jobs``; identical jobs compile once, in isolated worker processes."""
    tv = triton_version()
    if tv is None:
        raise GpudiagError("--exact needs Triton, which is not installed here (pip install triton)", EXIT_USAGE)
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
    if todo:
        for job, res in zip(
            todo, _compile_isolated(todo, min(parallel or default_jobs(), len(todo)), use_cache, progress)
        ):
            results[job] = res
            if use_cache:
                _write_cache(paths[job], res)
    return [results[j] for j in jobs]


def _compile_isolated(
    todo: list[ExactJob], workers: int, use_cache: bool, progress: Progress | None
) -> list[ExactResult]:
    import concurrent.futures as cf
    import multiprocessing
    import shutil

    tmp = tempfile.mkdtemp(prefix="gpudiag-exact-")
    triton_cache = str(files.cache_dir() / "triton") if use_cache else os.path.join(tmp, "triton")
    # fork: a worker starts without re-importing gpudiag; it imports Triton once for all its compiles.
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else methods[0])
    out: list[ExactResult | None] = [None] * len(todo)
    try:
        with cf.ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(triton_cache, tmp)
        ) as pool:
            futures = {pool.submit(_worker, asdict(job)): i for i, job in enumerate(todo)}
            for n, fut in enumerate(cf.as_completed(futures), 1):
                try:
                    out[futures[fut]] = ExactResult(**fut.result())
                except Exception as exc:
                    out[futures[fut]] = ExactResult(
                        None,
                        None,
                        None,
                        None,
                        0.0,
                        False,
                        error=f"{type(exc).__name__}: the compile process failed: {exc}",
                    )
                if progress is not None:
                    progress(n, len(todo))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [r for r in out if r is not None]


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
