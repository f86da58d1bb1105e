"""A whole log streamed through the same matcher as one line, in large binary chunks, memory flat.

Every line is read; none is dropped silently. Each line ends up in exactly one of four counts:

* **explained**: the matcher (:meth:`Matcher.match_line`, the very call ``explain-warning LINE``
  makes, after the same :func:`normalize.parse`) answers it;
* **unknown**: it names the compile stack or says warning/error, and nothing answers it; grouped with
  its numbers collapsed and listed (``kind`` "warning" for warnings, errors and exceptions, "other"
  for the rest);
* **in records**: a continuation of a record that is counted once by its first line (a glog record
  repeats its header on every line, a traceback's frames, a Python warning's source line, the lines of
  a recompile or graph-break record that the story reads);
* **skipped**, with the reason: blank (or only digits), or no token the matcher could answer: no
  error/warning/exception token, no compile-stack name, and none of the words the catalogue's needles,
  torch's exception classes and graph-break types are made of (:func:`prefilter.prefilter_tokens`
  derives them from the matcher's own data, so a line the matcher can answer always carries one).

Speed comes from deciding each distinct line once. A chunk's lines are keyed by their bytes with the
ASCII digits removed (timestamps, pids, shapes and counts differ, the answer does not); the keys are
split and counted in C, the new ones searched for tokens in one joined blob, and only lines with a
token are decoded, parsed and matched, once per key. Python then walks only from the lines that need
their neighbours (records, tracebacks, the story; found with ``list.index`` on the keys' modes), for
as long as a record stays open, per rank: lines of other ranks interleaved with a record do not end
it, and on a multi-rank log lines without an open rank's tag are passed over with one ``startswith``.

Input: UTF-8 (a BOM is skipped), UTF-16 and UTF-32 (BOM or NUL pattern; transcoded), gzip, bzip2 and
xz (decompressed as they are read). Binary data is refused after a bounded sniff of the first 64 KiB.

This module reads the chunks, keeps the decisions and counts the lines; its parts are modules of
their own: log_input (opening the log: sniffing, decompressing, transcoding), prefilter (the tokens
a line must hold), line_decision (what one distinct line is) and log_records (the records that span
several lines, per rank, and each process's story).
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate
from typing import BinaryIO

from gpudiag.explain import normalize
from gpudiag.explain.line_decision import (
    BLANK,
    CONTEXT,
    GLOG_WE_KEY_RX,
    KNOWN,
    NO_TOKEN,
    PENDING,
    SKIP,
    SKIP_BLANK,
    SKIP_NO_TOKEN,
    Decision,
    decide_line,
    group_key,
    is_warningish,
)
from gpudiag.explain.log_input import broken_off, decode, open_log
from gpudiag.explain.log_records import Records
from gpudiag.explain.matcher import Match, Matcher
from gpudiag.explain.normalize import Line
from gpudiag.explain.prefilter import ASCII_DIGITS, BASE_TOKENS, prefilter
from gpudiag.explain.story import Story

CHUNK_BYTES = 4 << 20
MAX_UNKNOWN_GROUPS = 500  # beyond this, unknown lines are only counted (keeps memory bounded)
MEMO_MAX = 1 << 14  # distinct lines remembered (then forgotten, so memory stays flat)

ANSI_BYTES_RX = re.compile(rb"\x1b(?:\[[;?]*[A-Za-z]|[\]_P^][^\x07\x1b]*(?:\x07|\x1b\\))")

# -------------------------------------------------------------------------------------------- results


@dataclass
class KnownHit:
    match: Match
    count: int
    first_line: int
    line: str  # the first matching line, as shown (ANSI removed)
    warnings: int = 0  # occurrences on a warning/error line (or a line without a level)

    @property
    def informational(self) -> bool:
        """A family answer seen only on INFO/DEBUG lines: the stage's normal output, nothing to fix."""
        return self.warnings == 0 and self.match.kind == "family"


# Verdicts that depend on what the line names (which Triton or torch name is missing): a log lists
# one finding per name, each with its own verdict, instead of one per catalogue entry.
SPLIT_BY_CULPRIT = frozenset({"api_release"})


def known_key(match: Match, text: str) -> str:
    """The group an explained line is counted in: its entry, or its entry and culprit."""
    e = match.entry
    if e is not None and e.verdict in SPLIT_BY_CULPRIT and (culprit := e.culprit_of(text)):
        return match.id + "|" + ",".join(f"{k}={v}" for k, v in sorted(culprit.items()))
    return match.id


