"""gpudiag.prune_configs, the early_config_prune hook for @triton.autotune, without a GPU.

Configs and tensors are stand-ins with the attributes Triton's autotuner and torch give (``kwargs``,
``num_warps``, ``num_stages``; ``dtype``, ``data_ptr``, ``device``); the live GPU is the faked H100 of
the device tests. ``test_prune_gpu.py`` runs it inside a real autotuner on the GPU.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from gpudiag import prune
from gpudiag.prune import ConfigPruner

ROOT = Path(__file__).resolve().parents[1]


class Tensor:
    def __init__(self, dtype: str, device: str = "cuda", index: int = 0) -> None:
        self.dtype = f"torch.{dtype}"
        self.device = SimpleNamespace(type=device, index=index)

    def data_ptr(self) -> int:
        return 1 << 20


def cfg(m, n, k, stages=3, warps=4, names=("BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K"), **extra):
    return SimpleNamespace(
        kwargs={names[0]: m, names[1]: n, names[2]: k, **extra},
        num_warps=warps,
        num_stages=stages,
        num_ctas=1,
        maxnreg=None,
    )


ARGS = {"a_ptr": Tensor("bfloat16"), "b_ptr": Tensor("bfloat16"), "c_ptr": Tensor("bfloat16"), "M": 4096}


@pytest.fixture(autouse=True)
def fresh_targets():
    prune._TARGETS.clear()
    yield
    prune._TARGETS.clear()


def test_importing_and_calling_it_loads_no_cli():
    code = (
        "import sys, types\n"
        "import gpudiag\n"
        "hook = gpudiag.prune_configs.for_target('sm_120')\n"
        "from gpudiag import prune_configs\n"
        "T = type('T', (), {'dtype': 'torch.float16', 'data_ptr': lambda s: 0})\n"
        "c = lambda s: types.SimpleNamespace(kwargs={'BLOCK_M': 128, 'BLOCK_N': 128, 'BLOCK_K': 64}, num_warps=4, "
        "num_stages=s)\n"
        "kept = hook([c(2), c(3), c(5)], {'a': T(), 'b': T()})\n"
        "assert [k.num_stages for k in kept] == [2, 3], kept\n"
        "bad = [m for m in ('typer', 'rich', 'click', 'gpudiag.cli', 'torch', 'triton') if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().replace("'", '"')) == []


def test_a_named_target_drops_what_does_not_fit_and_logs_each_once(caplog):
    hook = prune.prune_configs.for_target("sm_120")
    configs = [cfg(128, 128, 64, 3), cfg(128, 256, 64, 4), cfg(256, 256, 128, 3, 8), cfg(64, 64, 32, 4)]
    with caplog.at_level(logging.INFO, logger="gpudiag.prune"):
        kept = hook(configs, ARGS)
        assert kept == [configs[0], configs[3]]
        assert hook(configs, ARGS) == kept  # the next autotune key: the same answer, nothing logged again
    drops = [r.getMessage() for r in caplog.records if r.name == "gpudiag.prune"]
    assert len(drops) == 2
    assert drops[0].startswith("dropped config #1 of 4 (BLOCK_SIZE_M=128, BLOCK_SIZE_N=256, BLOCK_SIZE_K=64")
    assert "needs 147,456 B of shared memory > 101,376 B per block (estimate, bf16xbf16)" in drops[0]
    assert "#2 of 4" in drops[1] and "(sm_120)" in drops[1]


def test_the_same_configs_fit_hopper():
    hook = prune.prune_configs.for_target("H100")
    configs = [cfg(128, 128, 64, 3), cfg(128, 256, 64, 4), cfg(256, 256, 128, 3, 8)]
    assert hook(configs, ARGS) == configs[:2]  # 256x256x128 at 3 stages is 262,144 B on wgmma


def test_block_m_n_k_names_and_fixed_block_arguments():
    hook = prune.prune_configs.for_target("sm_89")
    names = ("BLOCK_M", "BLOCK_N", "BLOCK_K")
    configs = [cfg(128, 128, 64, 5, names=names), cfg(64, 64, 64, 3, names=names)]
    assert hook(configs, ARGS) == configs[1:]
    # BLOCK_K passed as an argument, not tuned: still a matmul the estimate models
    tuned = [SimpleNamespace(kwargs={"BLOCK_M": 256, "BLOCK_N": 256}, num_warps=8, num_stages=s) for s in (2, 4)]
    assert hook(tuned, {**ARGS, "BLOCK_K": 64}) == tuned[:1]


def test_configs_it_cannot_model_are_kept():
    hook = prune.prune_configs.for_target("sm_120")
    configs = [SimpleNamespace(kwargs={"BLOCK": 1024}, num_warps=4, num_stages=s) for s in (1, 9)]
    assert hook(configs, ARGS) == configs  # not matmul-shaped: the autotuner decides
    no_tensors = [cfg(256, 256, 128, 5, 8), cfg(64, 64, 32)]
    assert hook(no_tensors, {"M": 4096}) == no_tensors  # no element type to estimate with


def test_threads_over_the_block_limit_are_dropped():
    hook = prune.prune_configs.for_target("sm_90")
    configs = [cfg(64, 64, 32, 3, 64), cfg(64, 64, 32, 3, 4)]
    assert hook(configs, ARGS) == configs[1:]


def test_when_nothing_fits_it_keeps_the_fewest_stages_and_says_so(caplog):
    hook = prune.prune_configs.for_target("sm_120")
    configs = [cfg(256, 256, 128, 4, 8), cfg(256, 256, 128, 3, 8), cfg(256, 256, 256, 3, 8)]
    with caplog.at_level(logging.WARNING, logger="gpudiag.prune"):
        kept = hook(configs, ARGS)
    assert kept == [configs[1]]  # 3 stages, and the smaller of the two
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "none of the 3 configs can run on any Blackwell GPU (sm_120) (101,376 B" in warning.getMessage()
    assert "keeping config #1" in warning.getMessage()


def test_the_live_gpu_is_read_once_for_the_device_of_the_tensors(fake_h100, monkeypatch):
    from gpudiag import device

    calls = []
    real = device.resolve_target

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(device, "resolve_target", counting)
    hook = ConfigPruner()
    configs = [cfg(128, 256, 64, 4), cfg(256, 256, 128, 4, 8)]
    assert hook(configs, ARGS) == configs[:1]  # 232,448 B on the H100
    assert hook(configs, ARGS) == configs[:1]
    assert calls == [{"index": 0}]


def test_its_own_failures_keep_every_config(no_gpu, caplog):
    configs = [cfg(128, 256, 64, 4), cfg(256, 256, 128, 4, 8)]
    with caplog.at_level(logging.WARNING, logger="gpudiag.prune"):
        assert prune.prune_configs(configs, ARGS) == configs
    assert "could not judge the configs, keeping all 2" in caplog.records[0].getMessage()


def test_a_bad_target_is_said_at_once():
    from gpudiag.errors import GpudiagError

    with pytest.raises(GpudiagError):
        prune.prune_configs.for_target("sm_999")
    with pytest.raises(GpudiagError):
        prune.prune_configs.for_target("no such gpu at all")


def test_one_config_is_returned_as_it_is():
    one = [cfg(256, 256, 256, 8, 8)]
    assert prune.prune_configs.for_target("sm_120")(one, ARGS) == one


def test_exact_mode_compiles_with_the_calls_argument_types(monkeypatch, tmp_path):
    """with_kernel: the arguments of the call are the signature; the engine's children are faked."""
    pytest.importorskip("triton")
    from gpudiag.tiles import compile_engine as engine

    sys.path.insert(0, str(ROOT / "tests" / "data" / "kernels"))
    from tutorial_matmul import matmul_kernel

    monkeypatch.setenv("GPUDIAG_CACHE_DIR", str(tmp_path))
    seen = []

    def run(todo, parallel, triton_cache=None):
        for task in todo:
            sc, label = task.job
            seen.append((sc.kwargs["BLOCK_SIZE_M"], label, task.capability))
            big = sc.kwargs["BLOCK_SIZE_M"] == 256
            yield task, engine.CompileResult(shared_bytes=300_000 if big else 65_536, regs_per_thread=128, num_warps=4)

    monkeypatch.setattr(engine, "run_children", run)
    hook = prune.prune_configs.for_target("sm_90").with_kernel(matmul_kernel)
    args = {**ARGS, "N": 4096, "K": 4096, "stride_am": 4096, "stride_ak": 1, "stride_bk": 4096, "stride_bn": 1}
    args.update(stride_cm=4096, stride_cn=1, ACTIVATION="")
    configs = [cfg(128, 128, 64, 3, GROUP_SIZE_M=8), cfg(256, 256, 64, 4, GROUP_SIZE_M=8)]
    assert hook(configs, args) == configs[:1]
    assert seen == [(128, "any Hopper GPU (sm_90)", 90), (256, "any Hopper GPU (sm_90)", 90)]
    assert hook(configs, args) == configs[:1] and len(seen) == 2  # the second call reads gpudiag's cache
