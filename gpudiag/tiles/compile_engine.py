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
import shutil
import signal
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gpudiag import files
from gpudiag.errors import EXIT_USAGE, GpudiagError, Stopped
from gpudiag.tiles.compile_child import (
    FAILURE_KINDS,
    CompileResult,
    SourceUnreadable,
    compile_now,
    resource_usage,
    summarise,
)

__all__ = [
    "FAILURE_KINDS",
    "CompileResult",
    "SourceUnreadable",
    "Task",
    "compile_now",
    "resource_usage",
    "run",
    "summarise",
]

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
    raise Stopped(signum)  # exits 128 + signum (143 for SIGTERM), as every command does


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
