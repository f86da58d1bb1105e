"""explain-warning as data: one message, one catalogue id, or a whole log -> dataclasses for the CLI."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpudiag.device.facts import DeviceFacts
from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.explain.catalog import Catalogue, Entry, load
from gpudiag.explain.matcher import Matcher, message_of, scan_stream
from gpudiag.explain.verdicts import Verdict, verdict_for

SCHEMA = "gpudiag.explain-warning/1"
WORD_RX = re.compile(r"[A-Za-z_][A-Za-z_.]{2,}")


@dataclass
class Device:
    """The GPU verdicts were made for (or why there is none)."""

    name: str | None
    sm: str | None
    sm_count: int | None
    origin: str | None  # "live" | "catalogue" | None
    none_reason: str | None = None

    @classmethod
    def of(cls, facts: DeviceFacts | None, why: str | None) -> "Device":
        if facts is None:
            return cls(None, None, None, None, why or "no GPU")
        return cls(facts.name, facts.sm, facts.sm_count, facts.origin)


@dataclass
class Explanation:
    entry: Entry
    line: str | None
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        d = self.entry.to_dict()
        d["line"] = self.line
        d["verdict"] = vars(self.verdict)
        return d


@dataclass
class NoMatch:
    text: str
    closest: list[Entry]


@dataclass
class LogItem:
    explanation: Explanation
    count: int
    first_line: int


@dataclass
class UnknownItem:
    message: str
    count: int
    first_line: int
    line: str


@dataclass
class LogReport:
    source: str
    bytes_read: int
    lines: int
    known: list[LogItem] = field(default_factory=list)
    unknown: list[UnknownItem] = field(default_factory=list)
    unknown_overflow: int = 0
    tracebacks: int = 0


@dataclass
class Context:
    catalogue: Catalogue
    matcher: Matcher
    facts: DeviceFacts | None
    no_device_reason: str | None

    @classmethod
    def create(cls, facts: DeviceFacts | None, why: str | None) -> "Context":
        cat = load()
        return cls(cat, Matcher(cat), facts, why)

    def explain_entry(self, entry: Entry, line: str | None) -> Explanation:
        return Explanation(entry, line, verdict_for(entry, line or "", self.facts, self.no_device_reason))


def _words(text: str) -> set[str]:
    return {w.lower() for w in WORD_RX.findall(text)}


def closest(catalogue: Catalogue, text: str, n: int = 3) -> list[Entry]:
    """Entries sharing the most words with the text (title and examples), best first."""
    words = _words(message_of(text))
    if not words:
        return []
    scored = []
    for e in catalogue.entries:
        ew = _words(e.title + " " + " ".join(message_of(x) for x in e.examples))
        score = len(words & ew) / (len(words | ew) or 1)
        if score > 0:
            scored.append((score, e.id, e))
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [e for _, _, e in scored[:n]]


def explain_text(ctx: Context, text: str) -> Explanation | NoMatch:
    if not text.strip():
        raise GpudiagError("nothing to explain: the message is empty", EXIT_USAGE)
    # A pasted multi-line message: the first line that matches wins.
    lines = [ln for ln in text.splitlines() if ln.strip()] or [text]
    for ln in lines:
        entry = ctx.matcher.match(ln)
        if entry is not None:
            return ctx.explain_entry(entry, ln.strip())
    return NoMatch(text.strip(), closest(ctx.catalogue, text))


def explain_id(ctx: Context, entry_id: str) -> Explanation | None:
    entry = ctx.catalogue.get(entry_id)
    return None if entry is None else ctx.explain_entry(entry, None)


def explain_log(ctx: Context, path: str) -> LogReport:
    if path == "-":
        fh = sys.stdin.buffer
        label = "<stdin>"
        result = scan_stream(ctx.matcher, fh)
    else:
        p = Path(path)
        if p.is_dir():
            raise GpudiagError(f"--log {path}: is a directory, not a log file", EXIT_USAGE)
        try:
            fh = p.open("rb")
        except OSError as exc:
            raise GpudiagError(f"--log {path}: cannot read it ({exc.strerror or exc})", EXIT_USAGE) from None
        label = str(p)
        with fh:
            result = scan_stream(ctx.matcher, fh)
    report = LogReport(label, result.bytes_read, result.lines, unknown_overflow=result.unknown_overflow,
                       tracebacks=result.tracebacks)
    for hit in result.known.values():
        report.known.append(LogItem(ctx.explain_entry(hit.entry, hit.line), hit.count, hit.first_line))
    report.known.sort(key=lambda it: (it.explanation.entry.severity_rank, -it.count, it.first_line))
    for u in result.unknown.values():
        report.unknown.append(UnknownItem(message_of(u.line), u.count, u.first_line, u.line))
    report.unknown.sort(key=lambda u: u.first_line)
    return report


def log_to_dict(report: LogReport, device: Device) -> dict[str, Any]:
    return {
        "schema": SCHEMA, "form": "log", "device": vars(device), "source": report.source,
        "bytes": report.bytes_read, "lines": report.lines, "tracebacks": report.tracebacks,
        "known": [{"id": it.explanation.entry.id, "title": it.explanation.entry.title,
                   "severity": it.explanation.entry.severity, "count": it.count, "first_line": it.first_line,
                   "line": it.explanation.line, "verdict": vars(it.explanation.verdict)} for it in report.known],
        "unknown": [{"message": u.message, "count": u.count, "first_line": u.first_line} for u in report.unknown],
        "unknown_overflow": report.unknown_overflow,
    }
