"""``--gpu NAME``: which catalogue row (or architecture) a GPU name as people type it means, or a
usage error naming the candidates (ambiguous), the family (not covered, or no row) or the closest
rows (unknown). Names are normalised and scored by ``names.py``; the rows and their ``DeviceFacts``
are ``catalog.py``'s.
"""

from __future__ import annotations

import functools
import re

from gpudiag.device import names
from gpudiag.device.catalog import (
    GIB,
    Family,
    GpuRow,
    facts_from_cc,
    facts_from_row,
    families,
    gpu_rows,
    parse_cc,
    shown,
)
from gpudiag.device.facts import DeviceFacts
from gpudiag.errors import GpudiagError


@functools.lru_cache(maxsize=1)
def _name_index() -> tuple[tuple[GpuRow, str, tuple[str, ...]], ...]:
    """(row, name, its words) for every name of every row, normalised once."""
    return tuple((row, n, names.tokens(n)) for row in gpu_rows() for n in row.names)


def lookup(query: str) -> DeviceFacts:
    """``--gpu NAME``: a model as people type it ("3070", "rtx 4090 laptop", "Ｈ１００"), or an
    architecture ("sm_121", "9.0").

    Raises ``GpudiagError`` (exit 2) for a name outside what gpudiag covers, an ambiguous one (naming
    the candidates) or an unknown one (naming the closest rows).
    """
    if len(query) > names.MAX_QUERY_CHARS:
        raise GpudiagError(
            f"--gpu {shown(query)} is not a GPU name: GPU names are at most {names.MAX_QUERY_CHARS} characters"
        )
    words = names.tokens(query)
    if not words:
        raise GpudiagError("--gpu needs a GPU name, e.g. --gpu 'RTX 3070' or --gpu sm_90")
    compact = names.normalise(query).replace(" ", "")
    if re.fullmatch(r"(sm|compute|cc)_?\d{2,3}[af]?|\d+\.\d", compact):
        return _architecture(query, parse_cc(compact))

    exact = {row.key: row for row, _, ws in _name_index() if ws == words}
    if len(exact) == 1:
        return facts_from_row(next(iter(exact.values())))

    # A family (AMD, Pascal, ...) is a positive identification; a scored match may only be a near
    # name (the Maxwell "Jetson Nano" is not the "Jetson Orin Nano").
    family = _family(words)
    if family is not None and not family.covered:
        raise GpudiagError(
            f"--gpu {shown(query)} is {family.name}: outside what gpudiag covers, which is "
            "NVIDIA GPUs of compute capability 7.0 (Volta) and newer"
        )
    if family is not None and family.compute_capability is not None:  # covered: the data file gives one
        sm = f"sm_{family.compute_capability[0]}{family.compute_capability[1]}"
        same_arch = [name for name in closest_names(query) if lookup_row_cc(name) == family.compute_capability]
        closest = f"; the catalogue's closest {sm} models: {', '.join(same_arch)}" if same_arch else ""
        raise GpudiagError(
            f"--gpu {shown(query)} is {family.name}, which the catalogue has no row for; "
            f"--gpu {sm} gives its per-architecture limits (no SM count or memory){closest}"
        )
    matches = _scored(words)
    if matches:
        best = min(m.cost for m in matches)
        winners = {m.key: m for m in matches if m.cost == best}
        if len(winners) == 1:
            (match,) = winners.values()
            facts = facts_from_row(next(r for r in gpu_rows() if r.key == match.key))
            if match.memory_differs:
                asked = names.memory_gib(words)
                facts.notes.append(
                    f"--gpu {shown(query)} asks for {asked:g} GB; the catalogue row {facts.name} "
                    f"has {_fmt_gib(facts.memory_total_bytes)}: its other values are this model's"
                )
            return facts
        rows = sorted(next(r for r in gpu_rows() if r.key == k).name for k in winners)
        raise GpudiagError(f"--gpu {shown(query)} is ambiguous: it matches {', '.join(rows)}. Name one of them.")

    raise GpudiagError(
        f"unknown GPU {shown(query)}; closest catalogue names: {', '.join(closest_names(query))}"
        " (gpudiag info --list-gpus shows them all)"
    )


