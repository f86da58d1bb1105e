"""What the installed torch itself says about the GPUs: the slow, authoritative check.

``gpudiag info`` infers everything without importing torch (seconds on a GPU machine);
``gpudiag info --torch`` calls this module to import torch and ask it directly, including
inductor's own ``is_big_gpu`` for each device.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TorchDeviceView:
    index: int
    name: str | None = None
    sm_count: int | None = None
    compute_capability: str | None = None
    is_big_gpu: bool | None = None
    error: str | None = None


@dataclass
class TorchView:
    imported: bool
    version: str | None = None
    cuda_available: bool | None = None
    device_count: int | None = None
    arch_list: list[str] = field(default_factory=list)
    float32_matmul_precision: str | None = None
    devices: list[TorchDeviceView] = field(default_factory=list)
    error: str | None = None
    import_warnings: list[str] = field(default_factory=list)  # what importing torch printed or warned


def _import_torch() -> tuple[Any, list[str], str | None]:
    """torch, and what importing it said, kept out of gpudiag's stderr.

    A torch built against NumPy 1.x under NumPy 2.x prints NumPy's long compatibility notice and
    warns "Failed to initialize NumPy": the report names the problem once instead of leaking both.
    """
    import contextlib
    import io
    import warnings

    said = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(said):
        warnings.simplefilter("always")
        torch: Any = None
        error: str | None = None
        try:
            import torch
        except Exception as exc:  # ImportError, or a broken install raising anything
            error = f"import torch failed: {type(exc).__name__}: {exc}"
    lines = [str(w.message).splitlines()[0] for w in caught]
    if said.getvalue().strip() and not lines:
        lines.append(said.getvalue().strip().splitlines()[0])
    return torch, list(dict.fromkeys(lines)), error


def check(indices: list[int] | None = None) -> TorchView:
    torch, said, error = _import_torch()
    if torch is None:
        return TorchView(imported=False, error=error, import_warnings=said)
    view = TorchView(imported=True, version=torch.__version__, import_warnings=said)
    try:
        view.float32_matmul_precision = torch.get_float32_matmul_precision()
        view.cuda_available = bool(torch.cuda.is_available())
        view.device_count = torch.cuda.device_count() if view.cuda_available else 0
        view.arch_list = list(torch.cuda.get_arch_list()) if view.cuda_available else []
    except Exception as exc:
        view.error = f"{type(exc).__name__}: {exc}"
        return view
    for i in indices if indices is not None else range(view.device_count or 0):
        d = TorchDeviceView(index=i)
        try:
            p = torch.cuda.get_device_properties(i)
            d.name, d.sm_count, d.compute_capability = p.name, p.multi_processor_count, f"{p.major}.{p.minor}"
        except Exception as exc:
            d.error = f"{type(exc).__name__}: {exc}"
            view.devices.append(d)
            continue
        try:
            from torch._inductor.utils import is_big_gpu

            d.is_big_gpu = bool(is_big_gpu(i))
        except Exception as exc:  # private API: absent or changed signature in some versions
            d.error = f"is_big_gpu: {type(exc).__name__}: {exc}"
        view.devices.append(d)
    return view
