"""The fused-MoE estimate against the compiler: gpudiag's fused-MoE kernel model
(gpudiag/tiles/moe_kernel.py) compiled with Triton 3.9 on a CPU for every distinct entry of a sample
of real vLLM and SGLang tables, on sm_80, sm_86, sm_89, sm_90 and sm_120, and with Triton 3.6 (the GPU
machine's) on sm_86, sm_89 and sm_90 (bench/tiles/moe_ground_truth.py;
tests/data/tiles_moe_ground_truth.json, tests/data/tiles_moe_ground_truth_triton36.json).

The estimate must equal the compiled shared memory on every entry, and its refusals (cannot run
there) must be exactly the compiler's: no false fit and no false misfit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpudiag.tiles import moe_estimate as me

HERE = Path(__file__).resolve().parent / "data"
DATA = json.loads((HERE / "tiles_moe_ground_truth.json").read_text())
DATA36 = json.loads((HERE / "tiles_moe_ground_truth_triton36.json").read_text())
ROWS = DATA["rows"]
ROWS36 = [{**r, "triton": "3.6"} for r in DATA36["rows"]]


def _id(r):
    return (
        r.get("triton", "")
        + f"sm_{r['cc']}-{r['quant']}-{r['block_m']}x{r['block_n']}x{r['block_k']}:{r['stages']}@{r['warps']}"
        + ("-w2" if r.get("routed_weight") else "")
        + ("-pc" if r.get("per_channel") else "")
        + ("-evenk" if r.get("even_k") else "")
    )


def test_the_sample_is_the_real_tables():
    meta = DATA["meta"]
    assert meta["triton"].startswith("3.9") and meta["tables"] >= 30 and meta["distinct_entries"] >= 150
    assert {r["cc"] for r in ROWS} == {80, 86, 89, 90, 120}
    assert {r["quant"] for r in ROWS} == {"none", "fp8_w8a8", "fp8_w8a8_block", "int8_w8a16", "int8_w8a8"}
    assert DATA36["meta"]["triton"] == "3.6.0" and {r["cc"] for r in ROWS36} == {86, 89, 90}


def test_triton_36_compiles_what_39_compiles():
    """Both Triton versions allocate the same shared memory for these kernels, and refuse the same."""
    by39 = {
        (r["quant"], r["block_m"], r["block_n"], r["block_k"], r["stages"], r["warps"], r["cc"]): r.get("shared")
        for r in ROWS
        if not (r.get("routed_weight") or r.get("per_channel") or r.get("even_k"))
    }
    for r in ROWS36:
        key = (r["quant"], r["block_m"], r["block_n"], r["block_k"], r["stages"], r["warps"], r["cc"])
        assert r.get("shared") == by39[key], _id(r)


@pytest.mark.parametrize("row", ROWS + ROWS36, ids=_id)
def test_estimate_equals_the_compiler(row):
    args = (row["quant"], row["block_m"], row["block_n"], row["block_k"], row["stages"], row["warps"])
    why = me.problem(*args, row["cc"])
    if "error" in row:
        assert why is not None, f"the compiler refused it ({row['error']}) but the estimate did not"
        return
    assert why is None, f"the estimate refused what compiled: {why}"
    assert me.moe_smem(*args, row["cc"]).needed_bytes == row["shared"]


def test_every_verdict_equals_the_compilers():
    """Per table and architecture, the counts of entries that fit, are over and cannot run."""
    limits = {int(k[3:]): v["limit"] for t in DATA["tables"] for k, v in t["per_arch"].items()}
    wrong = []
    for r in ROWS:
        if r.get("routed_weight") or r.get("per_channel") or r.get("even_k"):
            continue
        args = (r["quant"], r["block_m"], r["block_n"], r["block_k"], r["stages"], r["warps"])
        est = None if me.problem(*args, r["cc"]) else me.moe_smem(*args, r["cc"]).needed_bytes <= limits[r["cc"]]
        got = None if "error" in r else r["shared"] <= limits[r["cc"]]
        if est != got:
            wrong.append(_id(r))
    assert wrong == []


def test_vllm_h100_bf16_e8_n7168_on_the_99_kib_parts():
    """The issue's expectation, from the compiler's numbers: 16 of its 18 entries over 101,376 B on
    sm_86/89/120, all fit on sm_80 and sm_90."""
    (t,) = [t for t in DATA["tables"] if t["table"] == "vllm/E=8,N=7168,device_name=NVIDIA_H100_80GB_HBM3.json"]
    assert t["entries"] == 18
    for sm in ("sm_86", "sm_89", "sm_120"):
        assert (t["per_arch"][sm]["over"], t["per_arch"][sm]["limit"]) == (16, 101376)
    for sm in ("sm_80", "sm_90"):
        assert t["per_arch"][sm]["over"] == 0 and t["per_arch"][sm]["fit"] == 18


def test_fp8_tables_cannot_run_before_sm_89():
    for t in DATA["tables"]:
        if "dtype=fp8_w8a8" in t["table"]:
            for sm in ("sm_80", "sm_86"):
                assert (
                    t["per_arch"][sm]["cannot_run"]
                    == t["per_arch"][sm]["fit"] + t["per_arch"][sm]["over"] + t["per_arch"][sm]["cannot_run"]
                )


def test_the_second_gemm_and_the_variants_take_the_first_gemms_shared_memory():
    """Both GEMMs of a layer run with one entry: the second (routing weight in the epilogue, top_k 1),
    per-channel fp8 scales and SGLang's unmasked even-K loads compile to the same shared memory."""
    first = {
        (r["quant"], r["block_m"], r["block_n"], r["block_k"], r["stages"], r["warps"], r["cc"]): r.get("shared")
        for r in ROWS
        if not (r.get("routed_weight") or r.get("per_channel") or r.get("even_k"))
    }
    others = [r for r in ROWS if r.get("routed_weight") or r.get("per_channel") or r.get("even_k")]
    assert sum(1 for r in others if r.get("routed_weight")) >= 300
    for r in others:
        key = (r["quant"], r["block_m"], r["block_n"], r["block_k"], r["stages"], r["warps"], r["cc"])
        assert r.get("shared") == first[key], _id(r)
