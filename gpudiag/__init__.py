"""gpudiag: answers about an NVIDIA GPU for people tuning torch.compile, Triton and CUTLASS kernels.

The package is a library first: ``gpudiag.device`` and the subcommand packages return dataclasses
and never print. ``gpudiag.cli`` is the only layer that renders or exits.
"""

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``gpudiag.prune_configs``, imported on first use (``import gpudiag`` stays instant)."""
    if name == "prune_configs":
        from gpudiag.prune import prune_configs

        return prune_configs
    raise AttributeError(f"module 'gpudiag' has no attribute {name!r}")
