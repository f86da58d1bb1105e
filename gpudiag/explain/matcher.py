"""Matching lines against the catalogue: one line, or a whole log streamed in large binary chunks.

Speed comes from never running the catalogue's regexes on ordinary lines. A log chunk is searched
with ``bytes.find`` (C speed) for a few structural anchors (``ANCHORS``: the artifact tag, ``Warning``,
``Error``, tracebacks, ...) and glog ``W``/``E`` prefixes; only those lines are decoded, and each is
tried against the entries whose literal ``needles`` it contains. Lines that look like warnings or
errors but match no entry are grouped with their numbers collapsed. Memory is one chunk
plus the per-warning counters, so it stays flat however long the log is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import BinaryIO, Iterable

from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.explain.catalog import Catalogue, Entry

CHUNK_BYTES = 8 << 20
MAX_UNKNOWN_GROUPS = 500  # beyond this, unknown lines are only counted (keeps memory bounded)
TRACEBACK_LOOKAHEAD = 2000  # lines searched for a traceback's final exception line

ANSI_RX = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# A logger prefix: rank tag, glog header ("W1123 07:45:26.064000 736 file.py:12] "), frame ids and
# artifact tags ("[0/0] [__graph_breaks] "), or a Python warnings prefix ("/x.py:12: UserWarning: ").
GLOG_RX = re.compile(r"^(?:\[rank\d+\]:\s?)?([IWEVDFC])\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+?:\d+\] ?")
RANK_RX = re.compile(r"^\[rank\d+\]:\s?")
TAGS_RX = re.compile(r"^(?:\[[^\]\s]{1,40}\] ?)+")
PYWARN_RX = re.compile(r"^\S+\.py:\d+: (\w*Warning): ")
NUM_RX = re.compile(r"0x[0-9a-fA-F]+|\d+(?:\.\d+)?")

# Lines worth decoding in a log. Searching each of ~40 catalogue needles with bytes.find costs ~40
# passes over the data; instead a log is searched for a few structural anchors that every message
# torch, dynamo, inductor and triton emit carries: a glog W/E header (GLOG_WE_RX), a TORCH_LOGS
# artifact tag ("[__perf_hints]", "[__graph_breaks]", "[__recompiles]", "[__cudagraphs]"), a Python
# warning or exception name, a traceback. "cudagraph" is added because skip reasons are also
# re-logged untagged. Only those lines are checked against the needles and regexes. The artifact
# tag always follows the logger's "file.py:N] " header (and the optional "[0/0] " frame id), so it is
# searched as "] [__": '[' alone is common in logs and the longer needle scans 27% faster.
ANCHORS = (b"] [__", b"Warning", b"WARNING", b"Error", b"ERROR", b"Exception", b"Traceback", b"cudagraph")
# glog warning/error lines ("W1123 ...", "[rank3]:E0412 ...") at a line start.
# Starts with a literal "\n" so the regex engine can skip quickly to line starts; a first line is checked apart.
GLOG_WE_RX = re.compile(rb"\n(?:\[rank\d+\]:)?[WE][01]\d{3} \d\d:\d\d:\d\d")
GLOG_WE_FIRST_RX = re.compile(rb"(?:\[rank\d+\]:)?[WE][01]\d{3} \d\d:\d\d:\d\d")
ASCII_DIGITS = b"0123456789"
MEMO_SIZE = 4096
UNKNOWN_TEXT_RX = re.compile(r"Warning|WARNING|Error|ERROR|Exception")
TRACEBACK_NOT_FINAL = ("Traceback", "During handling", "The above exception", "^", "~")


def strip_ansi(text: str) -> str:
    return ANSI_RX.sub("", text) if "\x1b" in text else text


def message_of(line: str) -> str:
    """The message without ANSI codes, rank tag, glog header, frame/artifact tags or warnings prefix."""
    s = strip_ansi(line).rstrip("\r\n")
    m = GLOG_RX.match(s)
    if m:
        s = s[m.end():]
    else:
        s = RANK_RX.sub("", s, count=1)
    s = TAGS_RX.sub("", s, count=1)
    m = PYWARN_RX.match(s)
    if m:
        s = s[m.end():]
    return s


def glog_header(line: str) -> str | None:
    m = GLOG_RX.match(strip_ansi(line))
    return m.group(0) if m else None


def group_key(message: str) -> str:
    """Unknown lines that differ only in numbers (shapes, pids, line numbers) group together."""
    return NUM_RX.sub("N", message.strip())[:200]


class Matcher:
    """The catalogue, indexed for matching."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.by_needle: dict[str, list[Entry]] = {}
        for e in catalogue.entries:
            for n in e.needles:
                self.by_needle.setdefault(n, []).append(e)
        # Specific entries are tried before generic catch-alls.
        for lst in self.by_needle.values():
            lst.sort(key=lambda e: e.generic)
        self.ordered = sorted(catalogue.entries, key=lambda e: e.generic)

    def candidates(self, line: str) -> list[Entry]:
        """Entries whose needles occur in the line (specific ones first)."""
        seen: list[Entry] = []
        for n, entries in self.by_needle.items():
            if n in line:
                for e in entries:
                    if e not in seen:
                        seen.append(e)
        return seen

    def match(self, line: str, candidates: Iterable[Entry] | None = None) -> Entry | None:
        """The entry for one line: the first specific entry whose pattern matches, else a generic one."""
        text = strip_ansi(line)
        cands = list(candidates) if candidates is not None else self.ordered
        generic = None
        for e in cands:
            if e.matches(text):
                if not e.generic:
                    return e
                generic = generic or e
        return generic

    def all_matches(self, line: str) -> list[Entry]:
        """Every entry whose pattern matches (ignoring needles): used by tests for uniqueness."""
        text = strip_ansi(line)
        return [e for e in self.catalogue.entries if e.matches(text)]


