"""How a bake-off child process is started: forked from the zygote, or a fresh interpreter.

Both give the harness the same handle: a pid (the leader of its own process group), ``poll()`` and
``kill()``. The harness measures both ways (bench/bakeoff/overhead.py); fork is the default.

Every process a run starts carries ``RUN_VARIABLE`` (a token of that run) in its environment, and so
does everything those processes start, whatever session or process group it moves to: a workload
that starts a detached process (``Popen(..., start_new_session=True)`` at import) cannot leave it
running after its measurement (``end_strays``).
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from gpudiag.errors import GpudiagError

SPAWN_METHODS = ("fork", "fresh")
RUN_VARIABLE = "GPUDIAG_BAKEOFF_RUN"


def new_run_token() -> str:
    return f"{os.getpid()}-{uuid.uuid4().hex}"


def child_env(token: str) -> dict[str, str]:
    env = dict(os.environ)
    env[RUN_VARIABLE] = token
    # The child imports gpudiag by module name: make sure it finds this very copy.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def kill_group(pid: int, grace_s: float = 0.2, gone_within_s: float = 2.0) -> None:
    """End the process group led by ``pid`` (a child and whatever it started: compile workers), and wait
    until none of it is left, so nothing it runs can still write into a folder about to be removed."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        if sig == signal.SIGTERM:
            time.sleep(grace_s)
    deadline = time.monotonic() + gone_within_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.02)


def strays(token: str, keep: set[int]) -> list[int]:
    """Processes still carrying this run's token, other than ``keep`` (the zygote) and this process."""
    needle = f"{RUN_VARIABLE}={token}".encode()
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:  # not Linux: nothing to find this way
        return []
    for entry in entries:
        if not entry.isdigit() or int(entry) in keep or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:  # gone, or another user's
            continue
    return found


def end_strays(token: str, keep: set[int]) -> list[int]:
    """Kill what a measurement left running outside its process group (detached by the workload)."""
    pids = strays(token, keep)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return pids


class FreshChild:
    """``python -m gpudiag.bakeoff.child REQUEST``: pays the torch import every time."""

    def __init__(self, request: dict, request_path: Path, log_path: Path, token: str) -> None:
        request_path.write_text(json.dumps(request), encoding="utf-8")
        self._log = open(log_path, "ab")  # noqa: SIM115 - the child writes to it for its whole life; closed in kill()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gpudiag.bakeoff.child", str(request_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=child_env(token),
            start_new_session=True,
        )
        self.pid = self.proc.pid

    def poll(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        kill_group(self.pid)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()


class ZygoteUnusable(GpudiagError):
    """The zygote cannot fork CUDA-clean children; the harness falls back to fresh interpreters."""


class Zygote:
    """The long-lived torch-importing process children are forked from."""

    def __init__(self, log_path: Path, token: str, state_dir: Path | None = None) -> None:
        self._log = open(log_path, "ab")  # noqa: SIM115 - the zygote's log for its whole life; closed in close()
        t0 = time.perf_counter()
        argv = [sys.executable, "-m", "gpudiag.bakeoff.zygote", *([str(state_dir)] if state_dir else [])]
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=child_env(token),
            start_new_session=True,
            bufsize=0,
        )
        self._buf = b""
        try:
            ready = self._read(timeout=600)
        except BaseException:  # a stop (signal) while torch imports: the zygote must not outlive it
            self.close()
            raise
        if ready is not None and ready.get("cuda_initialized"):
            self.close()
            raise ZygoteUnusable("importing torch and inductor initialised the CUDA driver before fork")
        if ready is None or ready.get("event") != "ready":
            self.close()
            tail = " / ".join(log_tail(log_path, 1))
            raise GpudiagError(f"the bake-off worker could not import torch{': ' + tail if tail else ''}")
        self.import_s = float(ready.get("import_s", 0.0))
        self.start_s = time.perf_counter() - t0

    def _read(self, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            out = self.proc.stdout
            assert out is not None  # started with stdout=PIPE
            ready, _, _ = select.select([out], [], [], left)
            if not ready:
                return None
            chunk = os.read(out.fileno(), 65536)
            if not chunk:  # the zygote died
                return {"event": "dead"}
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def start(self, request: dict, log_path: Path) -> ForkedChild:
        try:
            assert self.proc.stdin is not None  # started with stdin=PIPE
            self.proc.stdin.write((json.dumps({"request": request, "log": str(log_path)}) + "\n").encode())
        except (BrokenPipeError, OSError) as exc:
            raise GpudiagError(f"the bake-off worker died: {exc}") from None
        started = self._read(timeout=60)
        if not started or started.get("event") != "started":
            raise GpudiagError("the bake-off worker died before starting a measurement")
        return ForkedChild(self, int(started["pid"]))

    def close(self) -> None:
        """End the zygote: EOF on its stdin when it is idle; SIGTERM otherwise, on which it kills the
        child it is waiting for (whose pid the harness may never have learnt) before it exits."""
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                kill_group(self.proc.pid)
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()


class ForkedChild:
    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.zygote, self.pid = zygote, pid
        self.returncode: int | None = None

    def poll(self, timeout: float) -> int | None:
        if self.returncode is not None:
            return self.returncode
        msg = self.zygote._read(timeout)
        if msg is None:
            return None
        if msg.get("event") == "dead":
            self.returncode = -9
        else:
            self.returncode = int(msg.get("returncode", -9))
        return self.returncode

    def kill(self) -> None:
        kill_group(self.pid)
        if self.returncode is None:
            self.poll(timeout=10)  # consume the zygote's "exited" line so the protocol stays in step


def log_tail(path: Path, n: int = 12) -> list[str]:
    """The last ``n`` non-blank lines of a child's log (none when it cannot be read)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [ln for ln in text.splitlines() if ln.strip()][-n:]


_ERROR_LINE = re.compile(
    r"^([A-Za-z_][\w.]*(Error|Exception|Interrupt)|Segmentation fault|Killed|Fatal Python error)\b"
)


def crash_reason(returncode: int | None, tail: list[str]) -> tuple[str, str]:
    """(status, one-line reason) for a child that left no result."""
    text = "\n".join(tail).lower()
    error_lines = [ln.strip() for ln in tail if _ERROR_LINE.match(ln.strip())]
    last = error_lines[-1] if error_lines else (tail[-1].strip() if tail else "")
    if "out of memory" in text or "outofmemoryerror" in text:
        return "oom", last or "out of memory"
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return "crashed", f"killed by {name}" + (f" after: {last}" if last else "")
    return "crashed", f"exited with code {returncode} without a result" + (f": {last}" if last else "")
