"""`gpudiag info` against a real GPU: the live probe agrees with torch, NVML and the catalogue.

Marked `gpu`: skipped where no NVIDIA driver and device are present. Runs gpudiag in subprocesses
so CUDA_VISIBLE_DEVICES takes effect as it does for a user.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gpu
ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs/schemas/info.schema.json").read_text())

# Fields a live probe on a datacenter GPU must fill (nothing here is optional on an H100/H200).
REQUIRED_LIVE = (
    "uuid",
    "pci_bus_id",
    "nvml_index",
    "arch_name",
    "sm_count",
    "cuda_cores",
    "warp_size",
    "smem_per_block_bytes",
    "smem_per_block_optin_bytes",
    "smem_per_sm_bytes",
    "regs_per_sm",
    "regs_per_block",
    "max_threads_per_sm",
    "max_threads_per_block",
    "max_blocks_per_sm",
    "l2_bytes",
    "memory_total_bytes",
    "memory_free_bytes",
    "memory_used_bytes",
    "memory_bus_width_bits",
    "memory_clock_max_mhz",
    "memory_bandwidth_bytes_per_s",
)
REQUIRED_STATE = (
    "sm_clock_mhz",
    "sm_clock_max_mhz",
    "memory_clock_mhz",
    "memory_clock_max_mhz",
    "power_draw_w",
    "power_limit_w",
    "temperature_c",
    "utilization_gpu_pct",
    "performance_state",
    "throttle_reasons",
    "persistence_mode",
    "compute_mode",
)


def gpudiag(*args, env=None):
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "gpudiag", *args], capture_output=True, text=True, env=full_env, timeout=120
    )


@pytest.fixture(scope="module")
def live():
    r = gpudiag("info", "--json", "--torch")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_json_validates_and_fields_are_filled(live):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(live, SCHEMA)
    for dev in live["devices"]:
        missing = [f for f in REQUIRED_LIVE if dev[f] is None]
        assert not missing, (missing, dev["unavailable"])
        state_missing = [f for f in REQUIRED_STATE if dev["state"][f] is None]
        assert not state_missing, (state_missing, dev["state"]["unavailable"])
        assert dev["sources"]["sm_count"] == "cuda-driver"
        assert dev["sources"]["smem_per_block_optin_bytes"] == "cuda-driver"
    assert live["software"]["driver_version"] and live["software"]["cuda_driver_version"]


def test_probe_agrees_with_torch(live):
    import torch

    tv = live["torch_check"]
    assert tv["imported"] and tv["cuda_available"]
    assert tv["device_count"] == len(live["devices"])
    for dev in live["devices"]:
        p = torch.cuda.get_device_properties(dev["index"])
        assert p.name == dev["name"]
        assert p.multi_processor_count == dev["sm_count"]
        assert f"{p.major}.{p.minor}" == dev["compute_capability"]
        # torch reports cuDeviceTotalMem; gpudiag reports NVML's total (what nvidia-smi shows), which
        # also counts memory the driver reserves: 81559 MiB vs 81079 MiB on an H100 80GB HBM3.
        assert 0 <= dev["memory_total_bytes"] - p.total_memory < 0.01 * dev["memory_total_bytes"]
        if hasattr(p, "L2_cache_size"):
            assert p.L2_cache_size == dev["l2_bytes"]
        if hasattr(p, "shared_memory_per_block_optin"):
            assert p.shared_memory_per_block_optin == dev["smem_per_block_optin_bytes"]
        if hasattr(p, "shared_memory_per_multiprocessor"):
            assert p.shared_memory_per_multiprocessor == dev["smem_per_sm_bytes"]
        if hasattr(p, "regs_per_multiprocessor"):
            assert p.regs_per_multiprocessor == dev["regs_per_sm"]
        if hasattr(p, "uuid"):
            assert f"GPU-{p.uuid}" == dev["uuid"]
        # our is_big_gpu verdict equals inductor's own answer
        tdev = next(d for d in tv["devices"] if d["index"] == dev["index"])
        ours = next(v for v in dev["verdicts"] if v["id"] == "max_autotune_gemm")["answer"]
        assert tdev["is_big_gpu"] is (ours == "yes")


def test_live_probe_agrees_with_catalogue_row(live):
    """Whatever Hopper (or other) part we are lent: the values its catalogue row marks as measured live
    equal the probe's exactly; per-architecture limits equal the cc table; datasheet memory and
    bandwidth are within a few percent of what the driver reports."""
    from gpudiag.device import catalog

    for dev in live["devices"]:
        row = catalog.find_row_for_live_name(dev["name"])
        assert row is not None, (
            f"no catalogue row lists {dev['name']!r} in nvml_names: record one with bench/info/record_facts.py"
        )
        cat = catalog.facts_from_row(row)
        live_fields = {f for s in row.sources if s.kind == "live" for f in s.fields}
        for field in ("sm_count", "l2_bytes", "memory_bus_width_bits"):
            if field in live_fields:
                assert dev[field] == getattr(cat, field), (field, "the row says it was measured live")
        for field in catalog.CC_LIMIT_FIELDS:
            assert dev[field] == getattr(cat, field), field
        if "sm_count" in live_fields:
            assert dev["cuda_cores"] == cat.cuda_cores
        assert f"{cat.cc}" == dev["compute_capability"]
        # Marketed memory ("141 GB") or the recorded NVML total vs this probe: within 5 %.
        assert abs(dev["memory_total_bytes"] - cat.memory_total_bytes) / cat.memory_total_bytes < 0.05
        # Datasheet bandwidth vs bus width x max memory clock: within 3 %.
        if cat.memory_bandwidth_bytes_per_s:
            ratio = dev["memory_bandwidth_bytes_per_s"] / cat.memory_bandwidth_bytes_per_s
            assert 0.97 < ratio < 1.03, ratio
        # the one catalogue value a live report shows carries its evidence
        if dev["bf16_dense_tflops"] is not None:
            assert dev["evidence"]["bf16_dense_tflops"]["kind"] in ("datasheet", "derived", "third-party", "live")


def test_human_report_renders(live):
    r = gpudiag("info")
    assert r.returncode == 0 and "kernel-tuning limits" in r.stdout and r.stderr == ""


def test_cuda_visible_devices_empty_and_bogus():
    for value in ("", "99", "GPU-00000000-0000-0000-0000-000000000000"):
        r = gpudiag("info", env={"CUDA_VISIBLE_DEVICES": value})
        assert r.returncode == 2, (value, r.stdout, r.stderr)
        assert r.stderr.count("\n") == 1 and "hides every GPU" in r.stderr and "Traceback" not in r.stderr


def test_cuda_visible_devices_by_uuid_selects_that_gpu(live):
    last = live["devices"][-1]
    r = gpudiag("info", "--json", env={"CUDA_VISIBLE_DEVICES": last["uuid"]})
    doc = json.loads(r.stdout)
    assert [d["uuid"] for d in doc["devices"]] == [last["uuid"]]
    assert doc["devices"][0]["index"] == 0 and doc["devices"][0]["nvml_index"] == last["nvml_index"]


def test_index_out_of_range_on_real_gpu(live):
    r = gpudiag("info", "--index", str(len(live["devices"])))
    assert r.returncode == 2 and "out of range" in r.stderr
