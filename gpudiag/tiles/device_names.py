"""Which GPU loads which config table: the ``device_name`` string vLLM's and SGLang's fused-MoE code
builds for a GPU, and the catalogue GPUs a table's ``device_name`` is for.

How the runtimes spell it (read from their sources):

- vLLM, ``get_config_file_name``: ``current_platform.get_device_name().replace(" ", "_")``, where the
  CUDA platform's name is NVML's ``nvmlDeviceGetName`` (``torch.cuda.get_device_name`` where NVML is
  unavailable, as on Jetson). Newer vLLM then maps every GPU whose name has the word ``H200`` to
  ``NVIDIA_H200`` (so an H200 NVL loads the H200 SXM's tables).
- SGLang, ``get_config_file_name``: ``torch.cuda.get_device_name().replace(" ", "_")``. CUDA's device
  name is the string NVML reports. SGLang looks in ``configs/triton_<version>/`` first, then in the
  folders of the Triton versions it lists, newest first.

The names come from the catalogue's ``nvml_names`` (gpudiag/device/data/gpus.toml): the exact strings
NVML and nvidia-smi report. A row without one is matched through its catalogue name, which is said.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass

H200_RULE = "newer vLLM loads NVIDIA_H200 tables on every GPU whose name has the word H200"


@dataclass(frozen=True)
class RuntimeName:
    """The device_name one catalogue GPU is looked up under."""

    key: str  # catalogue row
    gpu: str  # catalogue name
    nvml: str  # the NVML name it comes from
    recorded: bool  # False: the catalogue has no NVML name for this row; its catalogue name stands in
    vllm: str
    vllm_h200: str | None  # newer vLLM's H200-family name, where it differs
    sglang: str


def _rows():
    from gpudiag.device.catalog import gpu_rows

    return gpu_rows()


def spelled(key: str, gpu: str, nvml: str, recorded: bool = True) -> RuntimeName:
    """The device_name each runtime builds from a GPU's NVML (or CUDA) name."""
    name = nvml.replace(" ", "_")
    h200 = "NVIDIA_H200" if "H200" in name.split("_") and name != "NVIDIA_H200" else None
    return RuntimeName(key, gpu, nvml, recorded, name, h200, name)


@functools.lru_cache(maxsize=1)
def runtime_names() -> tuple[RuntimeName, ...]:
    out = []
    for row in _rows():
        nvml = tuple(row.data.get("nvml_names", ()))
        for n in nvml or (row.name,):
            out.append(spelled(row.key, row.name, n, bool(nvml)))
    return tuple(out)


def for_row(key: str) -> list[RuntimeName]:
    """Every spelling of one catalogue GPU (a row may list several NVML names)."""
    return [r for r in runtime_names() if r.key == key]


@dataclass(frozen=True)
class NameMatch:
    """What a table's device_name says about the GPUs that load it."""

    device_name: str
    gpus: tuple[RuntimeName, ...]  # the catalogue GPUs that look this table up (by vLLM's or SGLang's name)
    vendor: str | None  # "AMD", "Intel": not an NVIDIA GPU
    close: tuple[str, ...]  # near spellings that do name a GPU, when none matches

    @property
    def matches(self) -> bool:
        return bool(self.gpus) or self.vendor is not None


_VENDORS = (("AMD_", "AMD"), ("Intel(R)", "Intel"), ("Intel_", "Intel"))


def match(device_name: str) -> NameMatch:
    vendor = next((v for prefix, v in _VENDORS if device_name.startswith(prefix)), None)
    gpus = tuple(r for r in runtime_names() if device_name in (r.vllm, r.sglang, r.vllm_h200))
    close: tuple[str, ...] = ()
    if not gpus and vendor is None:
        spellings = sorted({r.vllm for r in runtime_names()})
        folded = {s.casefold(): s for s in spellings}
        if device_name.casefold() in folded:
            close = (folded[device_name.casefold()],)
        else:
            close = tuple(
                [s for s in spellings if s.startswith((device_name + "_", device_name + "-"))]
                + difflib.get_close_matches(device_name, spellings, n=3, cutoff=0.8)
            )
            close = tuple(dict.fromkeys(close))[:4]
    return NameMatch(device_name, gpus, vendor, close)
