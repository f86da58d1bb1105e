"""Wall time of `gpudiag info` against `nvidia-smi -q` and `python -m torch.utils.collect_env`.

Each command runs as a fresh process, first once (the cold run: nothing of it cached in this
process tree yet), then REPEAT more times; the table gives the cold time, the median and the
ratio of each median to gpudiag's. Usage:

    python3 -m bench.info.speed [--repeat 7] [--markdown OUT.md]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def commands() -> dict[str, list[str]]:
    return {
        "gpudiag info": [sys.executable, "-m", "gpudiag", "info"],
        "gpudiag info --json": [sys.executable, "-m", "gpudiag", "info", "--json"],
        "nvidia-smi -q": ["nvidia-smi", "-q"],
        "python -m torch.utils.collect_env": [sys.executable, "-m", "torch.utils.collect_env"],
    }


def time_once(cmd: list[str]) -> tuple[float, int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "160"}
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0, r.returncode


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def gpu_name() -> str:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
        return out.splitlines()[0] if out else "no GPU"
    except (OSError, subprocess.SubprocessError):
        return "no GPU"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--markdown", type=Path)
    args = ap.parse_args()

    results = {}
    for label, cmd in commands().items():
        cold, rc = time_once(cmd)
        warm = [time_once(cmd)[0] for _ in range(args.repeat)]
        results[label] = (cold, statistics.median(warm), min(warm), max(warm), rc)

    base = results["gpudiag info"][1]
    header = (
        f"{datetime.date.today().isoformat()} · {gpu_name()} · {platform.node()} · "
        f"Python {platform.python_version()} · torch {version('torch')} · triton {version('triton')} · "
        f"nvidia-ml-py {version('nvidia-ml-py')} · {args.repeat} runs after one cold run"
    )
    lines = [
        header,
        "",
        "| command | cold s | median s | min s | max s | median / gpudiag info | exit |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, (cold, med, lo, hi, rc) in results.items():
        lines.append(f"| `{label}` | {cold:.3f} | {med:.3f} | {lo:.3f} | {hi:.3f} | {med / base:.1f}x | {rc} |")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")


if __name__ == "__main__":
    main()
