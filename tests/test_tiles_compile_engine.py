"""check-tiles' one compile engine: real forked children, the compile inside them faked.

A compiler that segfaults or aborts takes only its child: the task is a row with the signal and the
compiler's words, cached as an answer; a child killed from outside or timed out is "environment",
never cached. The one summariser says a ptxas failure the same way for every mode.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from gpudiag.tiles import compile_engine as engine


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("GPUDIAG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(engine, "triton_version", lambda: "test")
    monkeypatch.setattr(engine, "warm_up", lambda: None)  # no Triton needed: the compiles are faked


def _task(name: str, stop_above: int | None = None) -> engine.Task:
    return engine.Task("test", name, 90, (("num_warps", 4),), stop_above=stop_above, job=name)


def _fake(monkeypatch, behaviour):
    calls = []

    def compile_now(task):
        calls.append(task.job)  # in the child: the parent never sees it
        return behaviour(task)

    monkeypatch.setattr(engine, "compile_now", compile_now)


def test_a_crashing_compiler_is_a_row_with_its_words_and_is_cached(monkeypatch, capfd):
    def behaviour(task):
        if task.job == "segv":
            os.write(2, b"Stack dump:\n0. Program arguments: python\n")
            os.kill(os.getpid(), signal.SIGSEGV)
        if task.job == "abort":
            os.write(2, b"python: /x/llvm-project/llvm/lib/IR/Foo.cpp:1: Assertion `isa<To>(Val)' failed.\n")
            os.abort()
        return engine.CompileResult(shared_bytes=1024, num_warps=4)

    _fake(monkeypatch, behaviour)
    segv, abort, fine = engine.run([_task("segv"), _task("abort"), _task("fine")], what="test", parallel=3)
    assert segv.failure == "compile" and segv.crash_signal == "SIGSEGV"
    assert segv.reason.startswith("the compiler crashed (SIGSEGV): Stack dump:") and "Program arguments" in (
        segv.compiler_output or ""
    )
    assert abort.crash_signal == "SIGABRT" and abort.reason == (
        "the compiler crashed (SIGABRT): LLVM assertion failed: isa<To>(Val)"
    )
    assert fine.shared_bytes == 1024 and fine.failure is None
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # the crash dumps stayed in the children's logs
    # the crashes are answers: a second run reads all three back
    again = engine.run([_task("segv"), _task("abort"), _task("fine")], what="test")
    assert all(r.cached for r in again) and again[0].crash_signal == "SIGSEGV"


def test_a_killed_or_hung_child_is_not_an_answer(monkeypatch):
    def behaviour(task):
        if task.job == "killed":
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(30)
        return engine.CompileResult(shared_bytes=0)

    _fake(monkeypatch, behaviour)
    monkeypatch.setattr(engine, "COMPILE_TIMEOUT_S", 1.0)
    killed, hung = engine.run([_task("killed"), _task("hung")], what="test", parallel=2)
    assert killed.failure == "environment" and killed.reason.startswith(
        "the compiler's process died (signal 9, SIGKILL)"
    )
    assert hung.failure == "environment" and hung.reason == "the compile did not finish in 1 s"
    assert not engine.cache_dir().exists() or not any(engine.cache_dir().iterdir())


def test_a_compile_stopped_over_one_limit_is_reused_only_for_smaller_limits(monkeypatch):
    def behaviour(task):  # as the real child does: stop once the shared memory is over the task's limit
        if task.stop_above is not None and task.stop_above < 120_000:
            return engine.CompileResult(shared_bytes=120_000, stopped_early=True)
        return engine.CompileResult(shared_bytes=120_000, regs_per_thread=128, num_warps=4)

    _fake(monkeypatch, behaviour)
    progress: list[tuple[int, int]] = []
    [first] = engine.run(
        [_task("k", stop_above=101_376)], what="test", on_progress=lambda d, t: progress.append((d, t))
    )
    assert first.stopped_early and first.regs_per_thread is None
    assert progress[0] == (0, 1) and progress[-1] == (1, 1)
    [smaller] = engine.run([_task("k", stop_above=99_000)], what="test")
    assert smaller.cached and smaller.stopped_early  # still over: the stopped compile answers
    [larger] = engine.run([_task("k", stop_above=232_448)], what="test")
    assert not larger.cached and larger.regs_per_thread == 128  # it fits there: compiled to the end


def test_identical_tasks_compile_once(monkeypatch):
    _fake(monkeypatch, lambda task: engine.CompileResult(shared_bytes=len(task.identity)))
    results = engine.run([_task("ab"), _task("abc"), _task("ab")], what="test", use_cache=False)
    assert [r.shared_bytes for r in results] == [2, 3, 2]


@pytest.mark.parametrize(
    "reason, output, summary",
    [
        # --exact and --from-triton-cache used to say the same ptxas failure two ways; now one
        ("PTXASError: ptxas fatal   : (C7602) Insufficient registers", "", "ptxas: (C7602) Insufficient registers"),
        (
            "PTXASError: PTXAS error: Internal Triton PTX codegen error\n`ptxas` stderr:\n"
            "ptxas-blackwell fatal   : (C7602) Insufficient registers (24) to compile instruction",
            "",
            "ptxas: (C7602) Insufficient registers (24) to compile instruction",
        ),
        (
            "CompilationError: at 2:38:\ndef k(x):\n    offs = tl.arange(0, BLOCK)\n                          ^\n"
            "arange's range must be a power of 2\ncaused by ValueError: arange's range must be a power of 2",
            "",
            "CompilationError: arange's range must be a power of 2 (at 2:38)",
        ),
        (
            None,
            'python: /__w/triton/triton/llvm-project/mlir/lib/IR/Foo.cpp:9: void f(): Assertion `x && "y"\' failed.',
            'MLIR assertion failed: x && "y"',
        ),
        ("RuntimeError: PassManager::run failed", "", "RuntimeError: PassManager::run failed"),
    ],
)
def test_one_summary_for_every_mode(reason, output, summary):
    assert engine.summarise(reason, output) == summary
