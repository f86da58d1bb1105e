"""bench/info/record_facts.py turns a live GPU's facts into a catalogue row: tested on the facts the
H200 recorded on 2026-12-01 (the recording itself needs a GPU)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from gpudiag.device import catalog

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
FACTS = ROOT / "bench/results/2026-12-01-h200-ground-truth/facts.json"
DATA = ROOT / "gpudiag/device/data"


def _script():
    spec = importlib.util.spec_from_file_location("info_record_facts", ROOT / "bench/info/record_facts.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _row(facts_doc=None):
    mod = _script()
    doc = facts_doc or json.loads(FACTS.read_text())
    cc_rows = tomllib.loads((DATA / "compute_capabilities.toml").read_text())["cc"]
    return mod, *mod.catalogue_row(doc, "bench/results/X/facts.json", cc_rows)


def test_attribute_numbers_agree_with_the_driver_module():
    from gpudiag.device import cudadrv

    mod = _script()
    for number, field in mod.ATTRIBUTE_FIELDS.items():
        assert cudadrv.ATTR[field] == number, field


def test_h200_facts_give_the_catalogue_row():
    _mod, row, checks = _row()
    assert row["key"] == "h200" and row["nvml_names"] == ["NVIDIA H200"] and row["compute_capability"] == "9.0"
    # the two fields the lead's first version lost (they were looked up by a cuda-bindings name)
    assert "smem_per_block_bytes: live 49152" in " ".join(checks) and "regs_per_block: live 65536" in " ".join(checks)
    cat = next(r for r in catalog.gpu_rows() if r.key == "h200").data
    for field in ("sm_count", "l2_bytes", "memory_gib", "memory_bus_width_bits"):
        assert row[field] == cat[field], field
    assert not set(row) & set(catalog.CC_LIMIT_FIELDS)  # every limit equals the 9.0 row: no override
    assert any("fp32_lanes_per_sm: live 128" in c for c in checks)


def test_row_toml_is_a_valid_catalogue_row():
    mod, row, _ = _row()
    parsed = tomllib.loads(mod.to_toml(row))["gpu"][0]
    assert parsed == row
    (src,) = parsed["sources"]
    assert src["kind"] == "live" and set(src["fields"]) == set(parsed) - {"key", "name", "sources", "notes"}
    assert "6016" in src["text"] and "580.159.04" in src["text"]


def test_a_limit_that_differs_from_the_cc_table_becomes_an_override():
    doc = json.loads(FACTS.read_text())
    for v in doc["cuda"]["attributes"].values():
        if v["id"] == 97:
            v["value"] = 101376  # as if this part had less opt-in shared memory than its architecture
    _, row, _ = _row(doc)
    assert row["smem_per_block_optin_bytes"] == 101376
    assert "smem_per_block_optin_bytes" in row["sources"][0]["fields"]


def test_compare_names_what_differs():
    mod, row, _ = _row()
    rows = [dict(r.data, memory_bus_width_bits=6144) if r.key == "h200" else r.data for r in catalog.gpu_rows()]
    report = mod.compare(row, rows)
    assert any("memory_bus_width_bits: live 6016, catalogue 6144  DIFFERS" in line for line in report)
    assert mod.compare(dict(row, nvml_names=["NVIDIA Next"]), rows)[0].startswith("no catalogue row lists")
