"""Record everything a live GPU says about itself, and print its catalogue row, marked live.

The next GPU we meet is added to gpudiag/device/data/gpus.toml from measurement, not from a spec
sheet. Reads, without any gpudiag code in the path (a wrong probe must not hide a wrong row):
- every ``CUdevice_attribute`` the driver answers, through ctypes ``cuDeviceGetAttribute``, keyed by
  its number (names from cuda-bindings, when installed, are labels only: they vary by version);
- NVML: name, board and PCI ids, memory, bus width, max clocks, power limit, core count;
- ``nvidia-smi -q`` and torch's ``get_device_properties`` as cross-checks.

Writes into OUTDIR:
  facts.json     all of the above
  row.toml       the [[gpu]] row in gpus.toml's form: every value it can measure, one ``live`` source
                 naming them, per-cc limits only where they differ from compute_capabilities.toml
  compare.txt    the row against the catalogue's current row for this GPU and its cc row

    python3 -m bench.info.record_facts --out OUTDIR [--index 0]      # about 5 s; needs a GPU
    python3 -m bench.info.record_facts --from OUTDIR/facts.json --out OUTDIR2   # rebuild row.toml
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import json
import platform
import re
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DATA = Path(__file__).resolve().parents[2] / "gpudiag" / "device" / "data"

# CUdevice_attribute numbers (cuda.h), written out here so that the recording does not depend on
# gpudiag's own table: the catalogue field each one measures.
ATTRIBUTE_FIELDS = {
    16: "sm_count",
    38: "l2_bytes",
    37: "memory_bus_width_bits",
    10: "warp_size",
    8: "smem_per_block_bytes",
    97: "smem_per_block_optin_bytes",
    81: "smem_per_sm_bytes",
    111: "smem_reserved_per_block_bytes",
    82: "regs_per_sm",
    12: "regs_per_block",
    39: "max_threads_per_sm",
    1: "max_threads_per_block",
    106: "max_blocks_per_sm",
}
CC_MAJOR, CC_MINOR, MEMORY_CLOCK_KHZ = 75, 76, 36
CC_LIMIT_FIELDS = (
    "warp_size",
    "smem_per_block_bytes",
    "smem_per_block_optin_bytes",
    "smem_per_sm_bytes",
    "smem_reserved_per_block_bytes",
    "regs_per_sm",
    "regs_per_block",
    "max_threads_per_sm",
    "max_threads_per_block",
    "max_blocks_per_sm",
)


# ----------------------------------------------------------------------------- recording (needs a GPU)


def cuda_attributes(index: int) -> dict:
    lib = ctypes.CDLL("libcuda.so.1")
    if lib.cuInit(0) != 0:
        raise SystemExit("cuInit failed: no usable GPU here")
    dev = ctypes.c_int()
    if lib.cuDeviceGet(ctypes.byref(dev), index) != 0:
        raise SystemExit(f"no CUDA device {index}")
    labels: dict[int, str] = {}
    try:
        from cuda.bindings import driver as cu

        for member in cu.CUdevice_attribute:
            labels[int(member)] = member.name.replace("CU_DEVICE_ATTRIBUTE_", "").lower()
    except Exception:
        pass
    out = {}
    for attr in range(1, 200):
        v = ctypes.c_int()
        if lib.cuDeviceGetAttribute(ctypes.byref(v), attr, dev) == 0:
            out[str(attr)] = {"id": attr, "label": labels.get(attr), "value": v.value}
    name = ctypes.create_string_buffer(256)
    lib.cuDeviceGetName(name, 256, dev)
    total = ctypes.c_size_t()
    lib.cuDeviceTotalMem_v2(ctypes.byref(total), dev)
    drv = ctypes.c_int()
    lib.cuDriverGetVersion(ctypes.byref(drv))
    return {
        "name": name.value.decode(),
        "total_mem_bytes": total.value,
        "driver_cuda_version": drv.value,
        "attributes": out,
    }


def nvml_facts(index: int) -> dict:
    import pynvml as n

    n.nvmlInit()
    h = n.nvmlDeviceGetHandleByIndex(index)

    def get(fn, *a):
        try:
            v = getattr(n, fn)(h, *a)
            return v.decode() if isinstance(v, bytes) else v
        except Exception as exc:
            return f"error: {type(exc).__name__}: {exc}"

    mem = get("nvmlDeviceGetMemoryInfo")
    pci = get("nvmlDeviceGetPciInfo")
    out = {
        "name": get("nvmlDeviceGetName"),
        "board_part_number": get("nvmlDeviceGetBoardPartNumber"),
        "memory_total_bytes": getattr(mem, "total", mem),
        "bus_width_bits": get("nvmlDeviceGetMemoryBusWidth"),
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
        return {
            k: getattr(p, k)
            for k in dir(p)
            if not k.startswith("_") and isinstance(getattr(p, k), (int, float, str, bool))
        } | {"torch": torch.__version__}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


# ----------------------------------------------------------------------------- the row (pure, tested on CPU)


def attributes_by_id(cuda: dict) -> dict[int, int]:
    """{attribute number: value}, from this script's facts.json or the earlier name-keyed form."""
    return {int(v["id"]): int(v["value"]) for v in cuda["attributes"].values()}


def _key(name: str) -> str:
    words = [w for w in re.sub(r"[^a-z0-9]+", " ", name.lower()).split() if w not in ("nvidia", "geforce")]
    return "-".join(words)


