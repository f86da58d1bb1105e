"""check-tiles' one compile engine: ``--exact``, ``--from-triton-cache`` and ``--kernel`` all compile here.

A ``Task`` says what to compile (a source built in the child, a target, Triton's options) and what
decides the result (its key). ``run`` answers a list of tasks in order: identical tasks compile once,
answers already on disk are read back, the rest compile in forked children, at most ``parallel`` at
a time, each in its own process:

- every byte the compiler prints (Triton prints the whole PTX when ptxas fails) goes to the child's
  log, never to gpudiag's stdout or ``--json`` document, and is kept whole with a failure;
- ptxas's temporary files and the child's Triton cache live in a folder removed afterwards, unless
  the caller names a Triton cache to keep;
- a compiler that crashes (a segfault, an abort, ``LLVM ERROR``) or hangs takes only its child with
  it: the task becomes a row with the compiler's words and the signal, never an abort of the run;
- a child dies with gpudiag (``PR_SET_PDEATHSIG``), and SIGTERM ends the children as Ctrl-C does.

Results are cached in ``$GPUDIAG_CACHE_DIR/tiles-compile``, keyed by the task's key, the installed
Triton's version and the environment variables that change what Triton builds. A failure outside the
compiler ("environment": no ptxas, a timeout, a child killed) is not cached; the compiler's refusals
and crashes are answers and are.

A task may say ``stop_above``: its shared memory above that many bytes is already a "does not fit",
and the child then stops once Triton has allocated shared memory, before LLVM and ptxas (most of the
time of a large tile). Such a result is marked ``stopped_early`` and is reused only for limits it
still exceeds.
"""

from __future__ import annotations

import contextlib
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
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from gpudiag import files
from gpudiag.errors import EXIT_USAGE, GpudiagError

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
# Why a compile gave no kernel: the source is unreadable by this Triton ("parse"), the compiler refused
# it or crashed on it ("compile": cannot run there), or something outside the compiler ("environment":
# no ptxas, a killed or timed-out child; not cached).
FAILURE_KINDS = ("parse", "compile", "environment")
# Signals a compiler dies of by itself (a bug it hits on this kernel, the same every time): an answer.
CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGILL, signal.SIGFPE}

Progress = Callable[[int, int], None]  # (tasks answered, tasks in all), called as each finishes


def triton_version() -> str | None:
    """The installed Triton's version, from its package metadata (gpudiag's one reader of it,
    ``installed.versions``; importing Triton takes ~0.5 s)."""
    from gpudiag.installed.versions import triton_version as installed

    return installed()


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def cache_dir() -> Path:
    return files.cache_dir() / "tiles-compile"


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


