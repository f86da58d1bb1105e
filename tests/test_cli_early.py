"""gpudiag/cli/early.py: which command lines start NVML and the CUDA driver before the CLI is imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gpudiag.cli import early
from gpudiag.device import prefetch


@pytest.fixture
def started(monkeypatch):
    calls: list[bool] = []
    monkeypatch.setattr(prefetch, "start", lambda nvml_only=False: calls.append(nvml_only))
    monkeypatch.delenv("GPUDIAG_NO_PREFETCH", raising=False)
    return calls


@pytest.mark.parametrize(
    "argv,nvml_only",
    [
        (["info"], False),
        (["info", "--json", "--index", "1"], False),
        (["check-tiles", "128x128x64:3"], False),
        (["explain-warning", "Not enough SMs to use max_autotune_gemm mode"], True),
    ],
)
def test_live_commands_start_the_driver_ahead(started, argv, nvml_only):
    assert early.start_driver_for(argv) is True
    assert started == [nvml_only]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--help"],
        ["bakeoff", "x.py"],
        ["info", "--gpu", "h100"],
        ["info", "--gpu=h100"],
        ["check-tiles", "--arch", "sm_90", "128x128x64"],
        ["check-tiles", "--exact", "128x128x64"],
        ["explain-warning", "--list"],
        ["info", "--help"],
    ],
)
def test_commands_that_never_probe_start_nothing(started, argv):
    assert early.start_driver_for(argv) is False
    assert started == []


def test_no_prefetch_opts_out(started, monkeypatch):
    monkeypatch.setenv("GPUDIAG_NO_PREFETCH", "1")
    assert early.start_driver_for(["info"]) is False and started == []


def test_the_early_module_imports_nothing_heavy():
    code = (
        "import sys; from gpudiag.cli import early; "
        "print(','.join(m for m in ('typer', 'rich', 'gpudiag.device.nvml', 'gpudiag.device.probe') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
