"""Compile a cached kernel's Triton IR for another GPU, with the installed Triton, on this machine.

``triton.compile`` takes Triton IR and a ``GPUTarget`` and needs no GPU (ptxas ships in the Triton
wheel). A cached ``.ttir`` has been through Triton's ``ttir`` stage for the target it was compiled
for, and that stage is not the same everywhere: below sm_90 it rewrites tensor descriptors (TMA)
into plain loads (``make_ttir`` in ``triton/backends/nvidia/compiler.py``). ``triton.compile(path)``
would skip it, so the IR is handed over as a source whose ``make_ir`` parses it, and the whole
pipeline from ``ttir`` on runs for the new target; on IR that has been through it once, the stage's
other passes (inline, canonicalise, combine, CSE, DCE, unroll) leave it as it is.

Each compile runs in a forked child: Triton's diagnostics, ptxas's messages and any crash stay in
that child's log (kept as the reason when the compile fails, never on gpudiag's stdout), and the
child's Triton cache and temporary files live in a folder removed afterwards, so the user's own
Triton cache is only ever read. Results are cached on disk by TTIR hash x options x target x
Triton version, failures the compiler reports included (they are answers: "cannot run there").
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import multiprocessing
import multiprocessing.connection
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from gpudiag import files
from gpudiag.errors import EXIT_USAGE, GpudiagError, Stopped
from gpudiag.tiles.exact import _resource_usage, default_jobs  # cuobjdump -res-usage and the core count, as --exact

CACHE_SCHEMA = 1
COMPILE_TIMEOUT_S = 900.0  # one kernel, one target; the slowest seen: FlexAttention's backward, 66 s on a loaded VM
# Environment variables that locate files rather than change what is compiled: not part of the key.
_LOCATION_VARS = {
    "TRITON_CACHE_DIR",
    "TRITON_HOME",
    "TRITON_DUMP_DIR",
    "TRITON_OVERRIDE_DIR",
    "TRITON_CACHE_MANAGER",
    "TRITON_REMOTE_CACHE_BACKEND",
}


@dataclass(frozen=True)
class RecompileJob:
    """Everything that decides the compiled kernel (the cache key), and where its IR is.

    Two cache entries with the same IR and options (compiled under other settings or by another
    Triton) are the same job: the installed Triton builds the same kernel from them.
    """

    ttir_path: str = field(compare=False)
    ttir_sha256: str
    name: str
    options: tuple[tuple[str, Any], ...]  # sorted (option, value) pairs
    capability: int  # 89 for sm_89
    warp_size: int = 32

    def key(self, triton_version: str) -> str:
        env = sorted(
            (k, v)
            for k, v in os.environ.items()
            if k.startswith(("TRITON_", "PTXAS_", "DISABLE_", "LLVM_", "MLIR_")) and k not in _LOCATION_VARS
        )
        blob = json.dumps(
            {
                "schema": CACHE_SCHEMA,
                "triton": triton_version,
                "ttir": self.ttir_sha256,
                "options": self.options,
                "capability": self.capability,
                "warp_size": self.warp_size,
                "env": env,
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()


# Why a compile gave no kernel: the IR is unreadable by this Triton ("parse"), the compiler refused
# it for this target ("compile": cannot run there), or something outside the compiler ("environment":
# no ptxas, a killed or timed-out child; not cached).
FAILURE_KINDS = ("parse", "compile", "environment")


@dataclass
class CompiledResources:
    """What the installed Triton built for one target, or why it built nothing."""

    shared_bytes: int | None = None  # dynamic shared memory (metadata "shared")
    regs_per_thread: int | None = None
    spills: int | None = None  # as Triton counts them: local (stack) bytes per thread / 4
    local_bytes: int | None = None
    num_warps: int | None = None  # as compiled: warp specialisation may add warps
    tmem_columns: int | None = None  # Blackwell tensor memory (metadata "tmem_size")
    regs_source: str | None = None
    failure: str | None = None  # one of FAILURE_KINDS
    reason: str | None = None  # one line: the compiler's own words
    compiler_output: str | None = None  # everything the compiler said, whole
    compile_s: float = 0.0
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def triton_version() -> str | None:
    """The installed Triton's version, from its package metadata (importing Triton takes ~0.5 s)."""
    try:
        return metadata.version("triton")
    except metadata.PackageNotFoundError:
        return None


def cache_dir() -> Path:
    return files.cache_dir() / "tiles-triton-cache"


