"""The JSON schema of ``gpudiag bakeoff --json`` / ``--output``, derived from the typed records.

``python -m gpudiag.bakeoff.schema docs/schemas/bakeoff.schema.json`` writes it; a test fails when the
committed file differs from what the records say now, and validates real output against it.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import sys
import types
import typing
from typing import Any

from gpudiag.bakeoff.gate import GateResult
from gpudiag.bakeoff.report import Summary
from gpudiag.bakeoff.results import SCHEMA, STATUSES, BakeoffRun, ModeResult


def _type(hint: Any, defs: dict) -> dict:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [_type(a, defs) for a in typing.get_args(hint) if a is not type(None)]
        inner = options[0] if len(options) == 1 else {"anyOf": options}
        return {"anyOf": [inner, {"type": "null"}]} if type(None) in typing.get_args(hint) else inner
    if origin in (list, tuple):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return {"type": "array", "items": _type(args[0], defs)} if args else {"type": "array"}
    if origin is dict:
        _, value = typing.get_args(hint)
        return {"type": "object", "additionalProperties": _type(value, defs)}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        _define(hint, defs)
        return {"$ref": f"#/$defs/{hint.__name__}"}
    simple = {str: "string", bool: "boolean", int: "integer", float: "number", dict: "object", list: "array"}
    if hint in simple:
        return {"type": simple[hint]}
    return {}


def _define(cls: type, defs: dict, extra: dict | None = None) -> dict:
    if cls.__name__ in defs:
        return defs[cls.__name__]
    defs[cls.__name__] = {}  # recursion guard
    hints = typing.get_type_hints(cls)
    props = {f.name: _type(hints[f.name], defs) for f in dataclasses.fields(cls)}
    props.update(extra or {})
    doc = inspect.getdoc(cls) or ""
    body = {"type": "object", "required": sorted(props), "additionalProperties": False, "properties": props}
    if doc and not doc.startswith(f"{cls.__name__}("):
        body = {"description": " ".join(doc.split("\n\n")[0].split()), **body}
    defs[cls.__name__] = body
    return body


def schema() -> dict:
    defs: dict = {}
    row = _define(ModeResult, defs, {"label": {"type": "string", "description": "mode, then +knob for each knob"}})
    row["properties"]["status"] = {
        "enum": list(STATUSES),
        "description": "; ".join(f"{k}: {v}" for k, v in STATUSES.items()),
    }
    gate = {
        "anyOf": [
            {"type": "null"},
            {
                "type": "object",
                "required": ["baseline", "passed", "gates"],
                "additionalProperties": False,
                "properties": {
                    "baseline": {"type": ["string", "null"]},
                    "passed": {"type": "boolean"},
                    "gates": {"type": "array", "items": _type(GateResult, defs)},
                },
            },
        ]
    }
    run = _define(BakeoffRun, defs, {"schema": {"const": SCHEMA}, "summary": _type(Summary, defs), "gates": gate})
    top = defs.pop("BakeoffRun")
    del run
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA,
        "title": "gpudiag bakeoff --json / --output",
        "description": "One document per bake-off, rewritten after every measurement. Times are ms unless "
        "the name says _s; sizes are bytes. A null value was not measured or does not apply.",
        **{k: v for k, v in top.items() if k != "description"},
        "$defs": dict(sorted(defs.items())),
    }


def main(argv: list[str]) -> int:
    text = json.dumps(schema(), indent=2) + "\n"
    if argv:
        with open(argv[0], "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
