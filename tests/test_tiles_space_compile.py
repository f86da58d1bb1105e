"""check-tiles --kernel with the real compiler, on the CPU: Triton's tutorial matmul and a kernel one of
whose configs crashes Triton's compiler process.

What the compiler says is checked where it is stable: the shared memory of the tutorial's configs, the
shared memory a compile stopped after allocation reports (the same as the whole compile's), a config
ptxas refuses (``maxnreg`` too small) and a config that aborts the compiler (with Triton 3.9's wheels,
whose LLVM asserts).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from gpudiag.tiles import compile_engine as engine
from gpudiag.tiles import kernel_spec, space, space_configs

pytest.importorskip("triton")
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("module_result_cache")]

KERNELS = Path(__file__).parent / "data" / "kernels"
TUTORIAL = str(KERNELS / "tutorial_matmul.py")
CRASH = str(KERNELS / "crashes_the_compiler.py")
INSTALLED = engine.triton_version() or ""


def _targets(*archs):
    from gpudiag.cli.check_tiles_cache import named_targets

    return list(named_targets(",".join(archs), None).values())


def test_the_tutorial_matmul_on_ampere_and_blackwell(capfd):
    spec = kernel_spec.load_kernels(TUTORIAL)[0]
    spec.raw_configs = [
        {
            "BLOCK_SIZE_M": 128,
            "BLOCK_SIZE_N": 256,
            "BLOCK_SIZE_K": 64,
            "GROUP_SIZE_M": 8,
            "num_stages": 3,
            "num_warps": 8,
        },
        {
            "BLOCK_SIZE_M": 128,
            "BLOCK_SIZE_N": 128,
            "BLOCK_SIZE_K": 128,
            "GROUP_SIZE_M": 8,
            "num_stages": 4,
            "num_warps": 4,
        },
        {
            "BLOCK_SIZE_M": 64,
            "BLOCK_SIZE_N": 64,
            "BLOCK_SIZE_K": 32,
            "GROUP_SIZE_M": 8,
            "num_stages": 3,
            "num_warps": 64,
        },
    ]
    report = space.screen(spec, _targets("sm_80", "sm_120"), parallel=2)
    rows = {r["index"]: {c["target"]: c for c in r["cells"]} for r in report.rows}
    # fp16, stages - 1 = 2 buffers of (128 + 256) x 64 x 2 B: fits both (Blackwell's 99 KiB just)
    assert rows[0]["sm_80"]["shared_bytes"] == rows[0]["sm_120"]["shared_bytes"] == 98_304
    assert rows[0]["sm_120"]["status"] == "launches" and rows[0]["sm_120"]["regs_per_thread"] > 0
    # 3 buffers of 64 KiB: over both, the compile stopped after allocation with the same count
    assert rows[1]["sm_120"]["status"] == "does-not-fit" and rows[1]["sm_120"]["shared_bytes"] == 196_608
    assert rows[1]["sm_120"]["stopped_early"] and rows[1]["sm_120"]["regs_per_thread"] is None
    # 64 warps compile on Ampere, and no block of 2,048 threads can launch
    assert rows[2]["sm_80"]["status"] == "cannot-launch" and "2048" in rows[2]["sm_80"]["reason"].replace(",", "")
    assert report.surviving() == [spec.raw_configs[0]]
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_a_stopped_compile_reports_the_whole_compiles_shared_memory():
    spec = kernel_spec.load_kernels(TUTORIAL)[0]
    cfg = {"BLOCK_SIZE_M": 128, "BLOCK_SIZE_N": 128, "BLOCK_SIZE_K": 128, "GROUP_SIZE_M": 8, "num_stages": 4}
    [sc], _ = space_configs.split_configs(spec, [cfg])
    [target] = _targets("sm_120")
    stopped = space.task_for(spec, sc, target, space.kernel_hash(spec))
    whole = dataclasses.replace(stopped, stop_above=None)
    [a] = engine.run([stopped], what="test", use_cache=False)
    [b] = engine.run([whole], what="test", use_cache=False)
    assert a.stopped_early and not b.stopped_early
    [both] = engine.run([stopped, whole], what="test", use_cache=False)[1:]  # one compile answers both limits
    assert not both.stopped_early and both.regs_per_thread == b.regs_per_thread
    assert a.shared_bytes == b.shared_bytes == 196_608 and b.regs_per_thread > 0


def test_ptxas_refusing_a_config_is_a_row_with_its_words():
    spec = kernel_spec.load_kernels(TUTORIAL)[0]
    spec.raw_configs = [
        {"BLOCK_SIZE_M": 128, "BLOCK_SIZE_N": 256, "BLOCK_SIZE_K": 64, "GROUP_SIZE_M": 8, "num_warps": 8, "maxnreg": 24}
    ]
    report = space.screen(spec, _targets("sm_90"))
    [cell] = report.rows[0]["cells"]
    assert cell["status"] == "cannot-compile" and cell["reason"].startswith(
        "ptxas: (C7602) Insufficient registers (24)"
    )
    assert "ptxas" in cell["compiler_output"] and report.exit_code == 1


def test_a_config_that_crashes_the_compiler_is_a_row_and_the_screen_goes_on(cli, no_gpu):
    r = cli("check-tiles", "--kernel", CRASH, "--arch", "sm_80,sm_90", "--json", "-j", "2")
    doc = json.loads(r.stdout)
    assert r.exit_code == 0, r.stderr
    assert [c["BLOCK"] for c in doc["surviving"]] == [256, 1024]
    by = {d["index"]: d for d in doc["dropped"]}
    assert by[2]["reasons"]["sm_80"] == "CompilationError: arange's range must be a power of 2 (at 2:38)"
    crashed = next(r for r in doc["configs"] if r["index"] == 1)["cells"]
    assert all(c["status"] == "cannot-compile" for c in crashed)
    if INSTALLED.startswith("3.9"):  # its wheels' LLVM asserts, and the assertion aborts the process
        assert [c["crash_signal"] for c in crashed] == ["SIGABRT", "SIGABRT"]
        assert crashed[0]["reason"] == (
            'the compiler crashed (SIGABRT): LLVM assertion failed: isa<To>(Val) && "cast<Ty>() argument of '
            'incompatible type!"'
        )