@dataclass(frozen=True)
class Task:
    """One compile: ``make_source()`` runs in the child and returns what ``triton.compile`` takes.

    ``kind`` and ``identity`` name what is compiled (a hash of the kernel, its argument types and
    constants); with the target and the options they are the cache key. ``job`` is the caller's own
    description, carried along for it (and for tests that fake the children).
    """

    kind: str  # "exact", "triton-cache", "kernel"
    identity: str
    capability: int  # 90 for sm_90
    options: tuple[tuple[str, Any], ...]  # sorted (option, value) pairs for triton.compile
    warp_size: int = 32
    make_source: Callable[[], Any] | None = field(default=None, compare=False, repr=False)
    stop_above: int | None = field(default=None, compare=False)
    job: Any = field(default=None, compare=False, repr=False)

    def key(self, version: str | None) -> str:
        env = sorted(
            (k, v)
            for k, v in os.environ.items()
            if k.startswith(("TRITON_", "PTXAS_", "DISABLE_", "LLVM_", "MLIR_")) and k not in _LOCATION_VARS
        )
        blob = json.dumps(
            {
                "schema": CACHE_SCHEMA,
                "kind": self.kind,
                "identity": self.identity,
                "triton": version,
                "capability": self.capability,
                "warp_size": self.warp_size,
                "options": self.options,
                "env": env,
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()


def digest(value: Any) -> str:
    """A stable hash of JSON-able data (dict keys sorted; anything else by its ``str``)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


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


def _child(task: Task, workdir: str, triton_cache: str | None) -> None:
    """Runs in the forked child: every byte it or the compiler writes goes to ``workdir``."""
    try:  # die with gpudiag (killed, not interrupted) rather than compile on for nobody: PR_SET_PDEATHSIG
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent ends the children
    log = os.open(os.path.join(workdir, "log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    # Triton prints (the PTX of a failed ptxas run) through sys.stdout, which may not be fd 1 here.
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)  # noqa: SIM115
    import faulthandler

    faulthandler.enable(file=sys.stderr)  # a crash's Python stack goes to the log too, not to an inherited fd
    os.environ["TRITON_CACHE_DIR"] = triton_cache or os.path.join(workdir, "triton-cache")
    os.environ["TMPDIR"] = workdir
    tempfile.tempdir = workdir  # ptxas's .ptx/.log temporaries, left behind when it fails
    os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")  # Triton 3.9 warns when unset; 1 is the default
    result = compile_now(task)
    tmp = os.path.join(workdir, "result.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(result.to_dict(), f, default=str)
    os.replace(tmp, os.path.join(workdir, "result.json"))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # no atexit handlers or finalisers inherited from the parent (torch, the user's script)


def _finish(workdir: str, exitcode: int | None, started: float, timed_out: bool) -> CompileResult:
    try:
        output = Path(workdir, "log").read_text(encoding="utf-8", errors="replace")
    except OSError:
        output = ""
    elapsed = time.perf_counter() - started
    if timed_out:
        return CompileResult(
            failure="environment",
            reason=f"the compile did not finish in {COMPILE_TIMEOUT_S:.0f} s",
            compiler_output=output or None,
            compile_s=elapsed,
        )
    try:
        res = CompileResult.from_dict(json.loads(Path(workdir, "result.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        res = _died(exitcode, output, elapsed)
    if res.failure is not None and res.crash_signal is None:
        res.exception = res.reason
        res.compiler_output = "\n".join(x for x in (res.reason, output) if x)
        if res.failure != "environment":
            res.reason = summarise(res.reason, output)
        elif output.strip():
            res.reason = f"{res.reason}: {summarise(None, output)}"
    return res


def _died(exitcode: int | None, output: str, elapsed: float) -> CompileResult:
    """The child ended without an answer: the compiler crashed (an answer), or it was killed."""
    if exitcode is not None and exitcode < 0:
        try:
            sig = signal.Signals(-exitcode)
        except ValueError:
            sig = None
        name = sig.name if sig is not None else f"signal {-exitcode}"
        if sig in CRASH_SIGNALS:
            said = summarise(None, output) if output.strip() else "no message"
            return CompileResult(
                failure="compile",
                reason=f"the compiler crashed ({name}): {said}",
                compiler_output=output or None,
                crash_signal=name,
                compile_s=elapsed,
            )
        how = f"signal {-exitcode}" + (f", {name}" if sig is not None else "")
    else:
        how = f"exit status {exitcode}"
    said = f": {summarise(None, output)}" if output.strip() else ""
    return CompileResult(
        failure="environment",
        reason=f"the compiler's process died ({how}){said}",
        compiler_output=output or None,
        compile_s=elapsed,
    )


# --- the parent: cache, dedupe, children ---------------------------------------------------------


def _read_cached(path: Path, task: Task) -> CompileResult | None:
    try:
        res = CompileResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, AttributeError):
        return None
    if res.stopped_early and (task.stop_above is None or (res.shared_bytes or 0) <= task.stop_above):
        return None  # stopped for a smaller limit: this one needs the whole compile
    res.cached = True
    return res


def _write_cached(path: Path, res: CompileResult) -> None:
    if res.failure == "environment":
        return  # not a property of the kernel: the next run may succeed
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        files.write_json_atomic(path, res.to_dict(), indent=None)
    except (OSError, TypeError, ValueError):
        pass  # a read-only home still gets answers, only slower next time


def require_triton(what: str) -> str:
    """The installed Triton's version, or a usage error naming what needed it."""
    version = triton_version()
    if version is None:
        raise GpudiagError(f"{what} needs Triton, which is not installed here (pip install triton)", EXIT_USAGE)
    return version


def run(
    tasks: Sequence[Task],
    *,
    what: str,
    parallel: int | None = None,
    use_cache: bool = True,
    on_progress: Progress | None = None,
    triton_cache: str | None = None,
) -> list[CompileResult]:
    """The result of every task, in order; identical tasks compile once, cached ones not at all.

    ``what`` names the mode in errors ("--exact"). ``triton_cache`` keeps the children's Triton
    cache in that folder (otherwise it is thrown away with the child's folder).
    """
    version = require_triton(what)
    unique = _merge_limits(tasks)
    results: dict[Task, CompileResult] = {}
    paths = {task: cache_dir() / f"{task.key(version)}.json" for task in unique}
    todo = []
    for task in unique:
        hit = _read_cached(paths[task], task) if use_cache else None
        if hit is not None:
            results[task] = hit
        else:
            todo.append(task)
    done, total = len(results), len(unique)
    if on_progress:
        on_progress(done, total)
    if todo:
        if "fork" not in multiprocessing.get_all_start_methods():
            raise GpudiagError(f"{what} compiles in forked processes, which this platform lacks", EXIT_USAGE)
        for task, res in run_children(todo, max(1, parallel or default_jobs()), triton_cache):
            results[task] = res
            if use_cache:
                _write_cached(paths[task], res)
            done += 1
            if on_progress:
                on_progress(done, total)
    return [results[t] for t in tasks]


def _merge_limits(tasks: Sequence[Task]) -> list[Task]:
    """The distinct tasks; one asked for with several ``stop_above`` (two targets of one architecture
    with different limits) stops only above the largest, so that it answers for each."""
    limits: dict[Task, int | None] = {}
    for task in tasks:
        if task not in limits:
            limits[task] = task.stop_above
        elif limits[task] is not None:
            limits[task] = None if task.stop_above is None else max(limits[task] or 0, task.stop_above)
    return [t if t.stop_above == limit else replace(t, stop_above=limit) for t, limit in limits.items()]


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def warm_up() -> None:
    """What every child would otherwise do first, done once here and inherited through fork: import
    Triton's compiler and hash Triton itself (``triton_key``, a third of a second per process)."""
    try:
        import triton
        import triton.compiler.code_generator
    except Exception as exc:
        raise GpudiagError(
            f"Triton {triton_version()} is installed but does not import: {type(exc).__name__}: {exc}", EXIT_USAGE
        ) from None
    with contextlib.suppress(Exception):
        from triton.runtime.cache import triton_key

        triton_key()
    del triton


def run_children(
    todo: list[Task], parallel: int, triton_cache: str | None = None
) -> Iterator[tuple[Task, CompileResult]]:
    """Yield (task, result) as each forked compile finishes, at most ``parallel`` at a time."""
    warm_up()
    ctx = multiprocessing.get_context("fork")
    root = tempfile.mkdtemp(prefix="gpudiag-compile-")
    running: dict[int, tuple[Any, Task, str, float]] = {}
    queue = list(reversed(todo))
    try:  # a kill (timeout, a scheduler) ends the children and removes their folders, as Ctrl-C does
        previous = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread: the children still die with us (PR_SET_PDEATHSIG)
        previous = None
    try:
        while queue or running:
            while queue and len(running) < parallel:
                task = queue.pop()
                workdir = tempfile.mkdtemp(dir=root)
                proc = ctx.Process(target=_child, args=(task, workdir, triton_cache), daemon=True)
                with warnings.catch_warnings():
                    # Python 3.12 warns when a process with threads (torch's, in an autotuning process)
                    # forks; the child only compiles, and touches neither CUDA nor those threads' locks
                    warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
                    proc.start()
                running[proc.sentinel] = (proc, task, workdir, time.perf_counter())
            ready = multiprocessing.connection.wait(list(running), timeout=1.0)
            now = time.perf_counter()
            for sentinel in list(running):
                proc, task, workdir, started = running[sentinel]
                timed_out = sentinel not in ready and now - started > COMPILE_TIMEOUT_S
                if sentinel not in ready and not timed_out:
                    continue
                if timed_out:
                    proc.kill()
                proc.join()
                del running[sentinel]
                result = _finish(workdir, proc.exitcode, started, timed_out)
                shutil.rmtree(workdir, ignore_errors=True)
                yield task, result
    finally:
        for proc, _, _, _ in running.values():
            proc.kill()
            proc.join()
        shutil.rmtree(root, ignore_errors=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
