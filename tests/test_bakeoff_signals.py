"""SIGTERM and SIGHUP (what `timeout`, Slurm and CI cancellation send) stop a bake-off like Ctrl-C does.

A real process tree on the CPU: gpudiag, its zygote, the measuring child and a process the workload
starts (as inductor starts compile workers). Before, all of them kept running after
`timeout 25 gpudiag bakeoff ...`, the temporary folder stayed, and the JSON said interrupted: false.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]

HANG = """
    import os, subprocess, sys, time, torch

    def hang(x):
        worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        with open({marker!r}, "w") as f:
            f.write(f"{{os.getpid()}} {{os.getppid()}} {{worker.pid}}")
        time.sleep(120)
        return x

    def gpudiag_workloads():
        return (hang, (torch.ones(4),))
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_for(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.mark.parametrize("signum, code, spawn", [(signal.SIGTERM, 143, "fork"), (signal.SIGHUP, 129, "fresh")])
def test_a_signal_stops_every_process_cleans_up_and_keeps_the_partial_json(tmp_path, signum, code, spawn):
    tmp, marker, out = tmp_path / "tmp", tmp_path / "marker", tmp_path / "out.json"
    tmp.mkdir()
    script = tmp_path / "hang.py"
    script.write_text(textwrap.dedent(HANG.format(marker=str(marker))))
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gpudiag",
            "bakeoff",
            str(script),
            "--device",
            "cpu",
            "--quick",
            "--modes",
            "eager",
            "--knobs",
            "none",
            "--spawn",
            spawn,
            "--output",
            str(out),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for(marker.exists, 180), "the workload never started"
        time.sleep(0.2)
        child, parent, worker = map(int, marker.read_text().split())
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, stderr
    assert f"gpudiag: stopped by {signal.Signals(signum).name}" in stderr
    leftovers = [pid for pid in (child, worker) + ((parent,) if spawn == "fork" else ()) if pid != proc.pid]
    assert _wait_for(lambda: not any(map(_alive, leftovers)), 10), f"still running: {leftovers}"
    assert list(tmp.iterdir()) == []  # no gpudiag-bakeoff-* folder left
    doc = json.loads(out.read_text())
    assert doc["interrupted"] is True and doc["interrupted_by"] == signal.Signals(signum).name
    (row,) = doc["rows"]
    assert row["status"] == "interrupted" and row["reason"].startswith(f"stopped by {signal.Signals(signum).name}")
    assert "recommendation" in stdout  # the partial report is still printed
