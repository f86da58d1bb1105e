"""Usage errors speak gpudiag, not Typer, click or pydantic: one line on stderr, the command and its
--help named, exit 2."""

from __future__ import annotations

import pytest

CASES = [
    (
        ["check-tiles", "--frob", "128x128x64"],
        "gpudiag check-tiles: no option --frob; did you mean --jobs? (gpudiag check-tiles --help)",
    ),
    (
        ["check-tiles", "--jobs", "abc", "128x128x64"],
        "gpudiag check-tiles: --jobs takes a whole number, got 'abc' (gpudiag check-tiles --help)",
    ),
    (
        ["info", "--index", "x"],
        "gpudiag info: --index takes a whole number of 0 or more, got 'x' (gpudiag info --help)",
    ),
    (
        ["info", "--index", "-1"],
        "gpudiag info: --index takes a whole number of 0 or more, got '-1' (gpudiag info --help)",
    ),
    (
        ["bakeoff", "model.py", "--timeout", "soon"],
        "gpudiag bakeoff: --timeout takes a number, got 'soon' (gpudiag bakeoff --help)",
    ),
    (["bakeoff"], "gpudiag bakeoff: missing SCRIPT (gpudiag bakeoff --help)"),
    (["info", "--gpu"], "gpudiag info: --gpu needs a value (gpudiag info --help)"),
    (["explain-warning", "a", "b"], "gpudiag explain-warning: unexpected argument b (gpudiag explain-warning --help)"),
    (["infoo"], "gpudiag: no command 'infoo'; did you mean info? (gpudiag --help)"),
    (["--frob"], "gpudiag: no option --frob (gpudiag --help)"),
]


@pytest.mark.parametrize("args, line", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_one_line_in_gpudiag_words(cli, no_gpu, args, line):
    r = cli(*args)
    assert r.exit_code == 2, r.stdout
    assert r.stderr.strip() == line
    assert "Usage:" not in r.stdout + r.stderr and "Input should be" not in r.stderr


def test_json_gets_the_error_document(cli, no_gpu):
    import json

    r = cli("check-tiles", "--frob", "--json")
    doc = json.loads(r.stdout)
    assert doc["exit_code"] == 2 and doc["error"].startswith("no option --frob")