# ------------------------------------------------------------------ whole logs

@dataclass
class KnownHit:
    entry: Entry
    count: int
    first_line: int
    line: str  # the first matching line, as found (ANSI removed)


@dataclass
class UnknownHit:
    key: str
    count: int
    first_line: int
    line: str


@dataclass
class ScanResult:
    bytes_read: int = 0
    lines: int = 0
    known: dict[str, KnownHit] = field(default_factory=dict)
    unknown: dict[str, UnknownHit] = field(default_factory=dict)
    unknown_overflow: int = 0  # unknown lines not grouped because MAX_UNKNOWN_GROUPS was reached
    tracebacks: int = 0


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r")


class LogScanner:
    """Streams a binary file object through the matcher."""

    def __init__(self, matcher: Matcher, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.m = matcher
        self.chunk_bytes = chunk_bytes
        self.result = ScanResult()
        self._pending_traceback_line: int | None = None  # a traceback whose end is in the next chunk
        self._memo: dict[bytes, Entry | None] = {}

    # -- recording

    def _known(self, entry: Entry, lineno: int, line: str) -> None:
        hit = self.result.known.get(entry.id)
        if hit is None:
            self.result.known[entry.id] = KnownHit(entry, 1, lineno, strip_ansi(line))
        else:
            hit.count += 1

    def _unknown(self, message: str, lineno: int, line: str) -> None:
        key = group_key(message)
        hit = self.result.unknown.get(key)
        if hit is not None:
            hit.count += 1
        elif len(self.result.unknown) < MAX_UNKNOWN_GROUPS:
            self.result.unknown[key] = UnknownHit(key, 1, lineno, strip_ansi(line))
        else:
            self.result.unknown_overflow += 1

    # -- per chunk

    def scan(self, fh: BinaryIO) -> ScanResult:
        carry = b""
        lines_before = 0
        first = True
        while True:
            block = fh.read(self.chunk_bytes)
            if first:
                first = False
                if not block:
                    raise GpudiagError("the log is empty: nothing to explain", EXIT_USAGE)
                if b"\x00" in block[:65536]:
                    raise GpudiagError("the log looks like a binary file (it contains NUL bytes); "
                                       "pass a text log", EXIT_USAGE)
            if not block:
                break
            self.result.bytes_read += len(block)
            cut = block.rfind(b"\n") + 1  # carry never holds a newline: the chunk ends in this block
            if cut == 0:
                carry += block  # one line longer than a chunk: keep reading
                if len(carry) > 8 * self.chunk_bytes:  # pathological line: process what we have
                    self._chunk(carry + b"\n", lines_before)
                    lines_before += 1
                    carry = b""
                continue
            # One copy at most: the carried partial line joined to this block's whole lines.
            chunk = b"".join((carry, memoryview(block)[:cut])) if carry or cut != len(block) else block
            carry = block[cut:]
            lines_before += self._chunk(chunk, lines_before)
        if carry:
            self._chunk(carry + b"\n", lines_before)
            lines_before += 1
        self.result.lines = lines_before
        return self.result

    def _chunk(self, chunk: bytes, lines_before: int) -> int:
        """Scan one chunk of whole lines; returns how many newlines it holds."""
        # Offsets of line starts worth decoding: found by a few structural anchors (see ANCHORS).
        hits: set[int] = set()
        find, rfind = chunk.find, chunk.rfind
        for anchor in ANCHORS:
            pos = find(anchor)
            while pos != -1:
                hits.add(rfind(b"\n", 0, pos) + 1)
                end = find(b"\n", pos)
                pos = find(anchor, end) if end != -1 else -1
        for m in GLOG_WE_RX.finditer(chunk):
            hits.add(m.start() + 1)
        if GLOG_WE_FIRST_RX.match(chunk):
            hits.add(0)

        done: set[int] = set()
        # Resolve a traceback left open at the end of the previous chunk.
        if self._pending_traceback_line is not None:
            pending, self._pending_traceback_line = self._pending_traceback_line, None
            self._finish_traceback(chunk, 0, pending, lines_before, done)

        last_pos, last_lineno = 0, lines_before
        memo = self._memo
        for start in sorted(hits):
            if start in done:
                continue
            last_lineno += chunk.count(b"\n", last_pos, start)
            last_pos = start
            end = find(b"\n", start)
            raw = chunk[start:end if end != -1 else len(chunk)]
            key = raw.translate(None, ASCII_DIGITS)
            entry = memo.get(key)
            if entry is not None and entry.id in self.result.known:
                self.result.known[entry.id].count += 1  # a known line seen before: no decoding needed
                continue
            self._line(chunk, start, end, _decode(raw), key, last_lineno + 1, done)
        # The newlines up to the last hit are counted already; count only the rest.
        return last_lineno - lines_before + chunk.count(b"\n", last_pos)

    def _classify(self, text: str, key: bytes) -> Entry | None:
        """The catalogue entry for a line, memoised on its raw bytes with the ASCII digits removed.

        A log repeats the same warnings with other timestamps, pids, shapes and counts; no
        catalogue pattern tells two lines apart by their digits alone, so one answer serves all.
        The key is cut from the undecoded bytes (bytes.translate is ~15x faster than a regex on
        the decoded text), so a line already classified is counted without being decoded.
        """
        try:
            return self._memo[key]
        except KeyError:
            pass
        cands = self.m.candidates(text)
        entry = self.m.match(text, cands) if cands else None
        if len(self._memo) >= MEMO_SIZE:
            self._memo.clear()
        self._memo[key] = entry
        return entry

    def _line(self, chunk: bytes, start: int, end: int, line: str, key: bytes, lineno: int, done: set[int]) -> None:
        text = strip_ansi(line)
        entry = self._classify(text, key)
        if entry is not None:
            self._known(entry, lineno, text)
            return
        msg = message_of(text)
        if msg.startswith("Traceback (most recent call last)"):
            self.result.tracebacks += 1
            self._finish_traceback(chunk, end + 1 if end != -1 else len(chunk), lineno, lineno, done)
            return
        if not msg or msg[0] in " \t":
            return  # indented: a traceback frame or the continuation of a record above
        header = glog_header(text)
        if header is not None:
            if header[0] in "IVD" and not UNKNOWN_TEXT_RX.search(msg):
                return
            # A multi-line record repeats its header on every line: only its first line counts.
            if start > 0:
                pstart = chunk.rfind(b"\n", 0, start - 1) + 1
                if _decode(chunk[pstart:start - 1]).startswith(header):
                    return
        elif not UNKNOWN_TEXT_RX.search(msg):
            return
        self._unknown(msg, lineno, text)

    def _finish_traceback(self, chunk: bytes, pos: int, tb_lineno: int, lineno: int, done: set[int]) -> None:
        """Attribute a traceback to its final exception line (the first unindented line after it)."""
        n = 0
        while pos < len(chunk) and n < TRACEBACK_LOOKAHEAD:
            end = chunk.find(b"\n", pos)
            if end == -1:
                end = len(chunk)
            n += 1
            raw = chunk[pos:end]
            line = _decode(raw)
            msg = message_of(line)
            if msg and msg[0] not in " \t" and not msg.startswith(TRACEBACK_NOT_FINAL):
                done.add(pos)
                entry = self._classify(strip_ansi(line), raw.translate(None, ASCII_DIGITS))
                if entry is not None:
                    self._known(entry, lineno + n, line)
                else:
                    self._unknown(msg, lineno + n, line)
                return
            pos = end + 1
        if pos >= len(chunk):
            self._pending_traceback_line = tb_lineno


def scan_stream(matcher: Matcher, fh: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> ScanResult:
    return LogScanner(matcher, chunk_bytes).scan(fh)
