"""gpudiag.prune_configs inside a real ``@triton.autotune`` on the live GPU: Triton's tutorial matmul,
three configs, one of them too big for the GPU's shared memory (on an H100 or H200: 232,448 B a block).

The hook drops that one before the autotuner compiles it (and says so once); launching it directly
fails with Triton's OutOfResources, which is what the autotuner would have paid a compile for; the
tuned kernel computes what torch.matmul does. The exact mode (``with_kernel()``, the kernel found
from the autotuner) compiles each config in forked children from this CUDA process and agrees.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gpu
torch = pytest.importorskip("torch")
triton = pytest.importorskip("triton")

sys.path.insert(0, str(Path(__file__).parent / "data" / "kernels"))
from tutorial_matmul import matmul_kernel  # noqa: E402

import gpudiag  # noqa: E402
from gpudiag import prune  # noqa: E402


def _configs():
    def c(m, n, k, stages, warps):
        kw = {"BLOCK_SIZE_M": m, "BLOCK_SIZE_N": n, "BLOCK_SIZE_K": k, "GROUP_SIZE_M": 8}
        return triton.Config(kw, num_stages=stages, num_warps=warps)

    # 256x256x128 fp16 at 4 stages: 4 x (256 + 256) x 128 x 2 B = 524,288 B on wgmma, over every GPU's limit
    return [c(128, 128, 64, 3, 4), c(64, 64, 32, 4, 4), c(256, 256, 128, 4, 8)]


def _run(kernel, m=512, n=384, k=256):
    a = torch.randn(m, k, device="cuda", dtype=torch.float16)
    b = torch.randn(k, n, device="cuda", dtype=torch.float16)
    c = torch.empty(m, n, device="cuda", dtype=torch.float16)

    def grid(meta):
        return (triton.cdiv(m, meta["BLOCK_SIZE_M"]) * triton.cdiv(n, meta["BLOCK_SIZE_N"]),)

    strides = (a.stride(0), a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1))
    kernel[grid](a, b, c, m, n, k, *strides, ACTIVATION="")
    torch.cuda.synchronize()
    return c, a @ b


@pytest.fixture(autouse=True)
def fresh(monkeypatch, tmp_path):
    monkeypatch.setenv("GPUDIAG_CACHE_DIR", str(tmp_path / "cache"))
    prune._TARGETS.clear()


def test_the_hook_drops_the_config_too_big_for_this_gpu_and_the_result_is_right(caplog):
    configs = _configs()
    tuned = triton.autotune(
        configs, key=["M", "N", "K"], prune_configs_by={"early_config_prune": gpudiag.prune_configs}
    )(matmul_kernel)
    with caplog.at_level(logging.INFO, logger="gpudiag.prune"):
        got, want = _run(tuned)
        _run(tuned, 1024, 512, 256)  # a second autotune key: nothing logged again
    torch.testing.assert_close(got, want, atol=5e-2, rtol=1e-2)
    dropped = [r.getMessage() for r in caplog.records if r.name == "gpudiag.prune"]
    assert len(dropped) == 1 and dropped[0].startswith("dropped config #2 of 3 (BLOCK_SIZE_M=256, BLOCK_SIZE_N=256")
    limit = torch.cuda.get_device_properties(0).shared_memory_per_block_optin
    assert f"> {limit:,} B per block" in dropped[0]
    assert tuned.best_config.kwargs["BLOCK_SIZE_M"] != 256
    # and the estimate was right: Triton itself refuses to launch that config here
    a = torch.empty(256, 256, device="cuda", dtype=torch.float16)
    with pytest.raises(triton.runtime.errors.OutOfResources):
        matmul_kernel[(1,)](
            a, a, a, 256, 256, 256, 256, 1, 256, 1, 256, 1, ACTIVATION="",
            BLOCK_SIZE_M=256, BLOCK_SIZE_N=256, BLOCK_SIZE_K=128, GROUP_SIZE_M=8, num_stages=4, num_warps=8,
        )  # fmt: skip


def test_the_exact_hook_compiles_from_inside_the_autotuner(caplog):
    configs = _configs()
    tuned = triton.autotune(
        configs, key=["M", "N", "K"], prune_configs_by={"early_config_prune": gpudiag.prune_configs.with_kernel()}
    )(matmul_kernel)
    with caplog.at_level(logging.INFO, logger="gpudiag.prune"):
        got, want = _run(tuned)
    torch.testing.assert_close(got, want, atol=5e-2, rtol=1e-2)
    dropped = [r.getMessage() for r in caplog.records if r.name == "gpudiag.prune"]
    assert len(dropped) == 1 and "#2 of 3" in dropped[0] and "(compiled)" in dropped[0], dropped
    assert "out of resource: shared memory, needs 524,288 B" in dropped[0]