@dataclass
class UnknownHit:
    message: str
    count: int
    first_line: int
    line: str
    kind: str = "warning"  # "warning": a warning, error or exception line; "other": names the compile stack


@dataclass
class ScanResult:
    bytes_read: int = 0  # bytes of the file as stored (compressed size for a compressed log)
    lines: int = 0
    encoding: str = "utf-8"
    compression: str | None = None  # "gzip" | "bzip2" | "xz"
    known: dict[str, KnownHit] = field(default_factory=dict)
    unknown: dict[str, UnknownHit] = field(default_factory=dict)
    unknown_overflow: int = 0  # unknown lines not grouped because MAX_UNKNOWN_GROUPS was reached
    tracebacks: int = 0
    explained_lines: int = 0
    unknown_lines: int = 0
    record_lines: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> lines
    stories: dict[str | None, Story] = field(default_factory=dict)  # per rank or process (None: not told apart)
    divergence: list[str] = field(default_factory=list)  # where the ranks' stories differ
    broken: str | None = None  # why reading stopped before the end (a truncated compressed log)

    @property
    def read(self) -> int:
        return self.explained_lines + self.unknown_lines + self.record_lines

    @property
    def story(self) -> Story:
        """The story of the one process in the log; with several ranks, see ``stories``."""
        if len(self.stories) == 1:
            return next(iter(self.stories.values()))
        return self.stories.get(None) or Story()

    # -- counted by the scanner and its records

    def add_known(self, match: Match, lineno: int, text: str, warning: bool) -> None:
        """One explained line."""
        key = known_key(match, text)
        hit = self.known.get(key)
        if hit is None:
            hit = self.known[key] = KnownHit(match, 0, lineno, text)
        hit.count += 1
        hit.warnings += warning
        self.explained_lines += 1

    def add_unknown(self, key: str, message: str, text: str, lineno: int, kind: str) -> None:
        """One unknown line, in its group (key) while there is room for the group."""
        self.unknown_lines += 1
        hit = self.unknown.get(key)
        if hit is not None:
            hit.count += 1
        elif len(self.unknown) < MAX_UNKNOWN_GROUPS:
            self.unknown[key] = UnknownHit(message, 1, lineno, text, kind)
        else:
            self.unknown_overflow += 1

    def add_line(self, line: Line, match: Match | None, lineno: int) -> None:
        """A line read on its own (a traceback's final line, a joined wrapper): explained or unknown."""
        if match is not None:
            self.add_known(match, lineno, line.text, line.is_warning_or_error or line.level is None)
        else:
            kind = "warning" if is_warningish(line) else "other"
            self.add_unknown(group_key(line.message), line.message, line.text, lineno, kind)


# -------------------------------------------------------------------------------------------- the scanner


