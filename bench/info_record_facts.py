"""Record everything a live GPU says about itself, so the catalogue row for it comes from measurement.

Reads, without any gpudiag code in the path (so a wrong probe cannot hide a wrong row):
- every ``CUdevice_attribute`` the driver answers (names from cuda-bindings when installed, else
  the numbers), through ctypes ``cuDeviceGetAttribute``;
- NVML: name, board part number, memory, bus width, max clocks, power limits, PCI ids, and the
  ``nvidia-smi -q`` text;
- torch's ``get_device_properties`` as a cross-check.
It then prints the catalogue fields gpudiag's ``gpus.toml`` rows use, each marked ``live``.

    python3 bench/info_record_facts.py --out FACTS.json [--index 0]
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import json
import platform
import subprocess
import sys


def cuda_attributes(index: int) -> dict:
    lib = ctypes.CDLL("libcuda.so.1")
    assert lib.cuInit(0) == 0, "cuInit failed"
    dev = ctypes.c_int()
    assert lib.cuDeviceGet(ctypes.byref(dev), index) == 0
    names: dict[int, str] = {}
    try:
        from cuda.bindings import driver as cu

        for member in cu.CUdevice_attribute:
            names[int(member)] = member.name.replace("CU_DEVICE_ATTRIBUTE_", "").lower()
    except Exception:  # noqa: BLE001 - cuda-bindings absent or laid out differently: numbers only
        pass
    out = {}
    for attr in range(1, 160):
        v = ctypes.c_int()
        if lib.cuDeviceGetAttribute(ctypes.byref(v), attr, dev) == 0:
            out[names.get(attr, str(attr))] = {"id": attr, "value": v.value}
    name = ctypes.create_string_buffer(256)
    lib.cuDeviceGetName(name, 256, dev)
    total = ctypes.c_size_t()
    lib.cuDeviceTotalMem_v2(ctypes.byref(total), dev)
    drv = ctypes.c_int()
    lib.cuDriverGetVersion(ctypes.byref(drv))
    return {"name": name.value.decode(), "total_mem_bytes": total.value, "driver_cuda_version": drv.value,
            "attributes": out}


def nvml_facts(index: int) -> dict:
    import pynvml as n

    n.nvmlInit()
    h = n.nvmlDeviceGetHandleByIndex(index)

    def get(fn, *a):
        try:
            v = getattr(n, fn)(h, *a)
            return v.decode() if isinstance(v, bytes) else v
        except Exception as exc:  # noqa: BLE001 - NVML_ERROR_NOT_SUPPORTED and friends are answers too
            return f"error: {type(exc).__name__}: {exc}"

    mem = get("nvmlDeviceGetMemoryInfo")
    pci = get("nvmlDeviceGetPciInfo")
    out = {
        "name": get("nvmlDeviceGetName"), "board_part_number": get("nvmlDeviceGetBoardPartNumber"),
        "memory_total_bytes": getattr(mem, "total", mem), "bus_width_bits": get("nvmlDeviceGetMemoryBusWidth"),
        "max_sm_clock_mhz": get("nvmlDeviceGetMaxClockInfo", n.NVML_CLOCK_SM),
        "max_mem_clock_mhz": get("nvmlDeviceGetMaxClockInfo", n.NVML_CLOCK_MEM),
        "power_limit_default_mw": get("nvmlDeviceGetPowerManagementDefaultLimit"),
        "pci_device_id": hex(pci.pciDeviceId) if hasattr(pci, "pciDeviceId") else pci,
        "pci_subsystem_id": hex(pci.pciSubSystemId) if hasattr(pci, "pciSubSystemId") else pci,
        "cuda_compute_capability": get("nvmlDeviceGetCudaComputeCapability"),
        "driver_version": n.nvmlSystemGetDriverVersion(),
        "num_gpu_cores": get("nvmlDeviceGetNumGpuCores"),
    }
    n.nvmlShutdown()
    return out


def torch_props(index: int) -> dict:
    try:
        import torch

        p = torch.cuda.get_device_properties(index)
        return {k: getattr(p, k) for k in dir(p) if not k.startswith("_") and
                isinstance(getattr(p, k), (int, float, str, bool))} | {"torch": torch.__version__}
    except Exception as exc:  # noqa: BLE001
        return {"error": f"{type(exc).__name__}: {exc}"}


def catalogue_fields(cuda: dict, nvml: dict) -> dict:
    """The fields of a gpus.toml row that this GPU answered live."""
    a = {k: v["value"] for k, v in cuda["attributes"].items()}

    def pick(*names):
        return next((a[n] for n in names if n in a), None)

    return {
        "name": cuda["name"],
        "compute_capability": [pick("compute_capability_major", "75"), pick("compute_capability_minor", "76")],
        "sm_count": pick("multiprocessor_count", "16"),
        "smem_per_block_bytes": pick("max_shared_memory_per_block", "8"),
        "smem_per_block_optin_bytes": pick("max_shared_memory_per_block_optin", "97"),
        "smem_per_sm_bytes": pick("max_shared_memory_per_multiprocessor", "81"),
        "smem_reserved_per_block_bytes": pick("reserved_shared_memory_per_block", "111"),
        "regs_per_block": pick("max_registers_per_block", "12"),
        "regs_per_sm": pick("max_registers_per_multiprocessor", "82"),
        "max_threads_per_sm": pick("max_threads_per_multiprocessor", "39"),
        "max_blocks_per_sm": pick("max_blocks_per_multiprocessor", "106"),
        "l2_bytes": pick("l2_cache_size", "38"),
        "memory_bus_width_bits": pick("global_memory_bus_width", "37"),
        "memory_clock_khz": pick("memory_clock_rate", "36"),
        "memory_bytes": cuda["total_mem_bytes"],
        "nvml_bus_width_bits": nvml.get("bus_width_bits"),
        "nvml_max_mem_clock_mhz": nvml.get("max_mem_clock_mhz"),
        "board_part_number": nvml.get("board_part_number"),
        "pci_device_id": nvml.get("pci_device_id"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--index", type=int, default=0)
    args = ap.parse_args()
    cuda = cuda_attributes(args.index)
    nvml = nvml_facts(args.index)
    smi = subprocess.run(["nvidia-smi", "-q", "-i", str(args.index)], capture_output=True, text=True).stdout
    doc = {"meta": {"date": datetime.date.today().isoformat(), "python": platform.python_version(),
                    "script": "bench/info_record_facts.py"},
           "catalogue_fields_live": catalogue_fields(cuda, nvml), "cuda": cuda, "nvml": nvml,
           "torch": torch_props(args.index), "nvidia_smi_q": smi}
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1, default=str)
    print(json.dumps(doc["catalogue_fields_live"], indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
