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


# --- bad input, as a new user gives it (issue 19 §5) -----------------------------------------------


def test_a_csv_saved_by_excel_parses(tmp_path):
    """UTF-8 with a byte-order mark and CRLF line ends; in locales whose decimal mark is a comma, ';'."""
    f = tmp_path / "t.csv"
    f.write_bytes(b"\xef\xbb\xbfBLOCK_M,BLOCK_N,BLOCK_K,num_stages,num_warps\r\n128,128,64,3,4\r\n64,64,32,2,4\r\n")
    cfgs = parse_file(str(f))
    assert [c.spec() for c in cfgs] == ["128x128x64:3@4", "64x64x32:2@4"] and cfgs[1].where == f"{f}:3"
    f.write_bytes(b"\xef\xbb\xbfBLOCK_M;BLOCK_N;BLOCK_K\r\n128;128;64\r\n")
    assert [c.spec() for c in parse_file(str(f))] == ["128x128x64"]
    f.write_bytes(b"\xef\xbb\xbf128x128x64:3@4\r\n")
    assert [c.spec() for c in parse_file(str(f))] == ["128x128x64:3@4"]
    f.write_bytes(b"block_m,block_n,block_k\n128,128,\xff\n")
    with pytest.raises(GpudiagError) as exc:
        parse_file(str(f))
    assert f"{f}:2: not UTF-8 text (byte 0xff at offset 32)" in exc.value.message


def test_a_huge_file_is_refused_at_once(tmp_path):
    from gpudiag.tiles import parse

    f = tmp_path / "big.csv"
    with open(f, "wb") as out:  # sparse: a gigabyte that takes no room and is never read
        out.truncate(2**30)
    with pytest.raises(GpudiagError) as exc:
        parse_file(str(f))
    assert "1.0 GiB is more than a config list" in exc.value.message and exc.value.exit_code == 2
    assert parse.MAX_FILE_BYTES < 2**30


def test_a_field_over_the_csv_limit_is_one_line(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("block_m,block_n,block_k\n128,128," + "6" * 200_000 + "\n")
    with pytest.raises(GpudiagError) as exc:
        parse_file(str(f))
    assert f"{f}:2: malformed CSV: field larger than field limit" in exc.value.message


@pytest.mark.parametrize(
    "name, text",
    [("deep.json", "[" * 100_000 + "]" * 100_000), ("deep.yaml", "- " * 5_000 + "1\n")],
)
def test_deeply_nested_documents_are_one_line(tmp_path, name, text):
    if name.endswith("yaml"):
        pytest.importorskip("yaml")
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(GpudiagError) as exc:
        parse_file(str(f))
    assert "nested deeper than a config list ever is" in exc.value.message and exc.value.exit_code == 2


def test_stdin_and_streams_read_their_format_from_the_content(monkeypatch):
    import io
    import sys

    for text, specs in (
        ("128x128x64:3@4\n64x64x32\n", ["128x128x64:3@4", "64x64x32"]),
        ('{"configs": [[64, 64, 32, 2, 4]]}', ["64x64x32:2@4"]),
        ("block_m,block_n,block_k\n32,32,32\n", ["32x32x32"]),
    ):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
        cfgs = parse_file("-")
        assert [c.spec() for c in cfgs] == specs and cfgs[0].where.startswith("stdin")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    with pytest.raises(GpudiagError) as exc:
        parse_file("-")
    assert "stdin: the input is empty" in exc.value.message


def test_yaml_on_stdin(monkeypatch):
    import io
    import sys

    pytest.importorskip("yaml")
    monkeypatch.setattr(
        sys, "stdin", io.TextIOWrapper(io.BytesIO(b"- 128x128x64:3@4\n- {block_m: 64, block_n: 64, block_k: 32}\n"))
    )
    assert [c.spec() for c in parse_file("-")] == ["128x128x64:3@4", "64x64x32"]


def test_a_fifo_is_read(tmp_path):
    import os
    import threading

    fifo = tmp_path / "configs"
    os.mkfifo(fifo)

    def write():
        with open(fifo, "w") as f:
            f.write('["64x64x32:2@4", "128x128x32"]')

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert [c.spec() for c in parse_file(str(fifo))] == ["64x64x32:2@4", "128x128x32"]
    finally:
        writer.join(timeout=10)


def test_a_folder_is_a_folder_not_a_missing_file(tmp_path):
    with pytest.raises(GpudiagError) as exc:
        parse_file(str(tmp_path))
    assert "is a folder, not a file of configs" in exc.value.message and "no such file" not in exc.value.message


def test_a_file_without_a_suffix_is_read_by_its_content(tmp_path):
    f = tmp_path / "configs"
    f.write_text("[[128, 128, 64, 3, 4]]")
    assert [c.spec() for c in parse_file(str(f))] == ["128x128x64:3@4"]