def _ttir_source(path: str, name: str):
    """Cached Triton IR as a source ``triton.compile`` runs every stage from ``ttir`` on."""
    from triton._C.libtriton import ir
    from triton.compiler import ASTSource

    class CachedTTIR(ASTSource):
        # Not a Python function: only what triton.compile asks of a source is defined.
        def __init__(self) -> None:
            self.fn = None
            self.name = name
            self.ext = "ttir"
            self.path = path
            self.text = Path(path).read_text(encoding="utf-8")
            self.signature: dict = {}
            self.constants: dict = {}
            self.attrs: dict = {}
            try:
                from triton.backends.compiler import Language

                self.language = Language.TRITON
            except ImportError:  # Triton before the Gluon split
                pass

        def hash(self) -> str:
            return hashlib.sha256(f"ttir-{self.text}".encode()).hexdigest()

        def parse_options(self) -> dict:
            return {}

        def make_ir(self, *args):  # (target, options, codegen_fns, module_map, context); older: no target
            context = args[-1]
            try:
                module = ir.parse_mlir_module(self.path, context)
            except Exception as exc:
                raise _Unreadable(str(exc)) from None
            module.context = context
            return module

    return CachedTTIR()


class _Unreadable(Exception):
    """The installed Triton cannot parse the IR (written by another version, or damaged)."""


def compile_now(job: RecompileJob) -> CompiledResources:
    """Compile in this process. Only call in a child whose output is captured (see ``_child``)."""
    import triton
    from triton.backends.compiler import GPUTarget

    t0 = time.perf_counter()
    try:
        kernel = triton.compile(
            _ttir_source(job.ttir_path, job.name),
            target=GPUTarget("cuda", job.capability, job.warp_size),
            options=dict(job.options),
        )
    except _Unreadable as exc:
        return CompiledResources(failure="parse", reason=str(exc), compile_s=time.perf_counter() - t0)
    except (OSError, MemoryError) as exc:
        return CompiledResources(
            failure="environment", reason=f"{type(exc).__name__}: {exc}", compile_s=time.perf_counter() - t0
        )
    except Exception as exc:
        return CompiledResources(
            failure="compile", reason=f"{type(exc).__name__}: {exc}", compile_s=time.perf_counter() - t0
        )
    md = kernel.metadata
    regs, local, how = _resource_usage(kernel.asm["cubin"])
    return CompiledResources(
        shared_bytes=int(md.shared),
        regs_per_thread=regs,
        spills=None if local is None else local // 4,
        local_bytes=local,
        num_warps=int(md.num_warps),
        tmem_columns=getattr(md, "tmem_size", None),
        regs_source=how,
        compile_s=time.perf_counter() - t0,
    )


