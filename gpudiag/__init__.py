"""gpudiag: answers about an NVIDIA GPU for people tuning torch.compile, Triton and CUTLASS kernels.

The package is a library first: ``gpudiag.device`` and the subcommand packages return dataclasses
and never print. ``gpudiag.cli`` is the only layer that renders or exits.
"""

__version__ = "0.1.0"
