"""docs/schemas/bakeoff.schema.json: what the typed records say, and what real --json output holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpudiag.bakeoff import schema

jsonschema = pytest.importorskip("jsonschema")
COMMITTED = Path(__file__).resolve().parents[1] / "docs" / "schemas" / "bakeoff.schema.json"


def test_the_committed_schema_is_what_the_records_say():
    assert json.loads(COMMITTED.read_text()) == schema.schema(), (
        "regenerate with: python -m gpudiag.bakeoff.schema docs/schemas/bakeoff.schema.json"
    )


def test_real_json_output_validates(cli, tmp_path, no_gpu):
    pytest.importorskip("torch")
    script = tmp_path / "work.py"
    script.write_text(
        "import torch\n\n"
        "def gpudiag_workloads():\n"
        "    return {'ok': (lambda x: x * 2, (torch.ones(64),)),\n"
        "            'fails': (lambda x: x.no_such_method(), (torch.ones(2),))}\n"
    )
    r = cli(
        "bakeoff",
        str(script),
        "--device",
        "cpu",
        "--quick",
        "--modes",
        "eager,reduce-overhead",
        "--max-recompiles",
        "0",
        "--allow-empty-gate",  # nothing compiled on the CPU here: the gate has no row to count
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, json.loads(COMMITTED.read_text()))
    assert {x["status"] for x in doc["rows"]} == {"ok", "skipped", "error"}
    (g,) = doc["gates"]["gates"]
    assert g["name"] == "max-recompiles" and g["passed"] and g["empty"] == "no compiled row ran"


def test_a_report_with_knobs_numerics_flags_and_gates_validates():
    from test_bakeoff_render import rich_report

    doc = json.loads(json.dumps(rich_report()[0].to_dict()))
    jsonschema.validate(doc, json.loads(COMMITTED.read_text()))
    assert doc["rows"][-1]["numerics"]["judged_as"] == "float16" and doc["gates"]["passed"] is False
