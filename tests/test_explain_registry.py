"""torch's graph-break registry: read from the installed torch without importing it, matched by link or
gb_type, and the catalogue's answer where a torch has none."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gpudiag.explain import registry
from gpudiag.explain.catalog import families, load
from gpudiag.explain.matcher import Matcher

DATA = {
    "GB0001": [
        {
            "Gb_type": "Attempted to call function marked as skipped",
            "Context": "module: {module_name}",
            "Explanation": "Dynamo developers have intentionally marked that the function `{fn_name}` "
            "should not be traced.",
            "Hints": [
                "Remove the function from the skip list.",
                "It may be possible to write Dynamo tracing rules for this code.",
            ],
        },
        {
            "Gb_type": "Attempted to call function marked as skipped (old wording)",
            "Context": "",
            "Explanation": "",
            "Hints": [],
        },
    ],
    "GB0002": [{"Gb_type": "Import failure", "Context": "", "Explanation": "x", "Hints": []}],
    "not-a-list": {"Gb_type": "ignored"},
}
SITE = "https://meta-pytorch.github.io/compile-graph-break-site/gb/"


def _reg():
    return registry.parse(DATA, "torch/_dynamo/graph_break_registry.json", "2.99.0", SITE)


def test_parse_keeps_current_and_old_wordings():
    reg = _reg()
    assert set(reg.by_id) == {"GB0001", "GB0002"}
    assert reg.get("gb0001").current and reg.get("GB0001").url == SITE + "gb0001.html"
    old = reg.by_type["Attempted to call function marked as skipped (old wording)"]
    assert old.gb_id == "GB0001" and not old.current
    assert reg.label == "torch 2.99.0 torch/_dynamo/graph_break_registry.json"


@pytest.mark.parametrize(
    "message,text,from_torch,expected",
    [
        ("Attempted to call function marked as skipped", "", False, "GB0001"),
        ("Unsupported: Attempted to call function marked as skipped", "", False, "GB0001"),
        ("torch._dynamo.exc.Unsupported: Attempted to call function marked as skipped", "", False, "GB0001"),
        ("Graph Break Reason: Attempted to call function marked as skipped", "", False, "GB0001"),
        ("anything", "see https://meta-pytorch.github.io/compile-graph-break-site/gb/gb0002.html", False, "GB0002"),
        ("Unsupported: Import failure", "", False, "GB0002"),  # named as a graph break: taken
        ("Import failure", "", True, "GB0002"),  # a bare short type from torch's logger: taken
        ("Import failure", "", False, None),  # the same words from anywhere else: not a graph break
        ("Attempted to call function marked as skipped, twice", "", False, None),
    ],
)
def test_lookup(message, text, from_torch, expected):
    gb = _reg().lookup(message, text, from_torch)
    assert (gb.gb_id if gb else None) == expected


def test_installed_registry_is_read_without_importing_torch():
    code = (
        "import sys; from gpudiag.explain import registry; r = registry.installed(); "
        "print(r is not None, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1] == "False"
    if out[0] == "False":
        pytest.skip("the installed torch has no graph-break registry")


@pytest.fixture
def installed_registry():
    reg = registry.installed()
    if reg is None:
        pytest.skip("the installed torch has no graph-break registry")
    return reg


def test_installed_registry_knows_torchs_ids(installed_registry):
    assert installed_registry.get("GB0059").gb_type == "Failed to trace builtin operator"
    assert installed_registry.get("GB0059").url.endswith("/gb/gb0059.html")
    assert len(installed_registry.by_id) > 300


LINE = "torch._dynamo.exc.Unsupported: Attempt to trace generator"  # no catalogue entry: the registry answers
BUILTIN = (
    "torch._dynamo.exc.Unsupported: Failed to trace builtin operator\n"
    "  Explanation: Dynamo does not know how to trace builtin operator `print` with argument types ['str']"
)


def test_a_graph_break_is_explained_from_the_registry(cli, no_gpu, installed_registry):
    r = cli("explain-warning", "--json", LINE)
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["id"] == "GB0003" and d["match"]["kind"] == "registry" and d["match"]["exact"]
    assert (
        "graph_break_registry.json" in d["match"]["origin"] and installed_registry.torch_version in d["match"]["origin"]
    )
    assert d["severity"] == "fatal"  # the Unsupported exception itself: graph breaks were not allowed
    assert d["graph_break"]["id"] == "GB0003" and d["source"]["file"] == "torch/_dynamo/graph_break_registry.json"


def test_a_catalogue_entry_carries_the_registry_id_and_torchs_hints(cli, no_gpu, installed_registry):
    d = json.loads(cli("explain-warning", "--json", BUILTIN).stdout)
    assert d["id"] == "dynamo.graph-break-builtin" and d["match"]["kind"] == "catalogue"
    assert d["graph_break"]["id"] == "GB0059"
    assert any(f["text"].startswith("torch's hint:") for f in d["fixes"])
    assert any(r.endswith("gb0059.html") for r in d["references"])


def test_explain_a_registry_id(cli, no_gpu, installed_registry):
    d = json.loads(cli("explain-warning", "--json", "gb0059").stdout)
    assert d["form"] == "id" and d["id"] == "GB0059" and d["line"] is None


def test_without_a_registry_the_catalogue_and_families_answer():
    """A torch without the registry (< 2.8): the line still gets an honest answer, labelled a family."""
    m = Matcher(load(), families(), lambda: None)
    match = m.match(LINE.splitlines()[0])
    assert match.kind == "family" and match.id.startswith("dynamo")
    assert m.match("torch._dynamo hit config.recompile_limit (8)").kind == "catalogue"


def test_registry_text_of_a_log_line_ends_in_its_link(installed_registry):
    m = Matcher(load(), families())
    text = (
        "V1201 10:00:00.000000 1 torch/_dynamo/symbolic_convert.py:1] [0/0] [__graph_breaks] For more details "
        "about this graph break, please visit: https://meta-pytorch.github.io/compile-graph-break-site/gb/gb0124.html"
    )
    match = m.match(text)
    # the link names GB0124 (Tensor.item()); the catalogue's entry for that graph break answers, carrying it
    assert match.graph_break.gb_id == "GB0124" and match.graph_break.matched_by == "link"
    assert match.kind == "catalogue" and match.id == "dynamo.graph-break-item"


# ------------------------------------------------------------------ the shipped registry of several releases (issue 18 §3)


def test_the_shipped_registry_merges_several_torch_releases():
    reg = registry.shipped()
    assert reg is not None and len(reg.sources) >= 2 and len(reg.by_id) > 500
    assert all(gb.versions for gb in reg.wordings)
    assert set(reg.get("GB0088").versions) <= set(reg.sources)


def test_no_placeholder_is_ever_shown():
    reg = registry.shipped()
    for gb in reg.wordings:
        shown = [gb.shown_explanation, *gb.shown_hints]
        assert not any(registry.is_placeholder(t) for t in shown if t), gb.gb_id
    # observed_exn_gb_explanation was resolved from torch's source, not printed
    assert "no exception handler" in reg.get("GB0088").explanation


def test_placeholder_explanations_are_not_printed_as_prose(cli, no_gpu):
    d = json.loads(cli("explain-warning", "--json", "GB0088").stdout)
    assert "observed_exn_gb_explanation" not in json.dumps(d)
    assert "no exception handler" in d["meaning"]


@pytest.mark.parametrize(
    "line,gb_id,matched_by",
    [
        (
            "  Explanation: Dynamo found no exception handler at the top-level compiled function when encountering "
            "an exception. Exception will propagate outside the compiled region.",
            "GB0088",
            "explanation",
        ),
        ("torch._dynamo.exc.Unsupported: call_method SizeVariable() numel [] {}", "GB0156", "context"),
        ("torch._dynamo.exc.Unsupported: uninitialized nn.Module: MyModel", "GB0119", "gb_type (older"),
        ("copy.deepcopy(TensorVariable())", "GB4198", "context"),
    ],
)
def test_registry_matches_pasted_explanations_and_older_wordings(line, gb_id, matched_by):
    m = Matcher(load(), families()).match(line)
    assert m.graph_break is not None and m.graph_break.gb_id == gb_id
    assert m.graph_break.matched_by.startswith(matched_by)


def test_a_pasted_hint_reaches_the_catalogue_entry_of_its_graph_break():
    line = "  Hint: Set torch._dynamo.config.allow_rnn=True to enable experimental support for RNN, GRU, and LSTM in Dynamo"
    m = Matcher(load(), families()).match(line)
    assert m.id == "dynamo.graph-break-rnn" and m.graph_break.matched_by == "hint"


def test_an_old_wording_names_its_culprit(cli, no_gpu):
    d = json.loads(
        cli("explain-warning", "--json", "torch._dynamo.exc.Unsupported: call_method SizeVariable() numel [] {}").stdout
    )
    assert d["graph_break"]["filled"]["name"] == "numel"
    assert "`numel`" in d["summary"] and "SizeVariable()" in d["summary"]
    assert any("torch < 2.8" in f["text"] for f in d["fixes"])
    u = json.loads(
        cli("explain-warning", "--json", "torch._dynamo.exc.Unsupported: uninitialized nn.Module: MyModel").stdout
    )
    assert "MyModel" in u["summary"] and "super().__init__()" in u["fixes"][0]["text"]


def test_merge_resolves_or_drops_placeholders_and_keeps_versions():
    from bench.explain import registry_merge as rm

    resolve = rm.string_assignments(['msg_text = ("Dynamo saw " f"{x} twice")', "other = 1"])
    assert resolve == {"msg_text": "Dynamo saw {x} twice"}
    rows = {
        "GB0001": [{"Gb_type": "A thing", "Context": "c", "Explanation": "msg_text", "Hints": ["str(e)", "Do it."]}],
        "GB0002": [{"Gb_type": "B thing", "Context": "", "Explanation": "make_error_message(e)", "Hints": []}],
    }
    older = {
        "GB0001": [{"Gb_type": "A thing", "Context": "c", "Explanation": "msg_text", "Hints": ["str(e)", "Do it."]}]
    }
    doc = rm.merge([("2.9.0", "a", older, resolve), ("2.10.0", "b", rows, resolve)])
    a = doc["graph_breaks"]["GB0001"][0]
    assert a["explanation"] == "Dynamo saw {x} twice" and a["hints"] == ["Do it."]
    assert a["torch"] == ["2.10.0", "2.9.0"] and a["current_in"] == ["2.10.0", "2.9.0"]
    assert doc["graph_breaks"]["GB0002"][0]["explanation"] == ""  # unresolvable: dropped, never shown


def test_a_developer_debug_context_line_is_matched_by_its_template():
    m = Matcher(load(), families()).match("  Developer debug context: call_method SizeVariable() numel [] {}")
    assert m.graph_break.gb_id == "GB0156" and m.graph_break.filled["name"] == "numel"


def test_a_torch_2_1_graph_break_line_names_int_of_a_tensor(cli, no_gpu):
    line = (
        "[2023-10-20 17:55:43,251] [0/0] torch._dynamo.symbolic_convert.__graph_breaks: [DEBUG] Graph break: "
        "call_function BuiltinVariable(int) [TensorVariable()] {} from user code at:"
    )
    d = json.loads(cli("explain-warning", "--json", line).stdout)
    assert (
        d["graph_break"]["matched_by"].startswith("context")
        and d["graph_break"]["filled"]["self"] == "BuiltinVariable(int)"
    )
    assert "int() of a tensor" in d["fixes"][0]["text"] and "capture_scalar_outputs" in d["fixes"][0]["code"]
