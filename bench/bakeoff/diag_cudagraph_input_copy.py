"""Is the input copy what makes CUDA-graph modes slower on GPU-bound workloads?

cudagraph_trees copies every input that is not static (a parameter, a buffer, an earlier graph's
output) into the graph's own buffers before each replay; the bake-off's recommendation names that copy
when a CUDA-graph mode loses on a GPU-bound workload. This checks the claim, and whether
torch._dynamo.mark_static_address() on the input avoids the copy, on
bench/workloads/softmax_vocab.py's prefill shape (bf16 logits [2048, 32000], 125 MiB): do_bench
medians of default, reduce-overhead, and reduce-overhead with the input marked static, each in its
own process, plus the device time of copying the input once and the kernels each call runs (torch
profiler over 10 calls).

    python -m bench.bakeoff.diag_cudagraph_input_copy --out FILE.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

VARIANTS = ("default", "reduce-overhead", "reduce-overhead+static")


def child(variant: str, rows: int, vocab: int) -> dict:
    import torch
    from triton.testing import do_bench

    torch.manual_seed(0)
    x = torch.randn(rows, vocab, device="cuda", dtype=torch.bfloat16)

    def fn(logits):  # bench/workloads/softmax_vocab.py's Model.forward
        return torch.softmax(logits.float(), dim=-1)

    if variant.endswith("+static"):
        torch._dynamo.mark_static_address(x)
    compiled = torch.compile(fn, mode=variant.split("+")[0] if variant != "default" else None)
    with torch.no_grad():
        for _ in range(5):
            compiled(x)
        torch.cuda.synchronize()
        median = float(do_bench(lambda: compiled(x), warmup=100, rep=1000, return_mode="median"))
        dst = torch.empty_like(x)
        copy = float(do_bench(lambda: dst.copy_(x), warmup=100, rep=500, return_mode="median"))
        try:
            kernels = _kernels_per_call(torch, lambda: compiled(x), calls=10)
        except Exception as exc:
            kernels = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return {
        "variant": variant,
        "median_ms": median,
        "input_copy_ms": copy,
        "input_bytes": x.numel() * x.element_size(),
        "kernels_per_call": kernels,
    }


def _kernels_per_call(torch, call, calls: int) -> dict:
    """Which GPU kernels one call runs (a CUDA-graph replay's kernels show up individually)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(calls):
            call()
        torch.cuda.synchronize()
    out: dict = {}
    for e in prof.events():
        if getattr(e, "device_type", None) == torch.autograd.DeviceType.CUDA:
            k = out.setdefault(e.name[:120], {"count": 0, "us": 0.0})
            k["count"] += 1
            k["us"] += e.time_range.elapsed_us()
    return {
        name: {"per_call": v["count"] / calls, "us_per_call": round(v["us"] / calls, 2)}
        for name, v in sorted(out.items(), key=lambda kv: -kv[1]["us"])
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=2048)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.rows, a.vocab)))
        return 0
    import torch

    out = {"torch": torch.__version__, "date": time.strftime("%Y-%m-%d"), "rows": []}
    for v in VARIANTS:
        r = subprocess.run(
            [sys.executable, __file__, "--out", "-", "--child", v, "--rows", str(a.rows), "--vocab", str(a.vocab)],
            capture_output=True,
            text=True,
            timeout=180,
        )
        try:
            row = json.loads(r.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            row = {"variant": v, "error": r.stderr[-1500:]}
        out["rows"].append(row)
        print(json.dumps(row), flush=True)
        with open(a.out, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
