"""``check-tiles --from-config-table`` on vLLM's and SGLang's dense block-quantised GEMM tables
(``N=..,K=..,device_name=..,dtype=fp8_w8a8|int8_w8a8,block_shape=[bn,bk].json``): read as their own
kind and checked against gpudiag's model of ``w8a8_block_{fp8,int8}_matmul``
(gpudiag/tiles/block_gemm_kernel.py), not as a bf16 fused-MoE table.

The entries are from vLLM's N=1536,K=1536 H100 fp8 table and A100 int8 table
(vllm/model_executor/layers/quantization/utils/configs/); the byte counts are the compiler's
(Triton 3.9, bench/tiles/block_gemm_ground_truth.py), which the estimate equals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_tiles_config_table import H100, entry  # the fused-MoE tables' test entries and device name

from gpudiag.tiles import block_gemm_estimate as be
from gpudiag.tiles import config_table as ct
from gpudiag.tiles import table_check as tc

FP8_NAME = f"N=1536,K=1536,device_name={H100},dtype=fp8_w8a8,block_shape=[128,128].json"
SCHEMA = json.loads((Path(__file__).parents[1] / "docs/schemas/check-tiles-table.schema.json").read_text())


TABLE = {
    "1": entry(64, 64, 128, 4, 4),  # sm_89: 49,152 B
    "256": entry(64, 128, 128, 4, 5),  # sm_89: 98,816 B (fits 101,376); as bf16 it would be 196,608
    "4096": entry(128, 128, 128, 8, 5),  # sm_89: 131,072 B: does not fit
}


def write(folder: Path, name: str, doc) -> Path:
    p = folder / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(doc, indent=4))
    return p


def run(cli, *args):
    r = cli("check-tiles", "--from-config-table", *args)
    assert "Traceback" not in r.stderr
    return r


@pytest.mark.parametrize(
    "name, n, k, dtype, block, spaced, quant",
    [
        (FP8_NAME, 1536, 1536, "fp8_w8a8", (128, 128), False, "fp8_w8a8_block"),
        (
            f"N=1536,K=7168,device_name={H100},dtype=fp8_w8a8,block_shape=[128, 128].json",
            1536,
            7168,
            "fp8_w8a8",
            (128, 128),
            True,
            "fp8_w8a8_block",
        ),
        (
            "N=2304,K=7168,device_name=NVIDIA_A100-SXM4-80GB,dtype=int8_w8a8,block_shape=[128,128].json",
            2304,
            7168,
            "int8_w8a8",
            (128, 128),
            False,
            "int8_w8a8_block",
        ),
    ],
)
def test_names(name, n, k, dtype, block, spaced, quant):
    t = ct.parse_name(name)
    assert t is not None and t.experts is None
    assert (t.n, t.k, t.dtype, t.block_shape, t.spaced_block_shape) == (n, k, dtype, block, spaced)
    assert t.kernel == "block-gemm" and t.quant == quant
    assert t.with_device(t.device_name) == name  # the runtime's spelling, round trip
    assert t.with_device("NVIDIA_H200", spaced=True).startswith(f"N={n},K={k},device_name=NVIDIA_H200,")


def test_not_a_gemm_name():
    assert ct.parse_name("N=1536,K=1536,device_name=X,dtype=int4_w4a16,block_shape=[128,128].json") is None
    # N=..,K=.. without a block shape is vLLM's per-token scaled GEMM name: a plain matmul, and an
    # fp8_w8a8 dtype there is not one gpudiag models (only the *_per_token ones)
    plain = ct.parse_name("N=1536,K=1536,device_name=X,dtype=fp8_w8a8.json")
    assert plain.family == "scaled-mm" and plain.kernel == "matmul" and plain.quant is None
    assert ct.parse_name(f"E=8,N=7168,device_name={H100},dtype=fp8_w8a8,block_shape=[128,128].json").k is None


def test_classified_as_a_gemm_table_with_fp8_operands(tmp_path):
    t = ct.read_table(str(write(tmp_path, FP8_NAME, TABLE)))
    assert t.kind == "block-gemm-table" and t.kernel == "block-gemm" and t.problem is None
    assert t.quant == "fp8_w8a8_block" and tc.estimate_quant(t) == "gemm:fp8"
    a, b = be.tile("fp8", 64, 128, 128, 5, 4).a, be.tile("fp8", 64, 128, 128, 5, 4).b
    assert a.bits == b.bits == 8
    assert be.tile("int8", 64, 128, 128, 5, 4).a.name.startswith("int8")
    # The block size is checked as written: the dense GEMM's launcher does not clamp it.
    assert tc.launched_block_k(t, ct.entry_from_mapping("x", entry(64, 64, 256, 4, 2))) == 256


def test_verdicts_differ_from_the_old_bf16_reading(cli, no_gpu, tmp_path):
    write(tmp_path / "gemm", FP8_NAME, TABLE)
    write(tmp_path / "old", "table.json", TABLE)  # no name: read as a bf16 fused-MoE table, as before
    r = run(cli, str(tmp_path / "gemm"), "--arch", "sm_89", "--json")
    assert r.exit_code == 1, r.stderr  # 4096 does not fit
    doc = json.loads(r.stdout)
    (t,) = doc["tables"]
    assert t["kind"] == "block-gemm-table" and t["kernel"] == "block-gemm" and t["quant"] == "fp8_w8a8_block"
    assert t["name"]["n"] == 1536 and t["name"]["k"] == 1536 and t["name"]["experts"] is None
    assert t["runtime"] == "vllm" and t["problem"] is None
    by = {e["key"]: e for e in t["results"][0]["entries"]}
    assert by["1"]["needed_bytes"] == 49152 and by["1"]["status"] == "fits"
    assert by["256"]["needed_bytes"] == 98816 and by["256"]["status"] == "fits"
    assert by["4096"]["needed_bytes"] == 131072 and by["4096"]["status"] == "does-not-fit"
    assert any("block_gemm_kernel.py" in n for n in doc["notes"])
    old = json.loads(run(cli, str(tmp_path / "old"), "--arch", "sm_89", "--json").stdout)["tables"][0]
    assert old["kernel"] == "fused-moe" and old["quant"] == "none"
    assert {e["key"]: e["status"] for e in old["results"][0]["entries"]}["256"] == "does-not-fit"


def test_fp8_cannot_run_on_sm_80_but_int8_can(cli, no_gpu, tmp_path):
    write(tmp_path, FP8_NAME, {"1": TABLE["1"]})
    write(tmp_path, FP8_NAME.replace("fp8_w8a8", "int8_w8a8"), {"1": TABLE["1"]})
    r = run(cli, str(tmp_path), "--arch", "sm_80", "--json")
    doc = json.loads(r.stdout)
    got = {t["quant"]: t["results"][0]["entries"][0] for t in doc["tables"]}
    assert got["fp8_w8a8_block"]["status"] == "cannot-run"
    assert got["int8_w8a8_block"]["status"] == "fits" and got["int8_w8a8_block"]["needed_bytes"] == 49152
    assert r.exit_code == 1


def test_text_names_the_kernel_and_json_matches_its_schema(cli, no_gpu, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    write(tmp_path, FP8_NAME, TABLE)
    write(tmp_path, f"E=8,N=7168,device_name={H100}.json", {"1": entry(16, 64, 128, 4, 4)})
    r = run(cli, str(tmp_path), "--gpu", "h100", "--all")
    assert "block-quantised GEMM table" in r.stdout and "w8a8_block_matmul" in r.stdout
    doc = json.loads(run(cli, str(tmp_path), "--gpu", "h100", "--json").stdout)
    jsonschema.validate(doc, SCHEMA)
    fams = {f["family"]["kernel"]: f for f in doc["target_tables"][0]["families"]}
    assert fams["block-gemm"]["family"]["k"] == 1536 and fams["block-gemm"]["found"]


@pytest.mark.slow
def test_exact_compiles_the_block_gemm_model(cli, no_gpu, monkeypatch, tmp_path):
    """--exact compiles block_gemm_kernel.py: the compiler's numbers equal the estimate's here."""
    pytest.importorskip("triton")
    monkeypatch.setenv("GPUDIAG_CACHE_DIR", str(tmp_path / "cache"))
    write(tmp_path / "in", FP8_NAME, {"256": TABLE["256"]})
    r = run(cli, str(tmp_path / "in"), "--arch", "sm_89", "--exact", "--jobs", "2", "--json")
    doc = json.loads(r.stdout)
    assert doc["exact"] is True
    (v,) = doc["tables"][0]["results"][0]["entries"]
    assert v["method"] == "compiler" and v["needed_bytes"] == 98816 and v["status"] == "fits"
    assert v["largest_stages_that_fit"] == be.largest_stages_that_fit("fp8", 64, 128, 128, 4, 89, 101376)


def test_write_fitted_lowers_the_stages_of_a_block_gemm_table(cli, no_gpu, tmp_path):
    src = write(tmp_path / "in", FP8_NAME, TABLE)
    before = src.read_text()
    out = tmp_path / "out"
    r = run(cli, str(tmp_path / "in"), "--arch", "sm_89", "--write-fitted", str(out), "--json")
    assert r.exit_code == 1, r.stderr  # 4096 does not fit as written
    (target,) = json.loads(r.stdout)["written"]["targets"]
    (w,) = target["written"]
    assert w["kind"] == "block-gemm-table" and w["changes"] == ["M=4096: num_stages 5 -> 4"]
    fitted = out / "sm_89" / FP8_NAME
    doc = json.loads(fitted.read_text())
    assert doc["4096"] == {**TABLE["4096"], "num_stages": 4} and doc["1"] == TABLE["1"]
    readme = (out / "sm_89" / "README.md").read_text()
    assert "derived, not tuned" in readme and "quantization/utils/configs/" in readme
    assert "VLLM_TUNED_CONFIG_FOLDER" not in readme  # the block-GEMM loaders have no such hook
    assert src.read_text() == before
    assert run(cli, str(fitted), "--arch", "sm_89").exit_code == 0  # the fitted table fits
