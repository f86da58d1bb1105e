"""`gpudiag info` with the native boundary faked: rendering, JSON schema, hostile environments."""

from __future__ import annotations

import json
from pathlib import Path

import fakes
import pytest

from gpudiag.device import cudadrv
from gpudiag.device import probe as device_probe
from gpudiag.errors import DeviceUnavailable

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs/schemas/info.schema.json").read_text())


def validate(doc):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(doc, SCHEMA)


def test_live_h100_json_validates_and_carries_driver_values(cli, fake_h100):
    r = cli("info", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    validate(doc)
    (dev,) = doc["devices"]
    assert dev["origin"] == "live" and dev["sm"] == "sm_90" and dev["sm_count"] == 132
    assert dev["smem_per_block_optin_bytes"] == 232448
    assert dev["sources"]["smem_per_block_optin_bytes"] == "cuda-driver"
    assert dev["sources"]["memory_total_bytes"] == "nvml"
    assert dev["pci_bus_id"] == "00000000:19:00.0"
    assert dev["uuid"] == fake_h100.uuid
    # 5120-bit bus at 2619 MHz, double data rate: 3.35 TB/s, the H100 SXM datasheet figure.
    assert dev["memory_bandwidth_bytes_per_s"] == 5120 // 8 * 2619 * 10**6 * 2
    assert dev["sources"]["cuda_cores"] == "nvml" and dev["cuda_cores"] == 132 * 128
    assert dev["state"]["throttle_reasons"] == ["gpu_idle"]
    assert dev["state"]["pcie_gen_max"] == 5
    assert doc["software"]["driver_version"] == "580.159.04"
    assert doc["software"]["cuda_driver_version"] == "13.0"
    gemm = next(v for v in dev["verdicts"] if v["id"] == "max_autotune_gemm")
    assert gemm["answer"] == "yes"


def test_rtx3070_below_sm_gate(cli, fake_rtx3070):
    r = cli("info", "--json")
    doc = json.loads(r.stdout)
    gemm = next(v for v in doc["devices"][0]["verdicts"] if v["id"] == "max_autotune_gemm")
    threshold = doc["inductor_sm_gate"]["cuda_min_sms"]
    assert gemm["answer"] == "no" and f"46 SMs < {threshold}" in gemm["why"]


def test_human_report_shows_every_section(cli, fake_h100):
    r = cli("info")
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    for text in (
        "NVIDIA H100 80GB HBM3",
        "sm_90",
        "232,448 B",
        "233,472 B",
        "kernel-tuning limits",
        "state",
        "max-autotune",
        "TF32",
        "PCIe",
        "580.159.04",
        "gpu_idle",
        "00000000:19:00.0",
    ):
        assert text in out, text


def test_cuda_order_differs_from_nvml_order_matched_by_bus_id(cli, monkeypatch):
    a = fakes.h100(bus="0000:19:00.0", uuid="GPU-aaaaaaaa-0000-0000-0000-000000000000")
    b = fakes.rtx3070(bus="0000:3b:00.0", uuid="GPU-bbbbbbbb-0000-0000-0000-000000000000")
    # NVML lists the H100 first; CUDA (say CUDA_VISIBLE_DEVICES=1,0) shows the RTX 3070 first.
    fakes.install(monkeypatch, [a, b], [b, a])
    doc = json.loads(cli("info", "--json").stdout)
    names = [(d["index"], d["nvml_index"], d["name"], d["uuid"]) for d in doc["devices"]]
    assert names == [(0, 1, b.name, b.uuid), (1, 0, a.name, a.uuid)]
    assert doc["devices"][0]["memory_total_bytes"] == b.memory_total


def test_index_selects_one_and_out_of_range_is_exit_2(cli, monkeypatch):
    fakes.install(monkeypatch, [fakes.h100(), fakes.rtx3070()], [fakes.h100(), fakes.rtx3070()])
    doc = json.loads(cli("info", "--index", "1", "--json").stdout)
    assert [d["name"] for d in doc["devices"]] == ["NVIDIA GeForce RTX 3070"]
    r = cli("info", "--index", "5")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.strip() == "gpudiag: --index 5 is out of range: 2 GPUs visible (valid: 0..1)"


def test_no_driver_reports_what_is_knowable_and_exits_2(cli, no_gpu):
    r = cli("info")
    assert r.exit_code == 2
    assert len(r.stderr.strip().splitlines()) == 1
    assert "no NVIDIA GPU here" in r.stderr and "--gpu NAME" in r.stderr
    for text in (
        "no GPU visible",
        "NVML Shared Library Not Found",
        "libcuda.so.1 not found",
        "software",
        "torch",
        "is_big_gpu",
        "python / gpudiag",
        "gpudiag info --gpu NAME",
    ):
        assert text in r.stdout, text


def test_no_driver_json_is_the_info_document_with_no_device(cli, no_gpu, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    r = cli("info", "--json")
    assert r.exit_code == 2 and r.stderr.startswith("gpudiag: no NVIDIA GPU here")
    doc = json.loads(r.stdout)  # one document: the report, not an error document
    validate(doc)
    assert doc["devices"] == [] and doc["software"]["python_version"]
    nd = doc["no_device"]
    assert "NVML Shared Library Not Found" in nd["nvml"] and "libcuda" in nd["cuda_driver"]
    assert nd["cuda_visible_devices"] == "0" and "--gpu NAME" in nd["hint"]


def test_no_driver_with_torch_check_still_asks_torch(cli, no_gpu, monkeypatch):
    from gpudiag.installed import torch_view

    monkeypatch.setattr(
        torch_view,
        "check",
        lambda indices=None: torch_view.TorchView(
            imported=True,
            version="2.13.0+cpu",
            cuda_available=False,
            device_count=0,
            float32_matmul_precision="highest",
        ),
    )
    r = cli("info", "--torch", "--json")
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    assert doc["torch_check"]["version"] == "2.13.0+cpu" and doc["torch_check"]["cuda_available"] is False
    assert "cuda available=False" in cli("info", "--torch").stdout


def test_gpu_present_report_has_no_no_device(cli, fake_h100):
    assert json.loads(cli("info", "--json").stdout)["no_device"] is None


@pytest.mark.parametrize("cvd", ["", "7", "GPU-does-not-exist"])
def test_cuda_visible_devices_hiding_every_gpu(cli, monkeypatch, cvd):
    gpu = fakes.h100()
    fakes.install(
        monkeypatch,
        [gpu],
        None,
        driver_error=cudadrv.CudaDriverError("cuInit", cudadrv.CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE"),
    )
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", cvd)
    r = cli("info")
    assert r.exit_code == 2
    assert "hides every GPU: NVML sees 1" in r.stderr and "CUDA_VISIBLE_DEVICES=" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_unsupported_nvml_calls_become_unavailable_fields(cli, monkeypatch):
    gpu = fakes.h100()
    gpu.unsupported = {
        "nvmlDeviceGetPowerUsage",
        "nvmlDeviceGetBoardPartNumber",
        "nvmlDeviceGetEccMode",
        "nvmlDeviceGetMemoryBusWidth",
    }
    fakes.install(monkeypatch, [gpu], [gpu])
    r = cli("info", "--json")
    assert r.exit_code == 0
    dev = json.loads(r.stdout)["devices"][0]
    assert dev["state"]["power_draw_w"] is None and dev["state"]["unavailable"]["power_draw_w"] == "Not Supported"
    assert dev["state"]["ecc_enabled"] is None
    assert dev["board_part_number"] is None and dev["unavailable"]["board_part_number"] == "Not Supported"
    # the driver still answers the bus width
    assert dev["memory_bus_width_bits"] == 5120
    assert dev["state"]["temperature_c"] == 31  # the rest is kept
    assert "n/a" in cli("info").stdout


def test_nvml_without_libcuda_uses_nvml_and_catalogue(cli, monkeypatch):
    a, b = fakes.h100(bus="0000:19:00.0"), fakes.rtx3070(bus="0000:3b:00.0")
    fakes.install(monkeypatch, [a, b], None)  # libcuda missing, NVML present ("utility" containers)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    doc = json.loads(cli("info", "--json").stdout)
    (dev,) = doc["devices"]
    assert dev["name"] == b.name and dev["index"] == 0 and dev["sm"] == "sm_86"
    assert dev["sources"]["smem_per_block_optin_bytes"] == "catalogue:cc"
    assert dev["sm_count"] == 46 and dev["sources"]["sm_count"] == "derived"  # 5888 cores / 128 lanes per SM
    assert any("libcuda" in n for n in dev["notes"])


def test_nvml_without_core_count_takes_sm_count_from_the_catalogue_row(cli, monkeypatch):
    gpu = fakes.h100()
    gpu.cuda_cores = None
    fakes.install(monkeypatch, [gpu], None)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    (dev,) = json.loads(cli("info", "--json").stdout)["devices"]
    assert dev["sm_count"] == 132 and dev["sources"]["sm_count"] == "catalogue:gpu"


def test_torch_not_importable(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    from gpudiag.installed import torch_view

    view = torch_view.check()
    assert view.imported is False and "import torch failed" in view.error


def test_torch_missing_from_metadata(cli, fake_h100, monkeypatch):
    from gpudiag.installed import versions

    monkeypatch.setattr(versions, "torch_version", lambda: None)
    monkeypatch.setattr(versions, "torch_cuda_version", lambda: None)
    doc = json.loads(cli("info", "--json").stdout)
    seen = next(v for v in doc["devices"][0]["verdicts"] if v["id"] == "torch_sees_gpu")
    assert seen["answer"] == "no" and "not installed" in seen["why"]
    assert doc["software"]["unavailable"]["torch_version"] == "torch is not installed"
    text = cli("info", env={"COLUMNS": "80"}).stdout
    assert "torch            not installed (only `gpudiag bakeoff` needs it)" in text and "CPU-only" not in text


def test_torch_cuda_newer_than_driver(fake_h100, monkeypatch):
    from gpudiag.device.verdicts import torch_sees_gpu

    devices, sw = device_probe.probe()
    sw.torch_version, sw.torch_cuda_version, sw.cuda_driver_version = "2.11.0+cu130", "13.0", "12.4"
    v = torch_sees_gpu(devices[0], sw)
    assert v.answer == "no" and "driver supports only CUDA 12.4" in v.why


@pytest.mark.parametrize(
    "name,sm,sms", [("gb10", "sm_121", 48), ("RTX 3070", "sm_86", 46), ("3070", "sm_86", 46), ("H100", "sm_90", 132)]
)
def test_catalogue_gpu_needs_no_device(cli, no_gpu, name, sm, sms):
    r = cli("info", "--gpu", name, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    validate(doc)
    (dev,) = doc["devices"]
    assert doc["origin"] == "catalogue" and dev["origin"] == "catalogue"
    assert dev["sm"] == sm and dev["sm_count"] == sms
    assert all(not s.startswith(("nvml", "cuda-driver")) for s in dev["sources"].values())
    human = cli("info", "--gpu", name).stdout
    assert "catalogue data, not measured" in human


def test_catalogue_architecture_only(cli, no_gpu):
    doc = json.loads(cli("info", "--gpu", "sm_89", "--json").stdout)
    dev = doc["devices"][0]
    assert dev["smem_per_block_optin_bytes"] == 101376 and dev["sm_count"] is None


def test_unknown_gpu_lists_closest(cli, no_gpu):
    r = cli("info", "--gpu", "RTX 3071")
    assert r.exit_code == 2 and r.stdout == ""
    assert "unknown GPU 'RTX 3071'" in r.stderr and "3070" in r.stderr


def test_gpu_and_index_conflict(cli, no_gpu):
    r = cli("info", "--gpu", "h100", "--index", "0")
    assert r.exit_code == 2


def test_list_gpus(cli, no_gpu):
    doc = json.loads(cli("info", "--list-gpus", "--json").stdout)
    assert len(doc["gpus"]) >= 40
    assert "RTX 3070" in cli("info", "--list-gpus").stdout


def test_no_traceback_on_unexpected_bug(cli, fake_h100, monkeypatch):
    from gpudiag.info import report as core

    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(core, "live_report", boom)
    r = cli("info")
    assert r.exit_code == 2 and "internal error: RuntimeError: kaboom" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_probe_raises_device_unavailable_not_exit(no_gpu):
    with pytest.raises(DeviceUnavailable):
        device_probe.probe()


def test_mig_instance_keeps_the_drivers_memory_and_sm_count(cli, monkeypatch):
    parent = fakes.h100()
    parent.mig = (1, 1)
    instance = fakes.h100()
    instance.attrs = dict(parent.attrs, sm_count=16)  # a 1g.10gb slice as CUDA shows it
    instance.memory_total = 10 << 30
    fakes.install(monkeypatch, [parent], [instance])
    dev = json.loads(cli("info", "--json").stdout)["devices"][0]
    assert dev["sm_count"] == 16 and dev["memory_total_bytes"] == 10 << 30
    assert dev["sources"]["memory_total_bytes"] == "cuda-driver"
    assert dev["cuda_cores"] == 16 * 128 and dev["sources"]["cuda_cores"] == "derived"
    assert dev["memory_free_bytes"] is None and "MIG" in dev["unavailable"]["memory_free_bytes"]
    assert dev["state"]["mig_enabled"] is True and any("MIG is enabled" in n for n in dev["notes"])


def test_nvml_only_probe_reads_identity_of_the_asked_gpu_only(monkeypatch):
    """explain-warning's probe (nvml_only): no cuInit, no live state, and only the GPU it asked for."""
    gpus = [fakes.h100(), fakes.rtx3070()]
    fakes.install(monkeypatch, gpus, gpus)
    from gpudiag.device import nvml

    mod = nvml.load_pynvml()
    calls: list[str] = []
    for name in [n for n in dir(mod) if n.startswith("nvmlDevice")]:
        fn = getattr(mod, name)
        monkeypatch.setattr(mod, name, lambda *a, _fn=fn, _n=name: (calls.append(_n), _fn(*a))[1])
    monkeypatch.setattr(cudadrv, "open_driver", lambda: pytest.fail("nvml_only must not start the CUDA driver"))
    (facts,), _ = device_probe.probe(1, nvml_only=True)
    assert facts.name == gpus[1].name and facts.sm == "sm_86" and facts.sm_count == 46
    state_reads = {
        "nvmlDeviceGetPowerUsage",
        "nvmlDeviceGetClockInfo",
        "nvmlDeviceGetEccMode",
        "nvmlDeviceGetTemperature",
    }
    assert not state_reads & set(calls), calls
    assert calls.count("nvmlDeviceGetNumGpuCores") == 1  # the GPU asked for, not every GPU
    with pytest.raises(DeviceUnavailable, match="--index 2 is out of range"):
        device_probe.probe(2, nvml_only=True)
