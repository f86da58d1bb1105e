"""NVML and the CUDA driver started ahead of the probe, while Python imports the CLI and the report.

Their first init is most of a live report's time (0.3 s of cuInit on an H100 host,
bench/startup/trace.py). ctypes releases the GIL while they run and neither waits for the other, so
each gets its own thread, started before the subcommand's modules are imported. The probe's own
calls then find them started. What fails here is the probe's to find and report, so nothing is
raised. This module imports only the two native wrappers, so the threads start at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from gpudiag.device import cudadrv, nvml


def start(nvml_only: bool = False) -> None:
    """Start NVML (and, unless ``nvml_only``, the CUDA driver) in daemon threads; return at once."""
    # NVML's session is left open: the probe's own then only adds a reference.
    for name, opener in (("nvml", nvml.Nvml),) if nvml_only else (("driver", cudadrv.open_driver), ("nvml", nvml.Nvml)):
        threading.Thread(target=_quietly, args=(opener,), name=f"gpudiag-start-{name}", daemon=True).start()


def _quietly(opener: Callable[[], object]) -> None:
    try:
        opener()
    except Exception:
        pass
