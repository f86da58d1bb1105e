"""A hand-written timing of a KernelBench script's compiled model, mode by mode, in one process.

The reference for check (a) of bench/bakeoff/checks.py: no gpudiag code is used to build, compile
or time the model. With --cache-root, each mode compiles against the cache folder that the
bake-off kept for it, so this times the very kernels the bake-off timed (not a fresh autotune).

    python -m bench.bakeoff.handwritten_do_bench SCRIPT --modes eager,default --device cuda [--cache-root DIR]
"""

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("script")
ap.add_argument("--modes", default="eager,default,reduce-overhead,max-autotune,max-autotune-no-cudagraphs")
ap.add_argument("--device", default="cuda")
ap.add_argument("--cache-root", default=None)
ap.add_argument("--workload", default=None, help="the workload's name in the bake-off (for the cache folder)")
ap.add_argument("--warmup", type=float, default=100.0)
ap.add_argument("--rep", type=float, default=1000.0)
a = ap.parse_args()

import torch  # noqa: E402

spec = importlib.util.spec_from_file_location("user_script", a.script)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
torch.manual_seed(0)
init = mod.get_init_inputs()
torch.manual_seed(0)
model = mod.Model(*init).to(a.device).eval()
torch.manual_seed(0)
inputs = [x.to(a.device) if isinstance(x, torch.Tensor) else x for x in mod.get_inputs()]
torch.set_grad_enabled(False)
name = a.workload or os.path.splitext(os.path.basename(a.script))[0]
out = {}
for mode in a.modes.split(","):
    if a.cache_root:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(a.cache_root, f"{name}-{mode}", "inductor")
        os.environ["TRITON_CACHE_DIR"] = os.path.join(a.cache_root, f"{name}-{mode}", "triton")
    torch._dynamo.reset()
    fn = model if mode == "eager" else torch.compile(model, mode=None if mode == "default" else mode)
    t0 = time.perf_counter()
    for _ in range(3):
        fn(*inputs)
    if a.device == "cuda":
        torch.cuda.synchronize()
        from triton.testing import do_bench

        median = do_bench(lambda fn=fn: fn(*inputs), warmup=a.warmup, rep=a.rep, return_mode="median")
    else:
        end = time.perf_counter() + a.warmup / 1e3
        while time.perf_counter() < end:
            fn(*inputs)
        ts, end = [], time.perf_counter() + a.rep / 1e3
        while time.perf_counter() < end or len(ts) < 5:
            s = time.perf_counter()
            fn(*inputs)
            ts.append((time.perf_counter() - s) * 1e3)
        median = statistics.median(ts)
    out[mode] = {"median_ms": float(median), "first_calls_s": time.perf_counter() - t0}
    print(f"{mode}: {median:.5f} ms", file=sys.stderr)
json.dump(out, sys.stdout)
