"""`explain-warning --log` throughput and peak RSS beyond bench/explain_speed.py's log: the logs where the
scanner's shortcuts help least.

    python3 -m bench.explain.scan_cases --size-mb 256 [--tree PATH]

Each case is generated (deterministically) and scanned in a child process pinned to one core; the
result gives wall and CPU MB/s (CPU time is steadier on a busy machine) and the child's peak RSS. With
--tree, the scanner of another checkout is measured instead (a before/after on the same logs).

* ``training``: explain_speed.py's synthesized training log (2% warnings, tracebacks, ranks, ANSI);
* ``ci``: the same log behind GitHub Actions timestamps, every line;
* ``torchrun8``: eight ranks interleaved line by line, every line behind ``[defaultN]:[rankN]:``, with
  multi-line recompile records, graph breaks and tracebacks per rank;
* ``unique``: every line distinct even without its digits (random words and hex ids), a third of them
  naming torch: the worst case for deciding each distinct line once.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.explain import speed as explain_speed  # the training log's generator

ROOT = Path(__file__).resolve().parents[2]

# no error word and no compile-stack name among them: two thirds of the "unique" lines are skipped
WORDS = ["alpha", "beta", "gamma", "delta", "shape", "batch", "loader", "epoch", "token", "cache", "model", "layer"]


def _write(path: Path, size: int, line_fn) -> None:
    rnd = random.Random(0)
    written = 0
    with path.open("w", encoding="utf-8") as fh:
        while written < size:
            block = "".join(line_fn(rnd) + "\n" for _ in range(2000))
            fh.write(block)
            written += len(block.encode())


def gen_ci(path: Path, size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "t.log"
        explain_speed.generate(src, size)
        with src.open(encoding="utf-8") as fh, path.open("w", encoding="utf-8") as out:
            for i, line in enumerate(fh):
                out.write(f"2024-05-31T23:{i // 600000 % 60:02d}:{i // 10000 % 60:02d}.{i % 10000000:07d}Z {line}")


def gen_torchrun8(path: Path, size: int) -> None:
    rnd = random.Random(0)
    written, n = 0, 0
    with path.open("w", encoding="utf-8") as fh:
        while written < size:
            lines: list[list[str]] = [[] for _ in range(8)]
            for r in range(8):
                pre = f"[default{r}]:[rank{r}]:"
                pid = 1000 + r
                for _ in range(250):
                    n += 1
                    x = rnd.random()
                    t = f"{n // 1000 % 60:02d}:{n % 60:02d}.{n % 1000000:06d}"
                    if x < 0.01:
                        h = f"{pre}V0531 23:{t} {pid} torch/_dynamo/guards.py:2594] [0/{n % 8}] [__recompiles]"
                        lines[r] += [
                            f"{h} Recompiling function forward in /x/model.py:10",
                            f"{h}     triggered by the following guard failure(s):",
                            f"{h}     - 0/{n % 7}: tensor 'L['x']' size mismatch at index 0. expected {n % 9}, actual {n % 9 + 1}",
                        ]
                    elif x < 0.015:
                        h = f"{pre}V0531 23:{t} {pid} torch/_dynamo/symbolic_convert.py:5124] [1/0] [__graph_breaks]"
                        lines[r] += [
                            f"{h} Graph break in user code at /x/model.py:{20 + r % 2}",
                            f"{h} Graph Break Reason: Failed to trace builtin operator",
                        ]
                    elif x < 0.02:
                        lines[r].append(
                            f"{pre}W0531 23:{t} {pid} torch/_inductor/utils.py:1250] [0/0] Not enough SMs to use max_autotune_gemm mode"
                        )
                    elif x < 0.022:
                        lines[r] += [
                            f"{pre}Traceback (most recent call last):",
                            f'{pre}  File "train.py", line {n % 300}, in <module>',
                            f"{pre}    out = model(x)",
                            f"{pre}RuntimeError: CUDA error: an illegal memory access was encountered",
                        ]
                    elif x < 0.4:
                        lines[r].append(
                            f"{pre}I0531 23:{t} {pid} torch/fx/experimental/symbolic_shapes.py:4058] [0/{n % 4}] create_env"
                        )
                    else:
                        lines[r].append(
                            f"{pre}step {n} loss {rnd.random():.4f} lr 3.0e-04 tokens/s {rnd.randrange(1000, 90000)}"
                        )
            # interleave the ranks' lines one by one, as a launcher tailing eight files does
            out = [ln for group in zip(*(iter(lst) for lst in lines)) for ln in group]
            block = "\n".join(out) + "\n"
            fh.write(block)
            written += len(block.encode())


def gen_unique(path: Path, size: int) -> None:
    def line(rnd: random.Random) -> str:
        words = " ".join(rnd.choice(WORDS) + "".join(rnd.choice("abcdefghij") for _ in range(6)) for _ in range(8))
        if rnd.random() < 0.33:
            return f"I0531 23:12:43.000000 1 torch/_inductor/x.py:1] {words} 0x{rnd.getrandbits(48):x}"
        return f"{words} id=0x{rnd.getrandbits(48):x}"

    _write(path, size, line)


CASES = {
    "training": lambda p, n: explain_speed.generate(p, n),
    "ci": gen_ci,
    "torchrun8": gen_torchrun8,
    "unique": gen_unique,
}


def child(tree: str, path: str) -> None:
    # gpudiag comes from the tree measured: the parent puts it first on PYTHONPATH
    from gpudiag.explain.catalog import families, load
    from gpudiag.explain.matcher import Matcher
    from gpudiag.explain.scan import scan_stream

    m = Matcher(load(), families())
    _ = m.registry  # loaded before timing, as the CLI has it loaded for the first match
    w0, c0 = time.perf_counter(), time.process_time()
    with open(path, "rb") as fh:
        r = scan_stream(m, fh)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    size = os.path.getsize(path)
    out = {
        "wall_mb_per_s": size / 1e6 / wall,
        "cpu_mb_per_s": size / 1e6 / cpu,
        "lines": r.lines,
        "known": len(r.known),
    }
    out["max_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for name in ("explained_lines", "unknown_lines", "record_lines"):
        if hasattr(r, name):
            out[name] = getattr(r, name)
    if hasattr(r, "stories"):
        out["stories"] = len(r.stories)
    print(json.dumps(out))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=256)
    ap.add_argument("--tree", default=str(ROOT), help="the checkout whose scanner is measured")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--keep", type=Path, help="a folder to write the generated logs to (reused when present)")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name in args.cases.split(","):
            path = folder / f"{name}_{args.size_mb}mb.log"
            if not path.exists():
                CASES[name](path, args.size_mb << 20)
            cmd = [sys.executable, __file__, "--child", args.tree, str(path)]
            if os.path.exists("/usr/bin/taskset"):
                cmd = ["taskset", "-c", "0", *cmd]
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([args.tree, str(ROOT)])}
            run = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
            results[name] = json.loads(run.stdout)
    print(json.dumps({"tree": args.tree, "size_mb": args.size_mb, "cases": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
