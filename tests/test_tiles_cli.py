"""``gpudiag check-tiles`` through the CLI: verdicts, exit codes, JSON, the input sources, bad input."""

from __future__ import annotations

import json
import textwrap

import pytest


def test_live_h100_estimate(cli, fake_h100):
    r = cli("check-tiles", "128x256x64:3@8", "64x64x32:4", "--dtype", "fp16", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "gpudiag.check-tiles/2"
    assert doc["target"]["origin"] == "live" and doc["target"]["limit_bytes"] == 232448
    v = doc["verdicts"][0]
    assert v["needed_bytes"] == 147456 and v["margin_bytes"] == 232448 - 147456 and v["fits"] is True
    assert v["margin_pct"] == pytest.approx(100 * (232448 - 147456) / 232448, abs=0.01)
    assert v["smem"]["mma"] == "wgmma" and v["smem"]["a_buffers"] == 3 and v["largest_stages_that_fit"] == 4
    occ = v["occupancy"]
    assert occ["blocks_per_sm_by"]["smem"] == 1 and occ["blocks_per_sm"] == 1 and occ["limiters"] == ["smem"]
    assert occ["registers_known"] is False and occ["blocks_per_sm_by"]["regs"] is None
    assert doc["registers"] == "unknown" and v["status"] == "fits" and v["cannot_launch"] is None
    assert doc["summary"] == {
        "total": 2,
        "cannot_compile": 0,
        "does_not_fit": 0,
        "cannot_launch": 0,
        "unknown": 0,
        "fits": 2,
        "all_fit": True,
    }


def test_one_misfit_exits_1_and_is_named(cli, no_gpu):
    r = cli("check-tiles", "128x128x128:4@8", "64x64x32", "--dtype", "bf16", "--arch", "sm_90")
    assert r.exit_code == 1
    assert "1 of 2 fit" in r.stdout and "262,144" in r.stdout and "29,696 B over" in r.stdout


def test_no_target_without_gpu_is_usage_error(cli, no_gpu):
    r = cli("check-tiles", "128x128x64")
    assert r.exit_code == 2 and "--gpu NAME" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "args, words",
    [
        (["128x"], "malformed tile '128x' (argument 1)"),
        (["0x64x32"], "BM must be positive"),
        (["128x128x32:0"], "stages must be"),
        (["128x128x64", "--dtype", "fp7"], "unknown dtype 'fp7'"),
        (["128x128x64", "--arch", "sm_999"], ""),
        (["128x128x64", "--smem-limit", "-5"], "--smem-limit must be a positive"),
        (["128x128x64", "--shape", "12x"], "malformed --shape"),
        (["128x128x64", "--model", "rocm"], "unknown --model"),
        (["128x128x64", "--b-layout", "diag"], "row or col"),
        ([], "no tile configs"),
        (["128x128x64", "--jobs", "0"], "--jobs must be 1.."),
        (["128x128x64", "--jobs", "-3"], "--jobs must be 1.."),
        (["128x128x64", "--regs", "0"], "--regs must be 1..255"),
        (["128x128x64", "--regs", "300"], "--regs must be 1..255"),
        (["128x128x64", "--regs", "64", "--exact"], "--regs and --exact"),
        (["128x128x64", "--sms", "0"], "--sms must be a positive"),
        (["128x128x64", "--scale-vector", "0"], "--scale-vector must be"),
        (["128x128x64", "--gpu", " ", "--smem-limit", "1000"], "--gpu needs a GPU name"),
        (["96x96x32:2@4"], "tile '96x96x32:2@4' (argument 1): Triton cannot compile it: BM=96 is not a power of two"),
        (["1x1x1"], "BK=1 is below 16 (tl.dot needs K >= 16"),
        (["128x128x64", "--from-inductor", "--inductor-set", "nope"], "unknown --inductor-set"),
    ],
)
def test_bad_input_one_line_exit_2(cli, no_gpu, args, words):
    r = cli("check-tiles", *args, *([] if "--arch" in args or "--smem-limit" in args else ["--arch", "sm_90"]))
    assert r.exit_code == 2, r.stdout
    assert r.stderr.startswith("gpudiag: ") and len(r.stderr.strip().splitlines()) == 1
    assert words in r.stderr


