"""check-tiles' report at 80 and 200 columns (everything kept, nothing cut with '…'), its --help,
the summary of long inputs, and every --json document against docs/schemas/check-tiles.schema.json."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from gpudiag.tiles import exact

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs/schemas/check-tiles.schema.json").read_text())


def _validate(doc):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(doc, SCHEMA)


@pytest.fixture
def fake_exact(monkeypatch):
    """--exact without compiling: the numbers a compile of these configs gives, shaped like real ones."""

    def run_exact(jobs, parallel=None, use_cache=True, progress=None):
        out = []
        for j in jobs:
            if j.block_m == 256 and j.block_k == 128:
                out.append(
                    exact.ExactResult(
                        None,
                        None,
                        None,
                        None,
                        1.5,
                        False,
                        error="PTXASError: `ptxas` failed with error code 255\n`ptxas` stderr:\n"
                        "ptxas fatal   : (C7602) Insufficient registers (128) to compile",
                    )
                )
                continue
            shared = j.stages * (j.block_m + j.block_n) * j.block_k * 2
            out.append(exact.ExactResult(shared, 254, 1234, 4936, 2.0, False, regs_source="test"))
        return out

    monkeypatch.setattr(exact, "run_exact", run_exact)
    monkeypatch.setattr(exact, "triton_version", lambda: "3.9.0")


CASES = {
    "estimate": ["128x128x64:4", "64x64x32:4", "128x256x64:3@8", "256x256x128:5@8", "--gpu", "h100"],
    "mixed-dtypes-exact": [
        "128x128x64:4",
        "256x128x128:3@8",
        "64x64x32:4",
        "--gpu",
        "h100",
        "--exact",
        "--b-dtype",
        "fp8e4m3",
    ],
    "big-shape": [
        "16x16x16:1@1",
        "128x256x64:3@8",
        "--gpu",
        "h100",
        "--shape",
        "1000000x1000000x65536",
        "--groups",
        "64",
        "--regs",
        "168",
    ],
    "cutlass": ["128x256x64B", "--dtype", "fp4", "--model", "cutlass", "--arch", "sm_121", "--grouped"],
    "fp32-explain": ["256x256x32:4@4", "64x64x8", "--dtype", "fp32", "--gpu", "h100", "--explain"],
    "mixed-precisions-exact": [
        "128x128x32:3@8",
        "64x64x32:2@4",
        "--dtype",
        "fp32-ieee",
        "--b-dtype",
        "fp8e4m3",
        "--gpu",
        "rtx 4090",
        "--exact",
    ],
}


@pytest.mark.parametrize("width", [80, 200])
@pytest.mark.parametrize("case", list(CASES))
def test_report_keeps_everything_at_any_width(cli, no_gpu, fake_exact, case, width):
    args = CASES[case]
    text = cli("check-tiles", *args, env={"COLUMNS": str(width)}).stdout
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    doc = json.loads(cli("check-tiles", *args, "--json").stdout)
    _validate(doc)
    flat = re.sub(r"\s+", "", text)
    for v in doc["verdicts"]:  # every number the table shows is there in full, whatever folds
        if v["needed_bytes"] is not None:
            assert f"{v['needed_bytes']:,}" in flat
        if v["exact"] and v["exact"]["regs_per_thread"]:
            assert f"{v['exact']['regs_per_thread']:,}" in flat and f"{v['exact']['spills']:,}" in flat
        if v["waves"]:
            assert f"{v['waves']['tiles']:,}" in flat and f"{v['waves']['k_iterations']:,}" in flat
        if v["exact"] and v["exact"]["error"]:  # the reason may wrap at any space
            assert "Insufficient registers (128)" in " ".join(text.split())


def test_help_at_80_columns_is_whole(cli):
    text = cli("check-tiles", "--help", env={"COLUMNS": "80"}).stdout
    assert "…" not in text
    flat = re.sub(r"[\s│]+", " ", text)
    assert "BMxBNxBK[:STAGES][@WARPS]" in flat.replace(" ", "")
    for option in ("--regs", "--shape", "--exact", "--jobs", "--no-cache", "--all", "--json", "--model"):
        assert option in text


def test_long_inputs_are_summarised(cli, no_gpu, tmp_path):
    f = tmp_path / "many.csv"
    rows = [
        f"{bm},{bn},{bk},{s},4"
        for bm in (32, 64, 128, 256)
        for bn in (32, 64, 128, 256)
        for bk in (32, 64)
        for s in (2, 3, 4, 5)
    ]
    f.write_text("BLOCK_M,BLOCK_N,BLOCK_K,num_stages,num_warps\n" + "\n".join(rows) + "\n")
    r = cli("check-tiles", "--file", str(f), "--arch", "sm_89", env={"COLUMNS": "80"})
    doc = json.loads(cli("check-tiles", "--file", str(f), "--arch", "sm_89", "--json").stdout)
    _validate(doc)
    n_fail = len(rows) - doc["summary"]["fits"]
    assert r.exit_code == 1 and n_fail > 10
    assert f"{n_fail:,} that do not fit, launch or compile (first 10)" in r.stdout
    assert "best 10 of" in r.stdout and "--all prints every row" in r.stdout
    assert len([ln for ln in r.stdout.splitlines() if re.match(r"\d+x\d+x\d+:", ln)]) == 20
    r = cli("check-tiles", "--file", str(f), "--arch", "sm_89", "--all")
    assert len([ln for ln in r.stdout.splitlines() if re.match(r"\d+x\d+x\d+:", ln)]) == len(rows)


SCRIPT = textwrap.dedent("""
    import triton
    @triton.autotune(configs=[triton.Config({"BLOCK_M": 128, "BLOCK_N": 128, "BLOCK_K": 64}, num_stages=4,
                                            num_warps=4),
                              triton.Config({"BLOCK_M": 96, "BLOCK_N": 64, "BLOCK_K": 32}, num_stages=2)], key=[])
    @triton.jit
    def a_kernel_with_a_rather_long_name_to_see_it_wrap(x, BLOCK_M, BLOCK_N, BLOCK_K):
        pass

    @triton.autotune(configs=[triton.Config({"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 32})], key=[])
    @triton.jit
    def other(x, BLOCK_M, BLOCK_N, BLOCK_K):
        pass
""")


def test_script_groups_and_cannot_compile_render_and_validate(cli, no_gpu, tmp_path):
    s = tmp_path / "k.py"
    s.write_text(SCRIPT)
    r = cli("check-tiles", "--from-script", str(s), "--arch", "sm_120", env={"COLUMNS": "80"})
    assert r.exit_code == 1 and "…" not in r.stdout
    assert "a_kernel_with_a_rather_long_name_to_see_it_wrap" in re.sub(r"\s+", "", r.stdout)
    assert "cannot compile:" in r.stdout and "BM=96isnotapoweroftwo" in re.sub(r"\s+", "", r.stdout)
    _validate(json.loads(cli("check-tiles", "--from-script", str(s), "--arch", "sm_120", "--json").stdout))


def test_inductor_json_validates(cli, no_gpu):
    pytest.importorskip("torch")
    _validate(
        json.loads(
            cli("check-tiles", "--from-inductor", "--gpu", "rtx 4090", "--shape", "4096x4096x4096", "--json").stdout
        )
    )


def test_error_document_with_json(cli, no_gpu):
    r = cli("check-tiles", "128x128x64", "--jobs", "0", "--arch", "sm_90", "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["schema"] == "gpudiag.error/1"


def test_progress_goes_to_stderr_after_a_second(monkeypatch, capsys):
    from gpudiag.cli import check_tiles as cli_mod

    clock = iter([0.0, 0.5, 2.0, 3.0, 14.0])
    monkeypatch.setattr(cli_mod.time, "monotonic", lambda: next(clock))
    with cli_mod._Progress() as p:  # not a terminal: plain lines, at most every 10 s, none in the first second
        p.terminal = False
        p.update("compiling", 1, 10)  # 0.5 s
        p.update("compiling", 2, 10)  # 2 s: first line
        p.update("compiling", 3, 10)  # 3 s: too soon
        p.update("compiling", 9, 10)  # 14 s
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines() == ["gpudiag: compiling 2/10", "gpudiag: compiling 9/10"]


def test_all_prints_every_row_on_one_line_in_plain_columns(cli, no_gpu, tmp_path):
    """--all over many configs: one line per config, the same columns as the summary's, at 80 columns."""
    f = tmp_path / "many.csv"
    rows = [
        f"{bm},{bn},{bk},{s},{w}"
        for bm in (32, 64, 128, 256)
        for bn in (32, 64, 128, 256)
        for bk in (16, 32, 64)
        for s in (1, 2, 3, 4, 5)
        for w in (2, 4, 8)
    ]
    f.write_text("BLOCK_M,BLOCK_N,BLOCK_K,num_stages,num_warps\n" + "\n".join(rows) + "\n")
    r = cli("check-tiles", "--file", str(f), "--arch", "sm_90", "--all", env={"COLUMNS": "80"})
    lines = r.stdout.splitlines()
    table = [ln for ln in lines if re.match(r"\d+x\d+x\d+:", ln)]
    assert len(table) == len(rows) and max(len(ln) for ln in lines) <= 80
    assert not any(ln != ln.rstrip() for ln in table)  # no padding at the ends of the rows
    header = next(i for i, ln in enumerate(lines) if ln.startswith("config"))
    assert lines[header + 1].startswith("───") and lines[header].split()[:4] == ["config", "smem", "B", "margin"]
    # in colour (a terminal): the same rows, styled
    r = cli("check-tiles", "--file", str(f), "--arch", "sm_90", "--all", env={"COLUMNS": "80", "FORCE_COLOR": "1"})
    plain = re.sub(r"\x1b\[[0-9;]*m", "", r.stdout)
    assert "\x1b[32myes\x1b[0m" in r.stdout and plain.splitlines() == lines


def test_grid_wraps_text_columns_never_labels_or_numbers():
    from gpudiag.cli.grid import Column, grid

    cols = [Column("config"), Column("dtype", wrap="x"), Column("smem B", right=True), Column("limit", wrap="commas")]
    rows = [[("128x256x64:3@8", None), ("fp32-ieeexfp8e4m3", None), ("229,376", None), ("smem,regs,warps", "red")]]
    wide = grid(cols, rows, 200)
    assert wide.splitlines()[2].split() == [
        "128x256x64:3@8",
        "fp32-ieeexfp8e4m3",
        "229,376",
        "[red]smem,regs,warps[/red]",
    ]
    narrow = grid(cols, rows, 40).splitlines()
    plain = [re.sub(r"\[/?\w+\]", "", ln) for ln in narrow]
    assert max(len(ln) for ln in plain) <= 40
    assert plain[2].startswith("128x256x64:3@8") and "229,376" in plain[2]
    assert "fp32-ieeex" in plain[2] and "fp8e4m3" in plain[3]  # the dtype broke after its 'x'
    assert any("smem," in ln for ln in plain) and any("warps" in ln for ln in plain[3:])
