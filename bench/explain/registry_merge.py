"""Merge torch's graph-break registries of several torch releases into gpudiag's package data.

    python3 -m bench.explain.registry_merge [--wheel PATH ...] [--pip VERSION ...] [--json VERSION=PATH ...]
                                           [--no-installed] [--out gpudiag/explain/data/graph_break_registry.json]

Since torch 2.8 ``torch/_dynamo/graph_break_registry.json`` lists every graph break dynamo can raise
(``{"GB0059": [{"Gb_type", "Context", "Explanation", "Hints"}, ...]}``, the current wording first).
A user's log comes from *their* torch, not the one installed next to gpudiag, so gpudiag ships the
union of several releases' registries, each wording with the torch versions that have it.

Where each registry comes from (all read without importing torch):
* the installed torch (unless --no-installed);
* ``--wheel PATH``: a torch wheel; only the registry member (and ``torch/_dynamo/*.py``, to resolve
  placeholders) is read out of the zip, the wheel is never unpacked. Without any --wheel, the torch
  wheels in pip's local find-links folders (``/opt/wheels``, ``/opt/pypi-more/files``) are used;
* ``--pip VERSION``: ``pip download --no-deps torch==VERSION`` into a temporary folder (needs the
  network; CPU wheels from PyPI are ~200 MB), then as --wheel;
* ``--json VERSION=PATH``: a registry file obtained any other way (e.g. from a release tag).

Placeholders: torch's registry is extracted statically, so where the source passed a variable
(``explanation=observed_exn_gb_explanation``) the registry holds the variable's name. Such a field is
resolved from the same release's ``torch/_dynamo`` sources when the name is assigned a string literal
(an f-string keeps its ``{...}`` parts); otherwise it is dropped, never shipped as prose.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MEMBER = "torch/_dynamo/graph_break_registry.json"
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "gpudiag" / "explain" / "data" / "graph_break_registry.json"
WHEEL_DIRS = (Path("/opt/wheels"), Path("/opt/pypi-more/files"))
# A field that is a Python expression rather than text: a bare name or a call, no spaces outside parentheses.
EXPR_RX = re.compile(r"^[A-Za-z_][\w.]*(?:\(.*\))?$")
WHEEL_VERSION_RX = re.compile(r"^torch-([0-9][^-]*)-")
FIELDS = ("Gb_type", "Context", "Explanation", "Hints")


def is_placeholder(text: str) -> bool:
    """True for a field that holds a variable or call expression instead of its text."""
    t = text.strip()
    return bool(EXPR_RX.match(t)) and " " not in t.split("(", 1)[0] and not t.endswith(".")


def release(v: str) -> str:
    """``2.13.0+cpu`` -> ``2.13.0``: the local build tag does not change the registry."""
    return v.split("+", 1)[0]


def version_key(v: str) -> tuple:
    parts = re.split(r"[.+]", v)
    return tuple(int(p) if p.isdigit() else -1 for p in parts[:3])


def _render(node: ast.AST) -> str | None:
    """A string literal, an f-string (its {...} parts kept) or a concatenation of them, as text."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        out = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                out.append(str(v.value))
            elif isinstance(v, ast.FormattedValue):
                out.append("{" + ast.unparse(v.value) + "}")
        return "".join(out)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _render(node.left), _render(node.right)
        return left + right if left is not None and right is not None else None
    return None


def string_assignments(sources: Iterable[str]) -> dict[str, str]:
    """name -> the string literal assigned to it, for every simple ``name = "..."`` in the sources.

    A name assigned two different texts is ambiguous and left out."""
    found: dict[str, str | None] = {}
    for src in sources:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                text = _render(node.value)
                if text is None:
                    continue
                name = node.targets[0].id
                found[name] = text if found.get(name, text) == text else None
    return {k: v for k, v in found.items() if v}


def clean_row(row: dict, resolve: dict[str, str]) -> dict | None:
    """A registry row with placeholders resolved or dropped; None when its gb_type is one."""
    out: dict = {}
    for f in FIELDS:
        val = row.get(f)
        if f == "Hints":
            hints = [h for h in (val or []) if isinstance(h, str) and h.strip()]
            out["hints"] = [resolve.get(h.strip(), h) for h in hints if not is_placeholder(h) or h.strip() in resolve]
            continue
        text = (val or "").strip() if isinstance(val, str) else ""
        if text and is_placeholder(text):
            text = resolve.get(text, "") if f != "Context" else text  # Context is code by nature: keep
        if f == "Gb_type" and (not text or (is_placeholder(text) and "_" in text and text.startswith("_"))):
            return None
        out[f.lower()] = text
    return out


def read_wheel(path: Path) -> tuple[str, dict, dict[str, str]] | None:
    m = WHEEL_VERSION_RX.match(path.name)
    if not m:
        return None
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        if MEMBER not in names:
            return None
        data = json.loads(z.read(MEMBER))
        srcs = (
            z.read(n).decode("utf-8", "replace") for n in names if n.startswith("torch/_dynamo/") and n.endswith(".py")
        )
        return release(m.group(1)), data, string_assignments(srcs)


