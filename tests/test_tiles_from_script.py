"""``check-tiles --from-script``: autotuners applied as a call, configs bound to a module-level name,
key spellings kept as the script writes them, comma lists of targets through the one "which GPU"
policy, and the dtype the report assumed (with a note where a kernel's name says int8 or fp8)."""

from __future__ import annotations

import json

from gpudiag.tiles.from_script import kernels_from_script

CALL_FORM = """\
import triton
import triton.language as tl

CONFIGS = [
    triton.Config({"BLOCK_M": 128, "BLOCK_N": 128, "BLOCK_K": 64}, num_stages=4, num_warps=4),
    triton.Config({"BLOCK_M": 128, "BLOCK_N": 256, "BLOCK_K": 64}, num_stages=4, num_warps=8),
]

@triton.jit
def _matmul(a_ptr, b_ptr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    a = tl.load(a_ptr)
    b = tl.load(b_ptr)
    tl.dot(a, b)

matmul = triton.autotune(configs=CONFIGS, key=["M", "N", "K"])(_matmul)
"""

INT8 = """\
import triton
import triton.language as tl

@triton.autotune(configs=[triton.Config({"BLOCK_M": 128, "BLOCK_N": 256, "BLOCK_K": 128}, num_stages=3, num_warps=8)], key=[])
@triton.jit
def _w8a8_linear(a_ptr, b_ptr):
    pass

@triton.autotune(configs=[triton.Config({"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 32}, num_stages=2, num_warps=4)], key=[])
@triton.jit
def _dequant(x_ptr, qweight_int8_ptrs):
    w = tl.load(qweight_int8_ptrs)
    x = tl.load(x_ptr)
    tl.dot(x, w)
"""

MISSING_K = """\
import triton

@triton.autotune(configs=[
    triton.Config({"BLOCK_M": 64, "BLOCK_N": 64, "waves_per_eu": 2, "PRE_LOAD_V": False}, num_warps=4),
    triton.Config({"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 32}, num_warps=4),
], key=[])
@triton.jit
def attn(x):
    pass
"""


def script(tmp_path, text, name="k.py"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_autotune_applied_as_a_call_with_a_module_level_list(tmp_path):
    (k,) = kernels_from_script(script(tmp_path, CALL_FORM))
    assert k.name == "_matmul" and k.line == 15 and not k.skipped
    assert [(c.block_m, c.block_n, c.block_k, c.stages, c.warps) for c in k.configs] == [
        (128, 128, 64, 4, 4),
        (128, 256, 64, 4, 8),
    ]


def test_the_missing_key_is_named_and_the_scripts_spelling_kept(tmp_path):
    (k,) = kernels_from_script(script(tmp_path, MISSING_K))
    assert len(k.configs) == 1
    (why,) = k.skipped
    assert "the Config has BLOCK_M, BLOCK_N, waves_per_eu, PRE_LOAD_V" in why  # not WAVES_PER_EU
    assert "missing BLOCK_K (also accepted: BLOCK_SIZE_K, BK, TILE_K)" in why
    assert "BLOCK_M/BLOCK_N/BLOCK_K" not in why


def test_dtype_hints_from_the_kernel_name_and_the_dot_operands(tmp_path):
    linear, dequant = kernels_from_script(script(tmp_path, INT8))
    assert (linear.dtype_hint, linear.dtype_hint_from) == ("int8", "_w8a8_linear")
    assert (dequant.dtype_hint, dequant.dtype_hint_from) == ("int8", "qweight_int8_ptrs")
    (plain,) = kernels_from_script(script(tmp_path, CALL_FORM, "plain.py"))
    assert plain.dtype_hint is None


def test_the_assumed_dtype_is_said_and_int8_kernels_get_a_note(cli, no_gpu, tmp_path):
    p = script(tmp_path, INT8)
    r = cli("check-tiles", "--from-script", p, "--arch", "sm_89")
    out = " ".join(r.stdout.split())
    assert "dtype fp16 (assumed:" in out and "--dtype" in out
    assert "_w8a8_linear says int8 operands" in out and "--dtype int8 checks it as int8" in out
    assert r.exit_code == 1  # 128x256x128:3 as fp16 does not fit 99 KiB: checked as assumed, not silently int8
    r = cli("check-tiles", "--from-script", p, "--arch", "sm_89", "--dtype", "int8")
    out = " ".join(r.stdout.split())
    assert r.exit_code == 0 and "(assumed:" not in out and "says int8" not in out


def test_a_comma_list_of_targets(cli, no_gpu, tmp_path):
    p = script(tmp_path, CALL_FORM)
    r = cli("check-tiles", "--from-script", p, "--arch", "sm_89,sm_90", "--json")
    assert "Traceback" not in r.stderr
    docs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [d["target"]["sm"] for d in docs] == ["sm_89", "sm_90"]
    fits = [[v["status"] for v in d["verdicts"]] for d in docs]
    assert fits == [["fits", "does-not-fit"], ["fits", "fits"]]
    assert r.exit_code == 1  # the worst of the two
    r = cli("check-tiles", "--from-script", p, "--gpu", "h100,h200")
    assert r.exit_code == 0 and r.stdout.count("check-tiles ·") == 2
    r = cli("check-tiles", "--from-script", p, "--arch", "sm_90,")
    assert r.exit_code == 2 and r.stderr.startswith("gpudiag: --arch needs an architecture")
    # the single-GPU policy of plain configs is unchanged
    r = cli("check-tiles", "128x128x64", "--arch", "sm_89,sm_90")
    assert r.exit_code == 2 and "give one GPU here, got 2" in r.stderr
