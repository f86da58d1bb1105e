"""The words `gpudiag info` prints: counts with thousands separators, a memory clock wherever a cited
source gives one, "torch not installed" instead of "?", and no trailing spaces in piped output."""

from __future__ import annotations

import pytest

from gpudiag.device import catalog, verdicts
from gpudiag.device.lookup import lookup
from gpudiag.installed.sm_gate import history_gate


def test_counts_have_thousands_separators(cli, no_gpu):
    r = cli("info", "--gpu", "h100", env={"COLUMNS": "120"})
    assert "registers / SM        65,536" in r.stdout and "CUDA cores   16,896" in r.stdout
    assert "65536" not in r.stdout.split("catalogue sources")[0]  # the sources quote their own text


@pytest.mark.parametrize("name, clock", [("rtx 4090", "10,501 MHz"), ("h100", "2,619 MHz"), ("l4", "6,251 MHz")])
def test_memory_clock_from_the_cited_source(cli, no_gpu, name, clock):
    r = cli("info", "--gpu", name, env={"COLUMNS": "120"})
    line = next(x for x in r.stdout.splitlines() if "memory clock" in x)
    assert clock in line and "live [" in line and "n/a" not in line


def test_every_row_whose_source_gives_a_memory_clock_shows_it():
    for row in catalog.gpu_rows():
        facts = catalog.facts_from_row(row)
        cited = any("memory_clock_max_mhz" in s.fields for s in row.sources)
        assert (facts.memory_clock_max_mhz is not None) == cited, row.key


def test_is_big_gpu_without_torch_says_so():
    facts = lookup("h100")
    v = verdicts.gemm_templates(facts, history_gate(None))
    assert v.answer == "yes" and "torch not installed" in v.why and "?" not in v.why


@pytest.mark.parametrize("args", [["info", "--gpu", "h100"], ["info", "--gpu", "h100,l4"], ["info", "--list-gpus"]])
def test_piped_output_has_no_trailing_spaces(cli, no_gpu, args):
    for width in ("80", "200"):
        r = cli(*args, env={"COLUMNS": width})
        assert r.exit_code == 0
        assert [line for line in r.stdout.splitlines() if line != line.rstrip(" ")] == []


def test_quoted_names_are_never_broken_at_80_columns(cli, no_gpu):
    """'NVIDIA GeForce RTX 4090' in a cited source stays on one line, in every catalogue report."""
    import re

    for row in catalog.gpu_rows():
        narrow = cli("info", "--gpu", row.key, env={"COLUMNS": "80"}).stdout
        wide = cli("info", "--gpu", row.key, env={"COLUMNS": "400"}).stdout
        assert max(len(line) for line in narrow.splitlines()) <= 80, row.key
        for quoted in set(re.findall(r"'[^'\n]{1,40}'", wide)):
            assert quoted in narrow, (row.key, quoted)


def test_a_config_label_is_never_broken_at_80_columns(cli, no_gpu):
    args = [
        "check-tiles",
        "128x256x64:3@8",
        "64x64x32:2@4",
        "--gpu",
        "h100",
        "--regs",
        "128",
        "--shape",
        "4096x4096x4096",
    ]
    narrow = cli(*args, env={"COLUMNS": "80"}).stdout
    for label in ("128x256x64:3@8", "64x64x32:2@4"):
        assert label in narrow
