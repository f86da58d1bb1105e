"""What ``gpudiag.prune_configs`` costs per config in estimate mode (the issue's budget: under 1 ms).

    python bench/tiles/prune_speed.py

A 1,920-config MoE-style space (the product tuners search) pruned for sm_90 and sm_120 with bf16
operands: cold (a fresh hook and empty estimate caches, as the first autotune key of a process sees
it) and warm (the next key: every verdict remembered). Median of 5 runs each; prints JSON.
"""

from __future__ import annotations

import itertools
import json
import statistics
import time
from types import SimpleNamespace

from gpudiag import prune
from gpudiag.tiles import estimate


class Tensor:
    dtype = "torch.bfloat16"
    device = SimpleNamespace(type="cuda", index=0)

    def data_ptr(self) -> int:
        return 0


def space() -> list:
    out = []
    for m, n, k, g, w, s in itertools.product(
        [16, 32, 64, 128, 256], [32, 64, 128, 256], [64, 128, 256], [1, 16, 32, 64], [4, 8], [2, 3, 4, 5]
    ):
        kwargs = {"BLOCK_SIZE_M": m, "BLOCK_SIZE_N": n, "BLOCK_SIZE_K": k, "GROUP_SIZE_M": g}
        out.append(SimpleNamespace(kwargs=kwargs, num_warps=w, num_stages=s, num_ctas=1, maxnreg=None))
    return out


def main() -> None:
    configs = space()
    args = {"a": Tensor(), "b": Tensor(), "c": Tensor(), "M": 4096}
    result = {"configs": len(configs)}
    for target in ("sm_90", "sm_120"):
        prune.prune_configs.for_target(target)  # the target is resolved once per process, not per call
        cold, warm = [], []
        for _ in range(5):
            estimate._PLANS.clear()
            estimate._LARGEST.clear()
            hook = prune.prune_configs.for_target(target)
            t0 = time.perf_counter()
            kept = hook(configs, args)
            cold.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            hook(configs, args)
            warm.append(time.perf_counter() - t0)
        result[target] = {
            "kept": len(kept),
            "cold_ms_per_config": round(statistics.median(cold) / len(configs) * 1e3, 4),
            "warm_ms_per_config": round(statistics.median(warm) / len(configs) * 1e3, 4),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
