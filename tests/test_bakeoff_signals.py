"""SIGTERM and SIGHUP (what `timeout`, Slurm and CI cancellation send) stop a bake-off like Ctrl-C does,
as a shell user expects: 128 + the signal in every command, a signal ignored at start (nohup) stays
ignored, and "results written" only ever follows a file that was written.

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


def _bakeoff(tmp_path, script, out, spawn="fork", preexec_fn=None):
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "gpudiag", "bakeoff", str(script), "--device", "cpu", "--quick"]
    argv += ["--modes", "eager", "--knobs", "none", "--spawn", spawn, "--output", str(out)]
    return subprocess.Popen(
        argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec_fn
    )


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


def test_a_hangup_ignored_at_start_stays_ignored(tmp_path):
    """`nohup gpudiag bakeoff ...` must survive an ssh logout: gpudiag replaced the inherited SIG_IGN for
    SIGHUP with its own handler, and `kill -HUP` stopped the run with exit 129."""
    marker, out = tmp_path / "marker", tmp_path / "out.json"
    script = tmp_path / "hang.py"
    script.write_text(textwrap.dedent(HANG.format(marker=str(marker))))
    proc = _bakeoff(tmp_path, script, out, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    try:
        assert _wait_for(marker.exists, 180), "the workload never started"
        proc.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        assert proc.poll() is None, proc.communicate()[1]  # still running
        proc.send_signal(signal.SIGTERM)  # SIGTERM was not ignored: it stops the run
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, stderr
    assert json.loads(out.read_text())["interrupted_by"] == "SIGTERM"


SLOW_IMPORT = """
    import time, torch
    open({marker!r}, "w").close()
    time.sleep(120)  # still loading the script when the run is stopped

    def gpudiag_workloads():
        return (lambda x: x, (torch.ones(2),))
"""


def test_a_stop_before_any_measurement_finished_still_writes_the_document(tmp_path):
    """Before: "results written to X" was printed and no file existed."""
    marker, out = tmp_path / "marker", tmp_path / "out.json"
    script = tmp_path / "slow.py"
    script.write_text(textwrap.dedent(SLOW_IMPORT.format(marker=str(marker))))
    proc = _bakeoff(tmp_path, script, out)
    try:
        assert _wait_for(marker.exists, 180), "the script was never loaded"
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, stderr
    assert f"results written to {out}" in " ".join(stderr.split())
    doc = json.loads(out.read_text())
    assert doc["interrupted"] is True and doc["interrupted_by"] == "SIGTERM" and doc["rows"] == []
    assert doc["complete"] is False and doc["workloads"] == []
    assert "stopped by SIGTERM before any measurement finished" in stdout


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_every_command_exits_128_plus_the_signal(cli, monkeypatch, no_gpu, signum, code):
    """check-tiles turned SIGTERM into Ctrl-C's KeyboardInterrupt and exited 130 where bakeoff exited 143."""
    from gpudiag.errors import Stopped
    from gpudiag.info import report as info_core
    from gpudiag.tiles import recompile

    if signum != signal.SIGINT:  # what check-tiles' compile pool raises on a stop signal
        with pytest.raises(Stopped) as raised:
            recompile._interrupt(signum, None)
        assert raised.value.signum == signum

    def stopped(*a, **k):
        raise Stopped(signum) if signum != signal.SIGINT else KeyboardInterrupt

    monkeypatch.setattr(info_core, "live_report", stopped)
    r = cli("info", "--json")
    assert r.exit_code == code
    expected = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
    assert json.loads(r.stdout)["error"] == expected


def test_a_measurement_interrupted_from_inside_says_where_once(tmp_path):
    """A child that received SIGINT itself was reported as "interrupted interrupted"."""
    import io

    from bakeoff_rows import child_in_process

    from gpudiag.bakeoff.harness import Progress
    from gpudiag.cli.bakeoff import _ProgressView
    from gpudiag.cli.output import console

    with child_in_process(tmp_path) as run:
        row = run(
            "import torch\n"
            "def f(x):\n    raise KeyboardInterrupt\n"
            "def gpudiag_workloads():\n    return (f, (torch.ones(2),))\n",
            mode="eager",
        )
    assert row.status == "interrupted"
    assert row.reason == "the measurement itself received SIGINT while running eager for the reference output"
    out = io.StringIO()
    _ProgressView(console(out))(Progress(row.workload, row.label, "done", 1.0, 1, 1, row))
    line = " ".join(out.getvalue().split())
    assert line == (
        "work · eager: interrupted: the measurement itself received SIGINT while running eager for the reference output"
    )
