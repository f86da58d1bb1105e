"""The bake-off's knobs and launch floor on a live GPU (marked `gpu`: skipped without one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gpu
ROOT = Path(__file__).resolve().parents[1]


def test_tf32_is_called_for_by_an_fp32_gemm_and_judged_against_fp64(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.get_device_capability() < (8, 0):
        pytest.skip("TF32 needs sm_80 or newer")
    script = tmp_path / "gemm.py"
    script.write_text(
        "import torch\ndef gpudiag_workloads():\n    return torch.nn.Linear(2048, 2048), (torch.randn(512, 2048),)\n"
    )
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "gpudiag",
            "bakeoff",
            str(script),
            "--device",
            "cuda",
            "--quick",
            "--modes",
            "default",
            "--knobs",
            "tf32",
            "--timeout",
            "300",
            "--json",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    rows = {x["label"]: x for x in doc["rows"]}
    # TF32 is tried on the fastest row: eager or default, whichever won on this GPU
    variants = [x for x in doc["rows"] if x["knobs"] == ["tf32"]]
    assert len(variants) == 1, sorted(rows)
    eager, default, tf32 = rows["eager"], rows["default"], variants[0]
    assert tf32["mode"] in ("eager", "default")
    assert eager["census"]["fp32_matmuls"] >= 1 and default["observed"]["tf32_warning"] is True
    assert tf32["status"] == "ok" and tf32["numerics"]["judged_as"] == "float16" and tf32["numerics"]["ok"]
    assert tf32["numerics"]["rel_rmse"] > tf32["numerics"]["eager_rel_rmse"]  # TF32 costs accuracy
    for row in (eager, default, tf32):
        t = row["timing"]
        assert 0 < t["empty_ms"] < t["floor_ms"]  # the launch floor was measured in every child
