"""The line sets of tests/data/explain_sets: lines from other tools stay unrecognised, and the share of
real pasted torch/Triton lines explained does not fall below what bench/explain/recognition.py
measured (docs/BENCHMARKS.md). In-process here; the bench runs a fresh CLI process per line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpudiag.explain.report import Context, explain_text

SETS = Path(__file__).parent / "data" / "explain_sets"
# Measured 2026-12-02 (bench/results/2026-12-02-cpu-explain-sets3/after_recognition.json). Before the
# third collection's changes: heldback 63, dev 49, heldback2 39, dev2 37, dev3 41
# (bench/results/2026-12-02-cpu-explain-sets3/before_recognition.json; the second collection's are in
# bench/results/2026-12-02-cpu-explain-sets2/).
FLOOR = {"heldback": 63, "dev": 49, "heldback2": 39, "dev2": 37, "dev3": 58}
NEGATIVE = ("negative", "negative2", "negative3")


def _lines(name: str) -> list[dict]:
    return [json.loads(ln) for ln in (SETS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines() if ln.strip()]


@pytest.fixture(scope="module")
def ctx():
    return Context.create(None, "no GPU in this test")


def test_sets_are_well_formed():
    owner: dict[str, str] = {}
    for name in (*FLOOR, *NEGATIVE):
        rows = _lines(name)
        assert len({(r["url"], r["line"]) for r in rows}) == len(rows), f"a line twice from one thread in {name}"
        for row in rows:
            assert row["url"].startswith("https://") and row["line"].strip(), row
            # two users may paste the same line in two threads, but a line is in one set only
            assert owner.setdefault(row["line"], name) == name, f"{row['line']!r} is in {owner[row['line']]} and {name}"
    assert len(_lines("heldback")) >= 60 and len(_lines("negative")) >= 20
    assert len(_lines("heldback2")) + len(_lines("dev2")) >= 80 and len(_lines("negative2")) >= 15
    assert len(_lines("dev3")) >= 60 and len(_lines("negative3")) >= 10
    # a thread's lines are all on one side of the split, and the third collection reuses no thread
    held = {r["url"] for name in ("heldback", "heldback2") for r in _lines(name)}
    assert not held & {r["url"] for name in ("dev", "dev2", "dev3") for r in _lines(name)}
    earlier = {
        r["url"] for name in ("heldback", "dev", "negative", "heldback2", "dev2", "negative2") for r in _lines(name)
    }
    assert not earlier & {r["url"] for name in ("dev3", "negative3") for r in _lines(name)}


@pytest.mark.parametrize("row", [r for name in NEGATIVE for r in _lines(name)], ids=lambda r: r["line"][:60])
def test_lines_from_other_tools_stay_unrecognised(ctx, row):
    ex = explain_text(ctx, row["line"])
    assert ex is None, f"{row['line']!r} explained as {ex.id}"


@pytest.mark.parametrize("name", sorted(FLOOR))
def test_share_explained_does_not_regress(ctx, name):
    explained = sum(explain_text(ctx, row["line"]) is not None for row in _lines(name))
    assert explained >= FLOOR[name]
