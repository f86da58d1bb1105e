"""Shared rendering helpers: the stdout console, JSON emission and human-readable numbers."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30


@functools.cache
def _console_class() -> type:
    """rich's Console, but a reader closing the pipe early is left to the app to handle.

    rich answers a broken pipe with ``SystemExit(1)``, and 1 means "the answer is no" here. Made on
    first use: ``--json`` output and ``--help`` never import rich.
    """
    from rich.console import Console

    class ReportConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError("stdout closed by the reader")

    return ReportConsole


# Spaces at a line's end, also where colour codes close the line after them (FORCE_COLOR into a pipe).
_TRAILING_SPACES = re.compile(r" +((?:\x1b\[[0-9;]*m)*)$")


class _NoTrailingSpaces:
    """A text stream that drops the spaces rich pads lines with (panels, table cells) before each
    newline: piped output carries none. A terminal gets rich's output as it is."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        if lines:
            self._stream.write("\n".join(_TRAILING_SPACES.sub(r"\1", line) for line in lines) + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(self._pending)
            self._pending = ""
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding: the stream's own
        return getattr(self._stream, name)


def console(file=None) -> Console:
    # Created per call so that Typer's test runner, which swaps sys.stdout, captures the output.
    stream = file or sys.stdout
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):
        terminal = False
    return _console_class()(file=stream if terminal else _NoTrailingSpaces(stream), highlight=False, soft_wrap=False)


def _default(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        to_dict = getattr(obj, "to_dict", None)
        return to_dict() if to_dict else dataclasses.asdict(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


class Report(Protocol):
    """What every command's report offers the CLI: its JSON, its exit status, and the lines it also
    says on stderr (a reason, a failed gate). A report may stream its JSON (``json_chunks``)."""

    @property
    def exit_code(self) -> int: ...

    def to_dict(self) -> dict[str, Any]: ...


def finish(report: Report, json_out: bool, render: Callable[[Any], None]) -> None:
    """The tail every command shares: the report as one JSON document (``--json``) or rendered, then
    its stderr lines as ``gpudiag: ...``, then its exit status (none written here: the report's)."""
    import typer

    if json_out:
        chunks = getattr(report, "json_chunks", None)
        if chunks is not None:
            for chunk in chunks():
                sys.stdout.write(chunk)
        else:
            emit_json(report.to_dict())
    else:
        render(report)
    lines = getattr(report, "stderr_lines", None)
    for line in lines() if lines is not None else []:
        typer.echo(f"gpudiag: {line}", err=True)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


QUOTED_NAME = re.compile(r"'[^'\n]{1,40}'")  # 'NVIDIA GeForce RTX 4090', 'rtx 4090 laptop': a name, kept whole


def wrapped(segments: list[tuple[str, str | None]], width: int, indent: int = 0) -> Text:
    """Styled text wrapped at spaces to ``width``, later lines indented by ``indent``, where a quoted
    name ('NVIDIA GeForce RTX 4090') is never broken across lines (rich wraps at any space)."""
    import textwrap

    from rich.text import Text

    plain = "".join(text for text, _ in segments)
    styles: list[str | None] = [style for text, style in segments for _ in text]
    kept = QUOTED_NAME.sub(lambda m: m.group(0).replace(" ", "\x00"), plain)
    lines = textwrap.wrap(
        kept,
        width=max(width, indent + 20),
        subsequent_indent=" " * indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    out = Text()
    pos = 0
    for n, line in enumerate(lines):
        body = line[indent:] if n else line
        start = kept.find(body, pos)
        if n:
            out.append("\n" + " " * indent)
        for i, ch in enumerate(body):
            out.append(" " if ch == "\x00" else ch, style=styles[start + i] if start >= 0 else None)
        pos = start + len(body) if start >= 0 else pos
    return out


def say(con: Console, text: str, style: str | None = None, indent: str = "", hang: str = "    ") -> None:
    """One statement, wrapped at the console's width with a hanging indent (nothing cut, no padding)."""
    import textwrap

    from rich.markup import escape

    text = textwrap.fill(
        text,
        width=max(20, con.width),
        initial_indent=indent,
        subsequent_indent=indent + hang,
        break_on_hyphens=False,
        break_long_words=True,
    )
    con.print(escape(text), style=style, soft_wrap=True, highlight=False)


def emit_json(document: Any) -> None:
    """Write one JSON document, and nothing else, to stdout."""
    sys.stdout.write(json.dumps(document, indent=2, default=_default, sort_keys=False) + "\n")


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "n/a"
    if n >= GIB:
        return f"{n / GIB:.1f} GiB"
    if n >= MIB:
        return f"{_short(n / MIB)} MiB"  # an L2 of 4.5 MiB (TITAN V) or 2.25 MiB (RTX 3060) is not "4 MiB"
    if n >= KIB:
        return f"{_short(n / KIB)} KiB"
    return f"{n} B"


def _short(x: float) -> str:
    """Up to two decimals, none that are zero: 4, 4.5, 2.25."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def fmt_bytes_exact(n: int | None) -> str:
    """Both the exact byte count and the readable size: limits are compared to the byte."""
    return "n/a" if n is None else f"{n:,} B ({fmt_bytes(n)})"


def fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        value = f"{value:,}"  # registers / SM 65,536
    elif isinstance(value, float):
        value = f"{value:g}"
    return f"{value}{(' ' + unit) if unit else ''}"
