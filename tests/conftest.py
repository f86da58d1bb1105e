"""Shared fixtures: the native boundary faked (NVML, the CUDA driver), and GPU detection for `gpu` tests."""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # for `import fakes`

import fakes


def _has_gpu() -> bool:
    try:
        lib = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    n = ctypes.c_int()
    return lib.cuInit(0) == 0 and lib.cuDeviceGetCount(ctypes.byref(n)) == 0 and n.value > 0


HAS_GPU = _has_gpu()


def pytest_collection_modifyitems(config, items):
    if HAS_GPU:
        return
    skip = pytest.mark.skip(reason="needs an NVIDIA GPU with a working driver")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def fake_h100(monkeypatch):
    """One H100 seen by both NVML and CUDA."""
    gpu = fakes.h100()
    fakes.install(monkeypatch, [gpu], [gpu])
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return gpu


@pytest.fixture
def fake_rtx3070(monkeypatch):
    """One 46-SM RTX 3070: below inductor's 68-SM gate."""
    gpu = fakes.rtx3070()
    fakes.install(monkeypatch, [gpu], [gpu])
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return gpu


@pytest.fixture
def no_gpu(monkeypatch):
    """No driver at all: neither NVML nor libcuda loads (the CPU CI machine, made explicit)."""
    fakes.install(monkeypatch, None, None)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


@pytest.fixture
def cli():
    """Invoke the gpudiag CLI in-process through Typer's runner: cli("info", "--json")."""
    from typer.testing import CliRunner

    from gpudiag.cli.app import full_app

    app = full_app()

    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2 keeps stderr apart already and dropped the argument
        runner = CliRunner()

    def invoke(*args, input=None, env=None):
        return runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)

    return invoke


@pytest.fixture(scope="module")
def module_result_cache(tmp_path_factory):
    """One gpudiag cache for a module of compile tests (``usefixtures``): what one test compiled, the
    next reads back."""
    import os

    old = os.environ.get("GPUDIAG_CACHE_DIR")
    os.environ["GPUDIAG_CACHE_DIR"] = str(tmp_path_factory.mktemp("gpudiag-cache"))
    yield
    if old is None:
        os.environ.pop("GPUDIAG_CACHE_DIR", None)
    else:
        os.environ["GPUDIAG_CACHE_DIR"] = old
