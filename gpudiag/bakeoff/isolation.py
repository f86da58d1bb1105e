"""Every measurement gets inductor's and Triton's on-disk state fresh, in one folder the harness deletes.

Where that state lives, from the sources of torch 2.11-2.13 and triton 3.6-3.9:

* inductor's cache (FX graphs, kernels, autotuning results, AOTAutograd, PGO profiles):
  ``TORCHINDUCTOR_CACHE_DIR``, else ``default_cache_dir()`` = ``$TMPDIR/torchinductor_<user>``
  (torch/_inductor/runtime/cache_dir_utils.py);
* inductor's precompiled C++ headers (~150 MB on the CPU): ``default_cache_dir()/precompiled_headers``
  on purpose *outside* ``TORCHINDUCTOR_CACHE_DIR`` ("these headers need to be global"), computed once
  when torch._inductor.codecache is imported (``_HEADER_DIR``); other temporary files also go under
  ``tempfile.gettempdir()``. So each child gets its own ``TMPDIR``, and an import-time path that a
  preloaded module (the zygote's) already computed from the old one is moved with it;
* Triton's kernel cache ``TRITON_CACHE_DIR`` and its dump and override folders under ``TRITON_HOME``
  (``~/.triton`` by default; triton/knobs.py);
* the CUDA driver's cache of PTX it compiled (``CUDA_CACHE_PATH``, ``~/.nv/ComputeCache``) and
  torch's NVRTC kernel cache (``PYTORCH_KERNEL_CACHE_PATH``, ``~/.cache/torch/kernels``).

What stays shared is listed in ``SHARED`` and reported with every run.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from gpudiag.bakeoff.results import Isolation

# environment variable -> its folder under the measurement's root
FRESH = {
    "TMPDIR": "tmp",
    "TORCHINDUCTOR_CACHE_DIR": "inductor",
    "TRITON_CACHE_DIR": "triton",
    "TRITON_HOME": "triton-home",
    "CUDA_CACHE_PATH": "nv-compute-cache",
    "PYTORCH_KERNEL_CACHE_PATH": "torch-kernels",
}
SHARED = (
    "the C++ compiler and any cache it keeps itself (ccache, if the compiler is wrapped in it)",
    "the operating system's file cache: torch's and triton's own files are read from memory after the first mode",
    "Python's bytecode caches of installed packages (__pycache__)",
)
_PRELOADED = ("torch._inductor", "torch._dynamo", "triton")


def describe(warm_cache: bool = False) -> Isolation:
    if warm_cache:
        return Isolation([], ["everything: --warm-cache uses your own caches"])
    return Isolation(sorted(FRESH), list(SHARED))


def enter(root: str | os.PathLike[str]) -> list[str]:
    """Point this process (and what it starts) at fresh state under ``root``; before anything compiles.

    Returns the import-time paths of already-loaded modules that were moved (``module.NAME``).
    """
    root = Path(root)
    before = _state_roots()
    for var, sub in FRESH.items():
        (root / sub).mkdir(parents=True, exist_ok=True)
        os.environ[var] = str(root / sub)
    tempfile.tempdir = None  # gettempdir() caches its answer: make it read TMPDIR again
    after = _state_roots()
    moved = _rebase_loaded_paths(
        {old: new for k, old in before.items() if old and (new := after[k]) is not None and new != old}
    )
    _clear_inductor_caches()
    return moved


def _state_roots() -> dict[str, str | None]:
    """The folders under which a preloaded module may have computed a path at import."""
    cache_dir_utils = sys.modules.get("torch._inductor.runtime.cache_dir_utils")
    default = getattr(cache_dir_utils, "default_cache_dir", None)
    # Importing inductor may set TORCHINDUCTOR_CACHE_DIR to the default folder itself; a path under it
    # was still computed from the default, so that mapping comes last and wins.
    return {
        "inductor": os.environ.get("TORCHINDUCTOR_CACHE_DIR"),
        "inductor_default": default() if default else None,
        "triton_home": os.path.join(os.environ.get("TRITON_HOME") or os.path.expanduser("~"), ".triton"),
    }


def _rebase_loaded_paths(mapping: dict[str, str]) -> list[str]:
    """Move module-level path strings of loaded inductor, dynamo and triton modules from an old root to
    its fresh twin (torch._inductor.codecache._HEADER_DIR is one: a forked child inherits the
    zygote's). Longest roots first, so the cache folder wins over the temporary folder holding it."""
    moved = []
    roots = sorted(mapping.items(), key=lambda kv: len(kv[0]), reverse=True)
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(_PRELOADED):
            continue
        for attr, value in list(vars(module).items()):
            if attr.startswith("__") or not isinstance(value, str) or not value.startswith(os.sep):
                continue
            for old, new in roots:
                if (value == old or value.startswith(old + os.sep)) and not value.startswith(new):
                    setattr(module, attr, new + value[len(old) :])
                    moved.append(f"{name}.{attr}")
                    break
    return moved


def _clear_inductor_caches() -> None:
    """What torch itself does when it switches cache folders (cache_dir_utils.temporary_cache_dir)."""
    utils = sys.modules.get("torch._inductor.utils")
    clear = getattr(utils, "clear_caches", None)
    if clear is not None:
        try:
            clear()
        except Exception:
            pass