class LogScanner:
    """Streams a binary file object through the matcher."""

    def __init__(self, matcher: Matcher, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.m = matcher
        self.chunk_bytes = chunk_bytes
        self.result = ScanResult()
        pre = prefilter(matcher)
        self.tokens, self.tails = pre.tokens, pre.tails
        self._memo: dict[bytes, Decision] = {}
        self._modes: dict[bytes, int] = {}  # the same keys -> their decision's mode (looked up in C)
        self._stack_keys: set[bytes] = set()  # new keys of this chunk with an error word or a compile-stack name
        self.records = Records(matcher, self.result, self._decision)

    # -- the stream

    def scan(self, fh: BinaryIO) -> ScanResult:
        source, raw, encoding, compression = open_log(fh)
        self.result.encoding, self.result.compression = encoding, compression
        carry = b""
        lines_before = 0
        try:
            while True:
                block = source.read(self.chunk_bytes)
                if not block:
                    break
                cut = block.rfind(b"\n") + 1  # carry never holds a newline: the chunk ends in this block
                if cut == 0:
                    carry += block  # one line longer than a chunk: keep reading
                    if len(carry) > 8 * self.chunk_bytes:
                        # a pathological line: read what we have of it (memory stays flat); the line is
                        # counted once, when its newline comes
                        r = self.result
                        before = (r.explained_lines, r.unknown_lines, r.record_lines, dict(r.skipped))
                        self._chunk(carry + b"\n", lines_before, partial=True)
                        r.explained_lines, r.unknown_lines, r.record_lines, r.skipped = before
                        carry = b""
                    continue
                chunk = b"".join((carry, memoryview(block)[:cut])) if carry or cut != len(block) else block
                carry = block[cut:]
                lines_before += self._chunk(chunk, lines_before)
        except OSError as exc:
            self.result.broken = f"reading the log failed after line {lines_before:,} ({exc})"
        broken = broken_off(source)
        if broken:
            # a compressed log cut off (still being written, a partial download): report what was read
            self.result.broken = f"the {compression} stream breaks off after line {lines_before:,} ({broken})"
        if carry:
            lines_before += self._chunk(carry + b"\n", lines_before)
        self.records.close_all()
        self.result.bytes_read = raw.raw_bytes
        self.result.lines = lines_before
        skipped = lines_before - self.result.read - self.result.skipped.get(SKIP_BLANK, 0)
        if skipped:
            self.result.skipped[SKIP_NO_TOKEN] = skipped
        self.records.finish_stories()
        return self.result

    @staticmethod
    def _hits(keys: list[bytes], tokens: tuple[bytes, ...], glog: bool) -> set[int]:
        """Which keys hold one of the tokens (lower-cased) or, with glog, a glog warning/error header:
        searched in one joined blob, a pass per token, skipping to the next key after a hit."""
        blob = b"\n".join(keys)
        low = blob.lower()
        if b"\x1b" in low:  # colour codes may sit inside a word: blank them out, keeping the offsets
            low = ANSI_BYTES_RX.sub(lambda m: b"\x00" * len(m.group(0)), low)
        ends = list(accumulate(len(k) + 1 for k in keys))  # the offset after each key's newline
        hit: set[int] = set()
        find, n = low.find, len(ends)
        for token in tokens:
            pos = find(token)
            while pos != -1:
                i = bisect.bisect_right(ends, pos)
                hit.add(i)
                pos = find(token, ends[i]) if i < n else -1
        if glog:
            for m in GLOG_WE_KEY_RX.finditer(blob):
                hit.add(bisect.bisect_right(ends, m.start() + 1))
        return hit

    def _prefilter(self, new: list[bytes]) -> None:
        """Decide which new keys hold a token (PENDING) and which are skipped. Error words and compile-stack
        names first (those keys are remembered: they name the stack); the words of the matcher's data
        only in the keys left."""
        stack = self._hits(new, BASE_TOKENS, glog=True)
        self._stack_keys = {new[i] for i in stack}
        rest = [i for i in range(len(new)) if i not in stack]
        extra = self.tokens[len(BASE_TOKENS) :]
        hit = {rest[j] for j in self._hits([new[i] for i in rest], extra, glog=False)} if rest and extra else set()
        memo, tails = self._memo, self.tails
        for i, k in enumerate(new):
            if i in stack or i in hit:
                memo[k] = PENDING
                continue
            tail = k.rstrip()
            if not tail:
                memo[k] = BLANK
                continue
            types = tails.get(tail.rsplit(None, 1)[-1])
            memo[k] = PENDING if types and any(tail.endswith(t) for t in types) else NO_TOKEN

    def _chunk(self, chunk: bytes, lines_before: int, partial: bool = False) -> int:
        """Read one chunk of whole lines; returns how many lines it holds.

        The lines are counted per key in C (Counter); Python walks only from a line that needs its
        neighbours (CONTEXT) for as long as a record stays open, found with ``list.index`` on the lines'
        modes. Lines read into a record there are taken back from the counts.
        """
        keys = chunk.translate(None, ASCII_DIGITS).split(b"\n")
        keys.pop()  # the chunk ends with a newline
        n = len(keys)
        memo, modes = self._memo, self._modes
        if len(memo) > MEMO_MAX:
            memo.clear()
            modes.clear()
        counts = Counter(keys)
        new = [k for k in counts if k not in memo]
        lines: list[bytes] | None = None
        first_pos: dict[bytes, int] | None = None
        if new:
            self._prefilter(new)
            pending = [k for k in new if memo[k] is PENDING]
            if pending:
                lines = chunk.split(b"\n")
                first_pos = dict(zip(reversed(keys), range(n - 1, -1, -1)))
                for k in pending:
                    self._decide(k, lines[first_pos[k]])
            for k in new:
                modes[k] = memo[k].mode
        mode_of = list(map(modes.__getitem__, keys))
        consumed: list[int] = []  # positions read into a record (taken back from the counts)
        records = self.records
        open_records = records.open  # the same dict for the whole scan
        i = 0
        while True:
            if open_records:
                if i >= n:
                    break  # the record goes on in the next chunk
                if lines is None:
                    lines = chunk.split(b"\n")
                tags = records.open_tags()
                if tags is not None and not lines[i].startswith(tags):
                    # no open record's rank: it cannot continue one (the usual line of a multi-rank log)
                    records.expire(lines_before + i + 1)
                    if mode_of[i] == CONTEXT:
                        records.occurrence(memo[keys[i]], lines[i], lines_before + i + 1)
                    i += 1
                    continue
                d = memo[keys[i]]
                if records.feed(keys[i], lines[i], lines_before + i + 1):
                    consumed.append(i)
                elif mode_of[i] == CONTEXT:
                    records.occurrence(d, lines[i], lines_before + i + 1)
                i += 1
                continue
            try:
                i = mode_of.index(CONTEXT, i)
            except ValueError:
                break
            if lines is None:
                lines = chunk.split(b"\n")
            records.occurrence(memo[keys[i]], lines[i], lines_before + i + 1)
            i += 1
        if consumed:
            gone = Counter(keys[j] for j in consumed)
            consumed_at = set(consumed)
        else:
            gone, consumed_at = Counter(), set()
        result = self.result
        blank = 0
        for k, c in counts.items():
            d = memo[k]
            mode = d.mode
            if mode == CONTEXT:
                continue
            c -= gone[k]
            if c <= 0:
                continue
            if mode == SKIP:
                if d is BLANK:
                    blank += c
                continue
            if mode == KNOWN:
                match = d.match
                assert match is not None
                key = known_key(match, d.text)
                hit = result.known.get(key)
                if hit is None or hit.first_line > lines_before:
                    if first_pos is None:
                        first_pos = dict(zip(reversed(keys), range(n - 1, -1, -1)))
                    lineno = lines_before + self._first(keys, k, first_pos[k], consumed_at) + 1
                    if hit is None:
                        hit = result.known[key] = KnownHit(match, 0, lineno, d.text)
                    hit.first_line = min(hit.first_line, lineno)
                hit.count += c
                if d.warning:
                    hit.warnings += c
                result.explained_lines += c
            else:  # UNKNOWN
                group = result.unknown.get(d.unknown_key)
                result.unknown_lines += c
                if group is not None:
                    group.count += c
                    if group.first_line > lines_before:
                        if first_pos is None:
                            first_pos = dict(zip(reversed(keys), range(n - 1, -1, -1)))
                        lineno = lines_before + self._first(keys, k, first_pos[k], consumed_at) + 1
                        group.first_line = min(group.first_line, lineno)
                elif len(result.unknown) < MAX_UNKNOWN_GROUPS:
                    if first_pos is None:
                        first_pos = dict(zip(reversed(keys), range(n - 1, -1, -1)))
                    lineno = lines_before + self._first(keys, k, first_pos[k], consumed_at) + 1
                    result.unknown[d.unknown_key] = UnknownHit(d.message, c, lineno, d.text, d.unknown_kind)
                else:
                    result.unknown_overflow += c
        if blank:
            result.skipped[SKIP_BLANK] = result.skipped.get(SKIP_BLANK, 0) + blank
        return 0 if partial else n

    @staticmethod
    def _first(keys: list[bytes], key: bytes, pos: int, consumed_at: set[int]) -> int:
        """The first position of key that was not read into a record."""
        while pos in consumed_at:
            try:
                pos = keys.index(key, pos + 1)
            except ValueError:
                return pos
        return pos

    # -- one distinct line

    def _decision(self, key: bytes, raw: bytes) -> Decision:
        """The decision for a line's key, made now if it is not yet made (a traceback's final line)."""
        d = self._memo.get(key)
        if d is None or d is PENDING:
            d = self._decide(key, raw)
            self._modes[key] = d.mode
        return d

    def _decide(self, key: bytes, raw: bytes) -> Decision:
        text = decode(raw)
        segs = normalize.segments(text)
        if len(segs) > 1:
            d = Decision(CONTEXT, text=normalize.clean(text), segmented=True)
        else:
            d = decide_line(self.m, normalize.parse(segs[0]), key in self._stack_keys)
        self._memo[key] = d
        return d


def scan_stream(matcher: Matcher, fh: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> ScanResult:
    return LogScanner(matcher, chunk_bytes).scan(fh)
