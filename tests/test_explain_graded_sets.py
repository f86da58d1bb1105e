"""The graded line sets of tests/data/explain_sets (README.md there) and bench/explain/grade.py's scoring.

Data: every line has a url and the pasted line; a graded line has compilable, non-empty `mechanism`
and `fix` regexes (unless `ungradable` says why not); negatives say `expect: "unclaimed"` with a
`why`; no thread URL is in two sets and no line text twice; the held-back/development split follows
the SHA-1 rule; there are at least 60 gradable held-back lines. Scoring: the grader's outcome for
faked answers (the subprocess is replaced), without running gpudiag."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from bench.explain import grade

SETS = Path(__file__).parent / "data" / "explain_sets"
# Collections split by the SHA-1 rule (held back <=> SHA-1 of the thread URL odd). dev3 is a
# development-only collection (no held-back half), so its URLs may have either parity.
SPLIT = {"heldback": "dev", "heldback2": "dev2", "heldback4": "dev4", "heldback5": "dev5"}


def _names() -> list[str]:
    return sorted(p.stem for p in SETS.glob("*.jsonl"))


def _lines(name: str) -> list[dict]:
    return [json.loads(ln) for ln in (SETS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines() if ln.strip()]


def _odd(url: str) -> bool:
    return int(hashlib.sha1(url.encode()).hexdigest(), 16) % 2 == 1


def test_every_line_has_url_and_line():
    for name in _names():
        for row in _lines(name):
            assert row["url"].startswith(("https://", "http://")), (name, row)  # a thread, or a page quoting the line
            assert isinstance(row["line"], str) and row["line"].strip(), (name, row)


@pytest.mark.parametrize("name", [n for n in _names() if not n.startswith("negative")])
def test_graded_lines_have_compilable_regexes(name):
    for row in _lines(name):
        assert "expect" not in row, (name, row["line"])
        for key in ("mechanism", "fix", "wrong"):
            pats = row.get(key, [])
            assert isinstance(pats, list), (name, key, row["line"])
            for p in pats:
                re.compile(p, re.IGNORECASE)
        if row.get("ungradable"):
            assert isinstance(row["ungradable"], str) and row["ungradable"].strip(), row["line"]
            continue
        assert row.get("mechanism") and row.get("fix"), f"{name}: no mechanism/fix for {row['line'][:80]!r}"
        assert row.get("must_say", "").strip(), f"{name}: no must_say for {row['line'][:80]!r}"
        assert "thread_says" in row, f"{name}: no thread_says for {row['line'][:80]!r}"


@pytest.mark.parametrize("name", [n for n in _names() if n.startswith("negative")])
def test_negatives_expect_unclaimed(name):
    for row in _lines(name):
        assert row.get("expect") == "unclaimed" and row.get("why", "").strip(), (name, row["line"])


def test_no_url_in_two_sets_and_no_line_twice():
    url_owner: dict[str, str] = {}
    line_owner: dict[str, str] = {}
    for name in _names():
        rows = _lines(name)
        # within a set, only two threads may carry the same text (users paste the same wrapper line)
        assert len({(r["url"], r["line"]) for r in rows}) == len(rows), f"a line twice from one thread in {name}"
        for row in rows:
            assert url_owner.setdefault(row["url"], name) == name, f"{row['url']} in {url_owner[row['url']]} and {name}"
            key = row["line"]  # exact text: the same message with other indentation counts apart
            assert line_owner.setdefault(key, name) == name, f"{row['line'][:80]!r} in {line_owner[key]} and {name}"


def test_heldback_split_follows_sha1_rule():
    for held, dev in SPLIT.items():
        if not (SETS / f"{held}.jsonl").exists():
            continue
        for row in _lines(held):
            assert _odd(row["url"]), f"{held}: {row['url']} has an even SHA-1"
        for row in _lines(dev):
            # the first collection put six recompile-log-format lines in dev on purpose; each says so in `note`
            assert not _odd(row["url"]) or row.get("note"), f"{dev}: {row['url']} has an odd SHA-1"


def test_at_least_60_gradable_heldback_lines():
    gradable = [r for n in _names() if n.startswith("heldback") for r in _lines(n) if not r.get("ungradable")]
    assert len(gradable) >= 60, len(gradable)


# --- scoring, on faked answers -------------------------------------------------------------------

ROW = {
    "url": "https://github.com/x/y/issues/1",
    "line": "tensor 'L['w']' stride mismatch at index 2. expected 1, actual 64",
    "mechanism": [r"stride|layout"],
    "fix": [r"layout_optimization\s*=\s*False|contiguous"],
    "wrong": [r"mark_dynamic"],
}


def _doc(**fields) -> dict:
    base = {"schema": "gpudiag.explain-warning/1", "form": "text", "id": "x", "line": ROW["line"], "fixes": []}
    base.update(fields)
    return base


def test_correct_needs_mechanism_and_fix():
    doc = _doc(
        meaning="inductor's layout optimisation changed the weight's stride",
        fixes=[{"text": "turn it off", "code": "torch._inductor.config.layout_optimization = False"}],
    )
    assert grade.score(ROW, {"exit": 0, "doc": doc})["outcome"] == "correct"
    only_mech = _doc(meaning="the stride changed")
    assert grade.score(ROW, {"exit": 0, "doc": only_mech})["outcome"] == "vague"


def test_wrong_beats_correct_and_missed_is_exit_1():
    doc = _doc(
        meaning="a stride changed", fixes=[{"text": "mark it dynamic", "code": "torch._dynamo.mark_dynamic(w, 0)"}]
    )
    assert grade.score(ROW, {"exit": 0, "doc": doc})["outcome"] == "wrong"
    assert grade.score(ROW, {"exit": 1, "doc": {"form": "no-match", "text": ROW["line"]}})["outcome"] == "missed"
    assert grade.score(ROW, {"exit": 2, "doc": None})["outcome"] == "missed"


def test_echo_of_the_line_does_not_count():
    # the guard's failure text and the line itself repeat "stride": no credit for the user's own words
    doc = _doc(guard={"failure": ROW["line"], "class": "size"}, fixes=[{"text": "x", "code": "x.contiguous()"}])
    assert grade.score(ROW, {"exit": 0, "doc": doc})["outcome"] == "vague"
    assert "stride" not in grade.answer_text(doc, ROW["line"])


def test_nested_text_counts():
    doc = _doc(verdict={"summary": "layout changed", "details": ["contiguous() fixes it"]})
    assert grade.score(ROW, {"exit": 0, "doc": doc})["outcome"] == "correct"


def test_ungradable_and_negative():
    ungr = {"url": ROW["url"], "line": "BackendCompilerFailed: backend='inductor' raised:", "ungradable": "bare"}
    assert grade.score(ungr, {"exit": 0, "doc": _doc(meaning="m")})["outcome"] == "ungradable"
    neg = {"url": ROW["url"], "line": "NCCL error", "expect": "unclaimed", "why": "eager"}
    assert grade.score(neg, {"exit": 1, "doc": None})["outcome"] == "correct"
    assert grade.score(neg, {"exit": 0, "doc": _doc(scope="general")})["outcome"] == "correct"
    assert grade.score(neg, {"exit": 0, "doc": _doc()})["outcome"] == "wrong"
    assert grade.score(neg, {"exit": 0, "doc": _doc()}, "negative4")["claimed"] is True


def test_measure_and_table_with_fake_subprocess(tmp_path, monkeypatch):
    sets = tmp_path / "sets"
    sets.mkdir()
    rows = [
        ROW,
        {"url": "https://github.com/x/y/issues/2", "line": "NCCL error 2", "expect": "unclaimed", "why": "eager"},
    ]
    (sets / "dev9.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:1]), encoding="utf-8")
    (sets / "negative9.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[1:]), encoding="utf-8")
    monkeypatch.setattr(grade, "SETS", sets)
    calls = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        line = cmd[-1]
        if line.startswith("NCCL"):
            return type("P", (), {"returncode": 1, "stdout": json.dumps({"form": "no-match"}), "stderr": ""})()
        doc = _doc(meaning="layout changed the stride", fixes=[{"text": "t", "code": "x.contiguous()"}])
        return type("P", (), {"returncode": 0, "stdout": json.dumps(doc), "stderr": ""})()

    monkeypatch.setattr(grade.subprocess, "run", fake_run)
    names = ["dev9", "negative9"]
    assert grade.set_names(sets) == names
    out = grade.measure(tmp_path, names, jobs=2)
    assert out["dev9"]["correct"] == 1 and out["negative9"]["correct"] == 1
    assert all(c[1:4] == ["-m", "gpudiag", "explain-warning"] and "--json" in c for c in calls)
    table = grade.table(out)
    assert "dev9" in table and "100.0%" in table


def test_set_order_and_heldback_detection():
    names = grade.set_names(SETS)
    assert names[0] == "heldback" and names.index("dev") > names.index("heldback2")
    assert grade.is_heldback("heldback4") and not grade.is_heldback("dev4")
