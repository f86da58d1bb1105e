"""Versions and source files of the installed torch and triton, read without importing them.

Importing torch costs seconds; everything a report needs about it (its version, the CUDA it was
built with, the text of its inductor sources) can be read from package metadata and files.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import sys
from pathlib import Path


def package_version(dist: str, module: str | None = None) -> str | None:
    """The installed version of distribution ``dist``, which installs the package ``module``; None
    when that package is not there. Read from the wheel's ``.dist-info`` beside the package where
    there is exactly one, else from importlib.metadata (10 ms of imports a report rarely needs)."""
    module = module or dist.replace("-", "_")
    if package_dir(module) is None:
        return None
    found = _dist_info_version(module, dist)
    if found:
        return found
    import importlib.metadata

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _dist_info_version(module: str, dist: str) -> str | None:
    """The ``Version:`` of ``dist``'s ``.dist-info`` beside the package ``module`` (a wheel install),
    read without importlib.metadata; None for anything else (an egg, an editable install, a zip)."""
    root = package_dir(module)
    if root is None:
        return None
    prefix = dist.replace("-", "_").lower() + "-"
    try:
        infos = [
            p for p in root.parent.iterdir() if p.name.endswith(".dist-info") and p.name.lower().startswith(prefix)
        ]
    except OSError:
        return None
    if len(infos) != 1:
        return None  # none, or several (a stale one beside the live one): let importlib.metadata decide
    try:
        with open(infos[0] / "METADATA", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
                if not line.strip():
                    break  # the headers end at the first blank line
    except OSError:
        return None
    return None


def package_dir(module: str) -> Path | None:
    """Where a top-level package lives, found without executing its ``__init__``."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def source_text(module: str, relative: str) -> str | None:
    """Text of a file inside an installed package (``"torch", "_inductor/utils.py"``)."""
    root = package_dir(module)
    if root is None:
        return None
    try:
        return (root / relative).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


@functools.cache
def torch_version() -> str | None:
    return package_version("torch")


@functools.cache
def triton_version() -> str | None:
    # PyPI's wheel is "triton"; ROCm and nightly builds ship "pytorch-triton(-rocm)".
    for dist in ("triton", "pytorch-triton", "pytorch-triton-rocm", "triton-nightly"):
        v = package_version(dist, "triton")
        if v:
            return v
    return None


def _torch_version_py_field(name: str) -> str | None:
    text = source_text("torch", "version.py")
    if text is None:
        return None
    m = re.search(rf"^{name}\s*(?::[^=]+)?=\s*['\"]([^'\"]+)['\"]", text, re.M)
    return m.group(1) if m else None


def torch_cuda_version() -> str | None:
    """The CUDA toolkit torch was built with ("13.0"), or None for CPU and ROCm builds."""
    return _torch_version_py_field("cuda")


def torch_hip_version() -> str | None:
    return _torch_version_py_field("hip")


def python_version() -> str:
    return sys.version.split()[0]  # platform.python_version()'s answer ("3.12.3", "3.13.0rc1") without platform


def version_tuple(version: str | None) -> tuple[int, ...]:
    """ "2.11.0+cu130" -> (2, 11, 0); "2.6.0a0+git" -> (2, 6, 0); None -> ()."""
    if not version:
        return ()
    m = re.match(r"(\d+(?:\.\d+)*)", version)
    return tuple(int(x) for x in m.group(1).split(".")) if m else ()