@pytest.mark.parametrize(
    "args, words",
    [
        (["--model", "cutlas"], "unknown --model 'cutlas'"),
        (["--epilogue-smem", "-1"], "must be >= 0"),
        (["--groups", "0"], "--groups must be >= 1"),
        (["--a-layout", "diag"], "row or col"),
    ],
)
def test_option_typos_are_named_before_the_missing_gpu(cli, no_gpu, args, words):
    r = cli("check-tiles", "128x128x64", *args)  # no target and no GPU: the typo still wins
    assert r.exit_code == 2 and words in r.stderr and "no live GPU" not in r.stderr


def test_smem_limit_only(cli, no_gpu):
    # no architecture named: the largest of the families' estimates (sm_100's 3 buffers + 16 B of mbarriers)
    r = cli("check-tiles", "128x128x64:3", "--smem-limit", "101376", "--json")
    doc = json.loads(r.stdout)
    assert (
        r.exit_code == 0 and doc["verdicts"][0]["needed_bytes"] == 98320 and doc["target"]["origin"] == "--smem-limit"
    )
    assert doc["verdicts"][0]["occupancy"] is None and any("largest of the" in n for n in doc["notes"])
    r = cli("check-tiles", "128x128x64:3", "--smem-limit", "101376", "--exact")
    assert r.exit_code == 2 and "architecture" in r.stderr


def test_dgx_spark_cutlass_case(cli, no_gpu):
    r = cli(
        "check-tiles", "128x256x64B", "--dtype", "fp4", "--model", "cutlass", "--arch", "sm_121", "--grouped", "--json"
    )
    # Without the epilogue's storage the totals are lower bounds: no "fits", and exit 1 for a CI gate.
    assert r.exit_code == 1, r.stderr
    v = json.loads(r.stdout)["verdicts"][0]
    c = v["cutlass"]
    assert v["block_k"] == 128 and c["auto_stages"] == 3 and v["stages"] == 3
    assert v["fits"] is None and any("at most 17,408 B" in p for p in v["problems"])
    assert [row["fits"] for row in c["stage_table"]][:4] == [None, None, None, False]
    # an epilogue that brings 3 stages to 100 KiB: 1024 bytes over the 99 KiB limit, 2 stages fit
    epi = 102400 - c["stage_table"][2]["bytes"]
    r = cli(
        "check-tiles",
        "128x256x64B:3",
        "--dtype",
        "fp4",
        "--model",
        "cutlass",
        "--arch",
        "sm_121",
        "--grouped",
        "--epilogue-smem",
        str(epi),
    )
    assert r.exit_code == 1
    assert "102,400" in r.stdout and "1,024 B over" in r.stdout and "largest stage count that fits: 2" in r.stdout


def test_shape_and_groups(cli, fake_h100):
    r = cli("check-tiles", "128x256x64:3@8", "--shape", "4096x4096x4096", "--groups", "2", "--json")
    w = json.loads(r.stdout)["verdicts"][0]["waves"]
    assert w["tiles"] == 1024 and w["one_block_per_sm"]["waves"] == 8
    assert w["one_block_per_sm"]["fewest_sms_same_waves"] == 128
    r = cli("check-tiles", "128x256x64", "--arch", "sm_90", "--shape", "4096x4096x4096")
    assert r.exit_code == 2 and "SM count" in r.stderr
    r = cli("check-tiles", "128x256x64", "--arch", "sm_90", "--shape", "4096x4096x4096", "--sms", "132", "--json")
    assert json.loads(r.stdout)["verdicts"][0]["waves"]["one_block_per_sm"]["waves"] == 4


def test_waves_use_occupancy_issue_example(cli, no_gpu):
    """64x64x32:4 at 8192^3 on an H100: 6 blocks fit per SM, so 21 waves of a 792-block grid, not 125."""
    r = cli("check-tiles", "64x64x32:4", "--gpu", "h100", "--shape", "8192x8192x8192", "--json")
    v = json.loads(r.stdout)["verdicts"][0]
    w = v["waves"]
    assert v["occupancy"]["blocks_per_sm"] == 6 and w["blocks_per_sm"] == 6 and w["blocks_per_sm_is_upper_bound"]
    assert w["persistent_grid"] == 132 * 6 and w["with_occupancy"]["waves"] == 21
    assert w["one_block_per_sm"]["waves"] == 125
    # with registers known the bound becomes exact: 128 registers/thread allow 4 blocks of 4 warps
    r = cli("check-tiles", "64x64x32:4", "--gpu", "h100", "--shape", "8192x8192x8192", "--regs", "128", "--json")
    w = json.loads(r.stdout)["verdicts"][0]["waves"]
    assert w["blocks_per_sm"] == 4 and not w["blocks_per_sm_is_upper_bound"] and w["with_occupancy"]["waves"] == 32


