"""A whole log streamed through the matcher in large binary chunks, with memory flat in its size.

Speed comes from never decoding ordinary lines. A chunk is searched with ``bytes.find`` (C speed) for
a few structural anchors every message of interest carries (``ANCHORS``: an artifact tag,
``Warning``/``Error``, a traceback, ...) and for glog ``W``/``E`` headers (also after an ANSI colour,
a ``\\r`` progress bar or a launcher's ``[rank3]:``/``[default0]:`` tag). Only those lines are decoded,
parsed (:mod:`normalize`) and matched (:mod:`matcher`); the answer is memoised on the raw bytes with
their digits removed, so a repeated warning is counted without being decoded again.

* Multi-line records: a glog record repeats its header on every line; only its first line counts.
  Records of the recompile/graph-break story are read whole and handed to :class:`StoryBuilder`.
* Tracebacks are attributed to their final exception line (joined with the next line when a
  ``backend='inductor' raised:`` wrapper ends it).
* Lines that look like warnings or errors but match nothing are grouped (numbers collapsed) and
  listed as unknown: nothing is dropped silently.
* UTF-16 logs (PowerShell's ``>``) are transcoded; a few NUL bytes do not make a log binary.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from typing import BinaryIO

from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.explain import normalize
from gpudiag.explain.matcher import Match, Matcher
from gpudiag.explain.normalize import Line
from gpudiag.explain.story import Story, StoryBuilder

CHUNK_BYTES = 8 << 20
MAX_UNKNOWN_GROUPS = 500  # beyond this, unknown lines are only counted (keeps memory bounded)
TRACEBACK_LOOKAHEAD = 2000  # lines searched for a traceback's final exception line
RECORD_MAX_LINES = 400  # continuation lines read for one story record
SNIFF_BYTES = 65536
# Searching each of ~100 catalogue needles would cost ~100 passes over the data; instead a log is
# searched for anchors that every message of interest carries, in a lower-cased copy of the chunk
# (one pass, and "warning"/"error" then also find WARNING, Error, and gcc's "fatal error:"). "__"
# finds torch's artifact tags, "[__recompiles]" since torch 2.2 and "module.__recompiles:" before
# (CUDA-graph skips are logged by the cudagraphs artifact logger, so they carry it or a WARNING
# level); other lines holding "__" cost a decode once and are then memoised as uninteresting.
ANCHORS = (b"__", b"warning", b"error", b"exception", b"traceback")
# glog warning/error lines at a line start, also coloured or behind a launcher's "[rank3]:" /
# "[default0]:", searched in the lower-cased chunk. A literal first byte lets the regex engine skip
# ahead fast; lines redrawn after a progress bar's "\r" are searched apart, only in chunks holding one.
_GLOG_WE = rb"(?:\x1b\[[0-9;]*m)?(?:\[[rd][a-z]{3,6}\d+\]:?)?[we][01]\d{3} \d\d:\d\d:\d\d"
GLOG_WE_RX = re.compile(rb"\n(?=[\x1b\[we])" + _GLOG_WE)  # the lookahead rejects most lines at their first byte
GLOG_WE_CR_RX = re.compile(rb"\r(?=[\x1b\[we])" + _GLOG_WE)
GLOG_WE_FIRST_RX = re.compile(_GLOG_WE)
ASCII_DIGITS = b"0123456789"
GLOG_TIME_RX = re.compile(r"[IWEVDFC]\d{4} \d\d:\d\d:\d\d\.\d+ ")
MEMO_SIZE = 4096
NUM_RX = re.compile(r"0x[0-9a-fA-F]+|\d+(?:\.\d+)?")
UNKNOWN_TEXT_RX = re.compile(r"Warning|WARNING|Error|ERROR|Exception")
TRACEBACK_NOT_FINAL = ("Traceback", "During handling", "The above exception", "^", "~")
WRAPPER_END_RX = re.compile(r"backend=['\"‘’]?\w+['\"‘’]? raised:\s*$")


@dataclass
class KnownHit:
    match: Match
    count: int
    first_line: int
    line: str  # the first matching line, as shown (ANSI removed)


@dataclass
class UnknownHit:
    message: str
    count: int
    first_line: int
    line: str


@dataclass
class ScanResult:
    bytes_read: int = 0
    lines: int = 0
    encoding: str = "utf-8"
    known: dict[str, KnownHit] = field(default_factory=dict)
    unknown: dict[str, UnknownHit] = field(default_factory=dict)
    unknown_overflow: int = 0  # unknown lines not grouped because MAX_UNKNOWN_GROUPS was reached
    tracebacks: int = 0
    story: Story = field(default_factory=Story)


def group_key(message: str) -> str:
    """Unknown lines that differ only in numbers (shapes, pids, line numbers) group together."""
    return NUM_RX.sub("N", message.strip())[:200]


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


class _Utf16Source:
    """A UTF-16 binary stream read as UTF-8 blocks (PowerShell writes logs as UTF-16 LE with a BOM)."""

    def __init__(self, fh: BinaryIO, first: bytes, encoding: str) -> None:
        self.fh = fh
        self.decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self.pending = first
        self.source_bytes = 0

    def read(self, n: int) -> bytes:
        raw = self.pending if self.pending else self.fh.read(n)
        self.pending = b""
        self.source_bytes += len(raw)
        text = self.decoder.decode(raw, final=not raw)
        return text.encode("utf-8")


def sniff(block: bytes) -> str | None:
    """'utf-16', 'utf-16-le', 'utf-16-be', 'binary', or None for an 8-bit text log."""
    head = block[:SNIFF_BYTES]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    nuls = head.count(0)
    if not nuls:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = max(1, len(head) // 2)
    if odd / half > 0.4 and even / half < 0.05:
        return "utf-16-le"
    if even / half > 0.4 and odd / half < 0.05:
        return "utf-16-be"
    return "binary" if nuls / len(head) > 0.1 else None


class LogScanner:
    """Streams a binary file object through the matcher."""

    def __init__(self, matcher: Matcher, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.m = matcher
        self.chunk_bytes = chunk_bytes
        self.result = ScanResult()
        self.story = StoryBuilder(matcher.registry)
        self._pending_traceback_line: int | None = None  # a traceback whose end is in the next chunk
        self._pending_record: tuple[int, Line, list[str]] | None = None  # a story record cut by the chunk end
        # raw bytes without digits -> (match, starts a story record, unknown group key, ignored)
        self._memo: dict[bytes, tuple[Match | None, bool, str | None, bool]] = {}
        self._previous_chunk_tail = b""  # the last line of the previous chunk, for header comparisons

    # -- recording

    def _known(self, match: Match, lineno: int, text: str) -> None:
        hit = self.result.known.get(match.id)
        if hit is None:
            self.result.known[match.id] = KnownHit(match, 1, lineno, text)
        else:
            hit.count += 1

    def _unknown(self, line: Line, lineno: int) -> None:
        key = group_key(line.message)
        hit = self.result.unknown.get(key)
        if hit is not None:
            hit.count += 1
        elif len(self.result.unknown) < MAX_UNKNOWN_GROUPS:
            self.result.unknown[key] = UnknownHit(line.message, 1, lineno, line.text)
        else:
            self.result.unknown_overflow += 1

    # -- the stream

    def scan(self, fh: BinaryIO) -> ScanResult:
        first = fh.read(self.chunk_bytes)
        if not first:
            raise GpudiagError("the log is empty: nothing to explain", EXIT_USAGE)
        kind = sniff(first)
        if kind == "binary":
            raise GpudiagError(
                "the log looks like a binary file (more than 10% NUL bytes and not UTF-16); pass a text log", EXIT_USAGE
            )
        source: BinaryIO | _Utf16Source = fh
        if kind is not None:
            source = _Utf16Source(fh, first, kind)
            self.result.encoding = kind
            first = source.read(self.chunk_bytes)
        carry = b""
        lines_before = 0
        block = first
        while True:
            if kind is None:
                self.result.bytes_read += len(block)
            if not block:
                break
            cut = block.rfind(b"\n") + 1  # carry never holds a newline: the chunk ends in this block
            if cut == 0:
                carry += block  # one line longer than a chunk: keep reading
                if len(carry) > 8 * self.chunk_bytes:
                    # a pathological line: scan what we have of it (memory stays flat); the line is
                    # counted once, when its newline comes
                    self._chunk(carry + b"\n", lines_before)
                    carry = b""
            else:
                # One copy at most: the carried partial line joined to this block's whole lines.
                chunk = b"".join((carry, memoryview(block)[:cut])) if carry or cut != len(block) else block
                carry = block[cut:]
                lines_before += self._chunk(chunk, lines_before)
            block = source.read(self.chunk_bytes)
        if carry:
            self._chunk(carry + b"\n", lines_before)
            lines_before += 1
        self._flush_record()
        if isinstance(source, _Utf16Source):
            self.result.bytes_read = source.source_bytes
        self.result.lines = lines_before
        self.result.story = self.story.finish()
        return self.result

    def _chunk(self, chunk: bytes, lines_before: int) -> int:
        """Scan one chunk of whole lines; returns how many newlines it holds."""
        hits: set[int] = set()
        find, rfind = chunk.find, chunk.rfind
        lower = chunk.lower()  # same offsets: bytes.lower() only maps A-Z
        lfind = lower.find
        for anchor in ANCHORS:
            pos = lfind(anchor)
            while pos != -1:
                hits.add(rfind(b"\n", 0, pos) + 1)
                end = find(b"\n", pos)
                pos = lfind(anchor, end) if end != -1 else -1
        for m in GLOG_WE_RX.finditer(lower):
            hits.add(m.start() + 1)
        if b"\r" in chunk:
            for m in GLOG_WE_CR_RX.finditer(lower):
                hits.add(rfind(b"\n", 0, m.start()) + 1)
        if GLOG_WE_FIRST_RX.match(lower):
            hits.add(0)
        del lower

        done: set[int] = set()
        if self._pending_record is not None:
            self._continue_record(chunk, 0, lines_before, done)
        if self._pending_traceback_line is not None:
            pending, self._pending_traceback_line = self._pending_traceback_line, None
            self._finish_traceback(chunk, 0, pending, lines_before, done)

        last_pos, last_lineno = 0, lines_before
        memo = self._memo
        known_hits, unknown_hits = self.result.known, self.result.unknown
        for start in sorted(hits):
            if start in done:
                continue
            last_lineno += chunk.count(b"\n", last_pos, start)
            last_pos = start
            end = find(b"\n", start)
            raw = chunk[start : end if end != -1 else len(chunk)]
            key = raw.translate(None, ASCII_DIGITS)
            memo_hit = memo.get(key)
            if memo_hit is not None:
                match, story, unknown_key, ignored = memo_hit
                if story:
                    if (
                        match is not None
                        and match.id in known_hits
                        and self._story_line(chunk, end, raw, last_lineno + 1, done)
                    ):
                        known_hits[match.id].count += 1
                        continue
                elif not self._continues_previous(chunk, start, raw):
                    # A line seen before (other digits): counted without being decoded.
                    if ignored:
                        continue
                    group: KnownHit | UnknownHit | None
                    if match is not None:
                        group = known_hits.get(match.id)
                    else:
                        group = unknown_hits.get(unknown_key) if unknown_key is not None else None
                    if group is not None:
                        group.count += 1
                        continue
            self._raw_line(chunk, start, end, raw, key, last_lineno + 1, done)
        self._previous_chunk_tail = chunk[rfind(b"\n", 0, len(chunk) - 1) + 1 : -1]
        # The newlines up to the last hit are counted already; count only the rest.
        return last_lineno - lines_before + chunk.count(b"\n", last_pos)

    def _classify(self, line: Line, key: bytes | None, story: bool) -> Match | None:
        """The match for a line, memoised on its raw bytes with the ASCII digits removed.

        A log repeats the same warnings with other timestamps, pids, shapes and counts; no pattern
        tells two lines apart by their digits alone, so one answer serves all. The key is cut from the
        undecoded bytes (bytes.translate is ~15x faster than a regex on decoded text).
        """
        if key is not None and key in self._memo:
            return self._memo[key][0]
        match = self.m.match_line(line)
        if match is not None and match.kind == "family" and (line.indented or not line.is_warning_or_error):
            # a family answers a pasted line; in a log only warnings and errors are reported, and
            # an indented line continues a record (a traceback frame, a record's detail line)
            match = None
        self._remember(key, (match, story, None, False))
        return match

    def _remember(self, key: bytes | None, value: tuple[Match | None, bool, str | None, bool]) -> None:
        if key is not None:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = value

    def _raw_line(
        self, chunk: bytes, start: int, end: int, raw: bytes, key: bytes, lineno: int, done: set[int]
    ) -> None:
        texts = normalize.segments(_decode(raw))
        for i, text in enumerate(texts):
            last = i == len(texts) - 1
            self._line(
                chunk,
                start,
                end,
                normalize.parse(text),
                key if len(texts) == 1 else None,
                lineno,
                done,
                can_continue=last,
            )

    def _line(
        self,
        chunk: bytes,
        start: int,
        end: int,
        line: Line,
        key: bytes | None,
        lineno: int,
        done: set[int],
        can_continue: bool = True,
    ) -> None:
        if not line.message:
            return
        story = can_continue and self.story.starts_record(line.message)
        if (
            not story
            and line.header
            and start < len(chunk)
            and self._continues_previous(chunk, start, chunk[start:end])
        ):
            return  # a multi-line glog record repeats its header on every line: only its first line counts
        match = self._classify(line, key, story)
        if story:
            self._open_record(chunk, end, lineno, line, done)
        if match is not None:
            self._known(match, lineno, line.text)
            return
        if line.message.startswith("Traceback (most recent call last)"):
            self.result.tracebacks += 1
            self._finish_traceback(chunk, end + 1 if end != -1 else len(chunk), lineno, lineno, done)
            return
        if not line.indented and (
            line.is_warning_or_error or UNKNOWN_TEXT_RX.search(line.message if line.level else line.text)
        ):
            self._unknown(line, lineno)
            self._remember(key, (None, story, group_key(line.message), False))
        else:
            # an indented traceback frame or record continuation, or an INFO line without error words
            self._remember(key, (None, story, None, True))

    def _continues_previous(self, chunk: bytes, start: int, raw: bytes) -> bool:
        """Whether the previous line carries the same logger header (a multi-line glog record).

        The header is compared as bytes, up to the first "] " (glog's "file.py:N] ", torch 2.0's
        "[date time,ms] "): a record's lines share it to the timestamp, other records do not.
        """
        cut = raw.find(b"] ", 0, 200)
        if cut <= 0:
            return False
        if start > 0:
            previous = chunk[chunk.rfind(b"\n", 0, start - 1) + 1 : start - 1]
        else:
            previous = self._previous_chunk_tail
        return previous.startswith(raw[: cut + 2])

    # -- story records

    def _story_line(self, chunk: bytes, end: int, raw: bytes, lineno: int, done: set[int]) -> bool:
        """A story record's first line whose match is known: parse it and read the record, nothing else."""
        text = _decode(raw)
        if "\r" in text:
            return False  # a progress bar redrawn on the line: the general path splits it
        first = normalize.parse(text)
        nxt = end + 1
        if (
            first.header
            and 0 < nxt < len(chunk)
            and chunk[nxt : nxt + 1] not in b" \t\x1b"
            and not chunk.startswith(first.header.rstrip().encode("utf-8", "replace"), nxt)
        ):
            self.story.feed(lineno, first, [])  # the common case: a one-line record
        else:
            self._open_record(chunk, end, lineno, first, done)
        return True

    def _open_record(self, chunk: bytes, end: int, lineno: int, first: Line, done: set[int]) -> None:
        self._pending_record = (lineno, first, [])
        self._continue_record(chunk, end + 1 if end != -1 else len(chunk), lineno, done)

    def _continue_record(self, chunk: bytes, pos: int, lineno: int, done: set[int]) -> None:
        """Read the record's continuation lines from pos; flush it, or keep it open at the chunk end."""
        assert self._pending_record is not None
        _first_lineno, first, rest = self._pending_record
        header = first.header.rstrip()
        header_bytes = header.encode("utf-8", "replace")
        if (
            header
            and pos < len(chunk)
            and chunk[pos : pos + 1] not in b" \t\x1b"
            and not chunk.startswith(header_bytes, pos)
        ):
            self._flush_record()  # the common case: a one-line record
            return
        # Python logging (torch 2.0's "[date] logger: [LEVEL] ") prefixes only a record's first line;
        # glog (torch >= 2.1) prefixes every line.
        bare_continuations = bool(header) and GLOG_TIME_RX.search(header) is None
        while pos < len(chunk) and len(rest) < RECORD_MAX_LINES:
            end = chunk.find(b"\n", pos)
            if end == -1:
                end = len(chunk)
            raw = chunk[pos:end]
            if header and bare_continuations and raw[:1] in (b" ", b"\t"):
                rest.append(normalize.clean(_decode(raw)))
            elif header:
                if not raw.lstrip().startswith(header_bytes):
                    if b"\x1b" not in raw[:16]:
                        break
                    text = normalize.clean(_decode(raw)).lstrip()  # a coloured line: compare without ANSI codes
                    if not text.startswith(header):
                        break
                    rest.append(text[len(header) :])
                else:
                    rest.append(normalize.clean(_decode(raw.lstrip()[len(header_bytes) :])))
            elif not raw.strip() or raw[:1] in (b" ", b"\t"):
                rest.append(normalize.clean(_decode(raw)))
            else:
                break
            done.add(pos)
            pos = end + 1
        if pos >= len(chunk) and len(rest) < RECORD_MAX_LINES:
            return  # the record may go on in the next chunk
        self._flush_record()

    def _flush_record(self) -> None:
        if self._pending_record is not None:
            lineno, first, rest = self._pending_record
            self._pending_record = None
            self.story.feed(lineno, first, rest)

    # -- tracebacks

    def _finish_traceback(self, chunk: bytes, pos: int, tb_lineno: int, lineno: int, done: set[int]) -> None:
        """Attribute a traceback to its final exception line (the first unindented line after it)."""
        n = 0
        while pos < len(chunk) and n < TRACEBACK_LOOKAHEAD:
            end = chunk.find(b"\n", pos)
            if end == -1:
                end = len(chunk)
            n += 1
            raw = chunk[pos:end]
            if raw[:1] in (b" ", b"\t") or not raw.strip():
                pos = end + 1  # a frame of the traceback
                continue
            line = normalize.parse(_decode(raw))
            if line.message and not line.indented and not line.message.startswith(TRACEBACK_NOT_FINAL):
                done.add(pos)
                key: bytes | None = raw.translate(None, ASCII_DIGITS)
                if WRAPPER_END_RX.search(line.message) and end < len(chunk):
                    # "BackendCompilerFailed: backend='inductor' raised:" and the wrapped exception on the next line
                    nend = chunk.find(b"\n", end + 1)
                    nend = len(chunk) if nend == -1 else nend
                    wrapped = normalize.parse(_decode(chunk[end + 1 : nend]))
                    if wrapped.message:
                        done.add(end + 1)
                        line, key = normalize.parse(f"{line.text} {wrapped.message}"), None
                self._line(chunk, pos, end, line, key, lineno + n, done)
                return
            pos = end + 1
        if pos >= len(chunk):
            self._pending_traceback_line = tb_lineno


def scan_stream(matcher: Matcher, fh: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> ScanResult:
    return LogScanner(matcher, chunk_bytes).scan(fh)
