"""`info --torch` imports torch; whatever that import prints or warns (a torch built for NumPy 1.x
under NumPy 2.x: NumPy's notice and "Failed to initialize NumPy") is named once in the report and
never leaks to gpudiag's stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FAKE_TORCH = """
import sys, warnings
print("A module that was compiled using NumPy 1.x cannot be run in NumPy 2.0.0 as it may crash.", file=sys.stderr)
warnings.warn("Failed to initialize NumPy: _ARRAY_API not found (Triggered internally at tensor_numpy.cpp:84.)")
__version__ = "2.99.0"
def get_float32_matmul_precision():
    return "highest"
class cuda:
    @staticmethod
    def is_available():
        return False
"""


def test_numpy_warning_named_in_the_report_not_on_stderr(tmp_path):
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text(FAKE_TORCH)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]), "CUDA_VISIBLE_DEVICES": ""}
    for args in (["--json"], []):
        r = subprocess.run(
            [sys.executable, "-m", "gpudiag", "info", "--torch", *args], env=env, capture_output=True, text=True
        )
        assert "NumPy" not in r.stderr, r.stderr
        if args:
            tv = json.loads(r.stdout)["torch_check"]
            assert tv["version"] == "2.99.0"
            assert tv["import_warnings"] == [
                "Failed to initialize NumPy: _ARRAY_API not found (Triggered internally at tensor_numpy.cpp:84.)"
            ]
        else:
            assert "importing torch said: Failed to initialize NumPy" in " ".join(r.stdout.split())