def catalogue_row(doc: dict, facts_path: str, cc_rows: list[dict]) -> tuple[dict, list[str]]:
    """The gpus.toml row this GPU's facts give, and the per-cc limits it checked against the cc table."""
    cuda, nvml = doc["cuda"], doc["nvml"]
    attrs = attributes_by_id(cuda)
    cc = f"{attrs[CC_MAJOR]}.{attrs[CC_MINOR]}"
    measured = {field: attrs[i] for i, field in ATTRIBUTE_FIELDS.items() if i in attrs}
    cc_row = next((r for r in cc_rows if r["cc"] == cc), None)
    checks, overrides = [], {}
    for field in CC_LIMIT_FIELDS:
        if field not in measured:
            continue
        table = cc_row.get(field) if cc_row else None
        checks.append(f"{field}: live {measured[field]}, cc {cc} table {table}")
        if table != measured[field]:
            overrides[field] = measured[field]
    cores = nvml.get("num_gpu_cores")
    if isinstance(cores, int) and measured.get("sm_count"):
        checks.append(
            f"fp32_lanes_per_sm: live {cores // measured['sm_count']} (NVML {cores} cores), "
            f"cc {cc} table {cc_row.get('fp32_lanes_per_sm') if cc_row else None}"
        )
    nvml_total = nvml.get("memory_total_bytes")
    row: dict = {"key": _key(cuda["name"]), "name": cuda["name"]}
    if isinstance(nvml.get("name"), str):
        row["nvml_names"] = [nvml["name"]]
    row["compute_capability"] = cc
    for field in ("sm_count", "l2_bytes"):
        if field in measured:
            row[field] = measured[field]
    if isinstance(nvml_total, int):
        row["memory_gib"] = round(nvml_total / 2**30, 1)
    if "memory_bus_width_bits" in measured:
        row["memory_bus_width_bits"] = measured["memory_bus_width_bits"]
    row.update(overrides)
    fields = [f for f in row if f not in ("key", "name")]
    clock = attrs.get(MEMORY_CLOCK_KHZ)
    text = (
        f"bench/info/record_facts.py on '{cuda['name']}' ({facts_path}; {doc['meta']['date']}; driver "
        f"{nvml.get('driver_version', '?')}, CUDA {cuda['driver_cuda_version'] // 1000}."
        f"{cuda['driver_cuda_version'] % 1000 // 10}): cc {cc}, {measured.get('sm_count')} SMs, "
        f"L2 {measured.get('l2_bytes')} B, memory bus {measured.get('memory_bus_width_bits')} bit "
        f"(NVML {nvml.get('bus_width_bits')}), memory clock {clock // 1000 if clock else '?'} MHz, "
        f"NVML total {nvml_total} B, board {nvml.get('board_part_number')}, PCI {nvml.get('pci_device_id')}"
    )
    row["sources"] = [{"kind": "live", "fields": fields, "text": text}]
    notes = ["memory_bandwidth_gbps and bf16_dense_tflops are not measured here: add them from a datasheet source"]
    if clock and "memory_bus_width_bits" in measured:
        gbps = measured["memory_bus_width_bits"] / 8 * clock * 1000 * 2 / 1e9
        notes.append(f"bus x memory clock x 2 gives {gbps:,.0f} GB/s (gpudiag info shows this as derived)")
    row["notes"] = "; ".join(notes) + "."
    return row, checks


def _toml_value(v) -> str:
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    return "[" + ", ".join(_toml_value(x) for x in v) + "]"


def to_toml(row: dict) -> str:
    lines = ["[[gpu]]"]
    for k, v in row.items():
        if k == "sources":
            lines.append("sources = [")
            lines += [f"  {_toml_value(s)}," for s in v]
            lines.append("]")
        else:
            lines.append(f"{k} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"


def compare(row: dict, gpu_rows: list[dict]) -> list[str]:
    """Field by field: the live row against the catalogue row that lists this NVML name."""
    current = next((r for r in gpu_rows if set(row.get("nvml_names", [])) & set(r.get("nvml_names", []))), None)
    if current is None:
        return [
            f"no catalogue row lists {row.get('nvml_names')}: add row.toml as a new row (key, aliases, datasheet sources)"
        ]
    out = [f"catalogue row {current['key']}:"]
    for field, value in row.items():
        if field in ("key", "name", "sources", "notes", "nvml_names"):
            continue
        cat = current.get(field)
        mark = "same" if cat == value else "DIFFERS"
        out.append(f"  {field}: live {value!r}, catalogue {cat!r}  {mark}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for facts.json, row.toml, compare.txt")
    ap.add_argument("--index", type=int, default=0)
    ap.add_argument("--from", dest="source", help="rebuild the row from an earlier facts.json instead of a GPU")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.source:
        doc = json.loads(Path(args.source).read_text())
        facts_path = args.source
    else:
        smi = subprocess.run(["nvidia-smi", "-q", "-i", str(args.index)], capture_output=True, text=True).stdout
        doc = {
            "meta": {
                "date": datetime.date.today().isoformat(),
                "python": platform.python_version(),
                "script": "bench/info/record_facts.py",
                "index": args.index,
            },
            "cuda": cuda_attributes(args.index),
            "nvml": nvml_facts(args.index),
            "torch": torch_props(args.index),
            "nvidia_smi_q": smi,
        }
        (out / "facts.json").write_text(json.dumps(doc, indent=1, default=str))
        facts_path = str(out / "facts.json")
    cc_rows = tomllib.loads((DATA / "compute_capabilities.toml").read_text())["cc"]
    gpu_rows = tomllib.loads((DATA / "gpus.toml").read_text())["gpu"]
    row, checks = catalogue_row(doc, facts_path, cc_rows)
    text = to_toml(row)
    (out / "row.toml").write_text(text)
    report = compare(row, gpu_rows) + ["per-cc limits (a row overrides only those that differ):", *checks]
    (out / "compare.txt").write_text("\n".join(report) + "\n")
    print(text)
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