def read_installed() -> tuple[str, dict, dict[str, str]] | None:
    import importlib.metadata
    import importlib.util

    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    reg = root / "_dynamo" / "graph_break_registry.json"
    if not reg.is_file():
        return None
    srcs = (p.read_text(encoding="utf-8", errors="replace") for p in (root / "_dynamo").rglob("*.py"))
    return (
        release(importlib.metadata.version("torch")),
        json.loads(reg.read_text(encoding="utf-8")),
        string_assignments(srcs),
    )


def pip_wheel(version: str, tmp: Path) -> Path | None:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        f"torch=={version}",
        "-d",
        str(tmp),
    ]
    if subprocess.run(cmd, capture_output=True, text=True).returncode != 0:
        print(f"pip download torch=={version} failed (no network?)", file=sys.stderr)
        return None
    return next(iter(sorted(tmp.glob(f"torch-{version}*.whl"))), None)


def _newest_first(wording: dict) -> tuple:
    newest = max((version_key(v) for v in wording["current_in"] or wording["torch"]), default=(-1,))
    return (not wording["current_in"], tuple(-x for x in newest))


def merge(registries: list[tuple[str, str, dict, dict[str, str]]]) -> dict:
    """{gb_id: [wording, ...]}: each distinct wording once with the versions that have it, the newest
    release's current wording first."""
    registries = sorted(registries, key=lambda r: version_key(r[0]), reverse=True)
    merged: dict[str, list[dict]] = {}
    dropped = 0
    for version, _origin, data, resolve in registries:
        for gb_id, rows in data.items():
            if not isinstance(rows, list):
                continue
            for i, row in enumerate(rows):
                if not isinstance(row, dict):
                    continue
                clean = clean_row(row, resolve)
                if clean is None:
                    dropped += 1
                    continue
                wordings = merged.setdefault(gb_id, [])
                same = next((w for w in wordings if all(w[k] == clean[k] for k in clean)), None)
                if same is None:
                    same = dict(clean, torch=[], current_in=[])
                    wordings.append(same)
                if version not in same["torch"]:
                    same["torch"].append(version)
                if i == 0 and version not in same["current_in"]:
                    same["current_in"].append(version)
    for wordings in merged.values():
        wordings.sort(key=_newest_first)
    return {"graph_breaks": dict(sorted(merged.items())), "dropped_rows": dropped}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", action="append", default=[], type=Path)
    ap.add_argument("--pip", action="append", default=[], metavar="VERSION")
    ap.add_argument("--json", action="append", default=[], metavar="VERSION=PATH")
    ap.add_argument("--no-installed", action="store_true")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)

    found: list[tuple[str, str, dict, dict[str, str]]] = []

    def add(origin: str, got: tuple[str, dict, dict[str, str]] | None) -> None:
        if got is None:
            print(f"{origin}: no graph-break registry", file=sys.stderr)
        elif any(v == got[0] for v, *_ in found):
            print(f"{origin}: torch {got[0]} already read", file=sys.stderr)
        else:
            found.append((got[0], origin, got[1], got[2]))

    if not args.no_installed:
        add("installed torch", read_installed())
    wheels = args.wheel or sorted(p for d in WHEEL_DIRS if d.is_dir() for p in d.glob("torch-*.whl"))
    for w in wheels:
        add(f"wheel {w.name}", read_wheel(w))
    with tempfile.TemporaryDirectory() as tmp:
        for v in args.pip:
            if (w := pip_wheel(v, Path(tmp))) is not None:
                add(f"pip download torch=={v} ({w.name})", read_wheel(w))
    for spec in args.json:
        version, _, path = spec.partition("=")
        add(f"file {Path(path).name}", (version, json.loads(Path(path).read_text(encoding="utf-8")), {}))
    if not found:
        print("no registry found", file=sys.stderr)
        return 1
    doc: dict[str, Any] = {
        "about": "torch's graph-break registries merged by bench/explain/registry_merge.py; each wording "
        "lists the torch versions whose registry has it ('torch') and where it is the current one ('current_in')",
        "generated": datetime.date.today().isoformat(),
        "sources": [
            {"torch": v, "from": origin, "graph_break_ids": len(d)}
            for v, origin, d, _ in sorted(found, key=lambda r: version_key(r[0]))
        ],
    }
    doc.update(merge(found))
    args.out.write_text(json.dumps(doc, indent=0, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")
    n = sum(len(w) for w in doc["graph_breaks"].values())
    print(
        f"{args.out}: {len(doc['graph_breaks'])} graph-break ids, {n} wordings, from torch "
        f"{', '.join(s['torch'] for s in doc['sources'])}; {doc['dropped_rows']} rows dropped (placeholder gb_type)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
