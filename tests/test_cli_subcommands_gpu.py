"""explain-warning, check-tiles and bakeoff against the live GPU (marked `gpu`: skipped without one).

Each runs gpudiag as a subprocess, as a user would, and checks that the live device model is what
the subcommand reasons with.
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


def gpudiag(*args, timeout=600, **env_extra):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "160", **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "gpudiag", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


@pytest.fixture(scope="module")
def live_device():
    r = gpudiag("info", "--index", "0", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    return doc["devices"][0], doc["inductor_sm_gate"]["cuda_min_sms"]


def test_check_tiles_compares_with_the_live_opt_in_limit(live_device):
    dev, _ = live_device
    r = gpudiag("check-tiles", "64x64x32:2@4", "--dtype", "fp16", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["target"]["origin"] == "live"
    assert doc["target"]["limit_bytes"] == dev["smem_per_block_optin_bytes"]
    assert doc["verdicts"][0]["fits"] is True


def test_check_tiles_from_inductor_on_the_live_gpu(live_device):
    dev, _ = live_device
    r = gpudiag("check-tiles", "--from-inductor", "--json")
    assert r.returncode in (0, 1), r.stderr
    doc = json.loads(r.stdout)
    assert doc["verdicts"], "inductor offered no candidates"
    for v in doc["verdicts"]:
        assert v["fits"] == (v["needed_bytes"] <= dev["smem_per_block_optin_bytes"])
    assert r.returncode == (0 if all(v["fits"] for v in doc["verdicts"]) else 1)


def test_explain_sm_gate_uses_the_live_sm_count(live_device):
    dev, threshold = live_device
    line = "W1123 07:45:26.064000 736 torch/_inductor/utils.py:1250] [0/0] Not enough SMs to use max_autotune_gemm mode"
    r = gpudiag("explain-warning", line, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["id"] == "inductor.not-enough-sms" and doc["device"]["origin"] == "live"
    assert doc["device"]["sm_count"] == dev["sm_count"]
    assert doc["verdict"]["applies"] == ("no" if dev["sm_count"] >= threshold else "yes")


def test_bakeoff_on_cuda_quick(tmp_path):
    script = tmp_path / "mlp.py"
    script.write_text(
        "import torch\n"
        "def gpudiag_workloads():\n"
        "    m = torch.nn.Sequential(torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256))\n"
        "    return m, (torch.randn(64, 256),)\n"
    )
    r = gpudiag(
        "bakeoff", str(script), "--device", "cuda", "--quick", "--modes", "eager,default", "--timeout", "300", "--json"
    )
    assert r.returncode == 0, r.stderr
    rows = {x["label"]: x for x in json.loads(r.stdout)["rows"]}  # knob rows share their mode: "default +tf32"
    for mode in ("eager", "default"):
        assert rows[mode]["status"] == "ok", rows[mode]
        assert rows[mode]["timing"]["median_ms"] > 0
    assert rows["default"]["correctness"]["ok"]


# What may change between two reads a second apart; everything else a GPU reports must be equal.
VOLATILE = {"state", "memory_free_bytes", "memory_used_bytes"}


def test_info_with_the_prefetch_threads_reports_what_the_ordered_probe_does():
    """The NVML session and reads made in gpudiag.device.prefetch's threads, borrowed by the probe,
    give the same report as NVML and the driver opened one after the other."""
    fast = gpudiag("info", "--json")
    ordered = gpudiag("info", "--json", GPUDIAG_NO_PREFETCH="1")
    assert fast.returncode == ordered.returncode == 0, fast.stderr + ordered.stderr
    a, b = json.loads(fast.stdout)["devices"], json.loads(ordered.stdout)["devices"]
    assert len(a) == len(b) > 0
    for x, y in zip(a, b):
        assert x["state"] is not None and x["state"]["sm_clock_max_mhz"] == y["state"]["sm_clock_max_mhz"]
        assert {k: v for k, v in x.items() if k not in VOLATILE} == {k: v for k, v in y.items() if k not in VOLATILE}