def test_uncompilable_tiles_in_a_file_are_verdicts_not_errors(cli, no_gpu, tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("tile\n96x96x32:2@4\n128x128x64:3@4\n")
    r = cli("check-tiles", "--file", str(f), "--arch", "sm_90", "--json")
    assert r.exit_code == 1
    bad, good = json.loads(r.stdout)["verdicts"]
    assert bad["status"] == "cannot-compile" and bad["fits"] is False and "power of two" in bad["cannot_compile"]
    assert good["status"] == "fits"
    r = cli("check-tiles", "--file", str(f), "--arch", "sm_90")
    assert r.exit_code == 1 and "cannot compile:" in r.stdout and "96x96x32:2@4" in r.stdout


def test_fp8_on_ampere_cannot_compile_there(cli, no_gpu):
    r = cli("check-tiles", "64x64x64:3", "--dtype", "fp8", "--arch", "sm_86", "--json")
    v = json.loads(r.stdout)["verdicts"][0]
    assert r.exit_code == 1 and v["status"] == "cannot-compile" and "sm_89" in v["cannot_compile"]


def test_issue_example_rtx_4090_estimate_and_stage_count(cli, no_gpu):
    r = cli("check-tiles", "128x128x64:4", "--arch", "sm_89")
    assert r.exit_code == 0, r.stdout
    row = next(ln for ln in r.stdout.splitlines() if ln.startswith("128x128x64:4"))
    assert "98,304" in row and "+3,072" in row and " yes " in row and row.split()[4] == "4"


def test_cannot_launch_is_flagged(cli, no_gpu):
    """1,024 threads at 128 registers need 131,072 registers: more than a block may have."""
    r = cli("check-tiles", "64x64x32:2@32", "--gpu", "h100", "--regs", "128", "--json")
    v = json.loads(r.stdout)["verdicts"][0]
    assert r.exit_code == 1 and v["fits"] is True and v["status"] == "cannot-launch"
    assert "too many resources requested for launch" in v["cannot_launch"]
    assert v["occupancy"]["blocks_per_sm"] == 0 and v["registers_source"] == "--regs"


def test_file_input(cli, no_gpu, tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("BLOCK_M,BLOCK_N,BLOCK_K,num_stages,num_warps\n128,128,64,3,4\n256,256,64,4,8\n")
    r = cli("check-tiles", "--file", str(f), "--gpu", "h100", "--json")
    doc = json.loads(r.stdout)
    assert r.exit_code == 1 and [v["fits"] for v in doc["verdicts"]] == [True, False]
    assert doc["verdicts"][1]["where"] == f"{f}:3"
    f.write_text("BLOCK_M,BLOCK_N,BLOCK_K\n128,x,64\n")
    r = cli("check-tiles", "--file", str(f), "--gpu", "h100")
    assert r.exit_code == 2 and f"{f}:2" in r.stderr


SCRIPT = textwrap.dedent("""
    import triton
    import triton.language as tl

    CONFIGS = [triton.Config({"BLOCK_SIZE_M": 128, "BLOCK_SIZE_N": 256, "BLOCK_SIZE_K": 64}, num_stages=3, num_warps=8)]

    def more():
        return [triton.Config({"BLOCK_M": 256, "BLOCK_N": 256, "BLOCK_K": 64}, num_stages=4, num_warps=8)]

    @triton.autotune(configs=CONFIGS + [triton.Config({"BLOCK_SIZE_M": 64, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 32},
                                                      num_stages=4, num_warps=4)], key=["M"])
    @triton.jit
    def mm(a, BLOCK_SIZE_M: tl.constexpr, BLOCK_SIZE_N: tl.constexpr, BLOCK_SIZE_K: tl.constexpr):
        pass

    @triton.autotune(configs=more(), key=["M"])
    @triton.jit
    def big(a, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
        pass

    @triton.autotune(configs=[triton.Config({"BLOCK_M": bm, "BLOCK_N": 64, "BLOCK_K": 32}) for bm in (64, 128)], key=[])
    @triton.jit
    def computed(a):
        pass

    raise SystemExit("this script must never run")
""")


def test_from_script(cli, fake_h100, tmp_path):
    s = tmp_path / "k.py"
    s.write_text(SCRIPT)
    r = cli("check-tiles", "--from-script", str(s), "--json")
    doc = json.loads(r.stdout)
    assert r.exit_code == 1
    assert [(v["group"], v["spec"], v["fits"]) for v in doc["verdicts"]] == [
        ("mm", "128x256x64:3@8", True),
        ("mm", "64x64x32:4@4", True),
        ("big", "256x256x64:4@8", False),
    ]
    kernels = {k["name"]: k for k in doc["script"]["kernels"]}
    assert kernels["computed"]["configs"] == 0 and "computed" in kernels["computed"]["skipped"][0]


@pytest.mark.parametrize(
    "text, words",
    [
        ("def f(:\n  pass\n", ":1: syntax error"),
        ("import triton\n@triton.jit\ndef k(x):\n    pass\n", "no @triton.autotune kernels"),
    ],
)
def test_from_script_bad(cli, fake_h100, tmp_path, text, words):
    s = tmp_path / "bad.py"
    s.write_text(text)
    r = cli("check-tiles", "--from-script", str(s))
    assert r.exit_code == 2 and words in r.stderr and str(s) in r.stderr


@pytest.mark.parametrize("which, dtype", [("scaled_mm", "fp8e4m3"), ("int8_mm", "int8")])
def test_inductor_sets_carry_their_own_dtype(cli, no_gpu, which, dtype):
    pytest.importorskip("torch")
    r = cli("check-tiles", "--from-inductor", "--inductor-set", which, "--gpu", "rtx 4090", "--json")
    doc = json.loads(r.stdout)
    assert doc["inductor"]["dtype"] == dtype and "torch._" in doc["inductor"]["dtype_source"]
    assert {v["a_dtype"] for v in doc["verdicts"]} == {dtype}
    # --dtype still decides when given
    r = cli("check-tiles", "--from-inductor", "--inductor-set", which, "--gpu", "rtx 4090", "--dtype", "bf16", "--json")
    assert {v["a_dtype"] for v in json.loads(r.stdout)["verdicts"]} == {"bf16"}


def test_from_inductor(cli, fake_h100):
    pytest.importorskip("torch")
    r = cli("check-tiles", "--from-inductor", "--dtype", "bf16", "--json")
    doc = json.loads(r.stdout)
    import torch

    assert doc["inductor"]["torch_version"] == torch.__version__
    assert doc["summary"]["total"] == doc["inductor"]["count"] >= 10
    failing = [v for v in doc["verdicts"] if not v["fits"]]
    assert r.exit_code == (1 if failing else 0)
    assert all(v["needed_bytes"] > 232448 for v in failing)
    r = cli("check-tiles", "--from-inductor", "--inductor-set", "nope")
    assert r.exit_code == 2 and "unknown --inductor-set" in r.stderr


def test_exact_cli_small(cli, no_gpu, tmp_path, monkeypatch):
    pytest.importorskip("triton")
    monkeypatch.setenv("GPUDIAG_CACHE_DIR", str(tmp_path))
    r = cli("check-tiles", "32x32x32:2@2", "--dtype", "fp8", "--exact", "--arch", "sm_90", "--json", "-j", "1")
    assert r.exit_code == 0, r.stderr
    v = json.loads(r.stdout)["verdicts"][0]
    assert v["method"] == "exact" and v["b_layout"] == "col" and v["exact"]["regs_per_thread"] > 0
    assert v["needed_bytes"] <= v["estimate_bytes"]
    r = cli("check-tiles", "32x32x64", "--dtype", "fp4", "--exact", "--arch", "sm_90")
    assert r.exit_code == 2 and "cannot compile fp4" in r.stderr
