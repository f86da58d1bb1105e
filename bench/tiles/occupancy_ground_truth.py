"""Ground truth for check-tiles' occupancy: what the CUDA driver says about compiled Triton kernels.

For a grid of Triton matmul configs (tiles 16..256, warps 1..8, stages 1..4, fp16 and fp32-ieee) and a
register sweep (the same kernel capped with ``maxnreg`` from 24 to 255 registers at 1..8 warps),
each kernel is compiled for this GPU's architecture (in parallel, with Triton's own compiler), its
cubin loaded through Triton's driver, and the driver is asked:

- ``cuFuncGetAttribute``: registers per thread, static/local shared memory, max threads per block;
- ``cuOccupancyMaxActiveBlocksPerMultiprocessor`` at the launch Triton would make (``num_warps*32``
  threads, ``metadata.shared`` bytes of dynamic shared memory): ``blocks_per_sm``;
- the same query over a sweep of dynamic shared-memory sizes and block sizes (``sweep`` rows), with
  the function's dynamic shared-memory limit raised to the opt-in maximum first, as Triton does for
  kernels over 48 KiB.

The device's own limits (registers per SM and per block, threads and blocks per SM, shared memory
per SM, per block opt-in and reserved per block) are recorded beside the rows, so a test can replay
every row through gpudiag's occupancy model without the GPU.

    python3 -m bench.tiles.occupancy_ground_truth --out F.json [--jobs 16] [--deadline 240] [--kinds regs]
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import json
import multiprocessing as mp
import os
import platform
import sys
import time
from typing import ClassVar

TILES = [
    (16, 16, 16),
    (32, 32, 32),
    (32, 64, 64),
    (64, 64, 32),
    (64, 128, 32),
    (128, 64, 64),
    (128, 128, 32),
    (128, 128, 64),
    (128, 256, 32),
    (256, 128, 32),
    (256, 256, 32),
    (16, 128, 64),
]
WARPS = (1, 2, 4, 8)
STAGES = (1, 2, 3, 4)
DTYPES = ("fp16", "fp32-ieee")  # fp32-ieee: full precision, what "fp32" meant before 2026-12-07
REG_CAPS = (24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128, 144, 160, 168, 184, 200, 216, 232, 248, 255)
SMEM_SWEEP = (
    0,
    1,
    127,
    128,
    129,
    1024,
    1025,
    2048,
    4096,
    8192,
    12288,
    16384,
    20480,
    24576,
    32768,
    40960,
    49152,
    57344,
    65536,
    81920,
    98304,
    101376,
    114688,
    131072,
    163840,
    196608,
    227328,
    232448,
    # sizes whose 128-byte rounding (with the 1 KiB reservation) gives one block more on sm_90 than
    # a 256-byte rounding would: they tell the two allocation granularities apart
    6172,
    7196,
    7452,
    8988,
    10524,
    11804,
    12572,
    14364,
    19996,
)
MAX_ACC_PER_THREAD = 256  # beyond this a config spills so hard that ptxas takes minutes: not a real config


def grid() -> list[dict]:
    jobs = []
    for dt in DTYPES:
        for bm, bn, bk in TILES:
            for w in WARPS:
                if bm * bn // (32 * w) > MAX_ACC_PER_THREAD:
                    continue
                for s in STAGES:
                    jobs.append(
                        {"kind": "grid", "dtype": dt, "block": (bm, bn, bk), "warps": w, "stages": s, "maxnreg": None}
                    )
    for w in WARPS:
        for cap in REG_CAPS:
            jobs.append(
                {"kind": "regs", "dtype": "fp32-ieee", "block": (64, 64, 32), "warps": w, "stages": 2, "maxnreg": cap}
            )
    return jobs


def compile_one(spec: dict) -> dict:
    os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")
    import triton
    from triton.backends.compiler import GPUTarget

    from gpudiag.tiles import exact
    from gpudiag.tiles.dtypes import lookup

    d = lookup(spec["dtype"])
    bm, bn, bk = spec["block"]
    job = exact.job_for(bm, bn, bk, spec["stages"], spec["warps"], d, d, "row", d.b_layout, spec["cc"])
    opts = {"num_warps": spec["warps"], "num_stages": spec["stages"]}
    if spec["maxnreg"]:
        opts["maxnreg"] = spec["maxnreg"]
    t0 = time.perf_counter()
    try:
        k = triton.compile(exact.build_source(job), target=GPUTarget("cuda", spec["cc"], 32), options=opts)
    except Exception as exc:
        return {**spec, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    return {
        **spec,
        "name": k.metadata.name,
        "shared": int(k.metadata.shared),
        "cubin": k.asm["cubin"].hex(),
        "compile_s": round(time.perf_counter() - t0, 2),
    }


class Driver:
    """The handful of libcuda calls this needs, through ctypes (the process already has a context)."""

    FUNC_ATTRS: ClassVar[dict[str, int]] = {
        "max_threads_per_block": 0,
        "static_shared_bytes": 1,
        "const_bytes": 2,
        "local_bytes": 3,
        "num_regs": 4,
        "ptx_version": 5,
        "binary_version": 6,
        "max_dynamic_shared_bytes": 8,
    }
    DEV_ATTRS: ClassVar[dict[str, int]] = {
        "max_threads_per_block": 1,
        "regs_per_block": 12,
        "sm_count": 16,
        "max_threads_per_sm": 39,
        "cc_major": 75,
        "cc_minor": 76,
        "smem_per_sm": 81,
        "regs_per_sm": 82,
        "smem_per_block_optin": 97,
        "max_blocks_per_sm": 106,
        "smem_reserved_per_block": 111,
        "smem_per_block": 8,
        "warp_size": 10,
    }

    def __init__(self) -> None:
        self.lib = ctypes.CDLL("libcuda.so.1")

    def _check(self, name: str, rc: int) -> None:
        if rc != 0:
            raise RuntimeError(f"{name} -> CUresult {rc}")

    def device_attrs(self, dev: int = 0) -> dict:
        out = {}
        for name, a in self.DEV_ATTRS.items():
            v = ctypes.c_int()
            self._check("cuDeviceGetAttribute", self.lib.cuDeviceGetAttribute(ctypes.byref(v), a, dev))
            out[name] = v.value
        return out

    def func_attrs(self, fn: int) -> dict:
        out = {}
        for name, a in self.FUNC_ATTRS.items():
            v = ctypes.c_int()
            self._check("cuFuncGetAttribute", self.lib.cuFuncGetAttribute(ctypes.byref(v), a, ctypes.c_void_p(fn)))
            out[name] = v.value
        return out

    def set_max_dynamic_shared(self, fn: int, nbytes: int) -> int:
        return self.lib.cuFuncSetAttribute(ctypes.c_void_p(fn), 8, ctypes.c_int(nbytes))

    def occupancy(self, fn: int, threads: int, dyn_smem: int) -> int | str:
        n = ctypes.c_int()
        rc = self.lib.cuOccupancyMaxActiveBlocksPerMultiprocessor(
            ctypes.byref(n), ctypes.c_void_p(fn), ctypes.c_int(threads), ctypes.c_size_t(dyn_smem)
        )
        return n.value if rc == 0 else f"CUresult {rc}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--deadline", type=float, default=240.0, help="seconds for all compiles")
    ap.add_argument(
        "--kinds", default="grid,regs", help="which kernels: grid (the matmul grid), regs (the maxnreg sweep)"
    )
    args = ap.parse_args()

    import torch
    import triton

    torch.cuda.init()
    torch.empty(1, device="cuda")  # a current context for Triton's loader and for ctypes
    major, minor = torch.cuda.get_device_capability(0)
    cc = major * 10 + minor
    kinds = set(args.kinds.split(","))
    specs = [{**s, "cc": cc} for s in grid() if s["kind"] in kinds]
    t0 = time.perf_counter()
    compiled: list[dict] = []
    ctx = mp.get_context("spawn")
    with ctx.Pool(args.jobs) as pool:
        it = pool.imap_unordered(compile_one, specs)
        while len(compiled) < len(specs):
            left = args.deadline - (time.perf_counter() - t0)
            if left <= 0:
                break
            try:
                compiled.append(it.next(timeout=left))
            except mp.TimeoutError:
                break
        pool.terminate()
    compile_s = time.perf_counter() - t0
    print(f"compiled {len(compiled)}/{len(specs)} in {compile_s:.1f} s", flush=True)

    drv = Driver()
    dev = drv.device_attrs(0)
    load_binary = triton.runtime.driver.active.utils.load_binary
    rows, sweep = [], []
    for c in sorted(
        compiled, key=lambda c: (c["kind"], c["dtype"], c["block"], c["warps"], c["stages"], c["maxnreg"] or 0)
    ):
        row = {k: c[k] for k in ("kind", "dtype", "block", "warps", "stages", "maxnreg")}
        row["block"] = list(row["block"])
        if "error" in c:
            rows.append({**row, "error": c["error"]})
            continue
        shared = c["shared"]
        try:
            # (module, function, n_regs, n_spills[, n_max_threads]): the fifth is newer Triton's
            _mod, fn, n_regs, n_spills = load_binary(c["name"], bytes.fromhex(c["cubin"]), shared, 0)[:4]
        except Exception as exc:
            rows.append({**row, "shared": shared, "load_error": f"{type(exc).__name__}: {str(exc)[:200]}"})
            continue
        fa = drv.func_attrs(fn)
        threads = c["warps"] * 32
        row.update(
            shared=shared,
            n_regs=n_regs,
            n_spills=n_spills,
            threads=threads,
            func=fa,
            blocks_per_sm=drv.occupancy(fn, threads, shared),
        )
        rows.append(row)
        # Sweeps: with the dynamic limit raised to the opt-in maximum, any size up to it is queryable.
        rc = drv.set_max_dynamic_shared(fn, dev["smem_per_block_optin"] - fa["static_shared_bytes"])
        if rc != 0:
            continue
        block_sizes = (
            sorted({32, threads // 2, threads} - {0})
            if c["kind"] == "grid"
            else list(range(32, fa["max_threads_per_block"] + 1, 32))
        )
        smem_values = SMEM_SWEEP if c["kind"] == "regs" or c["stages"] == 2 else (0, shared)
        for t in block_sizes:
            for s in smem_values:
                if s + fa["static_shared_bytes"] > dev["smem_per_block_optin"]:
                    continue
                sweep.append([fa["num_regs"], t, s, fa["static_shared_bytes"], drv.occupancy(fn, t, s)])
    doc = {
        "meta": {
            "date": datetime.date.today().isoformat(),
            "device": torch.cuda.get_device_name(0),
            "torch": torch.__version__,
            "triton": triton.__version__,
            "python": platform.python_version(),
            "script": "bench/tiles/occupancy_ground_truth.py",
            "compile_s": round(compile_s, 1),
            "configs": len(specs),
            "compiled": len(compiled),
        },
        "device_attributes": dev,
        "rows": rows,
        "sweep_columns": ["regs_per_thread", "threads_per_block", "dynamic_smem", "static_smem", "blocks_per_sm"],
        "sweep": sweep,
    }
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"))
    ok = [r for r in rows if isinstance(r.get("blocks_per_sm"), int)]
    print(json.dumps({"rows": len(rows), "queried": len(ok), "sweep": len(sweep), "device": dev}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
