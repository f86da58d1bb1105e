"""``check-tiles --from-config-table`` on the table formats other projects ship, and what the exit
code means: files that are not matmul tile tables and unmodelled dtypes are "not checked" (no effect on
the exit code), key spellings (BLOCK_M, TILE_M, ...) in every layout, vLLM's per-token GEMM names,
LightLLM's names and kernels, FlagGems' tune_configs, and the "which table each target loads" list.

The fixture tables are small ones written here in each project's format; a few real file names are
used as names."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gpudiag.tiles import block_gemm_estimate as be
from gpudiag.tiles import config_table as ct
from gpudiag.tiles import estimate as est
from gpudiag.tiles import moe_estimate as me
from gpudiag.tiles import table_check as tc
from gpudiag.tiles.dtypes import lookup

H100 = "NVIDIA_H100_80GB_HBM3"


def entry(bm, bn, bk, warps, stages, keys=("BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K")):
    return {keys[0]: bm, keys[1]: bn, keys[2]: bk, "num_warps": warps, "num_stages": stages}


FITS = {"1": entry(16, 64, 128, 4, 4), "16": entry(32, 64, 64, 4, 2)}  # 61,440 B and 12,288 B (bf16 MoE)
TOO_BIG_FOR_4090 = {"1": entry(64, 128, 128, 4, 4)}  # 147,456 B on sm_89


def write(folder: Path, name: str, doc) -> Path:
    p = folder / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return p


def run(cli, *args):
    r = cli("check-tiles", "--from-config-table", *args)
    assert "Traceback" not in r.stderr
    return r


def text(r) -> str:
    return " ".join(r.stdout.split())


# --- 1. exit code and summary: what is not checked does not fail -----------------------------------

SUM_REDUCE = {"8-2048-bfloat16": {"1": {"BLOCK_M": 1, "BLOCK_DIM": 256, "NUM_STAGE": 1, "num_warps": 2}}}
LORA = {"batchs=1,hidden_size=4096": {"BLOCK_N": 32, "SPLIT_N": 128, "num_warps": 8}}


def test_other_kernels_tables_are_not_checked_and_do_not_fail(cli, no_gpu, tmp_path):
    write(tmp_path, f"triton_3_4_0/E=8,N=7168,device_name={H100}.json", FITS)
    write(tmp_path, "triton_3_4_0/moe_sum_reduce_NVIDIA-H200_t8_h2048_bfloat16.json", SUM_REDUCE)
    write(tmp_path, "lora/op_type=expand,batchs=1,hidden_size=4096 device_name=X.json", LORA)
    r = run(cli, str(tmp_path), "--gpu", "h100")
    assert r.exit_code == 0, r.stdout
    out = text(r)
    assert out.count("not a matmul tile table: not checked") == 2
    assert "BLOCK_DIM" in out and "SPLIT_N" in out  # what it looks like
    assert "1 of 1 checked table fit entirely" in out and "exit 1" not in out
    doc = json.loads(run(cli, str(tmp_path), "--gpu", "h100", "--json").stdout)
    assert doc["summary"]["all_fit"] is True and doc["summary"]["not_tile_tables"] == 2
    assert doc["summary"]["checked_tables"] == 1 and doc["summary"]["exit_reasons"] == []


def test_a_real_failure_still_fails_and_says_why(cli, no_gpu, tmp_path):
    write(tmp_path, f"E=8,N=7168,device_name={H100}.json", TOO_BIG_FOR_4090)
    write(tmp_path, "moe_sum_reduce.json", SUM_REDUCE)
    r = run(cli, str(tmp_path), "--gpu", "rtx 4090")
    assert r.exit_code == 1
    assert "exit 1: 1 checked table with entries that do not fit a target" in text(r)


def test_an_unreadable_file_fails_and_the_text_says_so(cli, no_gpu, tmp_path):
    write(tmp_path, f"E=8,N=7168,device_name={H100}.json", FITS)
    write(tmp_path, f"E=8,N=14336,device_name={H100}.json", "{ not json")
    r = run(cli, str(tmp_path), "--gpu", "h100")
    assert r.exit_code == 1 and "exit 1: 1 file that could not be read as a table" in text(r)


@pytest.mark.parametrize("dtype", ["bf16", "float8"])
def test_a_dtype_no_runtime_builds_is_not_checked(cli, no_gpu, tmp_path, dtype):
    name = f"E=128,N=8960,device_name={H100},dtype={dtype}.json"
    write(tmp_path, name, TOO_BIG_FOR_4090)
    t = ct.read_table(str(tmp_path / name))
    assert "no runtime builds this name" in t.not_checked and "get_config_dtype_str" in t.not_checked
    assert "models the fused-MoE kernel for bf16" not in t.not_checked  # the old contradiction
    r = run(cli, str(tmp_path), "--gpu", "rtx 4090")
    assert r.exit_code == 0 and "0 of" not in text(r)
    assert "but no runtime builds this file name" in text(r) and "loaded on" not in text(r)
    doc = json.loads(run(cli, str(tmp_path), "--gpu", "rtx 4090", "--json").stdout)
    assert doc["target_tables"][0]["families"] == []  # no "loads E=128,...,dtype=bf16.json" claim
    assert "which table each target loads: no table here has a name a runtime looks up" in text(r)
    assert "0 table shapes" not in text(r)


def test_an_unmodelled_dtype_a_runtime_does_load(tmp_path):
    t = ct.read_table(str(write(tmp_path, "E=384,N=256,device_name=AMD_Instinct_MI350X,dtype=int4_w4a16.json", FITS)))
    assert "loaded by the runtimes' fused-MoE code" in t.not_checked and t.kernel == "fused-moe"


def test_an_unnamed_batch_table_is_information_not_a_failure(cli, no_gpu, tmp_path):
    write(tmp_path, "my_table.json", FITS)
    r = run(cli, str(tmp_path), "--arch", "sm_90", "--json")
    doc = json.loads(r.stdout)
    assert r.exit_code == 0 and doc["summary"]["all_fit"] is True
    assert "no runtime loads it under this name" in doc["tables"][0]["problem"]


def test_plurals(cli, no_gpu, tmp_path):
    bad = {"1": {"BLOCK_SIZE_M": 16}, "2": {"BLOCK_SIZE_M": 16}, "16": entry(64, 128, 128, 4, 4)}
    write(tmp_path, f"E=8,N=7168,device_name={H100}.json", bad)
    out = text(run(cli, str(tmp_path), "--arch", "sm_89"))
    assert "2 bad entries" in out and "entrys" not in out
    assert "1 entry over the limit" in out and "2 entries invalid" in out


# --- 2. key aliases -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "keys", [("BLOCK_M", "BLOCK_N", "BLOCK_K"), ("TILE_M", "TILE_N", "TILE_K"), ("block_m", "block_n", "block_k")]
)
def test_aliases_in_a_table_keyed_by_batch_size(tmp_path, keys):
    name = "N=1536,K=1536,device_name=NVIDIA_L40S,dtype=fp8_w8a8,block_shape=[128,128].json"
    alias = ct.read_table(str(write(tmp_path / "a", name, {"1": {**entry(64, 128, 128, 4, 3, keys), "GROUP_M": 8}})))
    plain = ct.read_table(str(write(tmp_path / "b", name, {"1": {**entry(64, 128, 128, 4, 3), "GROUP_SIZE_M": 8}})))
    (a,), (b,) = alias.entries, plain.entries
    assert a.problem is None and (a.block_m, a.block_n, a.block_k, a.group_m) == (64, 128, 128, 8)
    assert (a.spec, a.group_m) == (b.spec, b.group_m)


def test_the_missing_key_is_named_in_the_tables_own_style():
    e = ct.entry_from_mapping("1", {"BLOCK_M": 64, "BLOCK_N": 64, "GROUP_M": 8})
    assert e.problem.startswith("missing BLOCK_K (also accepted: BLOCK_SIZE_K, BK, TILE_K)")
    e = ct.entry_from_mapping("1", {"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 48})
    assert e.problem.startswith("BLOCK_K=48 is not a power of two")  # as written, not BLOCK_SIZE_K


def test_file_reads_a_runtime_table(cli, no_gpu, tmp_path):
    p = write(tmp_path, "E=8,N=3584,device_name=NVIDIA_L40S.json", {"triton_version": "3.4.0", **FITS})
    r = cli("check-tiles", "--file", str(p), "--arch", "sm_89", "--json")
    assert r.exit_code == 0, r.stderr
    wheres = [v["where"] for v in json.loads(r.stdout)["verdicts"]]
    assert wheres == [f"{p} M=1", f"{p} M=16"]


# --- 3. vLLM's per-token scaled GEMM tables ---------------------------------------------------------

PER_TOKEN = "N=15360,K=3840,device_name={},dtype=fp8_w8a8_per_token,input_dtype=float8_e4m3fn,out_dtype=bfloat16.json"


def test_per_token_gemm_names():
    n = ct.parse_name(PER_TOKEN.format("AMD_Radeon_R9700"))
    assert (n.family, n.kernel, n.quant, n.n, n.k, n.experts) == ("scaled-mm", "matmul", "fp8", 15360, 3840, None)
    assert n.with_device(H100) == PER_TOKEN.format(H100)
    assert ct.parse_name(PER_TOKEN.replace("float8_e4m3fn", "int8").format(H100)).quant == "int8"


def test_per_token_gemm_is_checked_as_a_plain_fp8_matmul(cli, no_gpu, tmp_path):
    write(
        tmp_path, PER_TOKEN.format("AMD_Radeon_R9700"), {"1": entry(16, 64, 128, 4, 1), "2": entry(64, 128, 256, 8, 4)}
    )
    doc = json.loads(run(cli, str(tmp_path), "--gpu", "rtx 4090", "--json").stdout)
    (t,) = doc["tables"]
    assert t["kind"] == "matmul-table" and t["kernel"] == "matmul" and t["runtime"] == "vllm"
    assert t["device_name_match"]["vendor"] == "AMD" and t["problem"] is None
    fp8 = lookup("fp8e4m3")
    for v, (bm, bn, bk, w, s) in zip(t["results"][0]["entries"], [(16, 64, 128, 4, 1), (64, 128, 256, 8, 4)]):
        tile = est.MatmulTile(bm, bn, bk, s, w, fp8, fp8, lookup("bf16"), "row", "col")
        assert v["needed_bytes"] == est.triton_smem(tile, 89).needed_bytes
    assert t["results"][0]["entries"][1]["status"] == "does-not-fit"  # 4 x (64x256 + 256x128) > 99 KiB


# --- 4. which table each target loads --------------------------------------------------------------


def test_only_nvidia_tuned_tables_are_offered(cli, no_gpu, tmp_path):
    gemm = "N=1024,K=2048,device_name={},dtype=fp8_w8a8,block_shape=[128,128].json"
    small = {"1": {**entry(16, 64, 128, 4, 2), "waves_per_eu": 0, "kpack": 2}}
    write(tmp_path, gemm.format("AMD_Instinct_MI300X"), small)
    doc = json.loads(run(cli, str(tmp_path), "--gpu", "rtx 4090", "--json").stdout)
    (fam,) = doc["target_tables"][0]["families"]
    assert fam["found"] == [] and fam["fitting"] == []
    write(tmp_path, gemm.format(H100), {"1": entry(16, 64, 128, 4, 2)})
    doc = json.loads(run(cli, str(tmp_path), "--gpu", "rtx 4090", "--json").stdout)
    (fam,) = doc["target_tables"][0]["families"]
    assert [Path(p).name for p in fam["fitting"]] == [gemm.format(H100)]


def test_down_tables_have_their_own_label(cli, no_gpu, tmp_path):
    write(tmp_path, f"E=1,N=3072,device_name={H100}.json", FITS)
    write(tmp_path, "E=1,N=3072,device_name=NVIDIA_GeForce_RTX_4090_down.json", FITS)
    doc = json.loads(run(cli, str(tmp_path), "--gpu", "rtx 4090", "--json").stdout)
    labels = sorted(f["family"]["label"] for f in doc["target_tables"][0]["families"])
    assert labels == ["E=1,N=3072", "E=1,N=3072 (_down: the second GEMM's table)"]


# --- 5. LightLLM -------------------------------------------------------------------------------------

GROUPED = "{K=192,N=5120,expert_num=160,mul_routed_weight=true,out_dtype=torch.bfloat16,topk_num=1,use_fp8_w8a8=%s}_NVIDIA_H800.json"
BLOCK_MM = "{K=1024,N=7168,block_size=[128,128],out_dtype=torch.bfloat16}_NVIDIA_H200.json"
BMM = "{B=16,K=128,M=128,N=512,out_dtype=torch.bfloat16}_NVIDIA_H800.json"


def test_lightllm_names():
    n = ct.parse_name(BLOCK_MM, "fp8_block_mm")
    assert n.family == "lightllm" and n.device_name == "NVIDIA_H200" and n.param["block_size"] == "[128,128]"
    assert n.with_device("NVIDIA_GeForce_RTX_4090") == BLOCK_MM.replace("NVIDIA_H200", "NVIDIA_GeForce_RTX_4090")
    assert ct.parse_name(GROUPED % "true", "grouped_moe_gemm_kernel").quant == "fp8_w8a8"
    assert ct.parse_name(GROUPED % "false", "grouped_moe_gemm_kernel").quant == "none"
    assert ct.parse_name(BMM, "bmm_scaled_fp8").kernel == "matmul"


def test_lightllm_folder(cli, no_gpu, tmp_path):
    root = tmp_path / "all_kernel_configs"
    write(root / "grouped_moe_gemm_kernel", GROUPED % "true", {"1": {**entry(16, 64, 128, 4, 3), "GROUP_SIZE_M": 1}})
    write(
        root / "fp8_block_mm",
        BLOCK_MM,
        {"8": {"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 128, "GROUP_M": 8, "num_stages": 3, "num_warps": 4}},
    )
    write(root / "bmm_scaled_fp8", BMM, {"1": {"128": entry(64, 64, 128, 4, 4), "512": entry(64, 64, 128, 4, 2)}})
    write(
        root / "moe_silu_and_mul_kernel",
        "{N=1024,out_dtype=torch.bfloat16}_NVIDIA_H800.json",
        {"1": {"BLOCK_M": 1, "BLOCK_N": 1024, "num_warps": 16}},
    )
    r = run(cli, str(root), "--gpu", "h100", "--json")
    assert r.exit_code == 0, r.stdout
    doc = json.loads(r.stdout)
    by = {Path(t["path"]).parent.name: t for t in doc["tables"]}
    assert by["moe_silu_and_mul_kernel"]["kind"] == "not-a-tile-table"
    assert {by[k]["runtime"] for k in ("grouped_moe_gemm_kernel", "fp8_block_mm", "bmm_scaled_fp8")} == {"lightllm"}
    # fp8 grouped MoE: tl.dot(b, a), so the MMA's M is BLOCK_SIZE_N (64, a wgmma on sm_90)
    (g,) = by["grouped_moe_gemm_kernel"]["results"][0]["entries"]
    swapped = me.moe_smem("fp8_w8a8", 64, 16, 128, 3, 4, 90)
    assert g["needed_bytes"] == swapped.needed_bytes != me.moe_smem("fp8_w8a8", 16, 64, 128, 3, 4, 90).needed_bytes
    (b,) = by["fp8_block_mm"]["results"][0]["entries"]
    assert b["needed_bytes"] == be.gemm_smem("fp8", 64, 64, 128, 3, 4, 90, "row").needed_bytes
    keys = [e["key"] for e in by["bmm_scaled_fp8"]["results"][0]["entries"]]
    assert keys == ["1/128", "1/512"]
    wanted = {f["wanted"] for f in doc["target_tables"][0]["families"]}
    assert BMM.replace("NVIDIA_H800", H100) in wanted


def test_lightllm_nested_table_written_fitted_keeps_its_nesting(cli, no_gpu, tmp_path):
    root = tmp_path / "bmm_scaled_fp8"
    write(root, BMM, {"1": {"128": entry(64, 128, 128, 4, 8)}})
    out = tmp_path / "fitted"
    r = run(cli, str(root), "--gpu", "rtx 4090", "--write-fitted", str(out))
    assert r.exit_code == 1
    (written,) = list(out.rglob("*.json"))
    doc = json.loads(written.read_text())
    assert list(doc) == ["1"] and list(doc["1"]) == ["128"] and doc["1"]["128"]["num_stages"] < 8


# --- 7. FlagGems -----------------------------------------------------------------------------------

FLAGGEMS = """\
mm:
  - META:
      BLOCK_M: 64
      BLOCK_N: 64
      BLOCK_K: 64
    num_stages: 5
    num_warps: 4
  - gen: true
    param_map:
      META:
        BLOCK_M: block_m
        BLOCK_N: 128
        BLOCK_K: 32
      num_warps: warps
      num_stages: 3
    block_m: [32, 64]
    warps: [4, 8]
