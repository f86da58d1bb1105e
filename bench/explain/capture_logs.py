"""Capture real torch.compile logs: small workloads that trigger the warnings people meet.

Each scenario runs in its own child process (so per-process caches such as "warn once" and the
recompile counters start fresh) under ``TORCH_LOGS=perf_hints,recompiles,graph_breaks,cudagraphs``
and friends, for each torch.compile mode it makes sense in. Everything the child writes (stdout and
stderr, including tracebacks) is saved as ``<outdir>/<scenario>__<mode>.log``; afterwards, if
``--explain`` is given, ``gpudiag explain-warning --log --json`` is run on every log and its answer
saved beside it as ``.explain.json``.

    python -m bench.explain.capture_logs --out /tmp/logs [--device cuda|cpu] [--explain] [--only NAME,...]

Works on CPU (many of these warnings fire there too) and on CUDA, where the cudagraph, TF32 and
max-autotune scenarios add theirs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

TORCH_LOGS = (
    "perf_hints,recompiles,recompiles_verbose,graph_breaks,cudagraphs,dynamic,+torch._inductor.select_algorithm"
)
MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


# ---------------------------------------------------------------- child workloads (run in the child)


def _graph_breaks(torch, device, mode):
    def f(x):
        y = x.sin()
        print("graph break via print")
        s = y.sum().item()  # graph break unless capture_scalar_outputs
        return y * s

    g = torch.compile(f, mode=mode)
    g(torch.randn(64, device=device))


def _recompiles(torch, device, mode):
    torch._dynamo.config.recompile_limit = 2

    def f(x):
        return (x * 2).relu()

    g = torch.compile(f, mode=mode, dynamic=False)
    for n in range(3, 9):
        g(torch.randn(n, device=device))


def _automatic_dynamic(torch, device, mode):
    def f(x):
        return x.cos() + 1

    g = torch.compile(f, mode=mode)  # dynamic=None: second shape recompiles as dynamic
    for n in (4, 5, 6):
        g(torch.randn(n, 8, device=device))


def _mutated_inputs(torch, device, mode):
    def f(x):
        x.add_(1)
        return x * 2

    g = torch.compile(f, mode=mode)
    x = torch.randn(128, device=device)
    for _ in range(3):
        g(x)


def _cpu_tensor_in_graph(torch, device, mode):
    cpu_scale = torch.ones(16)

    def f(x, s):
        return x * 2, (s + 1).sum()

    g = torch.compile(f, mode=mode)
    for _ in range(3):
        g(torch.randn(16, device=device), cpu_scale)


def _fp32_matmul(torch, device, mode):
    a = torch.randn(512, 512, device=device)
    b = torch.randn(512, 512, device=device)
    g = torch.compile(lambda a, b: (a @ b).relu(), mode=mode)
    g(a, b)


def _fp16_big_mm(torch, device, mode):
    dt = torch.float16 if device == "cuda" else torch.float32
    a = torch.randn(2048, 4096, device=device, dtype=dt)
    b = torch.randn(4096, 2048, device=device, dtype=dt)
    g = torch.compile(lambda a, b: torch.nn.functional.gelu(a @ b), mode=mode)
    g(a, b)


def _big_softmax(torch, device, mode):
    x = torch.randn(4, 1048589, device=device)
    g = torch.compile(lambda x: torch.softmax(x, dim=-1), mode=mode)
    g(x)


def _fallback_ops(torch, device, mode):
    def f(x):
        return torch.histc(x, bins=10), torch.cdist(x.view(8, -1), x.view(8, -1))

    g = torch.compile(f, mode=mode)
    g(torch.randn(64, device=device))


def _complex(torch, device, mode):
    def f(x):
        return (x * x.conj()).real

    g = torch.compile(f, mode=mode)
    g(torch.randn(32, dtype=torch.complex64, device=device))


def _dynamic_violation(torch, device, mode):
    def f(x):
        if x.shape[0] == 8:
            return x + 1
        return x - 1

    x = torch.randn(8, 4, device=device)
    torch._dynamo.mark_dynamic(x, 0)
    torch.compile(f, mode=mode)(x)


def _data_dependent(torch, device, mode):
    def f(x):
        idx = x.nonzero()
        return idx.float().sum()

    torch.compile(f, mode=mode)(torch.randn(32, device=device))


# ------------------------------------------------ one scenario per class of guard failure (recompiles)


def _guard_size(torch, device, mode):
    g = torch.compile(lambda x: x.relu() * 2, mode=mode, dynamic=False)
    for n in (8, 9, 10, 11):
        g(torch.randn(4, n, device=device))


def _guard_module_int(torch, device, mode):
    class Scale(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.k = 3

        def forward(self, x):
            return x * self.k

    m = Scale()
    g = torch.compile(m, mode=mode)
    for k in (3, 4, 5, 6):
        m.k = k
        g(torch.randn(16, device=device))


def _guard_float_arg(torch, device, mode):
    g = torch.compile(lambda x, scale: x * scale, mode=mode)
    for scale in (0.5, 0.25, 0.125, 2.0):
        g(torch.randn(16, device=device), scale)


def _guard_object_id(torch, device, mode):
    def f(x, act):
        return act(x) + 1

    g = torch.compile(f, mode=mode)
    for act in (torch.nn.ReLU(), torch.nn.GELU(), torch.nn.SiLU(), torch.nn.Tanh()):
        g(torch.randn(16, device=device), act)


def _guard_type(torch, device, mode):
    def f(xs):
        return xs[0] + xs[1]

    g = torch.compile(f, mode=mode)
    a, b = torch.randn(8, device=device), torch.randn(8, device=device)
    g([a, b])
    g((a, b))


def _guard_dtype(torch, device, mode):
    g = torch.compile(lambda x: x.sin() + 1, mode=mode)
    for dt in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
        g(torch.randn(16, device=device).to(dt))


def _guard_requires_grad(torch, device, mode):
    g = torch.compile(lambda x: (x * 2).sum(), mode=mode)
    g(torch.randn(16, device=device))
    g(torch.randn(16, device=device, requires_grad=True))


def _guard_device(torch, device, mode):
    g = torch.compile(lambda x: x.cos() * 3, mode=mode)
    g(torch.randn(16))
    g(torch.randn(16, device="cuda"))


def _guard_grad_mode(torch, device, mode):
    g = torch.compile(lambda x, w: x @ w, mode=mode)
    x, w = torch.randn(8, 8, device=device), torch.randn(8, 8, device=device, requires_grad=True)
    g(x, w)
    with torch.no_grad():
        g(x, w)


def _guard_autocast(torch, device, mode):
    g = torch.compile(lambda x, w: (x @ w).relu(), mode=mode)
    x, w = torch.randn(16, 16, device=device), torch.randn(16, 16, device=device)
    g(x, w)
    with torch.autocast(device_type=device, dtype=torch.bfloat16):
        g(x, w)


def _recompile_limit_hard(torch, device, mode):
    torch._dynamo.config.recompile_limit = 2
    torch._dynamo.config.fail_on_recompile_limit_hit = True
    g = torch.compile(lambda x: x + 1, mode=mode, dynamic=False)
    for n in range(2, 8):
        g(torch.randn(n, device=device))


def _fail_on_recompile(torch, device, mode):
    g = torch.compile(lambda x: x * 2, mode=mode, dynamic=False)
    g(torch.randn(4, device=device))
    torch.compiler.set_stance("fail_on_recompile")
    g(torch.randn(5, device=device))


def _graph_partition(torch, device, mode):
    torch._inductor.config.graph_partition = True

    def f(x, cpu_t):
        y = x.sin()
        z = (cpu_t + 1).sum()  # a CPU op inside a CUDA graph: partitioned out
        return y * 2, z

    g = torch.compile(f, mode=mode)
    for _ in range(3):
        g(torch.randn(64, device=device), torch.ones(4))


# name -> (function, modes it runs in, needs cuda)
SCENARIOS = {
    "graph_breaks": (_graph_breaks, ("default",), False),
    "recompiles": (_recompiles, ("default",), False),
    "automatic_dynamic": (_automatic_dynamic, ("default",), False),
    "mutated_inputs": (_mutated_inputs, ("reduce-overhead",), True),
    "cpu_tensor": (_cpu_tensor_in_graph, ("reduce-overhead",), True),
    "fp32_matmul": (_fp32_matmul, ("max-autotune", "default"), False),
    "fp16_big_mm": (_fp16_big_mm, ("max-autotune", "max-autotune-no-cudagraphs"), False),
    "big_softmax": (_big_softmax, ("default",), False),
    "fallback_ops": (_fallback_ops, ("default",), False),
    "complex": (_complex, ("default",), False),
    "dynamic_violation": (_dynamic_violation, ("default",), False),
    "data_dependent": (_data_dependent, ("default",), False),
    "guard_size": (_guard_size, ("default",), False),
    "guard_module_int": (_guard_module_int, ("default",), False),
    "guard_float_arg": (_guard_float_arg, ("default",), False),
    "guard_object_id": (_guard_object_id, ("default",), False),
    "guard_type": (_guard_type, ("default",), False),
    "guard_dtype": (_guard_dtype, ("default",), False),
    "guard_requires_grad": (_guard_requires_grad, ("default",), False),
    "guard_device": (_guard_device, ("default",), True),
    "guard_grad_mode": (_guard_grad_mode, ("default",), False),
    "guard_autocast": (_guard_autocast, ("default",), False),
    "recompile_limit_hard": (_recompile_limit_hard, ("default",), False),
    "fail_on_recompile": (_fail_on_recompile, ("default",), False),
    "graph_partition": (_graph_partition, ("reduce-overhead",), True),
}


def child(name: str, device: str, mode: str) -> int:
    import torch

    fn = SCENARIOS[name][0]
    mode_arg = None if mode == "default" else mode
    try:
        fn(torch, device, mode_arg)
        if device == "cuda":
            torch.cuda.synchronize()
    except Exception:
        import traceback

        traceback.print_exc()
        return 1
    return 0


# ---------------------------------------------------------------- parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path)
    ap.add_argument("--device", choices=("cuda", "cpu"), default=None)
    ap.add_argument("--only", default="", help="comma-separated scenario names")
    ap.add_argument("--explain", action="store_true", help="run gpudiag explain-warning --log on each log")
    ap.add_argument("--timeout", type=int, default=240)
    ap.add_argument("--jobs", type=int, default=1, help="scenarios run in parallel")
    ap.add_argument("--child", nargs=3, metavar=("NAME", "DEVICE", "MODE"))
    args = ap.parse_args()
    if args.child:
        return child(*args.child)
    if args.out is None:
        ap.error("--out is required")

    device = args.device
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    args.out.mkdir(parents=True, exist_ok=True)
    only = {s for s in args.only.split(",") if s}
    env = dict(os.environ, TORCH_LOGS=TORCH_LOGS, PYTHONUNBUFFERED="1", PYTHONWARNINGS="default")
    runs = []
    for name, (_, modes, needs_cuda) in SCENARIOS.items():
        if only and name not in only:
            continue
        if needs_cuda and device != "cuda":
            continue
        for mode in modes:
            if device == "cpu" and mode != "default" and name != "fp32_matmul":
                continue  # max-autotune on CPU is slow and adds nothing the GPU run does not
            runs.append((name, mode))

    def one(run):
        name, mode = run
        log = args.out / f"{name}__{mode}.log"
        t0 = time.time()
        with log.open("wb") as fh:
            try:
                rc = subprocess.run(
                    [sys.executable, __file__, "--child", name, device, mode],
                    stdout=fh,
                    stderr=subprocess.STDOUT,
                    env=env,
                    timeout=args.timeout,
                ).returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
        row = {"log": log.name, "rc": rc, "seconds": round(time.time() - t0, 1)}
        if args.explain:
            res = subprocess.run(
                [sys.executable, "-m", "gpudiag", "explain-warning", "--log", str(log), "--json"],
                capture_output=True,
                text=True,
            )
            (args.out / f"{log.stem}.explain.json").write_text(res.stdout + res.stderr)
            row["explain_rc"] = res.returncode
        print(json.dumps(row), flush=True)
        return row

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        summary = list(pool.map(one, runs))
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
