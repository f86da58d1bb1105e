"""Where does one-line explain-warning latency go? Each stage is timed in fresh processes.

    python -m bench.explain.latency_breakdown [--repeats 7] [--out FILE.json]

Stages: a bare interpreter; importing the CLI module; NVML init+shutdown; cuInit through ctypes;
the whole command (text and --json); and, once, ``-X importtime`` and a cProfile of the whole
command, whose top entries are kept so the slow imports and calls are named.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINE = "W1123 07:45:26.064000 736 torch/_inductor/utils.py:1250] [0/0] Not enough SMs to use max_autotune_gemm mode"

STAGES = {
    "bare python": [sys.executable, "-c", "pass"],
    "import gpudiag.cli.app": [sys.executable, "-c", "import gpudiag.cli.app"],
    "import rich.console": [sys.executable, "-c", "import rich.console"],
    "import typer": [sys.executable, "-c", "import typer"],
    "nvml init+shutdown": [
        sys.executable,
        "-c",
        "import pynvml as n; n.nvmlInit(); n.nvmlDeviceGetHandleByIndex(0); n.nvmlShutdown()",
    ],
    "cuInit (ctypes)": [sys.executable, "-c", "import ctypes; assert ctypes.CDLL('libcuda.so.1').cuInit(0) == 0"],
    "explain one line": [sys.executable, "-m", "gpudiag", "explain-warning", LINE],
    "explain one line --json": [sys.executable, "-m", "gpudiag", "explain-warning", "--json", LINE],
    "explain one line --gpu h100": [sys.executable, "-m", "gpudiag", "explain-warning", "--gpu", "H100 SXM", LINE],
}


# Bytecode in a private cache, as an installed package has it (see explain_speed.latency).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="gpudiag-pyc-")


def wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=ENV)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    result: dict = {"stages_median_s": {}}
    for name, cmd in STAGES.items():
        wall(cmd)
        result["stages_median_s"][name] = round(statistics.median(wall(cmd) for _ in range(a.repeats)), 4)
        print(f"{name:32s} {result['stages_median_s'][name]:.3f} s", flush=True)
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gpudiag", "explain-warning", LINE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
    )
    top = []
    for line in r.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2].startswith("  "):
            top.append((int(parts[1]), parts[2].strip()))
    result["top_level_imports_us"] = sorted(top, reverse=True)[:20]
    with tempfile.NamedTemporaryFile(suffix=".prof") as prof:
        subprocess.run(
            [sys.executable, "-m", "cProfile", "-o", prof.name, "-m", "gpudiag", "explain-warning", LINE],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
            env=ENV,
        )
        import io
        import pstats

        buf = io.StringIO()
        pstats.Stats(prof.name, stream=buf).sort_stats("cumulative").print_stats(40)
        result["cprofile_top"] = buf.getvalue().splitlines()[-50:]
    print("\n".join(f"{us:9d} us {name}" for us, name in result["top_level_imports_us"]))
    print("\n".join(result["cprofile_top"]))
    if a.out:
        Path(a.out).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
