"""Versions and source files of the installed torch and triton, read without importing them.

Importing torch costs seconds; everything a report needs about it (its version, the CUDA it was
built with, the text of its inductor sources) can be read from package metadata and files.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import platform
import re
from pathlib import Path


def package_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def package_dir(module: str) -> Path | None:
    """Where a top-level package lives, found without executing its ``__init__``."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


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
        v = package_version(dist)
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
    return platform.python_version()


def version_tuple(version: str | None) -> tuple[int, ...]:
    """ "2.11.0+cu130" -> (2, 11, 0); "2.6.0a0+git" -> (2, 6, 0); None -> ()."""
    if not version:
        return ()
    m = re.match(r"(\d+(?:\.\d+)*)", version)
    return tuple(int(x) for x in m.group(1).split(".")) if m else ()
