"""Match the warnings a mode emitted against ``explain-warning``'s catalogue.

A line the catalogue does not know stays raw (``None``): nothing is invented. The catalogue is
loaded on first use only, and a broken one must never fail a bake-off that already ran.
"""

from __future__ import annotations

import functools

from gpudiag.explain.catalog import load
from gpudiag.explain.matcher import Matcher


@functools.lru_cache(maxsize=1)
def _matcher() -> Matcher | None:
    try:
        return Matcher(load())
    except Exception:
        return None


def explain_lines(lines: list[str]) -> list[dict | None]:
    """One catalogue summary ({id, title, severity}) or None per line."""
    matcher = _matcher()
    out: list[dict | None] = []
    for line in lines:
        entry = matcher.match(line) if matcher is not None else None
        out.append(None if entry is None else {"id": entry.id, "title": entry.title, "severity": entry.severity})
    return out
