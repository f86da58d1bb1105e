"""torch's own graph-break registry (``torch/_dynamo/graph_break_registry.json``), read without importing torch.

Since torch 2.8 every graph break dynamo can raise goes through ``unimplemented(gb_type=...,
explanation=..., hints=...)`` and is listed in this file: ``{"GB0059": [{"Gb_type", "Context",
"Explanation", "Hints"}, ...]}``, the current text first and older wordings after it. Dynamo prints
the ``gb_type`` as the first line of the graph-break message (``Unsupported: <gb_type>`` when it is
raised) and a link ending in ``gb0059.html``. So a new torch brings its new graph breaks with it:
nothing here lists them. Where the installed torch has no registry, :func:`installed` is None and
the catalogue answers instead.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field

from gpudiag.installed import versions

REGISTRY_FILE = "_dynamo/graph_break_registry.json"
SITE_URL_RX = re.compile(r"compile-graph-break-site/gb/gb(\d{4})\.html", re.I)
SITE_BASE_RX = re.compile(r"GRAPH_BREAK_SITE_URL\s*=\s*\(?\s*[\"']([^\"']+)[\"']")
REASON_PREFIX_RX = re.compile(r"^(?:Graph Break Reason:\s*)?(?:(?:torch\._dynamo\.exc\.)?Unsupported:\s*)?")
# A bare message equal to a short, generic gb_type ("Import failure") is only taken for a graph
# break when the line comes from torch; longer ones are specific enough on their own.
BARE_TYPE_MIN_CHARS = 24


@dataclass(frozen=True)
class GraphBreakType:
    gb_id: str  # "GB0059"
    gb_type: str  # "Failed to trace builtin operator"
    explanation: str
    hints: tuple[str, ...]
    context: str
    current: bool  # False: an older wording of this id, kept by torch for old logs
    url: str | None

    def to_dict(self) -> dict:
        return {
            "id": self.gb_id,
            "type": self.gb_type,
            "explanation": self.explanation,
            "hints": list(self.hints),
            "context": self.context,
            "current_wording": self.current,
            "url": self.url,
        }


@dataclass(frozen=True)
class Registry:
    path: str
    torch_version: str | None
    by_id: dict[str, GraphBreakType] = field(default_factory=dict)
    by_type: dict[str, GraphBreakType] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"torch {self.torch_version or '?'} {self.path}"

    def get(self, gb_id: str) -> GraphBreakType | None:
        return self.by_id.get(gb_id.upper())

    def lookup(self, message: str, text: str, from_torch: bool) -> GraphBreakType | None:
        """The graph-break type a line names: by its registry link, or by its gb_type text."""
        if "compile-graph-break-site" in text and (m := SITE_URL_RX.search(text)):
            return self.get(f"GB{m.group(1)}")
        candidate = REASON_PREFIX_RX.sub("", message, count=1).strip()
        hit = self.by_type.get(candidate)
        if hit is None:
            return None
        if candidate == message.strip() and not from_torch and len(candidate) < BARE_TYPE_MIN_CHARS:
            return None
        return hit


def parse(data: dict, path: str, torch_version: str | None, site_base: str | None) -> Registry:
    reg = Registry(path, torch_version)
    for gb_id, versions_of_id in data.items():
        if not isinstance(versions_of_id, list):
            continue
        url = f"{site_base}gb{gb_id[2:]}.html" if site_base and gb_id[2:].isdigit() else None
        for i, row in enumerate(versions_of_id):
            if not isinstance(row, dict) or not row.get("Gb_type"):
                continue
            gb = GraphBreakType(
                gb_id,
                row["Gb_type"].strip(),
                (row.get("Explanation") or "").strip(),
                tuple(h.strip() for h in row.get("Hints") or () if h and h.strip()),
                (row.get("Context") or "").strip(),
                i == 0,
                url,
            )
            if i == 0:
                reg.by_id[gb_id] = gb
            # The current wording wins where an old wording of another id has the same text.
            if i == 0 or gb.gb_type not in reg.by_type:
                reg.by_type[gb.gb_type] = gb
    return reg


@functools.lru_cache(maxsize=1)
def installed() -> Registry | None:
    """The installed torch's registry, or None (no torch, or a torch older than the registry)."""
    text = versions.source_text("torch", REGISTRY_FILE)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    exc_source = versions.source_text("torch", "_dynamo/exc.py") or ""
    m = SITE_BASE_RX.search(exc_source)
    return parse(data, f"torch/{REGISTRY_FILE}", versions.torch_version(), m.group(1) if m else None)
