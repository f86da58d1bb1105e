"""gpudiag.device.selection: one "which GPU" policy, and the same words for the same mistake in every command."""

from __future__ import annotations

import pytest

from gpudiag.device import selection
from gpudiag.errors import GpudiagError


def _words(fn, *args, **kw) -> str:
    with pytest.raises(GpudiagError) as exc:
        fn(*args, **kw)
    assert exc.value.exit_code == 2
    return exc.value.message


def test_lists_are_split_stripped_and_kept_once_in_order():
    sel = selection.select(" h100 , rtx 4090,h100", "sm_90", many=True)
    assert sel.gpus == ("h100", "rtx 4090") and sel.archs == ("sm_90",)
    assert sel.named == 3 and sel.offline and not sel.wants_live


@pytest.mark.parametrize("gpu", ["", " ", "h100,", ",h100", "h100,,a100"])
def test_an_empty_name_is_one_mistake(gpu):
    assert _words(selection.select, gpu, many=True).startswith("--gpu needs a GPU name")


def test_an_empty_arch_is_one_mistake():
    assert _words(selection.select, None, "sm_80,", many=True).startswith("--arch needs an architecture")


@pytest.mark.parametrize(
    "kw", [{"gpu": "h100,a100"}, {"gpu": "h100", "arch": "sm_90"}, {"gpu": "h100", "index": 0}, {"arch": "sm_80,sm_90"}]
)
def test_a_single_gpu_command_takes_one(kw):
    assert _words(selection.select, **kw).startswith("give one GPU here, got 2:")


def test_a_comparing_command_takes_names_and_the_live_gpu():
    sel = selection.select("h100", None, 1, many=True)
    assert sel.wants_live and not sel.offline and sel.index == 1


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"index": -1}, "--index takes a whole number of 0 or more, got '-1'"),
        ({"smem_limit": 0}, "--smem-limit must be a positive number of bytes, got 0"),
    ],
)
def test_bad_numbers(kw, words):
    assert _words(selection.select, **kw) == words


def test_named_targets_resolve_offline_arch_first_each_once():
    targets = selection.resolve(selection.select("h100,H100 SXM", "sm_89", many=True))
    assert [t.label for t in targets] == ["sm_89", "H100 SXM5 80GB"]
    assert [t.asked for t in targets] == ["--arch sm_89", "--gpu h100"]


def test_no_live_gpu_names_the_alternatives(no_gpu):
    words = _words(selection.resolve, selection.select(many=True))
    assert words.startswith("no live GPU (") and words.endswith("name one instead: --gpu NAME or --arch SM")
    facts, why = selection.resolve_or_none(selection.select())
    assert facts is None and why


def test_a_bad_name_is_reported_before_the_missing_gpu(no_gpu):
    assert "unknown GPU 'rtx 9999'" in _words(selection.resolve, selection.select("rtx 9999", index=0, many=True))


def test_live_gpu_and_a_catalogue_gpu(fake_rtx3070):
    targets = selection.resolve(selection.select("h100", None, 0, many=True))
    assert [t.facts.origin for t in targets] == ["catalogue", "live"]
    assert targets[1].asked == "--index 0" and targets[1].label == "RTX 3070"


def test_the_same_words_in_every_command(cli, no_gpu):
    for args in (
        ["info", "--gpu", "h100,"],
        ["explain-warning", "--gpu", "h100,", "Not enough SMs to use max_autotune_gemm mode"],
        ["check-tiles", "128x128x64", "--gpu", "h100,"],
        ["check-tiles", "--from-triton-cache", "/nonexistent", "--gpu", "h100,"],
    ):
        r = cli(*args)
        assert r.exit_code == 2 and r.stderr.startswith("gpudiag: --gpu needs a GPU name, e.g."), (args, r.stderr)
    for args in (
        ["explain-warning", "--gpu", "h100,a100", "Not enough SMs to use max_autotune_gemm mode"],
        ["check-tiles", "128x128x64", "--gpu", "h100,a100"],
    ):
        r = cli(*args)
        assert r.exit_code == 2 and r.stderr.startswith("gpudiag: give one GPU here, got 2:"), (args, r.stderr)


def test_a_negative_index_reads_the_same_in_every_command(cli, no_gpu):
    lines = {
        cli("info", "--index", "-1").stderr.strip().split(": ", 1)[1].split(" (")[0],
        cli("check-tiles", "128x128x64", "--index", "-1").stderr.strip().split(": ", 1)[1].split(" (")[0],
    }
    assert lines == {"--index takes a whole number of 0 or more, got '-1'"}
