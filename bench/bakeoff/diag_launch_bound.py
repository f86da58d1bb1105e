"""Why do launch-bound medians move between processes? A diagnostic for the bake-off's timing.

Each mode of a KernelBench script is compiled and timed in its own fresh interpreter, several
times over, and each process reports, for the same compiled callable:

- ``host_us``: host time to issue one call (perf_counter over N calls, no sync inside);
- ``b2b_ms``: device time per call back to back (events around N calls, no flush between);
- ``flush_ms``: device time of do_bench's L2 flush alone (zeroing its 256 MiB buffer);
- ``do_bench_ms``: triton's do_bench median, several times in a row (the bake-off's timer);
- the same with the garbage collector frozen and off, and again pinned to one core;
- the load average and the number of live child processes (inductor's compile workers) at timing.

    python -m bench.bakeoff.diag_launch_bound SCRIPT --modes eager,default --procs 3 --out FILE.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def _children() -> int:
    me = str(os.getpid())
    n = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[1] == me:
                    n += 1
        except OSError:
            pass
    return n


def child(script: str, mode: str, rep_ms: float, repeats: int) -> dict:
    t0 = time.perf_counter()
    import importlib.util

    import torch
    from triton.testing import do_bench

    import_s = time.perf_counter() - t0
    spec = importlib.util.spec_from_file_location("user_script", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    torch.manual_seed(0)
    model = mod.Model(*mod.get_init_inputs()).cuda().eval()
    inputs = [x.cuda() if isinstance(x, torch.Tensor) else x for x in mod.get_inputs()]
    torch.set_grad_enabled(False)
    fn = model if mode == "eager" else torch.compile(model, mode=None if mode == "default" else mode)
    t0 = time.perf_counter()
    fn(*inputs)
    torch.cuda.synchronize()
    compile_s = time.perf_counter() - t0
    for _ in range(5):
        fn(*inputs)
    torch.cuda.synchronize()
    call = lambda: fn(*inputs)  # noqa: E731

    out: dict = dict(
        mode=mode,
        pid=os.getpid(),
        import_s=import_s,
        compile_s=compile_s,
        children_at_timing=_children(),
        loadavg=os.getloadavg(),
        affinity=sorted(os.sched_getaffinity(0)),
    )

    def host_and_b2b(n: int = 2000) -> tuple[float, float]:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        start.record()
        t = time.perf_counter()
        for _ in range(n):
            call()
        host = (time.perf_counter() - t) / n * 1e6
        end.record()
        torch.cuda.synchronize()
        return host, start.elapsed_time(end) / n

    cache = torch.empty(256 * 1024 * 1024 // 4, dtype=torch.int32, device="cuda")
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    flushes = []
    for _ in range(20):
        s.record()
        cache.zero_()
        e.record()
        torch.cuda.synchronize()
        flushes.append(s.elapsed_time(e))
    out["flush_ms"] = statistics.median(flushes)
    del cache

    def series(label: str) -> None:
        hb = [host_and_b2b() for _ in range(3)]
        out[f"{label}_host_us"] = [round(h, 2) for h, _ in hb]
        out[f"{label}_b2b_ms"] = [round(b, 5) for _, b in hb]
        out[f"{label}_do_bench_ms"] = [
            round(float(do_bench(call, warmup=100, rep=rep_ms, return_mode="median")), 5) for _ in range(repeats)
        ]

    series("plain")
    import gc

    gc.collect()
    gc.freeze()
    gc.disable()
    series("nogc")
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    series("pinned")
    out["children_after"] = _children()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("script")
    ap.add_argument("--modes", default="eager,default,reduce-overhead")
    ap.add_argument("--procs", type=int, default=3)
    ap.add_argument("--rep", type=float, default=300.0)
    ap.add_argument("--repeats", type=int, default=4)
    ap.add_argument("--out", required=True)
    ap.add_argument("--child", default=None)
    ap.add_argument("--deadline", type=float, default=0.0, help="unix time after which no new process starts")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.script, a.child, a.rep, a.repeats)))
        return 0
    rows = []
    for p in range(a.procs):
        for mode in a.modes.split(","):
            if a.deadline and time.time() > a.deadline:
                break
            t = time.perf_counter()
            r = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    a.script,
                    "--child",
                    mode,
                    "--rep",
                    str(a.rep),
                    "--repeats",
                    str(a.repeats),
                    "--out",
                    "-",
                ],
                capture_output=True,
                text=True,
            )
            try:
                row = json.loads(r.stdout.strip().splitlines()[-1])
            except (IndexError, json.JSONDecodeError):
                row = dict(mode=mode, error=r.stderr[-2000:])
            row.update(proc=p, wall_s=time.perf_counter() - t)
            rows.append(row)
            with open(a.out, "w") as f:
                json.dump(rows, f, indent=1)
            print(
                json.dumps(
                    {
                        k: row.get(k)
                        for k in (
                            "mode",
                            "proc",
                            "plain_host_us",
                            "plain_b2b_ms",
                            "plain_do_bench_ms",
                            "nogc_do_bench_ms",
                            "pinned_do_bench_ms",
                            "children_at_timing",
                        )
                    }
                ),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
