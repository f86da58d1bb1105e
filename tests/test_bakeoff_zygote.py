"""The zygote that bake-off children are forked from: it must import inductor without initialising
the CUDA driver (cuInit before fork() leaves every child without CUDA; it asks device/cudadrv.py, the
one module that loads libcuda), and its children must see the user's environment, not the switch
that makes that possible."""

from __future__ import annotations

import ctypes
import io
import json
import textwrap

import pytest

from gpudiag.bakeoff import zygote
from gpudiag.device import cudadrv

pytest.importorskip("torch")

NVML = zygote.NVML_CHECK


class FakeLibcuda:
    def __init__(self, result: int) -> None:
        self.result = result
        self.calls = 0

    def cuDeviceGetCount(self, _ptr) -> int:
        self.calls += 1
        return self.result


def fake_maps(monkeypatch, text: str) -> None:
    real_open = open

    def fake_open(path, *a, **k):
        if path == "/proc/self/maps":
            return io.StringIO(text)
        return real_open(path, *a, **k)

    monkeypatch.setattr("builtins.open", fake_open)


def test_driver_not_loaded_means_not_initialised(monkeypatch):
    fake_maps(monkeypatch, "7f00-7f01 r-xp 0 0:0 0 /usr/lib/libcudart.so.13\n")
    lib = FakeLibcuda(0)
    monkeypatch.setattr(ctypes, "CDLL", lambda name: lib)
    assert cudadrv.initialized_in_this_process() is False
    assert lib.calls == 0  # never loads the driver itself


@pytest.mark.parametrize(("result", "initialised"), [(3, False), (0, True), (100, True)])
def test_a_loaded_driver_is_asked_whether_cuinit_ran(monkeypatch, result, initialised):
    # 3 is CUDA_ERROR_NOT_INITIALIZED; any other answer (success, no device) means cuInit ran.
    fake_maps(monkeypatch, "7f00-7f01 r-xp 0 0:0 0 /usr/lib/x86_64-linux-gnu/libcuda.so.580.159.04\n")
    lib = FakeLibcuda(result)
    monkeypatch.setattr(ctypes, "CDLL", lambda name: lib)
    assert cudadrv.initialized_in_this_process() is initialised and lib.calls == 1


def test_preload_switches_torch_to_nvml_and_children_drop_the_switch(monkeypatch):
    monkeypatch.delenv(NVML, raising=False)
    monkeypatch.setattr(zygote, "_SET_NVML_CHECK", False)
    zygote._preload()
    assert zygote._SET_NVML_CHECK is True and zygote.os.environ[NVML] == "1"
    import sys

    assert all(name in sys.modules for name in zygote.PRELOAD)
    zygote.child_environment()
    assert NVML not in zygote.os.environ


def test_a_users_own_setting_is_left_alone(monkeypatch):
    monkeypatch.setenv(NVML, "0")
    monkeypatch.setattr(zygote, "_SET_NVML_CHECK", False)
    zygote._preload()
    zygote.child_environment()
    assert zygote._SET_NVML_CHECK is False and zygote.os.environ[NVML] == "0"


@pytest.mark.slow
def test_forked_workload_sees_the_users_environment(cli, tmp_path, no_gpu, monkeypatch):
    monkeypatch.delenv(NVML, raising=False)
    seen = tmp_path / "seen.txt"
    script = tmp_path / "work.py"
    script.write_text(
        textwrap.dedent(f"""
        import os
        import torch

        with open({str(seen)!r}, "a") as f:
            f.write(os.environ.get({NVML!r}, "<unset>") + "\\n")

        def gpudiag_workloads():
            return (torch.neg, (torch.ones(4),))
    """)
    )
    r = cli("bakeoff", str(script), "--device", "cpu", "--quick", "--modes", "eager", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["harness"]["spawn"] == "fork"
    lines = seen.read_text().split()
    assert lines and set(lines) == {"<unset>"}  # the probe and the eager child both ran the script


def test_the_zygote_leaves_libcuda_to_the_device_package():
    import inspect

    assert "ctypes" not in inspect.getsource(zygote) and "libcuda" not in inspect.getsource(zygote).replace(
        "device/cudadrv", ""
    )


def test_sigterm_ends_the_zygote_and_the_child_it_waits_for(tmp_path):
    """The harness may be stopped before it learns a child's pid: the zygote then kills that child."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from gpudiag.bakeoff.launcher import child_env
    from gpudiag.bakeoff.request import Request

    script = tmp_path / "sleepy.py"
    script.write_text("import time\ntime.sleep(120)\n")  # hangs while the child loads it
    request = Request(script=str(script), result_path=str(tmp_path / "r.json"), workload="w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gpudiag.bakeoff.zygote", str(tmp_path / "state")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=child_env("test"),
        text=True,
        start_new_session=True,
    )
    try:
        assert json.loads(proc.stdout.readline())["event"] == "ready"
        proc.stdin.write(json.dumps({"request": request.to_dict(), "log": str(tmp_path / "child.log")}) + "\n")
        proc.stdin.flush()
        child = json.loads(proc.stdout.readline())["pid"]
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 128 + signal.SIGTERM
        deadline = time.monotonic() + 5
        while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{child}").exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
