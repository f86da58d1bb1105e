"""explain-warning --json validated against docs/schemas/explain-warning.schema.json: one line, an id, a
miss, the list, and log scans that carry the recompile, graph-break and CUDA-graph story."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs/schemas/explain-warning.schema.json").read_text())
LOGS = ROOT / "tests" / "data" / "logs"
SMS = "W1123 07:45:26.064000 736 torch/_inductor/utils.py:1250] [0/0] Not enough SMs to use max_autotune_gemm mode"
GUARD = (
    "torch._dynamo hit config.recompile_limit (8)\n   function: 'forward' (/x/model.py:10)\n"
    "   last reason: 0/7: tensor 'L['x']' size mismatch at index 0. expected 7, actual 8"
)


def _doc(cli, *args, code=0):
    r = cli("explain-warning", "--json", *args)
    assert r.exit_code == code, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(doc, SCHEMA)
    return doc


@pytest.mark.parametrize("gpu", [None, "H100", "RTX 3070"])
def test_one_line(cli, no_gpu, gpu):
    doc = _doc(cli, SMS, *(["--gpu", gpu] if gpu else []))
    assert doc["form"] == "text" and doc["match"]["kind"] == "catalogue"
    assert (doc["device"]["name"] is None) == (gpu is None)


def test_a_guard_failure_paste(cli, no_gpu):
    doc = _doc(cli, GUARD)
    assert doc["id"] == "dynamo.recompile-limit" and doc["guard"]["class"] == "size"


def test_a_family_answer(cli, no_gpu):
    doc = _doc(cli, "torch._inductor.exc.InductorError: something inductor has never said before")
    assert doc["match"] == {"kind": "family", "exact": False, "origin": doc["match"]["origin"]}


def test_ids_and_misses(cli, no_gpu):
    assert _doc(cli, "dynamo.recompile-limit")["form"] == "id"
    assert _doc(cli, "skipping the moon because it is full", code=1)["form"] == "no-match"
    assert _doc(cli, "--list")["form"] == "list"


@pytest.mark.parametrize(
    "log",
    [
        "h200_recompile_limit_hard__default.log",
        "h200_graph_breaks__default.log",
        "h200_cpu_tensor__reduce-overhead.log",
        "h200_mutated_inputs__reduce-overhead.log",
        "cpu_guard_module_int__default.log",
        "cpu_fail_on_recompile__default.log",
    ],
)
def test_log_scans_with_the_story(cli, no_gpu, log):
    doc = _doc(cli, "--log", str(LOGS / log))
    story = doc["story"]
    assert (
        story["functions"]
        or story["graph_breaks"]["by_reason"]
        or story["cudagraphs"]["partitions"]
        or story["cudagraphs"]["skipped"]
    )


def test_errors_are_the_error_document(cli, no_gpu):
    r = cli("explain-warning", "--json", "--gpu", "", SMS)
    assert r.exit_code == 2
    assert json.loads(r.stdout)["schema"] == "gpudiag.error/1"
