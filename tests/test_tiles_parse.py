"""Tile grammar and config files: good input parses, bad input names what and where (exit 2)."""

from __future__ import annotations

import pytest

from gpudiag.errors import GpudiagError
from gpudiag.tiles.parse import parse_file, parse_tile


def test_grammar():
    t = parse_tile("128x256x64:3@8")
    assert (t.block_m, t.block_n, t.block_k, t.stages, t.warps, t.k_in_bytes) == (128, 256, 64, 3, 8, False)
    t = parse_tile("64X64x32")
    assert (t.stages, t.warps) == (None, None)
    assert parse_tile("128x256x64B").k_in_bytes
    assert parse_tile("16x16x16@2").warps == 2


@pytest.mark.parametrize(
    "bad, words",
    [
        ("128x", "malformed"),
        ("0x64x32", "BM must be positive"),
        ("-1", "malformed"),
        ("128x128x32:0", "stages must be"),
        ("4096x128x32", "larger than any GEMM tile"),
        ("128x128x32@3", "warps must be"),
        ("128x128x32:99", "stages must be"),
        ("", "malformed"),
    ],
)
def test_bad_tiles(bad, words):
    with pytest.raises(GpudiagError) as exc:
        parse_tile(bad, "argument 1")
    assert words in exc.value.message and exc.value.exit_code == 2


def test_json_file(tmp_path):
    f = tmp_path / "t.json"
    f.write_text(
        '[\n "128x128x64:3@4",\n {"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 32, "num_stages": 2, "num_warps": 4},\n'
        " [32, 32, 16, 1, 2]\n]\n"
    )
    cfgs = parse_file(str(f))
    assert [c.spec() for c in cfgs] == ["128x128x64:3@4", "64x64x32:2@4", "32x32x16:1@2"]
    assert cfgs[1].where == f"{f}:3"


def test_json_errors_name_file_and_line(tmp_path):
    f = tmp_path / "t.json"
    f.write_text('[\n "128x128x64:3@4",\n {"block_m": 64, "block_n": 0, "block_k": 32}\n]\n')
    with pytest.raises(GpudiagError) as exc:
        parse_file(str(f))
    assert f"{f}:3" in exc.value.message and "BN must be positive" in exc.value.message
    f.write_text('[\n "128x128x64",\n {"block_m": 64,,}\n]')
    with pytest.raises(GpudiagError) as exc:
        parse_file(str(f))
    assert f"{f}:3: invalid JSON" in exc.value.message


def test_csv_with_header_and_headerless(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("block_m,block_n,block_k,num_stages,num_warps\n128,128,64,3,4\n# comment\n64,64,32,,\n")
    cfgs = parse_file(str(f))
    assert [c.spec() for c in cfgs] == ["128x128x64:3@4", "64x64x32"]
    f.write_text("128x128x64:3@4\n64x64x32\n")
    assert len(parse_file(str(f))) == 2
    f.write_text("block_m,block_n,block_k\n128,abc,64\n")
    with pytest.raises(GpudiagError) as exc:
        parse_file(str(f))
    assert f"{f}:2" in exc.value.message and "integer" in exc.value.message


def test_yaml_file(tmp_path):
    pytest.importorskip("yaml")
    f = tmp_path / "t.yaml"
    f.write_text(
        "configs:\n  - 128x128x64:3@4\n  - {block_m: 64, block_n: 64, block_k: 32, num_stages: 2}\n"
        "  - {block_m: 64, block_n: 64}\n"
    )
    with pytest.raises(GpudiagError) as exc:
        parse_file(str(f))
    assert f"{f}:4" in exc.value.message and "missing block_k" in exc.value.message
    f.write_text("- 128x128x64:3@4\n- [unclosed\n")
    with pytest.raises(GpudiagError) as exc:
        parse_file(str(f))
    assert "invalid YAML" in exc.value.message


def test_yaml_without_pyyaml_says_what_to_do(tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_yaml(name, *a, **k):
        if name == "yaml":
            raise ImportError("no yaml")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_yaml)
    f = tmp_path / "t.yml"
    f.write_text("- 128x128x64\n")
    with pytest.raises(GpudiagError) as exc:
        parse_file(str(f))
    assert "PyYAML" in exc.value.message and "JSON or CSV" in exc.value.message


@pytest.mark.parametrize(
    "content, suffix, words",
    [
        ("", ".json", "empty"),
        ("   \n", ".csv", "empty"),
        ('{"x": 1}', ".json", "missing block_m"),
        ("42", ".json", "expected a list"),
        ("a,b\n", ".csv", "missing block_k"),
        ("[]", ".json", "no configs"),
        ("x", ".txt", "malformed tile"),
        ("[]", ".toml", "unknown file type"),
    ],
)
def test_bad_files(tmp_path, content, suffix, words):
    f = tmp_path / f"t{suffix}"
    f.write_text(content)
    with pytest.raises(GpudiagError) as exc:
        parse_file(str(f))
    assert words in exc.value.message and exc.value.exit_code == 2


def test_missing_file():
    with pytest.raises(GpudiagError) as exc:
        parse_file("/nonexistent/tiles.json")
    assert "no such file" in exc.value.message