def _child(job: RecompileJob, workdir: str) -> None:
    """Runs in the forked child: every byte it or the compiler writes goes to ``workdir``."""
    try:  # die with gpudiag (killed, not interrupted) rather than compile on for nobody: PR_SET_PDEATHSIG
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    log = os.open(os.path.join(workdir, "log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    # Triton prints (the PTX of a failed ptxas run) through sys.stdout, which may not be fd 1 here.
    # the worker's own streams until it exits (fd 1 and 2 are its log)
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)  # noqa: SIM115
    os.environ["TRITON_CACHE_DIR"] = os.path.join(workdir, "triton-cache")
    os.environ["TMPDIR"] = workdir
    tempfile.tempdir = workdir  # ptxas's .ptx/.log temporaries, left behind when it fails
    os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")  # Triton 3.9 warns when unset; 1 is the default
    result = compile_now(job)
    tmp = os.path.join(workdir, "result.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(result.to_dict(), f)
    os.replace(tmp, os.path.join(workdir, "result.json"))


_PTXAS_LINE = re.compile(r"^ptxas\S*\s.*?\b(?:error|fatal)\s*:\s*(.+)$")
_LLVM_LINE = re.compile(r"LLVM ERROR: .+")
_MLIR_LINE = re.compile(r"^(.*?):(\d+):\d+\)?: error: (.+)$")
_GENERIC = ("Failures have been detected while processing an MLIR pass pipeline", "Ptx assembly aborted")


def summarise(reason: str | None, output: str) -> str:
    """The compiler's own words for a failure, on one line: its first specific message.

    ptxas's messages (in Triton's exception and in its log), then LLVM's fatal errors, then MLIR's
    diagnostics (``file:line:col: error: ...``, printed on stderr), then the exception's first line.
    """
    lines = [ln.strip() for ln in f"{reason or ''}\n{output}".splitlines()]
    specific = [ln for ln in lines if not any(g in ln for g in _GENERIC)]
    for ln in specific:
        m = _PTXAS_LINE.match(ln)
        if m:
            return f"ptxas: {m.group(1)}"
    for ln in specific:
        m = _LLVM_LINE.search(ln)
        if m:
            return m.group(0)
    for ln in specific:
        m = _MLIR_LINE.match(ln)
        if m:
            # An operation that failed to lower is printed whole after the message; the message says enough.
            return f"line {m.group(2)}: " + re.sub(r"(explicitly marked illegal):? .*", r"\1", m.group(3))
    first = next((ln for ln in lines if ln), "")
    return first or "the compiler failed without a message"


def _finish(workdir: str, exitcode: int | None, started: float, timed_out: bool) -> CompiledResources:
    try:
        output = Path(workdir, "log").read_text(encoding="utf-8", errors="replace")
    except OSError:
        output = ""
    elapsed = time.perf_counter() - started
    if timed_out:
        return CompiledResources(
            failure="environment",
            reason=f"the compile did not finish in {COMPILE_TIMEOUT_S:.0f} s",
            compiler_output=output or None,
            compile_s=elapsed,
        )
    try:
        res = CompiledResources(**json.loads(Path(workdir, "result.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        how = f"signal {-exitcode}" if exitcode is not None and exitcode < 0 else f"exit status {exitcode}"
        res = CompiledResources(failure="environment", compile_s=elapsed, reason=f"the compiler's process died ({how})")
    if res.failure is not None:
        whole = "\n".join(x for x in (res.reason, output) if x)
        res.compiler_output = whole
        if res.failure != "environment":
            res.reason = summarise(res.reason, output)
        elif output.strip():
            res.reason = f"{res.reason}: {summarise(None, output)}"
    return res


def _read_cached(path: Path) -> CompiledResources | None:
    try:
        res = CompiledResources(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    res.cached = True
    return res


def _write_cached(path: Path, res: CompiledResources) -> None:
    if res.failure == "environment":
        return  # not a property of the kernel: the next run may succeed
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        files.write_json_atomic(path, res.to_dict(), indent=None)
    except OSError:
        pass  # a read-only home still gets answers, only slower next time


Progress = Callable[[int, int], None]  # (cells done, cells in all), called as each finishes


def recompile(
    jobs: list[RecompileJob], parallel: int | None = None, use_cache: bool = True, on_progress: Progress | None = None
) -> list[CompiledResources]:
    """The compiled resources of every job, in order; identical jobs compile once, cached ones not at all."""
    tv = triton_version()
    if tv is None:
        raise GpudiagError(
            "--from-triton-cache needs Triton to recompile the kernels, and it is not installed "
            "here (pip install triton)",
            EXIT_USAGE,
        )
    unique = list(dict.fromkeys(jobs))
    results: dict[RecompileJob, CompiledResources] = {}
    paths = {job: cache_dir() / f"{job.key(tv)}.json" for job in unique}
    todo = []
    for job in unique:
        hit = _read_cached(paths[job]) if use_cache else None
        if hit is not None:
            results[job] = hit
        else:
            todo.append(job)
    done, total = len(results), len(unique)
    if on_progress:
        on_progress(done, total)
    if todo:
        if "fork" not in multiprocessing.get_all_start_methods():
            raise GpudiagError(
                "--from-triton-cache compiles in forked processes, which this platform lacks", EXIT_USAGE
            )
        for job, res in _run_children(todo, parallel or default_jobs(), tv):
            results[job] = res
            if use_cache:
                _write_cached(paths[job], res)
            done += 1
            if on_progress:
                on_progress(done, total)
    return [results[j] for j in jobs]


def _interrupt(signum, frame):
    raise Stopped(signum)  # exits 128 + signum (143 for SIGTERM), as every command does


def _run_children(todo: list[RecompileJob], parallel: int, version: str | None = None):
    """Yield (job, result) as each forked compile finishes, at most ``parallel`` at a time."""
    try:
        import triton  # noqa: F401 - imported once here, inherited by every forked child
    except Exception as exc:
        raise GpudiagError(
            f"Triton {version} is installed but does not import: {type(exc).__name__}: {exc}", EXIT_USAGE
        ) from None
    ctx = multiprocessing.get_context("fork")
    root = tempfile.mkdtemp(prefix="gpudiag-recompile-")
    running: dict[int, tuple[Any, RecompileJob, str, float]] = {}
    queue = list(reversed(todo))
    try:  # a kill (timeout, a scheduler) ends the children and removes their folders, as Ctrl-C does
        previous = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread: the children still die with us (PR_SET_PDEATHSIG)
        previous = None
    try:
        while queue or running:
            while queue and len(running) < max(1, parallel):
                job = queue.pop()
                workdir = tempfile.mkdtemp(dir=root)
                proc = ctx.Process(target=_child, args=(job, workdir), daemon=True)
                proc.start()
                running[proc.sentinel] = (proc, job, workdir, time.perf_counter())
            ready = multiprocessing.connection.wait(list(running), timeout=1.0)
            now = time.perf_counter()
            for sentinel in list(running):
                proc, job, workdir, started = running[sentinel]
                timed_out = sentinel not in ready and now - started > COMPILE_TIMEOUT_S
                if sentinel not in ready and not timed_out:
                    continue
                if timed_out:
                    proc.kill()
                proc.join()
                del running[sentinel]
                result = _finish(workdir, proc.exitcode, started, timed_out)
                shutil.rmtree(workdir, ignore_errors=True)
                yield job, result
    finally:
        for proc, _, _, _ in running.values():
            proc.kill()
            proc.join()
        shutil.rmtree(root, ignore_errors=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
