"""A process that imports torch ONCE and forks one clean child per bake-off measurement.

Importing torch and inductor costs seconds on a GPU machine; paying it once instead of once per mode
is most of the harness's overhead. The zygote imports torch, dynamo and inductor but never touches
CUDA, so every forked child initialises CUDA itself, as a fresh process would, and sets its
own cache folders before anything compiles.

Started with a folder argument, the zygote points inductor's and Triton's on-disk state there before
importing them (nothing lands in the user's folders; each child then moves to its own fresh state).

Protocol (JSON lines): the parent writes ``{"request": {...}, "log": PATH}`` on stdin; the zygote
answers ``{"event": "started", "pid": N}`` at once and ``{"event": "exited", "pid": N,
"returncode": R}`` (negative R: killed by signal -R) when the child ends. The child is the leader of
its own process group, so the parent can kill it with everything it started (compile workers).
EOF on stdin ends the zygote. SIGTERM ends it too, after it has killed the process group of the
child it is waiting for (the harness may be stopping before it learnt that child's pid).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

# torch.cuda.is_available() calls cuInit unless this is set, and inductor's modules ask it at import.
# A zygote whose driver is initialised can never give its forked children CUDA ("Cannot re-initialize
# CUDA in forked subprocess"), so the zygote asks NVML instead (bench/bakeoff/diag_zygote_preload.py measured
# it on the H100: children work, and each saves the ~3.5 s of importing inductor itself).
NVML_CHECK = "PYTORCH_NVML_BASED_CUDA_CHECK"
PRELOAD = ("torch._dynamo", "torch._inductor.config", "torch._inductor.compile_fx")
_SET_NVML_CHECK = False  # True when the zygote set NVML_CHECK itself; children then drop it again


def _preload() -> float:
    global _SET_NVML_CHECK
    t0 = time.perf_counter()
    if NVML_CHECK not in os.environ:
        os.environ[NVML_CHECK] = "1"
        _SET_NVML_CHECK = True
    import torch  # noqa: F401

    for name in PRELOAD:
        try:
            __import__(name)
        except Exception:
            pass
    return time.perf_counter() - t0


def child_environment() -> None:
    """Give a forked child the environment the user gave the bake-off, without the zygote's NVML switch."""
    if _SET_NVML_CHECK:
        os.environ.pop(NVML_CHECK, None)


def _child(request: dict) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the workload gets the default, not the zygote's
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    os.setsid()
    child_environment()
    fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    code = 4
    try:
        from gpudiag.bakeoff.child import run_to_file
        from gpudiag.bakeoff.request import Request

        code = run_to_file(Request.from_dict(request["request"]))
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # never return into the zygote's loop


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = sys.stdout
    if argv:  # fresh state for the zygote itself: importing inductor creates its cache folder
        from gpudiag.bakeoff import isolation

        isolation.enter(argv[0])
    import_s = _preload()
    import torch

    from gpudiag.device.cudadrv import initialized_in_this_process

    # A CUDA context created before fork() is unusable in the children: refuse to serve then.
    cuda_initialized = bool(torch.cuda.is_initialized()) or initialized_in_this_process()
    out.write(
        json.dumps({"event": "ready", "import_s": import_s, "pid": os.getpid(), "cuda_initialized": cuda_initialized})
        + "\n"
    )
    out.flush()
    current = {"pid": 0}

    def end(signum: int, _frame: object) -> None:
        if current["pid"]:  # its group, and the child itself in case it has not called setsid() yet
            for kill in (os.killpg, os.kill):
                try:
                    kill(current["pid"], signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, end)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        # No SIGTERM between fork() and knowing the child's pid: it would leave the child running.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        pid = os.fork()
        if pid == 0:
            _child(request)
        current["pid"] = pid
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        out.write(json.dumps({"event": "started", "pid": pid}) + "\n")
        out.flush()
        _, status = os.waitpid(pid, 0)
        current["pid"] = 0
        code = os.waitstatus_to_exitcode(status)
        out.write(json.dumps({"event": "exited", "pid": pid, "returncode": code}) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
