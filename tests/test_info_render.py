"""`gpudiag info` keeps every piece of its information at 80 columns (and at 200): nothing cut with
'…', no line wider than the terminal, every value, verdict, note and source present."""

from __future__ import annotations

import json
import re

import pytest

BOX = re.compile(r"[\s│╭╮╰╯─]+")


def flat(text: str) -> str:
    """The words of a rendering, however rich wrapped or boxed them."""
    return BOX.sub("", text)


def assert_fits(text: str, width: int) -> None:
    assert "…" not in text
    wide = [line for line in text.splitlines() if len(line) > width]
    assert not wide, wide[:3]


def expected_pieces(doc: dict) -> list[str]:
    pieces = []
    for dev in doc["devices"]:
        pieces += [dev["name"], dev["sm"]]
        for v in dev["verdicts"]:
            pieces += [v["question"], v["why"]]
        pieces += dev["notes"]
        if dev["origin"] == "catalogue":
            pieces += [s["text"] for s in dev["catalogue_sources"]]
        for field in ("smem_per_block_optin_bytes", "smem_per_sm_bytes"):
            if dev[field] is not None:
                pieces.append(f"{dev[field]:,} B")
    if doc["no_device"]:
        pieces += [doc["no_device"]["reason"], doc["no_device"]["nvml"], doc["no_device"]["hint"]]
    return pieces


@pytest.mark.parametrize("width", [80, 200])
@pytest.mark.parametrize(
    "args",
    [(), ("--gpu", "h200"), ("--gpu", "rtx 4090 laptop"), ("--gpu", "sm_89")],
    ids=["live-h100", "h200", "4090-laptop", "sm_89"],
)
def test_info_keeps_everything_at_width(cli, fake_h100, args, width):
    doc = json.loads(cli("info", *args, "--json").stdout)
    r = cli("info", *args, env={"COLUMNS": str(width)})
    assert r.exit_code == 0, r.stderr
    assert_fits(r.stdout, width)
    text = flat(r.stdout)
    missing = [p for p in expected_pieces(doc) if flat(p) not in text]
    assert not missing, missing


@pytest.mark.parametrize("width", [80, 200])
def test_no_gpu_report_at_width(cli, no_gpu, width):
    doc = json.loads(cli("info", "--json").stdout)
    r = cli("info", env={"COLUMNS": str(width)})
    assert r.exit_code == 2
    assert_fits(r.stdout, width)
    text = flat(r.stdout)
    assert not [p for p in expected_pieces(doc) if flat(p) not in text]


@pytest.mark.parametrize("width", [80, 200])
def test_catalogue_listing_at_width(cli, no_gpu, width):
    r = cli("info", "--list-gpus", env={"COLUMNS": str(width)})
    assert_fits(r.stdout, width)
    rows = json.loads(cli("info", "--list-gpus", "--json").stdout)["gpus"]
    text = flat(r.stdout)
    assert all(flat(g["name"]) in text and all(flat(a) in text for a in g["aliases"]) for g in rows)


def test_catalogue_values_show_their_kind_of_source(cli, no_gpu):
    out = cli("info", "--gpu", "h200", env={"COLUMNS": "120"}).stdout
    assert re.search(r"SMs\s+132 \(live \[\d\]\)", out)
    assert re.search(r"bandwidth \(peak\)\s+4,800 GB/s \(datasheet \[\d\]\)", out)
    assert "catalogue sources" in out and "[1] live" in out


def test_live_values_from_the_catalogue_are_marked(cli, fake_h100):
    out = cli("info", env={"COLUMNS": "120"}).stdout
    assert re.search(r"bf16 dense\s+989.4 TFLOP/s \(catalogue, datasheet \[\d\]\)", out)
    assert re.search(r"SMs\s+132\s", out)  # read live: no mark


def test_fractional_sizes_are_not_rounded_away(cli):
    """The TITAN V's L2 is 4.5 MiB (4,718,592 B) and the RTX 3060's 2.25 MiB: not "4 MiB" and "2 MiB"."""
    for name, shown in (("titan v", "4.5 MiB"), ("rtx 3060", "2.25 MiB")):
        r = cli("info", "--gpu", name, env={"COLUMNS": "80"})
        assert r.exit_code == 0 and f"L2 cache              {shown}" in r.stdout, r.stdout


def _live_h100_facts():
    from gpudiag.device import probe

    devices, _ = probe.probe()
    return devices[0]


@pytest.mark.parametrize("which", ["live", "h100", "rtx 3070", "b200", "sm_120"])
def test_panel_widths_given_up_front_are_what_rich_measures(fake_h100, which):
    """info_render gives each panel its width so that laying them out measures nothing; that width
    must be the one rich would have measured, or the layout (and the output) would change."""
    from rich.console import Console
    from rich.measure import Measurement

    from gpudiag.cli import info_render
    from gpudiag.device import resolve_target

    if which == "live":
        facts = _live_h100_facts()
    elif which.startswith("sm_"):
        facts = resolve_target(arch=which)
    else:
        facts = resolve_target(gpu=which)
    console = Console(width=1000)
    builders = (info_render._identity, info_render._limits, info_render._memory, info_render._state)
    panels = [p for p in (build(facts) for build in builders) if p is not None]
    assert len(panels) >= 3
    for panel in panels:
        given, panel.width = panel.width, None
        assert given == Measurement.get(console, console.options, panel).maximum, panel.title
