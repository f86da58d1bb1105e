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
    assert occ["blocks_per_sm_by"]["smem"] == 1 and occ["blocks_per_sm"] == 1
    # registers unknown: bounded below by the accumulator's, 128x256 fp32 over 256 threads = 128, + 24
    assert occ["registers_known"] is False and occ["regs_lower_bound"] == 152 and occ["limiters"] == ["smem", "regs"]
    assert v["registers_bound"] == {"accumulator": 128, "lower_bound": 152, "cap": 255, "spills_likely": False}
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
        (["64x64x16", "--dtype", "fp8"], "BK=16 is below 32 (tl.dot needs K >= 32 for 8-bit operands"),
        (["64x64x4", "--dtype", "fp32"], "BK=4 is below 8"),
        (["128x128x16", "--dtype", "fp8", "--model", "cutlass"], "below the MMA instruction's K of 32"),
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
        ("import triton\n@triton.jit\ndef k(x):\n    pass\n", "no triton.autotune kernels found"),
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


# --- issue 19 §5: defects found as a new user ------------------------------------------------------


def test_fp8_k_16_on_an_h100_is_refused_not_a_fit(cli, no_gpu, tmp_path):
    r = cli("check-tiles", "64x64x16", "--dtype", "fp8", "--gpu", "h100")
    assert r.exit_code == 2 and "fits" not in r.stdout and "below 32" in r.stderr
    f = tmp_path / "t.csv"  # in a file: a verdict, not an error
    f.write_text("tile\n64x64x16\n64x64x32\n")
    doc = json.loads(cli("check-tiles", "--file", str(f), "--dtype", "fp8", "--gpu", "h100", "--json").stdout)
    assert [v["status"] for v in doc["verdicts"]] == ["cannot-compile", "fits"]


def test_fp32_k_8_is_accepted(cli, no_gpu):
    r = cli("check-tiles", "64x64x8", "--dtype", "fp32", "--gpu", "h100", "--json")
    assert r.exit_code == 0, r.stderr
    v = json.loads(r.stdout)["verdicts"][0]
    assert v["status"] == "fits" and v["needed_bytes"] == 16384 and v["input_precision"] == "tf32"


