"""One compile, as it runs inside a compile engine's forked child (``compile_engine.py``), and what it
gives: ``CompileResult``, or the compiler's failure in its own words (``summarise``).

``compile_now`` builds the task's source, runs ``triton.compile`` for the task's ``GPUTarget`` and
reads the cubin's registers and stack with ``cuobjdump -res-usage``. With ``stop_above`` it stops as
soon as Triton has allocated more shared memory than that (``_stop_after_allocation``): such a config
does not fit whatever else happens, and the lowering to LLVM and ptxas take most of a large tile's
time. It changes module attributes of the process's Triton while it runs: only call it in a child.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gpudiag.tiles.compile_engine import Task

# Why a compile gave no kernel: the source is unreadable by this Triton ("parse"), the compiler refused
# it or crashed on it ("compile": cannot run there), or something outside the compiler ("environment":
# no ptxas, a killed or timed-out child; not cached).
FAILURE_KINDS = ("parse", "compile", "environment")


@dataclass
class CompileResult:
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
    exception: str | None = None  # what Triton raised, whole (the compiler's log is compiler_output)
    compiler_output: str | None = None  # everything the compiler said, whole
    crash_signal: str | None = None  # "SIGSEGV" when the compiler's process died of it
    stopped_early: bool = False  # stopped after shared-memory allocation: over the task's stop_above
    compile_s: float = 0.0
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompileResult:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class SourceUnreadable(Exception):
    """The installed Triton cannot read the source (IR written by another version, or damaged)."""


# --- summarising what the compiler said ------------------------------------------------------------

_PTXAS_LINE = re.compile(r"^(?:\w+Error: )?ptxas\S*\s.*?\b(?:error|fatal)\s*:\s*(.+)$")
_LLVM_LINE = re.compile(r"LLVM ERROR: .+")
_ASSERTION = re.compile(r"Assertion `(.+)' failed")
_MLIR_LINE = re.compile(r"^(.*?):(\d+):\d+\)?: error: (.+)$")
_GENERIC = ("Failures have been detected while processing an MLIR pass pipeline", "Ptx assembly aborted")
_NOISE = re.compile(r"^(=+|please share the reproducer.*|Repro command:.*|`ptxas` stderr:|\^)$")
_MAX_REASON = 300


def summarise(reason: str | None, output: str = "") -> str:
    """The compiler's own words for a failure, on one line: its first specific message.

    ptxas's messages (in Triton's exception and in its log), then LLVM's fatal errors, then MLIR's
    diagnostics (``file:line:col: error: ...``), then what Triton's front end said (its
    ``CompilationError`` shows the source excerpt first and the message last), then the first line.
    """
    text = f"{reason or ''}\n{output}"
    lines = [ln.strip() for ln in text.splitlines()]
    specific = [ln for ln in lines if ln and not any(g in ln for g in _GENERIC)]
    for ln in specific:
        m = _PTXAS_LINE.match(ln)
        if m:
            return _short(f"ptxas: {m.group(1)}")
    for ln in specific:
        m = _LLVM_LINE.search(ln)
        if m:
            return _short(m.group(0))
    for ln in specific:
        m = _ASSERTION.search(ln)
        if m:  # an assertion inside LLVM or MLIR (the process then aborts): its condition, not its path
            where = re.search(r"llvm-project/(llvm|mlir)/", ln)
            return _short(f"{where.group(1).upper() + ' ' if where else ''}assertion failed: {m.group(1)}")
    for ln in specific:
        m = _MLIR_LINE.match(ln)
        if m:
            # An operation that failed to lower is printed whole after the message; the message says enough.
            return _short(f"line {m.group(2)}: " + re.sub(r"(explicitly marked illegal):? .*", r"\1", m.group(3)))
    front = _front_end(reason or "")
    if front:
        return _short(front)
    first = next((ln for ln in lines if ln), "")
    return _short(first) if first else "the compiler failed without a message"


def _front_end(text: str) -> str | None:
    """``CompilationError: at 14:33: <source excerpt> ... arange's range must be a power of 2``: the
    message line; with only ``caused by X`` after the excerpt, that cause and where."""
    kind, _, rest = text.partition(": ")
    if kind != "CompilationError":
        return None
    lines = [ln.strip() for ln in rest.splitlines() if ln.strip() and not _NOISE.match(ln.strip())]
    cause = [ln for ln in lines if ln.startswith("caused by ")]
    if cause:
        said = cause[-1][len("caused by ") :].partition(": ")[2]
        where = lines[0].rstrip(":") if lines[0].startswith("at ") else ""
        if said and any(ln == said for ln in lines):  # the message is Triton's own last line: say it once
            return f"{kind}: {said}" + (f" ({where})" if where else "")
    if cause and len(lines) > 1:
        where = lines[0].rstrip(":") if lines[0].startswith("at ") else ""
        return f"{kind}: " + cause[-1][len("caused by ") :] + (f" {where}" if where else "") + f" ({lines[-2]})"
    if len(lines) > 1:
        return f"{kind}: {lines[-1]}"
    return None


def _short(text: str) -> str:
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


# --- one compile, in the child ---------------------------------------------------------------------


class _StoppedEarly(Exception):
    def __init__(self, shared: int, tmem: int | None, warps: int | None) -> None:
        super().__init__(f"stopped after shared-memory allocation: {shared} B")
        self.shared, self.tmem, self.warps = shared, tmem, warps


@contextlib.contextmanager
def _stop_after_allocation(limit: int | None) -> Iterator[None]:
    """Stop the compile once Triton has allocated shared memory, if it took more than ``limit``.

    Two hooks, both only in a forked child (they change module attributes of the process's Triton):

    - the probe: while ``make_llir`` builds its pass pipeline, the passes added before shared-memory
      allocation are recorded; when the allocation pass is added, a copy of the module runs just those
      passes and the allocation, and a count over the limit stops the compile there, before the
      TritonGPU-to-LLVM lowering (seconds for a large tile);
    - the fallback: ``llvm.to_module``, which ``make_llir`` calls after its passes, when the module
      carries ``ttg.shared``: a count over the limit stops before LLVM and ptxas.

    Passes after allocation only add shared memory, so a count over the limit at either point is a
    "does not fit". Where a hook is missing (another Triton) or the probe fails, the compile runs on.
    """
    if limit is None:
        yield
        return
    undo: list[tuple[Any, str, Any]] = []
    try:
        _install_probe(limit, undo)
    except Exception:
        pass
    try:
        from triton._C.libtriton import llvm

        original = llvm.to_module

        def to_module(module, *args, **kwargs):
            _check(module, limit)
            return original(module, *args, **kwargs)

        llvm.to_module = to_module
        undo.append((llvm, "to_module", original))
    except Exception:
        pass
    try:
        yield
    finally:
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)


def _check(module: Any, limit: int) -> None:
    shared = None
    with contextlib.suppress(Exception):
        shared = module.get_int_attr("ttg.shared")
    if shared is not None and shared > limit:
        tmem = warps = None
        with contextlib.suppress(Exception):
            tmem = module.get_int_attr("ttg.tensor_memory_size")
            warps = module.get_int_attr("ttg.total-num-warps") or module.get_int_attr("ttg.num-warps")
        raise _StoppedEarly(shared, tmem, warps)


def _install_probe(limit: int, undo: list[tuple[Any, str, Any]]) -> None:
    from triton._C.libtriton import ir, nvidia, passes
    from triton.backends.nvidia.compiler import CUDABackend

    state: dict[str, Any] = {"module": None, "added": []}
    allocate = nvidia.passes.ttgpuir.add_allocate_shared_memory_nv

    def recording(fn):
        def add(pm, *args, **kwargs):
            if state["module"] is not None:
                state["added"].append((fn, args, kwargs))
            return fn(pm, *args, **kwargs)

        return add

    def allocate_and_probe(pm, *args, **kwargs):
        allocate(pm, *args, **kwargs)
        module, added = state["module"], [*state["added"], (allocate, args, kwargs)]
        state["module"] = None
        if module is None:
            return
        try:
            fd, path = tempfile.mkstemp(suffix=".ttgir")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(module.str())
            copy = ir.parse_mlir_module(path, module.context)
            probe = ir.pass_manager(module.context)
            for fn, a, kw in added:
                fn(probe, *a, **kw)
            try:
                probe.run(copy, "gpudiag-allocation-probe")
            except TypeError:  # Triton before pass pipelines were named
                probe.run(copy)
        except Exception:
            return  # the probe is only a shortcut: the compile goes on and answers
        _check(copy, limit)

    for group in (passes, nvidia.passes):
        for sub_name in dir(group):
            sub = getattr(group, sub_name)
            if sub_name.startswith("_") or not hasattr(sub, "__dict__"):
                continue
            for name in dir(sub):
                fn = getattr(sub, name)
                if not name.startswith("add_") or not callable(fn):
                    continue
                undo.append((sub, name, fn))
                setattr(sub, name, allocate_and_probe if fn is allocate else recording(fn))
    make_llir = CUDABackend.make_llir

    def make_llir_probed(self, src, *args, **kwargs):
        state["module"], state["added"] = src, []
        try:
            return make_llir(self, src, *args, **kwargs)
        finally:
            state["module"] = None

    undo.append((CUDABackend, "make_llir", make_llir))
    CUDABackend.make_llir = make_llir_probed


def _cuobjdump() -> str | None:
    try:
        import triton.backends.nvidia as nv

        cand = Path(nv.__file__).parent / "bin" / "cuobjdump"
        if cand.is_file():
            return str(cand)
    except Exception:
        pass
    return shutil.which("cuobjdump")


_RES_RE = re.compile(r"REG:(\d+)\s+STACK:(\d+)")


def resource_usage(cubin: bytes) -> tuple[int | None, int | None, str]:
    """Registers per thread and local (stack) bytes per thread of a cubin: ``cuobjdump -res-usage``."""
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


def _exception_text(exc: BaseException) -> str:
    cause = exc.__cause__
    why = f"\ncaused by {type(cause).__name__}: {cause}".rstrip(": ") if cause is not None else ""
    return f"{type(exc).__name__}: {exc}{why}"


def _environmental(exc: BaseException) -> bool:
    """Failures of the machine, not of the kernel: missing tools, no memory, no disk."""
    if isinstance(exc, (OSError, MemoryError)):
        return True
    return isinstance(exc, RuntimeError) and str(exc).startswith("Cannot find ")  # Triton: no ptxas


def compile_now(task: Task) -> CompileResult:
    """Compile in this process. Only call in a child whose output is captured (see ``_child``)."""
    t0 = time.perf_counter()
    try:
        import triton
        from triton.backends.compiler import GPUTarget

        if task.make_source is None:
            raise SourceUnreadable("the task has no source")
        source = task.make_source()
        with _stop_after_allocation(task.stop_above):
            kernel = triton.compile(
                source, target=GPUTarget("cuda", task.capability, task.warp_size), options=dict(task.options)
            )
    except _StoppedEarly as stop:
        return CompileResult(
            shared_bytes=stop.shared,
            tmem_columns=stop.tmem,
            num_warps=stop.warps,
            stopped_early=True,
            compile_s=time.perf_counter() - t0,
        )
    except SourceUnreadable as exc:
        return CompileResult(failure="parse", reason=str(exc), compile_s=time.perf_counter() - t0)
    except Exception as exc:
        kind = "environment" if _environmental(exc) else "compile"
        return CompileResult(failure=kind, reason=_exception_text(exc), compile_s=time.perf_counter() - t0)
    md = kernel.metadata
    regs, local, how = resource_usage(kernel.asm["cubin"])
    return CompileResult(
        shared_bytes=int(md.shared),
        regs_per_thread=regs,
        spills=None if local is None else local // 4,
        local_bytes=local,
        num_warps=int(md.num_warps),
        tmem_columns=getattr(md, "tmem_size", None),
        regs_source=how,
        compile_s=time.perf_counter() - t0,
    )