def lookup_row_cc(name: str) -> tuple[int, int] | None:
    """The compute capability of the catalogue row called ``name`` (its full name)."""
    return next((r.compute_capability for r in gpu_rows() if r.name == name), None)


def _fmt_gib(n: int | None) -> str:
    return "an unknown amount of memory" if n is None else f"{n / GIB:g} GiB"


def _scored(words: tuple[str, ...]) -> list[names.Match]:
    """Every row that can be ``words``, each by its best (cheapest) name."""
    best: dict[str, names.Match] = {}
    for row, name, ws in _name_index():
        scored = names.score(words, ws, row.arch_name, row.data.get("memory_gib"))
        if scored is None:
            continue
        cost, differs = scored
        if row.key not in best or cost < best[row.key].cost:
            best[row.key] = names.Match(row.key, name, cost, differs)
    return list(best.values())


def _family(words: tuple[str, ...]) -> Family | None:
    text = " ".join(words)
    return next((f for f in families() if any(p.search(text) for p in f.patterns)), None)


def _architecture(query: str, cc: tuple[int, int]) -> DeviceFacts:
    """A compute capability names an architecture: its one catalogue model if there is one, else its limits."""
    same_cc = [r for r in gpu_rows() if r.compute_capability == cc]
    if len(same_cc) == 1:
        facts = facts_from_row(same_cc[0])
        facts.notes.append(
            f"{query} resolved to the catalogue's only {facts.sm} model, {facts.name}; "
            "other parts of this architecture may differ in SM count and memory"
        )
        return facts
    return facts_from_cc(cc)


def _model_line(words) -> tuple[str, int] | None:
    """The letters and number a model name is built from: ("b", 100) for B100, ("rtx", 5090) for
    RTX 5090, ("gb", 300) for GB300; None for a name without one."""
    words = list(words)
    for i, w in enumerate(words):
        if w.isdigit() and i > 0 and words[i - 1].isalpha():
            return words[i - 1], int(w)
    return None


def _generation(line: tuple[str, int]) -> tuple[str, int]:
    """A product line's generation: the thousands of a four-digit GeForce/workstation number (RTX
    3090 and 3060), else the line's letters alone (B100, B200 and B300 are one Blackwell line)."""
    word, number = line
    return (word, number // 1000) if number >= 1000 else (word, 0)


def closest_names(query: str, n: int = 5) -> list[str]:
    """Rows of the same product line and generation first (B200 and B300 for "B100", nearest number
    first), then rows sharing the most words with ``query``, then the most similar spellings."""
    typed_words = names.tokens(query[: names.MAX_QUERY_CHARS])
    words = set(typed_words)
    line = _model_line(typed_words)
    same_line: dict[str, tuple[bool, bool, int]] = {}
    overlap: dict[str, int] = {}
    spelled: dict[str, str] = {}
    for row, _name, ws in _name_index():
        shared = len(words & (set(ws) - names.BRAND))
        overlap[row.name] = max(overlap.get(row.name, 0), shared)
        spelled.setdefault(" ".join(ws), row.name)
        theirs = _model_line(ws)
        if line is not None and theirs is not None and theirs[0] == line[0]:
            laptop = ("laptop" in ws) != ("laptop" in words)  # a laptop part for a laptop query
            rank = (_generation(theirs) != _generation(line), laptop, abs(theirs[1] - line[1]))
            if row.name not in same_line or rank < same_line[row.name]:
                same_line[row.name] = rank
    lined = sorted(same_line, key=lambda name: (same_line[name], name))
    ranked = [name for name, k in sorted(overlap.items(), key=lambda kv: -kv[1]) if k > 0]
    typed = " ".join(typed_words)
    import difflib  # only for a name the catalogue does not know

    similar = difflib.get_close_matches(typed, list(spelled), n=n * 3, cutoff=0.4)
    out: list[str] = []
    for name in [*lined, *ranked[:n], *(spelled[h] for h in similar)]:
        if name not in out:
            out.append(name)
    if not out:
        out = [r.name for r in gpu_rows()[:n]]  # nothing close: the first rows, so the user sees the format
    return out[:n]
