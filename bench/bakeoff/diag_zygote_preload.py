"""Which modules can the bake-off's zygote import before fork() without breaking its CUDA children?

A forked child spends seconds importing inductor when it first calls ``torch.compile``; importing
those modules once in the zygote would save that per mode, but in session 1 a zygote that imported
``torch._inductor.compile_fx`` left its children hanging. Suspects: an import that calls cuInit
(``torch.cuda.is_available()`` does, unless PYTORCH_NVML_BASED_CUDA_CHECK=1), or one that starts a
thread whose locks a forked child inherits held.

For each preload variant, a fresh interpreter imports the modules (timed), counts its threads, forks
two children in turn that each compile and run a small MLP on the GPU with empty caches (each under
an alarm, so a hang becomes a row, not a stuck benchmark), and only afterwards asks libcuda whether
cuInit had been called in the zygote (cuDeviceGetCount answers CUDA_ERROR_NOT_INITIALIZED if not).

    python -m bench.bakeoff.diag_zygote_preload --out FILE.json [--child-timeout 90]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

BASE = ["torch._dynamo", "torch._inductor.config"]
VARIANTS = {
    "current": (BASE, {}),
    "compile_fx": (BASE + ["torch._inductor.compile_fx"], {}),
    "compile_fx+nvml_check": (BASE + ["torch._inductor.compile_fx"], {"PYTORCH_NVML_BASED_CUDA_CHECK": "1"}),
    "inductor_all+nvml_check": (
        BASE
        + [
            "torch._inductor.compile_fx",
            "torch._dynamo.backends.inductor",
            "torch._inductor.codegen.triton",
            "torch._inductor.runtime.triton_heuristics",
            "torch._inductor.async_compile",
            "triton.compiler.compiler",
        ],
        {"PYTORCH_NVML_BASED_CUDA_CHECK": "1"},
    ),
}


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _cuinit_called() -> bool | None:
    import ctypes

    try:
        lib = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return None
    n = ctypes.c_int(0)
    return lib.cuDeviceGetCount(ctypes.byref(n)) != 3  # 3 = CUDA_ERROR_NOT_INITIALIZED


def _child_body(result_path: str, timeout: int) -> None:
    import signal

    signal.alarm(timeout)  # a hang ends as SIGALRM, seen by the zygote as a signal exit
    out: dict = {}
    t = time.perf_counter()
    try:
        cache = tempfile.mkdtemp(prefix="zyg-cache-")
        os.environ.pop("PYTORCH_NVML_BASED_CUDA_CHECK", None)
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(cache, "inductor")
        os.environ["TRITON_CACHE_DIR"] = os.path.join(cache, "triton")
        import torch

        t0 = time.perf_counter()
        import torch._inductor.compile_fx

        out["child_import_inductor_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        x = torch.randn(256, 1024, device="cuda")
        out["cuda_init_s"] = time.perf_counter() - t0
        model = torch.nn.Sequential(torch.nn.Linear(1024, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024)).cuda()
        fn = torch.compile(model)
        t0 = time.perf_counter()
        with torch.no_grad():
            y = fn(x)
            torch.cuda.synchronize()
        out["first_call_s"] = time.perf_counter() - t0
        with torch.no_grad():
            out["max_abs_err"] = float((y - model(x)).abs().max())
        out["ok"] = True
    except BaseException as e:
        out["ok"] = False
        out["error"] = f"{type(e).__name__}: {e}"[:500]
    out["child_s"] = time.perf_counter() - t
    with open(result_path, "w") as f:
        json.dump(out, f)
    os._exit(0)


def zygote(modules: list[str], timeout: int) -> dict:
    t0 = time.perf_counter()
    import torch

    row: dict = {"import_torch_s": time.perf_counter() - t0}
    t0 = time.perf_counter()
    errors = {}
    for name in modules:
        try:
            __import__(name)
        except Exception as e:
            errors[name] = f"{type(e).__name__}: {e}"[:200]
    row.update(
        preload_s=time.perf_counter() - t0,
        preload_errors=errors,
        threads_before_fork=_threads(),
        torch_cuda_initialized=bool(torch.cuda.is_initialized()),
    )
    children = []
    for _ in range(2):
        fd, path = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        t = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            _child_body(path, timeout)
        _, status = os.waitpid(pid, 0)
        child = {"returncode": os.waitstatus_to_exitcode(status), "wall_s": time.perf_counter() - t}
        try:
            with open(path) as f:
                child.update(json.load(f))
        except (OSError, json.JSONDecodeError):
            child["ok"] = False
            child.setdefault("error", "no result (hung past the alarm or crashed)")
        children.append(child)
    row["children"] = children
    row["cuinit_called_in_zygote"] = _cuinit_called()
    return row


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--child-timeout", type=int, default=90)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--zygote", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.zygote:
        print(json.dumps(zygote(VARIANTS[a.zygote][0], a.child_timeout)))
        return 0
    rows = []
    for name in a.variants.split(","):
        env = dict(os.environ, **VARIANTS[name][1])
        t = time.perf_counter()
        r = subprocess.run(
            [sys.executable, __file__, "--out", "-", "--zygote", name, "--child-timeout", str(a.child_timeout)],
            capture_output=True,
            text=True,
            env=env,
            timeout=3 * a.child_timeout + 60,
        )
        try:
            row = json.loads(r.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            row = {"error": r.stderr[-2000:]}
        row.update(variant=name, env=VARIANTS[name][1], wall_s=time.perf_counter() - t)
        rows.append(row)
        with open(a.out, "w") as f:
            json.dump(rows, f, indent=1)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
