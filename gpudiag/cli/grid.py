"""Aligned text columns for reports with many rows, fitted to the console's width without rich's Table.

rich's Table measures every cell of every row (about a millisecond a row): 10,000 rows took
seconds. Here the widths come from the plain text, once, and each row is padded into one line
(a cell wraps only where its column allows it, and only when the width forces it). Numbers and
config labels are never broken; text columns break at their own separators; headers at spaces.
The result is rich markup (a cell's style), to be printed with ``soft_wrap=True``: the lines
already fit; or, with ``styled=False`` (output without colour: a pipe, a file), the plain text
itself, which needs no markup parsed at all.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from rich.markup import escape

GAP, TIGHT_GAP = 2, 1
_BREAKS = {"words": None, "commas": ",", "x": "x"}


@dataclass(frozen=True)
class Column:
    header: str
    right: bool = False  # right-aligned (numbers)
    wrap: str | None = None  # None: never broken; "words", "commas" or "x": where the text may break


Cell = tuple[str, str | None]  # (plain text, rich style or None)


def _pieces(text: str, how: str | None) -> list[str]:
    """The unbreakable parts of ``text`` for a column that wraps ``how``, separators kept at the end."""
    if not how or not text:
        return [text]
    sep = _BREAKS[how]
    if sep is None:
        return text.split(" ")
    return [p for p in re.split(f"(?<={re.escape(sep)})", text) if p]


def _wrap(text: str, width: int, how: str | None) -> list[str]:
    if len(text) <= width or not how:
        return [text]
    if _BREAKS[how] is None:
        return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]
    lines, cur = [], ""
    for p in _pieces(text, how):
        if cur and len(cur) + len(p) > width:
            lines.append(cur)
            cur = p
        else:
            cur += p
    return lines + [cur]


def _markup(text: str, style: str | None) -> str:
    t = escape(text) if "[" in text else text
    return f"[{style}]{t}[/{style}]" if style and text else t


def _unstyled(text: str, style: str | None) -> str:
    return text


def _title(title: str, width: int, styled: bool) -> list[str]:
    """The title (rich markup) as is, or wrapped as plain text where it is wider than the console."""
    if "[" not in title and len(title) <= width:
        return [title]
    from rich.text import Text

    plain = Text.from_markup(title).plain
    if len(plain) <= width:
        return [title if styled else plain]
    lines = textwrap.wrap(plain, max(width, 20), break_on_hyphens=False)
    return [escape(line) for line in lines] if styled else lines


def widths(columns: list[Column], rows: list[list[Cell]], width: int) -> tuple[list[int], int]:
    """Each column's width and the gap between columns, fitted to ``width`` where the columns allow."""
    natural = [len(c.header) for c in columns]
    least = [max(len(w) for w in c.header.split(" ")) for c in columns]
    for row in rows:
        for i, (text, _) in enumerate(row):
            if len(text) > natural[i]:
                natural[i] = len(text)
    for i, c in enumerate(columns):
        floor = least[i]
        for row in rows:
            text = row[i][0]
            if len(text) > floor:
                floor = max(floor, max(len(p) for p in _pieces(text, c.wrap)))
        least[i] = floor
    gap = GAP
    total = sum(natural) + gap * (len(columns) - 1)
    if total > width:
        gap = TIGHT_GAP
        total = sum(natural) + gap * (len(columns) - 1)
    got = list(natural)
    over = total - width
    for i in sorted(range(len(columns)), key=lambda i: least[i] - natural[i]):
        if over <= 0:
            break
        cut = min(over, natural[i] - least[i])
        got[i] -= cut
        over -= cut
    return got, gap


def grid(
    columns: list[Column], rows: list[list[Cell]], width: int, title: str | None = None, styled: bool = True
) -> str:
    """The rows under a bold header and a rule, as rich markup (``styled``) or plain text, each line
    at most ``width`` wide where the columns can be narrowed that far."""
    w, gap = widths(columns, rows, width)
    sep = " " * gap
    out = [] if title is None else _title(title, width, styled)
    fmt = _markup if styled else _unstyled

    def emit(cells: list[tuple[list[str], str | None]]) -> None:
        height = max(len(lines) for lines, _ in cells)
        for k in range(height):
            parts = []
            for i, (lines, style) in enumerate(cells):
                text = lines[k] if k < len(lines) else ""
                pad = " " * (w[i] - len(text))
                parts.append(pad + fmt(text, style) if columns[i].right else fmt(text, style) + pad)
            out.append(sep.join(parts).rstrip())

    emit([(_wrap(c.header, w[i], "words"), "bold") for i, c in enumerate(columns)])
    out.append("─" * (sum(w) + gap * (len(w) - 1)))
    for row in rows:
        if all(len(text) <= w[i] for i, (text, _) in enumerate(row)):  # the usual row: one line, no wrapping
            parts = []
            for i, (text, style) in enumerate(row):
                pad = " " * (w[i] - len(text))
                parts.append(pad + fmt(text, style) if columns[i].right else fmt(text, style) + pad)
            out.append(sep.join(parts).rstrip())
        else:
            emit([(_wrap(text, w[i], columns[i].wrap), style) for i, (text, style) in enumerate(row)])
    return "\n".join(out)
