"""Match the warnings a mode emitted against ``explain-warning``'s catalogue, when that package exists.

``gpudiag.explain`` is optional to the bake-off: without it (or with an API this adapter does not
know), the raw lines are kept and nothing is invented. The import is lazy so that a bake-off never
pays for, or breaks because of, the catalogue.
"""

from __future__ import annotations

from typing import Any

# Function names the matcher may expose for "one log line -> its catalogue entry (or None)".
_CANDIDATES = ("match_line", "match_text", "explain_line", "best_match", "match")


def _matcher() -> Any:
    try:
        from gpudiag.explain import matcher  # noqa: PLC0415 - optional, built separately
    except ImportError:
        return None
    # explain-warning's API: Matcher(catalog.load()).match(line) -> Entry | None.
    try:
        from gpudiag.explain.catalog import load  # noqa: PLC0415

        return matcher.Matcher(load()).match
    except Exception:  # noqa: BLE001 - absent, renamed, or a broken catalogue: fall back, never fail
        pass
    for name in _CANDIDATES:
        fn = getattr(matcher, name, None)
        if callable(fn):
            return fn
    return None


def _field(obj: Any, *names: str) -> Any:
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return None


def _summary(found: Any) -> dict | None:
    if found is None or found is False:
        return None
    if isinstance(found, (list, tuple)):
        if not found:
            return None
        found = found[0]
    entry = _field(found, "entry") or found
    ident = _field(entry, "id", "entry_id", "name")
    if ident is None:
        return None
    return {"id": str(ident), "title": _str(_field(entry, "title")), "severity": _str(_field(entry, "severity"))}


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def explain_lines(lines: list[str]) -> list[dict | None]:
    """One catalogue summary ({id, title, severity}) or None per line; all None without the catalogue."""
    fn = _matcher()
    if fn is None:
        return [None] * len(lines)
    out: list[dict | None] = []
    for line in lines:
        try:
            out.append(_summary(fn(line)))
        except Exception:  # noqa: BLE001 - the catalogue must never break a bake-off
            out.append(None)
    return out
