"""Speed of check-tiles --from-config-table on the estimate path: a folder of 400 fused-MoE tables
(18 entries each, written here at random in vLLM's format) against 5 targets, in process (reading,
checking, the JSON document) and end to end (a fresh `python -m gpudiag` process, text and --json).

    python3 -m bench.tiles.table_speed [--tables 400] [--repeat 3] [--out F.json]

The target set: --arch sm_80,sm_86,sm_89,sm_90,sm_120. Goal (issue 19): under 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARCHS = "sm_80,sm_86,sm_89,sm_90,sm_120"
BATCH = (1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024, 1536, 2048, 3072, 4096)
DTYPES = ("", "", ",dtype=fp8_w8a8", ",dtype=int8_w8a16", ",dtype=fp8_w8a8,block_shape=[128,128]")
DEVICES = ("NVIDIA_H100_80GB_HBM3", "NVIDIA_A100-SXM4-80GB", "NVIDIA_H200", "NVIDIA_L40S", "NVIDIA_GeForce_RTX_4090")


def make_tables(folder: Path, n: int, seed: int = 19) -> None:
    rnd = random.Random(seed)
    for i in range(n):
        name = f"E={rnd.choice((8, 16, 64, 128, 256))},N={128 * (i + 1)},device_name={rnd.choice(DEVICES)}{rnd.choice(DTYPES)}.json"
        table = {}
        for m in BATCH:
            table[str(m)] = {
                "BLOCK_SIZE_M": rnd.choice((16, 32, 64, 128)),
                "BLOCK_SIZE_N": rnd.choice((32, 64, 128, 256)),
                "BLOCK_SIZE_K": rnd.choice((64, 128, 256)),
                "GROUP_SIZE_M": rnd.choice((1, 16, 32, 64)),
                "num_warps": rnd.choice((4, 8)),
                "num_stages": rnd.choice((2, 3, 4, 5)),
            }
        (folder / name).write_text(json.dumps(table, indent=4))


def in_process(folder: Path) -> dict:
    c0 = time.process_time()
    t0 = time.perf_counter()
    from gpudiag.cli.check_tiles_table import resolve_targets
    from gpudiag.tiles import config_table, table_check

    t1 = time.perf_counter()
    tables = config_table.read_path(str(folder))
    t2 = time.perf_counter()
    targets = resolve_targets(ARCHS, None, None)
    report = table_check.check_tables(str(folder), tables, targets)
    t3 = time.perf_counter()
    c3 = time.process_time()
    doc = "".join(report.json_chunks())
    t4 = time.perf_counter()
    entries = sum(len(r.entries) for c in report.tables for r in c.results)
    return {
        "import_s": round(t1 - t0, 3),
        "read_s": round(t2 - t1, 3),
        "check_s": round(t3 - t2, 3),
        "json_s": round(t4 - t3, 3),
        "cpu_s_import_read_check": round(c3 - c0, 3),
        "entry_checks": entries,
        "json_bytes": len(doc),
    }


def end_to_end(folder: Path, extra: list[str], repeat: int) -> dict:
    """Wall and CPU seconds (user + system of the child) of each fresh process: on a machine shared with
    other work the wall time is the CPU time plus the wait for a core."""
    import resource

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "COLUMNS": "100"}
    times, cpu = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run(
            [
                sys.executable,
                "-m",
                "gpudiag",
                "check-tiles",
                "--from-config-table",
                str(folder),
                "--arch",
                ARCHS,
                *extra,
            ],
            capture_output=True,
            env=env,
        )
        times.append(round(time.perf_counter() - t0, 3))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 3))
        assert p.returncode in (0, 1), p.stderr.decode()[-2000:]
    return {"wall_s": times, "cpu_s": cpu, "best_wall_s": min(times), "best_cpu_s": min(cpu)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gpudiag-table-speed-") as d:
        folder = Path(d)
        make_tables(folder, args.tables)
        doc = {
            "meta": {
                "tables": args.tables,
                "entries_per_table": len(BATCH),
                "targets": ARCHS,
                "machine": platform.node(),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_avg": os.getloadavg(),
                "script": "bench/tiles/table_speed.py",
            },
            "in_process": in_process(folder),
            "end_to_end_text": end_to_end(folder, [], args.repeat),
            "end_to_end_text_all": end_to_end(folder, ["--all"], args.repeat),
            "end_to_end_json": end_to_end(folder, ["--json"], args.repeat),
            "load_avg_after": os.getloadavg(),
        }
    text = json.dumps(doc, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
