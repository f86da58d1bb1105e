"""NVML and the CUDA driver started ahead of the probe, while Python imports the CLI and the report.

Their first init is most of a live report's time (0.3 s of cuInit on an H100 host,
bench/startup/trace.py). ctypes releases the GIL while they run and neither waits for the other, so
each gets its own thread, started before the subcommand's modules are imported. The probe's own
calls then find them started. What fails here is the probe's to find and report, so nothing is
raised. This module imports only the two native wrappers, so the threads start at once.
"""

from __future__ import annotations

import threading

from gpudiag.device import cudadrv, nvml


def start(nvml_only: bool = False) -> None:
    """Start NVML (and, unless ``nvml_only``, the CUDA driver) in daemon threads; return at once."""
    for target in (_start_nvml,) if nvml_only else (_start_driver, _start_nvml):
        threading.Thread(target=target, name=f"gpudiag{target.__name__.replace('_', '-')}", daemon=True).start()


def _start_nvml() -> None:
    try:
        nvml.Nvml()  # left open: the probe's own session then only adds a reference
    except Exception:
        pass


def _start_driver() -> None:
    try:
        cudadrv.open_driver()
    except Exception:
        pass
