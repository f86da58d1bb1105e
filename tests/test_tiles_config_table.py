"""``check-tiles --from-config-table``: reading fused-MoE tables and config lists, the device_name a
GPU looks up, the per-entry verdicts, bad tables, --json, --write-fitted and exit codes.

The tables here are small ones written for these tests in the runtimes' format; the byte counts
are the compiler's (Triton 3.9, tests/data/tiles_moe_ground_truth.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpudiag.errors import GpudiagError
from gpudiag.tiles import config_table as ct
from gpudiag.tiles import device_names as dn

H100 = "NVIDIA_H100_80GB_HBM3"


def entry(bm, bn, bk, warps, stages, group=1):
    return {
        "BLOCK_SIZE_M": bm,
        "BLOCK_SIZE_N": bn,
        "BLOCK_SIZE_K": bk,
        "GROUP_SIZE_M": group,
        "num_warps": warps,
        "num_stages": stages,
    }


# A small bf16 table in the shape of an H100-tuned one: three entries that fit 99 KiB, three that do not.
SMALL = {
    "1": entry(16, 64, 128, 4, 4),  # 61,440 B everywhere
    "4": entry(16, 32, 256, 4, 4),  # 73,728 B
    "8": entry(16, 128, 128, 8, 4),  # 110,592 B: 9,216 over 101,376
    "64": entry(32, 128, 128, 4, 4),  # 122,880 B
    "256": entry(64, 128, 128, 4, 4),  # 147,456 B (mma.sync, 3 buffers); 196,608 on sm_90 (wgmma, 4)
    "1024": entry(32, 64, 64, 4, 2),  # 12,288 B
}


def write(folder: Path, name: str, doc) -> Path:
    p = folder / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=4))
    return p


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expect",
    [
        (f"E=8,N=14336,device_name={H100}.json", (8, 14336, H100, None, None, False, False, "none")),
        (
            f"E=8,N=7168,device_name={H100},dtype=fp8_w8a8.json",
            (8, 7168, H100, "fp8_w8a8", None, False, False, "fp8_w8a8"),
        ),
        (
            "E=256,N=128,device_name=NVIDIA_H20,dtype=fp8_w8a8,block_shape=[128,128].json",
            (256, 128, "NVIDIA_H20", "fp8_w8a8", (128, 128), False, False, "fp8_w8a8_block"),
        ),
        (
            "E=257,N=256,device_name=NVIDIA_H20-3e,dtype=fp8_w8a8,block_shape=[128, 128]_down.json",
            (257, 256, "NVIDIA_H20-3e", "fp8_w8a8", (128, 128), False, True, "fp8_w8a8_block"),
        ),
        (
            "E=1,N=3072,device_name=NVIDIA_A100-SXM4-80GB,dtype=int8_w8a16.json",
            (1, 3072, "NVIDIA_A100-SXM4-80GB", "int8_w8a16", None, False, False, "int8_w8a16"),
        ),
        (
            "E=64,N=640,device_name=NVIDIA_L40S,dtype=int8_w8a8,per_channel_quant=True.json",
            (64, 640, "NVIDIA_L40S", "int8_w8a8", None, True, False, "int8_w8a8"),
        ),
        (
            "E=128,N=1536,device_name=AMD_Instinct_MI308X,dtype=int4_w4a16.json",
            (128, 1536, "AMD_Instinct_MI308X", "int4_w4a16", None, False, False, None),
        ),
        (
            "E=10,N=512,device_name=Intel(R)_Arc(TM)_Pro_B60_Graphics.json",
            (10, 512, "Intel(R)_Arc(TM)_Pro_B60_Graphics", None, None, False, False, "none"),
        ),
    ],
)
def test_table_names(name, expect):
    n = ct.parse_name(name)
    assert n is not None
    assert (n.experts, n.n, n.device_name, n.dtype, n.block_shape, n.per_channel, n.down, n.quant) == expect


def test_name_round_trip_keeps_the_runtimes_spelling():
    sglang = ct.parse_name("E=257,N=256,device_name=NVIDIA_H200,dtype=fp8_w8a8,block_shape=[128, 128].json")
    vllm = ct.parse_name("E=257,N=256,device_name=NVIDIA_H200,dtype=fp8_w8a8,block_shape=[128,128].json")
    assert sglang.with_device("NVIDIA_GeForce_RTX_5090").endswith("block_shape=[128, 128].json")
    assert vllm.with_device("NVIDIA_GeForce_RTX_5090") == (
        "E=257,N=256,device_name=NVIDIA_GeForce_RTX_5090,dtype=fp8_w8a8,block_shape=[128,128].json"
    )
    assert ct.parse_name("moe_sum_reduce_NVIDIA-H200_t8_h2048_bfloat16.json") is None
    assert ct.parse_name("E=8,N=14336.json") is None


# --- reading -----------------------------------------------------------------------------------


def test_reads_a_table_and_keeps_triton_version(tmp_path):
    p = write(tmp_path, f"E=8,N=7168,device_name={H100}.json", {"triton_version": "3.4.0", **SMALL})
    t = ct.read_table(str(p))
    assert t.kind == "moe-table" and t.problem is None and t.triton_version == "3.4.0"
    assert [e.key for e in t.entries] == list(SMALL)
    e = t.entries[2]
    assert (e.block_m, e.block_n, e.block_k, e.group_m, e.warps, e.stages, e.problem) == (16, 128, 128, 1, 8, 4, None)


@pytest.mark.parametrize(
    "doc, problem",
    [
        ('{\n  "1": {"BLOCK_SIZE_M": 16,,}\n}', "bad JSON at line 2"),
        ("[[[[", "bad JSON"),
        ("{}", "no entries"),
        ("42", "JSON object of batch sizes"),
    ],
)
def test_unreadable_tables_say_why_in_one_line(tmp_path, doc, problem):
    t = ct.read_table(str(write(tmp_path, f"E=8,N=7168,device_name={H100}.json", doc)))
    assert t.kind == "unreadable" and problem in t.problem and "\n" not in t.problem


def test_deeply_nested_json_is_a_bad_table_not_a_crash(tmp_path):
    t = ct.read_table(str(write(tmp_path, f"E=8,N=7168,device_name={H100}.json", "[" * 100000 + "]" * 100000)))
    assert t.kind == "unreadable" and "JSON" in t.problem


@pytest.mark.parametrize(
    "raw, problem",
    [
        ({"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 64, "num_warps": 4}, "missing BLOCK_SIZE_K (also accepted: BLOCK_K"),
        (entry(16, 96, 64, 4, 3), "BLOCK_SIZE_N=96 is not a power of two"),
        (entry(16, 64, 64, 4, 0), "num_stages=0"),
        (entry(16, 64, 64, 3, 2), "num_warps=3"),
        ({**entry(16, 64, 64, 4, 2), "BLOCK_SIZE_K": "sixty"}, "not an integer"),
        (entry(16, 64, 2048, 4, 2), "larger than any tile"),
        ("16x64x64", "not an object"),
    ],
)
def test_bad_entries(raw, problem):
    assert problem in ct.entry_from_mapping("1", raw).problem


def test_warps_and_stages_default_as_a_launch_does():
    e = ct.entry_from_mapping("1", {"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 64})
    assert e.problem is None and (e.warps, e.stages) == (4, 3)


def test_a_key_that_is_not_a_batch_size(tmp_path):
    t = ct.read_table(str(write(tmp_path, f"E=8,N=7168,device_name={H100}.json", {"note": {}, "1": SMALL["1"]})))
    assert t.entries[0].problem.startswith("key 'note' is not a batch size")
    assert t.entries[1].problem is None


def test_config_lists(tmp_path):
    p = write(
        tmp_path,
        "space.json",
        [
            {"BLOCK_SIZE_M": 64, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 32, "num_warps": 4, "num_stages": 3},
            {"kwargs": {"BLOCK_SIZE_M": 128, "BLOCK_SIZE_N": 128, "BLOCK_SIZE_K": 64}, "num_warps": 8, "num_stages": 4},
            {"block_m": 32, "block_n": 32, "block_k": 32, "num_stages": 2},
            {"tile": "16x16x16:2@2"},
        ],
    )
    t = ct.read_table(str(p))
    assert t.kind == "config-list" and t.quant == "none"
    assert [e.spec for e in t.entries] == ["64x64x32:3@4", "128x128x64:4@8", "32x32x32:2@4", "16x16x16:2@2"]
    csv = write(tmp_path, "tiles.csv", "block_m,block_n,block_k,num_stages,num_warps\n64,128,64,3,4\n")
    t = ct.read_table(str(csv))
    assert t.kind == "config-list" and t.entries[0].spec == "64x128x64:3@4"


def test_folders_are_searched_and_sglang_version_folders_recorded(tmp_path):
    write(tmp_path, f"E=8,N=7168,device_name={H100}.json", SMALL)
    write(tmp_path, f"triton_3_4_0/E=8,N=7168,device_name={H100}.json", SMALL)
    write(tmp_path, "notes.md", "not a table")
    tables = ct.read_path(str(tmp_path))
    assert len(tables) == 2
    assert [t.folder_triton for t in tables] == [None, "3.4.0"]


def test_a_missing_path_or_an_empty_folder_is_a_usage_error(tmp_path):
    with pytest.raises(GpudiagError) as e:
        ct.read_path(str(tmp_path / "nope"))
    assert e.value.exit_code == 2
    with pytest.raises(GpudiagError) as e:
        ct.read_path(str(tmp_path))
    assert "no tables" in e.value.message


# --- device names ------------------------------------------------------------------------------


def test_device_names_from_the_catalogue():
    assert [g.key for g in dn.match(H100).gpus] == ["h100-sxm"]
    # Newer vLLM's rule: every H200 loads NVIDIA_H200's tables; SGLang looks for NVIDIA_H200_NVL.
    h200 = {g.key for g in dn.match("NVIDIA_H200").gpus}
    assert h200 == {"h200", "h200-nvl"}
    nvl = dn.for_row("h200-nvl")[0]
    assert (nvl.vllm, nvl.vllm_h200, nvl.sglang) == ("NVIDIA_H200_NVL", "NVIDIA_H200", "NVIDIA_H200_NVL")
    # An RTX 4090 D is not an RTX 4090: it never loads the 4090's tables.
    assert [g.key for g in dn.match("NVIDIA_GeForce_RTX_4090").gpus] == ["rtx-4090"]
    assert dn.for_row("rtx-4090-d")[0].vllm == "NVIDIA_GeForce_RTX_4090_D"


@pytest.mark.parametrize(
    "name, close",
    [
        ("NVIDIA_H100", "NVIDIA_H100_80GB_HBM3"),  # no H100 reports plain "NVIDIA H100"
        ("NVIDIA_A100-PCIe-40GB", "NVIDIA_A100-PCIE-40GB"),  # NVML spells it PCIE
    ],
)
def test_names_no_gpu_reports(name, close):
    m = dn.match(name)
    assert not m.gpus and m.vendor is None and close in m.close


def test_other_vendors_are_said_so():
    assert dn.match("AMD_Instinct_MI300X").vendor == "AMD"
    assert dn.match("Intel(R)_Arc(TM)_Pro_B60_Graphics").vendor == "Intel"


# --- the CLI -----------------------------------------------------------------------------------


def run(cli, *args):
    r = cli("check-tiles", "--from-config-table", *args)
    assert "Traceback" not in r.stderr
    return r


def test_verdicts_margins_and_largest_stages(cli, no_gpu, tmp_path):
    p = write(tmp_path, f"E=8,N=7168,device_name={H100}.json", SMALL)
    r = run(cli, str(p), "--arch", "sm_86,sm_90", "--json")
    assert r.exit_code == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "gpudiag.check-tiles-table/1"
    (table,) = doc["tables"]
    sm86, sm90 = table["results"]
    by_key = {e["key"]: e for e in sm86["entries"]}
    assert by_key["8"]["needed_bytes"] == 110592 and by_key["8"]["margin_bytes"] == 101376 - 110592
    assert by_key["8"]["status"] == "does-not-fit" and by_key["8"]["largest_stages_that_fit"] == 3
    assert by_key["256"]["needed_bytes"] == 147456 and by_key["256"]["largest_stages_that_fit"] == 3
    assert by_key["1"]["status"] == "fits" and by_key["1"]["margin_bytes"] == 101376 - 61440
    assert sm86["summary"]["fits"] == 3 and sm86["summary"]["does_not_fit"] == 3
    assert sm90["summary"]["all_fit"] is True
    assert {e["key"]: e["needed_bytes"] for e in sm90["entries"]}["256"] == 196608
    assert doc["summary"]["per_target"]["sm_86"]["does_not_fit"] == 3


def test_all_fit_exits_0_and_text_has_a_line_per_target(cli, no_gpu, tmp_path):
    p = write(tmp_path, f"E=8,N=7168,device_name={H100}.json", {k: SMALL[k] for k in ("1", "4", "1024")})
    r = run(cli, str(p), "--arch", "sm_80,sm_89")
    assert r.exit_code == 0, r.stdout
    out = " ".join(r.stdout.split())
    assert "sm_80: 3 of 3 fit" in out and "sm_89: 3 of 3 fit" in out


def test_fp8_cannot_run_before_sm_89(cli, no_gpu, tmp_path):
    p = write(tmp_path, f"E=8,N=7168,device_name={H100},dtype=fp8_w8a8.json", {"1": entry(64, 128, 128, 4, 3)})
    doc = json.loads(run(cli, str(p), "--arch", "sm_86,sm_89", "--json").stdout)
    sm86, sm89 = (r["entries"][0] for r in doc["tables"][0]["results"])
    assert sm86["status"] == "cannot-run" and "fp8e4nv" in sm86["reason"]
    assert sm89["status"] == "fits" and sm89["needed_bytes"] == 49152


def test_bad_tables_one_line_each_and_the_rest_checked(cli, no_gpu, tmp_path):
    write(tmp_path, f"E=8,N=7168,device_name={H100}.json", SMALL)
    write(tmp_path, f"E=8,N=14336,device_name={H100}.json", "{ not json")
    write(tmp_path, "E=16,N=1024,device_name=NVIDIA_A100-SXM4-80GB.json", {"1": {"BLOCK_SIZE_M": 16}})
    write(tmp_path, "E=16,N=2048,device_name=NVIDIA_A100-SXM4-80GB.json", {"1": entry(16, 48, 64, 4, 3)})
    write(tmp_path, "E=16,N=4096,device_name=NVIDIA_A100-SXM4-80GB.json", {"1": entry(16, 64, 64, 4, 0)})
    write(tmp_path, "E=16,N=8192,device_name=NVIDIA_A100-PCIe-40GB.json", {"1": entry(16, 64, 64, 4, 2)})
    r = run(cli, str(tmp_path), "--arch", "sm_80", "--all")
    assert r.exit_code == 1
    out = " ".join(r.stdout.split())
    assert out.count("bad table: bad JSON") == 1
    assert "missing BLOCK_SIZE_N (also accepted: BLOCK_N, BN, TILE_N); BLOCK_SIZE_K" in out
    assert "exit 1: " in out and "; 1 file that could not be read as a table" in out
    assert "BLOCK_SIZE_N=48 is not a power of two" in out
    assert "num_stages=0" in out
    assert "device_name=NVIDIA_A100-PCIe-40GB matches no GPU" in out and "NVIDIA_A100-PCIE-40GB" in out
    assert "E=8,N=7168,device_name=NVIDIA_H100_80GB_HBM3.json" in out and "sm_80: 6 of 6 fit" in out


def test_which_table_a_gpu_loads_and_which_fits_it(cli, no_gpu, tmp_path):
    write(tmp_path, f"E=8,N=7168,device_name={H100}.json", SMALL)
    small = {k: SMALL[k] for k in ("1", "4", "1024")}
    write(tmp_path, "E=8,N=7168,device_name=NVIDIA_A100-SXM4-80GB.json", small)
    doc = json.loads(run(cli, str(tmp_path), "--gpu", "rtx 4090,h100", "--json").stdout)
    by_target = {t["target"]: t for t in doc["target_tables"]}
    (fam,) = by_target["RTX 4090"]["families"]
    assert fam["found"] == [] and fam["wanted"] == "E=8,N=7168,device_name=NVIDIA_GeForce_RTX_4090.json"
    assert [Path(p).name for p in fam["fitting"]] == ["E=8,N=7168,device_name=NVIDIA_A100-SXM4-80GB.json"]
    (fam,) = by_target["H100 SXM5 80GB"]["families"]
    assert [Path(p).name for p in fam["found"]] == [f"E=8,N=7168,device_name={H100}.json"]
    r = run(cli, str(tmp_path), "--gpu", "rtx 4090")
    out = " ".join(r.stdout.split())
    assert "no table here for 1 of 1 table shape" in out and "fits entirely: E=8,N=7168,device_name=NVIDIA_A100" in out


def test_write_fitted(cli, no_gpu, tmp_path):
    src = tmp_path / "in"
    p = write(src, f"E=8,N=7168,device_name={H100}.json", {"triton_version": "3.4.0", **SMALL})
    before = p.read_text()
    out = tmp_path / "out"
    r = run(cli, str(src), "--arch", "sm_86", "--write-fitted", str(out))
    assert r.exit_code == 1
    fitted = out / "sm_86" / p.name
    doc = json.loads(fitted.read_text())
    # Still what vLLM loads: triton_version dropped by it, every other key an int; the same fields.
    assert {int(k) for k in doc if k != "triton_version"} == {int(k) for k in SMALL}
    assert doc["8"] == {**SMALL["8"], "num_stages": 3} and doc["1"] == SMALL["1"]
    assert "derived, not tuned" in (out / "sm_86" / "README.md").read_text()
    assert p.read_text() == before
    # The fitted table fits.
    assert run(cli, str(fitted), "--arch", "sm_86").exit_code == 0


def test_write_fitted_with_a_missing_table_path_says_the_path_is_missing(cli, no_gpu, tmp_path):
    r = run(cli, str(tmp_path / "nowhere"), "--arch", "sm_86", "--write-fitted", str(tmp_path / "fitted"))
    assert r.exit_code == 2 and "inside the tables being checked" not in r.stderr
    assert "nowhere" in r.stderr and not (tmp_path / "fitted").exists()


def test_write_fitted_never_inside_the_input(cli, no_gpu, tmp_path):
    write(tmp_path, f"E=8,N=7168,device_name={H100}.json", SMALL)
    r = run(cli, str(tmp_path), "--arch", "sm_86", "--write-fitted", str(tmp_path / "fitted"))
    assert r.exit_code == 2 and "inside the tables being checked" in r.stderr


@pytest.mark.parametrize(
    "args, words",
    [
        (["--arch", "sm_86", "--dtype", "fp7"], "--dtype 'fp7'"),
        (["--arch", "sm_86", "--model", "cutlass"], "--model does not apply"),
        (["--arch", "sm_75"], "covers sm_80"),
    ],
)
def test_usage_errors(cli, no_gpu, tmp_path, args, words):
    p = write(tmp_path, f"E=8,N=7168,device_name={H100}.json", SMALL)
    r = run(cli, str(p), *args)
    assert r.exit_code == 2 and words in r.stderr


def test_no_target_and_no_gpu_is_a_usage_error(cli, no_gpu, tmp_path):
    p = write(tmp_path, f"E=8,N=7168,device_name={H100}.json", SMALL)
    r = run(cli, str(p))
    assert r.exit_code == 2 and "--arch" in r.stderr


SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs/schemas/check-tiles-table.schema.json").read_text())


def test_json_matches_its_schema(cli, no_gpu, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    write(tmp_path / "in", f"E=8,N=7168,device_name={H100}.json", SMALL)
    write(tmp_path / "in", f"E=8,N=7168,device_name={H100},dtype=fp8_w8a8.json", {"1": entry(64, 128, 128, 4, 3)})
    write(tmp_path / "in", "E=8,N=14336,device_name=NVIDIA_H100.json", "{bad")
    write(tmp_path / "in", "E=8,N=7168,device_name=AMD_Instinct_MI300X,dtype=int4_w4a16.json", {"1": SMALL["1"]})
    write(tmp_path / "in", "list.json", [entry(16, 48, 64, 4, 2)])
    r = run(
        cli,
        str(tmp_path / "in"),
        "--gpu",
        "rtx 4090",
        "--arch",
        "sm_90",
        "--json",
        "--write-fitted",
        str(tmp_path / "o"),
    )
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, SCHEMA)
    written = {w["target"]: w for w in doc["written"]["targets"]}
    assert written["RTX 4090"]["written"] and not written["sm_90"]["written"]


@pytest.mark.slow
def test_exact_compiles_the_fused_moe_kernel(cli, no_gpu, monkeypatch, tmp_path):
    """--exact: the compiler's numbers (the same as the estimate's here) and its words where it refuses."""
    pytest.importorskip("triton")
    monkeypatch.setenv("GPUDIAG_CACHE_DIR", str(tmp_path / "cache"))
    write(tmp_path / "in", f"E=8,N=7168,device_name={H100}.json", {"1": SMALL["1"]})
    write(tmp_path / "in", f"E=8,N=7168,device_name={H100},dtype=fp8_w8a8.json", {"1": entry(16, 64, 128, 4, 3)})
    r = run(cli, str(tmp_path / "in"), "--arch", "sm_86", "--exact", "--jobs", "2", "--json")
    doc = json.loads(r.stdout)
    assert doc["exact"] is True and doc["triton_version"]
    fp8, bf16 = (t["results"][0]["entries"][0] for t in doc["tables"])
    assert bf16["method"] == "compiler" and bf16["needed_bytes"] == 61440 and bf16["largest_stages_that_fit"] == 5
    assert fp8["status"] == "cannot-run" and "fp8e4nv" in fp8["reason"]


@pytest.mark.parametrize(
    "gpu, table_device, wanted",
    [
        # An RTX 4090 D reports its own name: the RTX 4090's table is not loaded on it.
        ("rtx 4090 d", "NVIDIA_GeForce_RTX_4090", "NVIDIA_GeForce_RTX_4090_D"),
        # H100 naming: the PCIe card does not load the SXM card's table, nor a table named plain NVIDIA_H100.
        ("h100 pcie", "NVIDIA_H100_80GB_HBM3", "NVIDIA_H100_PCIe"),
        ("h100 pcie", "NVIDIA_H100", "NVIDIA_H100_PCIe"),
        # An RTX 5090 with no table of its own.
        ("rtx 5090", "NVIDIA_H100_80GB_HBM3", "NVIDIA_GeForce_RTX_5090"),
    ],
)
def test_known_device_name_misses(cli, no_gpu, tmp_path, gpu, table_device, wanted):
    write(tmp_path, f"E=8,N=7168,device_name={table_device}.json", {k: SMALL[k] for k in ("1", "4")})
    doc = json.loads(run(cli, str(tmp_path), "--gpu", gpu, "--json").stdout)
    (tt,) = doc["target_tables"]
    assert wanted in tt["device_names"]
    (fam,) = tt["families"]
    assert fam["found"] == [] and fam["wanted"] == f"E=8,N=7168,device_name={wanted}.json"
    assert fam["fitting"]  # the table fits; it is only never loaded


def test_the_h200_rule_loads_the_h200_table_on_an_h200_nvl(cli, no_gpu, tmp_path):
    write(tmp_path, "E=8,N=7168,device_name=NVIDIA_H200.json", {"1": SMALL["1"]})
    doc = json.loads(run(cli, str(tmp_path), "--gpu", "h200 nvl", "--json").stdout)
    (tt,) = doc["target_tables"]
    assert set(tt["device_names"]) == {"NVIDIA_H200_NVL", "NVIDIA_H200"}
    assert tt["families"][0]["found"]


def test_write_fitted_keeps_sglangs_version_folder(cli, no_gpu, tmp_path):
    src = tmp_path / "configs"
    write(src, f"triton_3_4_0/E=8,N=7168,device_name={H100}.json", SMALL)
    out = tmp_path / "out"
    assert run(cli, str(src), "--arch", "sm_120", "--write-fitted", str(out)).exit_code == 1
    fitted = out / "sm_120" / "triton_3_4_0" / f"E=8,N=7168,device_name={H100}.json"
    assert json.loads(fitted.read_text())["256"]["num_stages"] == 3


def test_an_8_bit_k_below_32_is_invalid_everywhere(cli, no_gpu, tmp_path):
    p = write(tmp_path, f"E=8,N=7168,device_name={H100},dtype=fp8_w8a8.json", {"1": entry(16, 64, 16, 4, 3)})
    doc = json.loads(run(cli, str(p), "--arch", "sm_86,sm_90", "--json").stdout)
    for r in doc["tables"][0]["results"]:
        assert r["entries"][0]["status"] == "invalid" and "K >= 32" in r["entries"][0]["reason"]
