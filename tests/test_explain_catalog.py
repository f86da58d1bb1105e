"""Every catalogue entry: valid, its examples match it and no other specific entry, its source exists."""

from __future__ import annotations

import pytest

from gpudiag.installed import versions
from gpudiag.explain.catalog import SEVERITIES, load
from gpudiag.explain.matcher import Matcher

CAT = load()
MATCHER = Matcher(CAT)
ENTRIES = CAT.entries


def test_catalogue_has_at_least_40_entries():
    assert len(ENTRIES) >= 40


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_examples_match_entry_and_no_other(entry):
    assert entry.examples
    for line in entry.examples:
        assert MATCHER.match(line) is entry, f"{line!r} -> {MATCHER.match(line)}"
        others = [e.id for e in MATCHER.all_matches(line) if e is not entry and not e.generic]
        assert not others, f"{line!r} also matches {others}"
        # the log prefilter must let the line through: a needle occurs in it
        assert any(n in line for n in entry.needles), f"no needle of {entry.id} in {line!r}"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_entry_fields(entry):
    assert entry.severity in SEVERITIES
    assert entry.fixes and all(f.text for f in entry.fixes)
    assert entry.source_package in ("torch", "triton")


def _version_in_range(entry) -> tuple[bool, str]:
    version = versions.torch_version() if entry.source_package == "torch" else versions.triton_version()
    if version is None:
        return False, f"{entry.source_package} not installed"
    vt = versions.version_tuple(version)
    if entry.since and vt < versions.version_tuple(entry.since):
        return False, f"{entry.source_package} {version} predates {entry.since}"
    if entry.removed_in and vt >= versions.version_tuple(entry.removed_in):
        return False, f"{entry.source_package} {version} no longer has it (removed in {entry.removed_in})"
    return True, version


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_source_citation_exists_in_installed_version(entry):
    ok, why = _version_in_range(entry)
    if not ok:
        pytest.skip(why)
    root = versions.package_dir(entry.source_package)
    path = root / entry.source_file.split("/", 1)[1]
    assert path.exists(), f"{entry.source_file} missing in {entry.source_package} {why}"
    text = path.read_text(encoding="utf-8", errors="replace")
    assert entry.source_text in text, f"{entry.source_text!r} not in {entry.source_file} ({why})"


def test_generic_entries_lose_to_specific():
    line = "W1123 08:00:00.000000 1 torch/_inductor/cudagraph_utils.py:380] [0/0] skipping cudagraphs due to mutated inputs (1 instances)"
    assert MATCHER.match(line).id == "cudagraphs.mutated-inputs"
    assert MATCHER.match("skipping cudagraphs due to something new").id == "cudagraphs.skipped-other"


@pytest.mark.parametrize("line,expected", [
    ("[rank3]:W0412 10:02:11.518000 140213 torch/_inductor/utils.py:99] [7/3_1] Not enough SMs to use max_autotune_gemm mode", "inductor.not-enough-sms"),
    ("\x1b[33mW1123 07:45:26.064000 736 utils.py:1] Not enough SMs to use max_autotune_gemm mode\x1b[0m", "inductor.not-enough-sms"),
    ("/x/y.py:12: UserWarning: TensorFloat32 tensor cores for float32 matrix multiplication available but not enabled.", "inductor.tf32-disabled"),
    ("torch._dynamo hit config.recompile_limit (64)", "dynamo.recompile-limit"),
    ("torch._dynamo hit config.cache_size_limit (8)", "dynamo.recompile-limit"),
    ("out of resource: shared memory, Required: 99999, Hardware limit: 12345. Reducing block sizes", "triton.out-of-resource-shared-memory"),
])
def test_variants_with_prefixes_and_changed_numbers(line, expected):
    assert MATCHER.match(line).id == expected


def test_bad_catalogue_row_is_reported_by_id():
    from gpudiag.errors import GpudiagError
    from gpudiag.explain.catalog import parse

    with pytest.raises(GpudiagError, match="broken.entry"):
        parse({"warning": [{"id": "broken.entry", "title": "t"}]})