def test_fp32_is_tf32_by_default_and_the_header_says_so(cli, no_gpu, monkeypatch):
    monkeypatch.delenv("TRITON_F32_DEFAULT", raising=False)
    r = cli("check-tiles", "256x256x32:4@4", "--dtype", "fp32", "--gpu", "h100", env={"COLUMNS": "200"})
    assert r.exit_code == 1  # the issue's false fit: 262,144 B > 232,448 B
    assert "262,144" in r.stdout and "fp32 dot precision: tf32 on the tensor cores" in r.stdout
    assert "TRITON_F32_DEFAULT unset" in r.stdout and "--dtype fp32-ieee for full precision" in r.stdout
    doc = json.loads(cli("check-tiles", "256x256x32:4@4", "--dtype", "fp32", "--gpu", "h100", "--json").stdout)
    assert doc["input_precisions"][0]["input_precision"] == "tf32"
    r = cli("check-tiles", "256x256x32:4@4", "--dtype", "fp32-ieee", "--gpu", "h100", env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "196,608" in r.stdout and "full fp32 on the FMA units" in r.stdout
    r = cli("check-tiles", "128x128x32:2@4", "--dtype", "fp16", "--gpu", "h100")
    assert "fp32 dot precision" not in r.stdout


def test_triton_f32_default_is_honoured_and_named(cli, no_gpu):
    r = cli(
        "check-tiles",
        "256x256x32:4@4",
        "--dtype",
        "fp32",
        "--gpu",
        "h100",
        "--json",
        env={"TRITON_F32_DEFAULT": "ieee"},
    )
    doc = json.loads(r.stdout)
    assert doc["verdicts"][0]["needed_bytes"] == 196608 and doc["verdicts"][0]["input_precision"] == "ieee"
    assert "TRITON_F32_DEFAULT=ieee" in doc["input_precisions"][0]["source"]
    r = cli("check-tiles", "64x64x32", "--dtype", "fp32", "--gpu", "h100", env={"TRITON_F32_DEFAULT": "tf32x3"})
    assert r.exit_code == 2 and "not modelled by the estimate" in r.stderr and "--exact" in r.stderr
    r = cli("check-tiles", "64x64x32", "--dtype", "fp32", "--gpu", "h100", env={"TRITON_F32_DEFAULT": "half"})
    assert r.exit_code == 2 and "TRITON_F32_DEFAULT='half'" in r.stderr


def test_inductor_fp32_follows_its_own_allow_tf32(cli, no_gpu, monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.delenv("TRITON_F32_DEFAULT", raising=False)
    args = ("check-tiles", "--from-inductor", "--dtype", "fp32", "--gpu", "h100", "--json")
    doc = json.loads(cli(*args).stdout)
    matmul = torch.backends.cuda.matmul
    tf32 = getattr(matmul, "fp32_precision", None) == "tf32" or (
        not isinstance(getattr(matmul, "fp32_precision", None), str) and matmul.allow_tf32
    )
    assert doc["inductor"]["allow_tf32"] is tf32 and "ALLOW_TF32" in doc["inductor"]["allow_tf32_source"]
    assert {v["input_precision"] for v in doc["verdicts"]} == {"tf32" if tf32 else "ieee"}
    # TRITON_F32_DEFAULT wins over allow_tf32, as in tl.dot
    doc = json.loads(cli(*args, env={"TRITON_F32_DEFAULT": "tf32"}).stdout)
    assert {v["input_precision"] for v in doc["verdicts"]} == {"tf32"}
    # and an explicit precision is the user's
    doc = json.loads(cli("check-tiles", "--from-inductor", "--dtype", "tf32", "--gpu", "h100", "--json").stdout)
    assert {v["input_precision"] for v in doc["verdicts"]} == {"tf32"} and doc["inductor"]["allow_tf32"] is None


def test_best_fits_rank_with_the_accumulators_registers(cli, no_gpu):
    """128x256x32:3@8 fp8 on an RTX 4090: shared memory alone allows 4 blocks per SM, but its accumulator
    alone takes 128 registers a thread (the compiler gives it 255 and 1 block): ranked behind the others."""
    tiles = ["128x256x32:3@8", "64x64x32:3@4", "128x128x32:3@4", "64x128x64:3@4"] * 11  # > 40: summarised
    r = cli("check-tiles", *tiles, "--dtype", "fp8", "--gpu", "rtx 4090", "--json")
    v = json.loads(r.stdout)["verdicts"][0]
    occ = v["occupancy"]
    assert occ["blocks_per_sm"] == 1 and occ["limiters"] == ["regs"] and occ["regs_lower_bound"] == 152
    assert occ["blocks_per_sm_by"]["smem"] == 4 and v["registers_bound"]["accumulator"] == 128
    r = cli("check-tiles", *tiles, "--dtype", "fp8", "--gpu", "rtx 4090", env={"COLUMNS": "120"})
    best = r.stdout.split("best 4 of")[1].splitlines()[3:7]
    assert best[-1].startswith("128x256x32:3@8") and "≤1" in best[-1], best


def test_spills_are_flagged_when_the_accumulator_leaves_no_room(cli, no_gpu):
    r = cli("check-tiles", "128x256x64:2@4", "--gpu", "h100", "--json")
    v = json.loads(r.stdout)["verdicts"][0]
    assert v["registers_bound"]["spills_likely"] is True and v["occupancy"]["regs_lower_bound"] is None
    assert any(p.startswith("spills likely: its accumulator takes 256 registers a thread") for p in v["problems"])
    assert v["status"] == "fits"  # a warning, not a verdict


def test_only_the_notes_that_apply_follow_one_config(cli, no_gpu):
    r = cli("check-tiles", "128x128x64:3@4", "--gpu", "h100", env={"COLUMNS": "100"})
    notes = [ln for ln in r.stdout.splitlines() if ln.startswith("note:")]
    assert len(notes) == 1 and "registers unknown" in notes[0]
    assert "stages/warps not given" not in r.stdout and "--explain" in r.stdout
    assert len(r.stdout.splitlines()) <= 12
    r = cli("check-tiles", "128x128x64", "--gpu", "h100")
    assert "note: stages/warps not given: Triton's defaults, 3 stages and 4 warps" in r.stdout
    r = cli("check-tiles", "128x128x64", "128x128x64:3@4", "--gpu", "h100", env={"COLUMNS": "200"})
    assert "stages/warps not given: Triton's defaults, 3 stages and 4 warps (1 of 2 configs)" in r.stdout
    r = cli("check-tiles", "128x128x64:3@4", "--gpu", "h100", "--explain", env={"COLUMNS": "200"})
    text = r.stdout
    assert "how: estimate: Triton's own allocation" in text and "how: fits = needed" in text
    assert "how: smallest K: tl.dot needs K >= 32 for 8-bit" in text and "source: fp16:" in text
    doc = json.loads(cli("check-tiles", "128x128x64:3@4", "--gpu", "h100", "--json").stdout)
    assert any(n.startswith("estimate: Triton's own allocation") for n in doc["explain"])
    assert not any("stages/warps not given" in n for n in doc["notes"])


def test_cutlass_flags_a_k_below_the_mma_instruction(cli, no_gpu, tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("tile\n128x128x16\n128x128x32\n")
    r = cli("check-tiles", "--file", str(f), "--dtype", "fp8", "--model", "cutlass", "--arch", "sm_90", "--json")
    bad, good = json.loads(r.stdout)["verdicts"]
    assert bad["status"] == "cannot-compile" and "MMA instruction's K of 32" in bad["cannot_compile"]
    assert bad["cutlass"] is None and good["cutlass"]["auto_stages"] > 0
    assert len(good["cutlass"]["stage_table"]) <= 16
    # bf16's K is 16, block-scaled fp4's 64
    r = cli("check-tiles", "128x128x16", "--dtype", "bf16", "--model", "cutlass", "--arch", "sm_90", "--json")
    assert json.loads(r.stdout)["verdicts"][0]["status"] != "cannot-compile"
    r = cli("check-tiles", "128x128x32", "--dtype", "fp4", "--model", "cutlass", "--arch", "sm_120")
    assert r.exit_code == 2 and "K of 64" in r.stderr


def test_file_from_stdin(cli, no_gpu):
    r = cli("check-tiles", "--file", "-", "--arch", "sm_89", "--json", input="128x128x64:3@4\n64x64x32\n")
    assert [v["where"] for v in json.loads(r.stdout)["verdicts"]] == ["stdin:1", "stdin:2"]
    r = cli(
        "check-tiles",
        "--file",
        "-",
        "--arch",
        "sm_89",
        "--json",
        input='[{"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 32}]',
    )
    assert json.loads(r.stdout)["verdicts"][0]["spec"] == "64x64x32"


def test_file_that_is_a_folder_or_too_big_is_one_line(cli, no_gpu, tmp_path):
    r = cli("check-tiles", "--file", str(tmp_path), "--arch", "sm_89")
    assert r.exit_code == 2 and "is a folder" in r.stderr and "no such file" not in r.stderr
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:  # a sparse gigabyte: nothing is read
        f.truncate(2**30)
    r = cli("check-tiles", "--file", str(big), "--arch", "sm_89")
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "1.0 GiB is more than a config list" in r.stderr and "internal error" not in r.stderr
