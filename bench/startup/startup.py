"""Start-up time of every gpudiag command, as ratios to what it cannot do without, in one run.

Each command runs as a fresh process, seven times, interleaved (round 1 runs every command once,
then round 2, ...), so a slow minute on the machine touches all of them alike; the figure is the
median. Bytecode goes to a private cache filled by one untimed run of each command first, as an
installed package has it compiled at install time.

Targets (issue 20):
- `gpudiag --help` and every `SUBCOMMAND --help`: at most 1.3x `python3 -c "import typer, rich.console"`;
- `gpudiag info` on a GPU: at most 1.2x the minimal probe (bench/startup/probe_minimal.py);
- `info --gpu H200` and one `explain-warning` line: under 0.3 s on the GPU host;
- live `check-tiles 128x256x64:3@8`: under 0.5 s on the GPU host.
Without a GPU, `info`, the probe and live `check-tiles` exit 2 after finding none; their times are
recorded but their targets are not judged.

    python3 -m bench.startup.startup [--repeat 7] [--out F.json] [--root OTHER_CHECKOUT]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINE = "W1123 07:45:26.064000 736 torch/_inductor/utils.py:1250] [0/0] Not enough SMs to use max_autotune_gemm mode"
GPUDIAG = [sys.executable, "-m", "gpudiag"]
SUBCOMMANDS = ("info", "explain-warning", "check-tiles", "bakeoff")

# name -> (argv, reference name or None, ratio target or None, absolute target in s or None, needs a GPU)
COMMANDS: dict[str, tuple[list[str], str | None, float | None, float | None, bool]] = {
    "python -c pass": ([sys.executable, "-c", "pass"], None, None, None, False),
    "import typer, rich.console": ([sys.executable, "-c", "import typer, rich.console"], None, None, None, False),
    "probe_minimal": ([sys.executable, str(Path(__file__).with_name("probe_minimal.py"))], None, None, None, True),
    "gpudiag --help": ([*GPUDIAG, "--help"], "import typer, rich.console", 1.3, None, False),
    **{
        f"{sub} --help": ([*GPUDIAG, sub, "--help"], "import typer, rich.console", 1.3, None, False)
        for sub in SUBCOMMANDS
    },
    "info": ([*GPUDIAG, "info"], "probe_minimal", 1.2, None, True),
    "info, driver started in order": (
        ["env", "GPUDIAG_NO_PREFETCH=1", *GPUDIAG, "info"],
        "probe_minimal",
        None,
        None,
        True,
    ),
    "info --gpu H200": ([*GPUDIAG, "info", "--gpu", "H200"], None, None, 0.3, False),
    "explain-warning LINE": ([*GPUDIAG, "explain-warning", LINE], None, None, 0.3, False),
    "check-tiles 128x256x64:3@8": ([*GPUDIAG, "check-tiles", "128x256x64:3@8"], None, None, 0.5, True),
}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=tempfile.mkdtemp(prefix="gpudiag-pyc-"), COLUMNS="80")
    return env


def _run(argv: list[str], env: dict[str, str], root: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    rc = subprocess.run(argv, env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    return time.perf_counter() - t0, rc


def _dist(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def measure(repeat: int, root: Path = ROOT) -> dict:
    env = _env()
    rcs = {name: _run(argv, env, root)[1] for name, (argv, *_rest) in COMMANDS.items()}  # fills the bytecode cache
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(repeat):
        for name, (argv, *_rest) in COMMANDS.items():
            times[name].append(_run(argv, env, root)[0])
    median = {name: statistics.median(ts) for name, ts in times.items()}
    gpu = rcs["probe_minimal"] == 0
    rows = []
    for name, (argv, ref, ratio_target, abs_target, needs_gpu) in COMMANDS.items():
        row: dict = {
            "command": name,
            "argv": argv[1:],
            "rc": rcs[name],
            "median_s": round(median[name], 4),
            "min_s": round(min(times[name]), 4),
            "max_s": round(max(times[name]), 4),
        }
        judged = gpu or not needs_gpu
        if ref is not None:
            row["reference"] = ref
            row["ratio"] = round(median[name] / median[ref], 3)
            row["target_ratio"] = ratio_target
            row["meets_target"] = row["ratio"] <= ratio_target if judged and ratio_target else None
        if abs_target is not None:
            row["target_s"] = abs_target
            row["meets_target"] = median[name] < abs_target if judged else None
        rows.append(row)
    return {
        "meta": {
            "date": datetime.date.today().isoformat(),
            "host": platform.node(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "gpu": gpu,
            "typer": _dist("typer"),
            "rich": _dist("rich"),
            "torch": _dist("torch"),
            "triton": _dist("triton"),
            "nvidia-ml-py": _dist("nvidia-ml-py"),
            "repeat": repeat,
            "root": str(root),
            "script": "bench/startup/startup.py",
        },
        "rows": rows,
    }


def render(doc: dict) -> str:
    lines = [f"{'command':30} {'median':>8} {'ratio':>7}  {'target':14} rc"]
    for r in doc["rows"]:
        ratio = f"{r['ratio']:.2f}x" if "ratio" in r else ""
        if r.get("target_ratio") is not None:
            target = f"<= {r['target_ratio']}x"
        elif "target_s" in r:
            target = f"< {r['target_s']} s"
        else:
            target = ""
        verdict = {True: " ok", False: " MISSED", None: ""}[r.get("meets_target")] if target else ""
        lines.append(f"{r['command']:30} {r['median_s'] * 1000:6.0f}ms {ratio:>7}  {target + verdict:14} {r['rc']}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--out", type=Path, help="write the JSON here as well")
    ap.add_argument(
        "--root", type=Path, default=ROOT, help="the checkout whose gpudiag is timed (an earlier one: before)"
    )
    a = ap.parse_args()
    doc = measure(a.repeat, a.root.resolve())
    print(render(doc))
    if a.out:
        a.out.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
