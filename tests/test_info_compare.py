"""`gpudiag info --gpu A,B`: what differs for kernel tuning, side by side, offline for any catalogue pair."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from gpudiag.device import catalog, selection
from gpudiag.info import compare

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs/schemas/info-compare.schema.json").read_text())
KEYS = [row.key for row in catalog.gpu_rows()]


def _report(*names: str) -> compare.CompareReport:
    return compare.compare(selection.resolve(selection.select(",".join(names), many=True)))


def test_every_pair_of_catalogue_gpus_compares_offline():
    for a, b in itertools.combinations(KEYS, 2):
        rep = _report(a, b)
        assert [t.facts.catalogue_key for t in rep.targets] == [a, b]
        assert rep.rows[0].key == "sm" and all(len(r.values) == 2 for r in rep.rows)
        assert rep.exit_code == 0


@pytest.mark.parametrize("pair", [KEYS[:2], KEYS[-2:], ["h100-sxm", "rtx-4090"], ["b200", "rtx-5090", "l4"]])
def test_json_follows_the_schema(pair):
    pytest.importorskip("jsonschema").validate(_report(*pair).to_dict(), SCHEMA)


def test_h100_against_rtx_4090_shows_what_breaks_a_tuned_config():
    rep = _report("h100", "rtx 4090")
    differing = {r.key: r.values for r in rep.differing}
    assert differing["smem_per_block_optin_bytes"] == [232_448, 101_376]
    assert differing["tma"] == [True, False] and differing["wgmma"] == [True, False]
    assert "fp8" not in differing and "tcgen05" not in differing  # both have fp8, neither tcgen05
    assert any("99 KiB (101,376 B)" in n and "check-tiles --gpu rtx-4090" in n for n in rep.notes)


def test_is_big_gpu_gate_named_when_one_side_is_below_it():
    rep = _report("l4", "h100")
    assert any("is_big_gpu needs 68 SMs" in n and "off on L4" in n for n in rep.notes)


def test_fp4_and_tcgen05_rows():
    rep = _report("b200", "rtx 5090", "h100")
    rows = {r.key: r.values for r in rep.rows}
    assert rows["tcgen05"] == [True, False, False]
    assert rows["fp4"] == [True, True, False]


def test_cli_text_shows_only_what_differs(cli, no_gpu):
    r = cli("info", "--gpu", "h100,rtx 4090", env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.stderr
    table = r.stdout.split("The same on all:")[0]
    assert "smem / block opt-in" in table and "wgmma" in table
    assert "registers / SM" not in table  # 65,536 on both
    assert "The same on all:" in r.stdout and "registers / SM" in r.stdout.split("The same on all:")[1]
    assert all(len(line) <= 80 for line in r.stdout.splitlines())


def test_cli_json_and_arch_targets(cli, no_gpu):
    r = cli("info", "--gpu", "h100", "--arch", "sm_120", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    pytest.importorskip("jsonschema").validate(doc, SCHEMA)
    assert [t["asked"] for t in doc["targets"]] == ["--arch sm_120", "--gpu h100"]


def test_live_gpu_beside_a_catalogue_one(cli, fake_rtx3070):
    r = cli("info", "--index", "0", "--gpu", "h100", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [t["origin"] for t in doc["targets"]] == ["catalogue", "live"]


@pytest.mark.parametrize(
    "args, words",
    [
        (["--gpu", "h100", "--torch"], "--torch asks the installed torch about this machine's GPUs"),
        (["--gpu", "h100,"], "--gpu needs a GPU name"),
        (["--arch", ","], "--arch needs an architecture"),
        (["--gpu", "h100,rtx 9999"], "unknown GPU 'rtx 9999'"),
    ],
)
def test_mistakes_are_one_line_exit_2(cli, no_gpu, args, words):
    r = cli("info", *args)
    assert r.exit_code == 2
    assert r.stderr.startswith("gpudiag: ") and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert words in r.stderr


def test_quoted_names_and_labels_stay_whole_at_80_columns(cli, no_gpu):
    r = cli("info", "--gpu", "b200,rtx 5090,h100,l4", env={"COLUMNS": "80"})
    wide = cli("info", "--gpu", "b200,rtx 5090,h100,l4", env={"COLUMNS": "400"})
    for quoted in re.findall(r"'[^'\n]+'", wide.stdout):
        assert quoted in r.stdout, quoted
    assert "check-tiles --gpu rtx-5090" in r.stdout