softmax_inner:
  - META:
      TILE_N: 1024
      TILE_K: 1
    num_warps: 4
"""


def test_flaggems_tune_configs(cli, no_gpu, tmp_path):
    pytest.importorskip("yaml")
    p = write(tmp_path, "tune_configs.yaml", FLAGGEMS)
    tables = ct.read_path(str(p))
    mm, soft = tables
    assert (mm.section, mm.kernel, len(mm.entries)) == ("mm", "matmul", 5)  # 1 + 2 x 2 generated
    assert {(e.block_m, e.warps) for e in mm.entries[1:]} == {(32, 4), (32, 8), (64, 4), (64, 8)}
    assert soft.kind == "not-a-tile-table" and "operator softmax_inner" in soft.skipped
    assert tc.estimate_quant(mm) == "matmul:bf16:row"
    r = run(cli, str(p), "--arch", "sm_90")
    assert r.exit_code == 0 and "tune_configs.yaml: mm" in text(r)
    r = cli("check-tiles", "--file", str(p), "--arch", "sm_90", "--json")
    assert r.exit_code == 0 and len(json.loads(r.stdout)["verdicts"]) == 5


def test_flaggems_errors_name_the_operator_and_the_spellings(cli, no_gpu, tmp_path):
    pytest.importorskip("yaml")
    p = write(tmp_path, "tune_configs.yaml", "softmax:\n  - META:\n      TILE_N: 1024\n    num_warps: 4\n")
    r = cli("check-tiles", "--file", str(p), "--arch", "sm_90")
    assert r.exit_code == 2 and "softmax" in r.stderr and "BLOCK_SIZE_K, BLOCK_K, BK, TILE_K" in r.stderr
    p = write(
        tmp_path,
        "t2.yaml",
        "mm:\n  - META:\n      BLOCK_M: 64\n      BLOCK_N: 64\n    num_warps: 4\n  - META: {BLOCK_M: 64, BLOCK_N: 64, BLOCK_K: 32}\n",
    )
    r = cli("check-tiles", "--file", str(p), "--arch", "sm_90")
    assert r.exit_code == 2 and "operator mm item 1" in r.stderr and "missing block_k" in r.stderr


def test_yaml_without_pyyaml_is_one_line(cli, no_gpu, tmp_path, monkeypatch):
    p = write(tmp_path, "tune_configs.yaml", FLAGGEMS)
    monkeypatch.setitem(sys.modules, "yaml", None)
    r = run(cli, str(p), "--arch", "sm_90")
    assert r.exit_code == 1 and "needs PyYAML" in text(r)
    r = cli("check-tiles", "--file", str(p), "--arch", "sm_90")
    assert r.exit_code == 2 and "needs PyYAML" in r.stderr and len(r.stderr.strip().splitlines()) == 1
