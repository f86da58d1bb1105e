"""What a command line starts before the CLI is imported: NVML and the CUDA driver for a live report.

Their first init is most of a live `gpudiag info`'s time; started here, from `gpudiag/__main__.py`,
before typer, rich and the subcommand's modules are imported, it overlaps all of those imports.
This module imports nothing heavy, so the threads start within milliseconds of the interpreter.
"""

from __future__ import annotations

import os

LIVE_COMMANDS = ("info", "explain-warning", "check-tiles")
# Options that name a GPU other than the live one, or ask for no GPU at all: with any of them, the
# driver is not started ahead (a command that never probes must not pay for, or race, its start).
NOT_LIVE = frozenset(
    {"--gpu", "-g", "--arch", "--smem-limit", "--list-gpus", "--list", "--from-triton-cache", "--exact", "--help", "-h"}
)


def start_driver_for(argv: list[str]) -> bool:
    """Start NVML and libcuda in threads when ``argv`` is a command that reports on the live GPU
    (explain-warning needs NVML only); True when started. GPUDIAG_NO_PREFETCH=1 probes in order."""
    if not argv or argv[0] not in LIVE_COMMANDS or os.environ.get("GPUDIAG_NO_PREFETCH"):
        return False
    if any(a.split("=", 1)[0] in NOT_LIVE for a in argv[1:]):
        return False
    from gpudiag.device import prefetch

    prefetch.start(nvml_only=argv[0] == "explain-warning")
    return True
