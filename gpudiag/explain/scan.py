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
xz (decompressed as they are read): gpudiag/explain/log_input.py opens the log. Binary data is refused
after a bounded sniff of the first 64 KiB.
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
    TRACEBACK_HEAD,
    Decision,
    decide_line,
    glog_header,
    group_key,
    is_warningish,
)
from gpudiag.explain.log_input import broken_off, open_log
from gpudiag.explain.matcher import Match, Matcher
from gpudiag.explain.normalize import Line
from gpudiag.explain.prefilter import ASCII_DIGITS, BASE_TOKENS, prefilter
from gpudiag.explain.story import Story, StoryBuilder, diverge

CHUNK_BYTES = 4 << 20
MAX_UNKNOWN_GROUPS = 500  # beyond this, unknown lines are only counted (keeps memory bounded)
TRACEBACK_LOOKAHEAD = 2000  # lines of its rank searched for a traceback's final exception line
RECORD_MAX_LINES = 400  # continuation lines read for one record
RECORD_IDLE_LINES = 8  # a record of one rank ends after this many lines of other ranks
TRACEBACK_IDLE_LINES = 400  # a traceback, after this many
MEMO_MAX = 1 << 14  # distinct lines remembered (then forgotten, so memory stays flat)
MAX_PROCESSES = 64  # ranks or processes told apart; the story of any further ones is kept as one
OTHER_PROCESSES = "other processes"
TRACEBACK_NOT_FINAL = ("Traceback", "During handling", "The above exception", "^", "~")
CHAINED = ("During handling", "The above exception")  # between the tracebacks of chained exceptions
GLOG_PID_RX = re.compile(r"^[IWEVDFC]\d{4} \d\d:\d\d:\d\d\.\d+\s+(\d+) ")

ANSI_BYTES_RX = re.compile(rb"\x1b(?:\[[;?]*[A-Za-z]|[\]_P^][^\x07\x1b]*(?:\x07|\x1b\\))")
RUNNER_FIRST_BYTES = frozenset(c.encode() for c in normalize.RUNNER_FIRST)
RUNNER_MAYBE_BYTES = re.compile(normalize.RUNNER_MAYBE_RX.pattern.encode())
TORCHRUN_TAGS_BYTES = re.compile(normalize.TORCHRUN_TAGS_RX.pattern.encode())

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


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


@dataclass(slots=True, eq=False)
class Record:
    """An open record of one rank: the lines that continue it are read into it, not on their own."""

    kind: str  # "glog" | "pylog" | "bare" | "traceback" | "wrapper"
    lineno: int
    header: str = ""  # glog: the header to "] " every continuation line repeats
    story: tuple[Line, list[str]] | None = None  # a story record: its first line and continuation messages
    wrapper: Line | None = None  # "backend='inductor' raised:" waiting for the exception on the next line
    warning: bool = True
    lines: int = 0
    seen: int = 0  # the number of the last line of its rank
    tag: bytes | None = None  # the rank's "[default3]:[rank3]:" when that is all its runner prefix is


def _idle_limit(rec: Record) -> int:
    return TRACEBACK_IDLE_LINES if rec.kind == "traceback" else RECORD_IDLE_LINES


def _tag_of(line: Line) -> bytes | None:
    """The line's runner prefix when it is only torchrun's and torch's rank tags ("[default3]:[rank3]:")."""
    if line.runner and normalize.TORCHRUN_TAGS_RX.fullmatch(line.runner):
        return line.runner.encode()
    return None


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
        self._open: dict[str | None, Record] = {}
        self._builders: dict[str | None, StoryBuilder] = {}
        self._pid_rank: dict[str, str] = {}
        self._tag_ranks: dict[bytes, str | None] = {}  # "[default3]:[rank3]:" -> "default3 rank3"
        self._stack_keys: set[bytes] = set()  # new keys of this chunk with an error word or a compile-stack name
        self._tags: tuple[bytes, ...] | bool | None = False  # _open_tags' answer (False: to be worked out)
        self._next_expiry = 1 << 62  # no record can go stale before this line
        self._last_pid: str | None = None  # the identity of the last line with a pid and no rank
        self._pids: set[str] = set()

    # -- recording

    def _known(self, match: Match, lineno: int, text: str, warning: bool) -> None:
        hit = self.result.known.get(match.id)
        if hit is None:
            hit = self.result.known[match.id] = KnownHit(match, 0, lineno, text)
        hit.count += 1
        hit.warnings += warning
        self.result.explained_lines += 1

    def _unknown(self, key: str, message: str, text: str, lineno: int, kind: str) -> None:
        self.result.unknown_lines += 1
        hit = self.result.unknown.get(key)
        if hit is not None:
            hit.count += 1
        elif len(self.result.unknown) < MAX_UNKNOWN_GROUPS:
            self.result.unknown[key] = UnknownHit(message, 1, lineno, text, kind)
        else:
            self.result.unknown_overflow += 1

    def _count_line(self, line: Line, match: Match | None, lineno: int) -> None:
        """A line read on its own (a traceback's final line, a joined wrapper): explained or unknown."""
        if match is not None:
            self._known(match, lineno, line.text, line.is_warning_or_error or line.level is None)
        else:
            kind = "warning" if is_warningish(line) else "other"
            self._unknown(group_key(line.message), line.message, line.text, lineno, kind)

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
        for rank in list(self._open):
            self._close(rank)
        self.result.bytes_read = raw.raw_bytes
        self.result.lines = lines_before
        skipped = lines_before - self.result.read - self.result.skipped.get(SKIP_BLANK, 0)
        if skipped:
            self.result.skipped[SKIP_NO_TOKEN] = skipped
        self._finish_stories()
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
        i = 0
        while True:
            if self._open:
                if i >= n:
                    break  # the record goes on in the next chunk
                if lines is None:
                    lines = chunk.split(b"\n")
                tags = self._open_tags()
                if tags is not None and not lines[i].startswith(tags):
                    # no open record's rank: it cannot continue one (the usual line of a multi-rank log)
                    self._expire(lines_before + i + 1)
                    if mode_of[i] == CONTEXT:
                        self._occurrence(memo[keys[i]], lines[i], lines_before + i + 1)
                    i += 1
                    continue
                d = memo[keys[i]]
                if self._feed_open(keys[i], lines[i], lines_before + i + 1):
                    consumed.append(i)
                elif mode_of[i] == CONTEXT:
                    self._occurrence(d, lines[i], lines_before + i + 1)
                i += 1
                continue
            try:
                i = mode_of.index(CONTEXT, i)
            except ValueError:
                break
            if lines is None:
                lines = chunk.split(b"\n")
            self._occurrence(memo[keys[i]], lines[i], lines_before + i + 1)
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
                hit = result.known.get(match.id)
                if hit is None or hit.first_line > lines_before:
                    if first_pos is None:
                        first_pos = dict(zip(reversed(keys), range(n - 1, -1, -1)))
                    lineno = lines_before + self._first(keys, k, first_pos[k], consumed_at) + 1
                    if hit is None:
                        hit = result.known[match.id] = KnownHit(match, 0, lineno, d.text)
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

    def _decide(self, key: bytes, raw: bytes) -> Decision:
        text = _decode(raw)
        segs = normalize.segments(text)
        if len(segs) > 1:
            d = Decision(CONTEXT, text=normalize.clean(text), segmented=True)
        else:
            d = decide_line(self.m, normalize.parse(segs[0]), key in self._stack_keys)
        self._memo[key] = d
        return d

    # -- one occurrence that needs its neighbours

    def _identity(self, line: Line) -> str | None:
        """Which process wrote a line: its rank tags, else its glog pid (when the log has several)."""
        pid_m = GLOG_PID_RX.match(line.header) if line.header else None
        pid = pid_m.group(1) if pid_m else None
        if pid is not None and line.rank is None and pid not in self._pid_rank:
            if len(self._pids) >= MAX_PROCESSES and pid not in self._pids:
                return OTHER_PROCESSES  # memory stays flat; the report says the rest are merged
            self._pids.add(pid)
        if line.rank:
            if len(self._builders) >= MAX_PROCESSES and line.rank not in self._builders:
                return OTHER_PROCESSES
            if pid is not None and pid not in self._pid_rank:
                self._pid_rank[pid] = line.rank
                # lines of this process logged before it had a rank (before torch.distributed started)
                early = self._builders.get(f"pid {pid}")
                if early is not None and line.rank not in self._builders:
                    self._builders[line.rank] = self._builders.pop(f"pid {pid}")
            return line.rank
        if pid is not None:
            ident = self._pid_rank.get(pid, f"pid {pid}")
            if ident not in self._builders and None in self._builders and self._last_pid is None:
                self._builders[ident] = self._builders.pop(None)  # the process's lines before its first glog line
            self._last_pid = ident
            return ident
        # a line without rank or pid (a traceback, a print) belongs to the process that logged last
        return self._last_pid

    def _builder(self, ident: str | None) -> StoryBuilder:
        b = self._builders.get(ident)
        if b is None:
            b = self._builders[ident] = StoryBuilder(self.m.registry)
        return b

    def _occurrence(self, d: Decision, raw: bytes, lineno: int) -> None:
        if not (d.segmented or d.story or d.traceback or d.wrapper or d.runner):
            # the common case, a warning whose record may go on: counted from its decision, the record's
            # header cut from the bytes (no rank: no runner prefix)
            if None in self._open:
                self._close(None)
            if d.match is not None:
                self._known(d.match, lineno, d.text, d.warning)
            else:
                self._unknown(d.unknown_key, d.message, d.text, lineno, d.unknown_kind)
            if d.opens == "glog":
                m = normalize.GLOG_LINE_RX.match(_decode(raw))
                header = m.group(0).rstrip() if m else ""
                self._put(None, Record("glog" if header else "bare", lineno, header, warning=d.warning))
            elif d.opens == "pylog":
                head = normalize.parse(_decode(raw)).header.rstrip()
                self._put(None, Record("pylog", lineno, head, warning=d.warning))
            elif d.opens is not None:
                self._put(None, Record(d.opens, lineno, warning=d.warning))
            return
        text = _decode(raw)
        if d.segmented:
            segs = normalize.segments(text)
            for j, seg in enumerate(segs):
                line = normalize.parse(seg)
                sd = decide_line(self.m, line)
                if j < len(segs) - 1:  # an overwritten segment opens nothing
                    if sd.mode == SKIP:
                        continue
                    if sd.match is not None:
                        self._known(sd.match, lineno, line.text, sd.warning)
                    else:
                        self._unknown(sd.unknown_key, line.message, line.text, lineno, sd.unknown_kind)
                    continue
                if sd.mode == SKIP:
                    continue
                self._start(sd, line, lineno)
            return
        self._start(d, normalize.parse(text), lineno)

    def _start(self, d: Decision, line: Line, lineno: int) -> None:
        """A line that is read on its own and may open a record of its rank."""
        rank = line.rank
        if rank in self._open:
            self._close(rank)
        if d.traceback:
            self.result.tracebacks += 1
            if d.match is not None:  # a logger's header answers it (a glog warning that logged a traceback)
                self._known(d.match, lineno, line.text, d.warning)
            else:
                self.result.record_lines += 1
            self._put(
                rank, Record("traceback", lineno, glog_header(line.header), warning=d.match is None), _tag_of(line)
            )
            return
        if d.wrapper:
            self._put(rank, Record("wrapper", lineno, wrapper=line), _tag_of(line))
            return
        if d.match is not None:
            self._known(d.match, lineno, line.text, d.warning)
        elif d.mode != SKIP:
            self._unknown(d.unknown_key, line.message, line.text, lineno, d.unknown_kind)
        kind = d.opens
        if d.story:
            glog = glog_header(line.header)
            kind = "glog" if glog else ("pylog" if line.header else "bare")
            self._put(rank, Record(kind, lineno, glog or line.header.rstrip(), story=(line, [])), _tag_of(line))
        elif kind is not None:
            header = glog_header(line.header) if kind == "glog" else line.header.rstrip()
            self._put(rank, Record(kind, lineno, header, warning=d.warning), _tag_of(line))

    def _feed_open(self, key: bytes, raw: bytes, lineno: int) -> bool:
        """Whether this line continues a record open on its rank (then it is read into it)."""
        if (
            raw[:1] == b"["
            and (tags := TORCHRUN_TAGS_BYTES.match(raw))
            and not RUNNER_MAYBE_BYTES.match(raw, tags.end())
        ):
            # the usual multi-rank line, "[default3]:[rank3]:...": its rank from its tags alone
            tag = tags.group(0)
            rank = self._tag_ranks.get(tag)
            if rank is None:
                rank = self._tag_ranks[tag] = normalize.split_runner(_decode(tag) + "x")[1]
            if rank not in self._open:
                text = rest = ""
            else:
                text = _decode(raw)
                rest = text[len(tag) :]  # the tags are ASCII
        elif b"\x1b" in raw or b"\x00" in raw or b"\r" in raw:
            text = normalize.clean(_decode(raw))
            if "\r" in text:
                text = text.rsplit("\r", 1)[-1]
            rank, rest = normalize.split_runner(text)[1:3]
        elif (raw[:1] in RUNNER_FIRST_BYTES and RUNNER_MAYBE_BYTES.match(raw)) or b"<" in raw[:120]:
            text = _decode(raw)
            rank, rest = normalize.split_runner(text)[1:3]
        else:
            text = rest = ""  # no runner prefix: rank None, decoded below only if a record of it is open
            rank = None
        rec = self._open.get(rank)
        if rec is None:
            self._expire(lineno)
            return False
        rec.seen = lineno
        if not text:
            text = rest = _decode(raw)
            if rank is not None:
                rest = normalize.split_runner(text)[2]
        rec.lines += 1
        kind = rec.kind
        if kind == "wrapper":
            wrapped = normalize.parse(text)
            self._close_wrapper(rank, wrapped if wrapped.exceptions and not wrapped.indented else None)
            return bool(wrapped.exceptions and not wrapped.indented)
        if kind == "traceback":
            return self._traceback_line(rank, rec, key, raw, rest, lineno)
        if rec.lines > RECORD_MAX_LINES:
            self._close(rank)
            return False
        if kind == "glog":
            # every line of a glog record repeats its header, to the compile id and artifact tags
            body = rest.lstrip()
            if not body.startswith(rec.header):
                self._close(rank)
                return False
            cont = body[len(rec.header) :]
            after = cont.lstrip()
            if rec.story is not None and StoryBuilder.starts_record(after):
                self._close(rank)  # another record logged in the same microsecond from the same line
                return False
            if after.startswith(TRACEBACK_HEAD):  # a traceback logged in the record (exc_info=True)
                self.result.tracebacks += 1
                self._close(rank)
                self._put(rank, Record("traceback", lineno, rec.header), rec.tag)
                self.result.record_lines += 1
                return True
        elif kind == "pylog":
            # Python logging prefixes a record's first line only (torch 2.0); torch 2.1 repeated the header
            body = rest.lstrip()
            if rec.header and body.startswith(rec.header):
                cont = body[len(rec.header) :]
            elif rest[:1] in (" ", "\t"):
                cont = rest
            else:
                self._close(rank)
                return False
        else:  # bare
            if rest.strip() and rest[:1] not in (" ", "\t") and not rest.startswith(CHAINED):
                self._close(rank)
                return False
            cont = rest
        if rec.story is not None:
            rec.story[1].append(cont)
        self.result.record_lines += 1
        return True

    def _traceback_line(self, rank: str | None, rec: Record, key: bytes, raw: bytes, rest: str, lineno: int) -> bool:
        if rec.header:
            body = rest.lstrip()
            if not body.startswith(rec.header):
                self._close(rank)
                return False
            after = body[len(rec.header) :]
            if after[:1] == " ":
                after = after[1:]  # the one space after a glog header; more is the line's own indentation
        else:
            after = rest
        if rec.lines > TRACEBACK_LOOKAHEAD:
            self._close(rank)
            return False
        if not after.strip() or after[:1] in (" ", "\t"):
            self.result.record_lines += 1  # a frame, or the source line under it
            return True
        if after.startswith(TRACEBACK_NOT_FINAL):  # chained exceptions: read on
            self.result.record_lines += 1
            return True
        # the final exception line: read on its own (the traceback is its record), and it opens its own
        # record (the exception's continuation lines, or the rest of the glog record that logged it)
        del self._open[rank]
        self._tags = False
        d = self._memo.get(key)
        if d is None or d is PENDING:
            d = self._decide(key, raw)
            self._modes[key] = d.mode
        if d.mode == SKIP:
            return True  # counted as skipped with its reason
        self._occurrence(d, raw, lineno)
        if rank not in self._open and not d.wrapper:
            self._put(rank, Record("glog", lineno, rec.header) if rec.header else Record("bare", lineno), rec.tag)
        return True

    def _put(self, rank: str | None, rec: Record, tag: bytes | None = None) -> None:
        """Open a record for a rank (after its line rec.lineno)."""
        rec.seen, rec.tag = rec.lineno, tag
        self._open[rank] = rec
        self._tags = False
        self._next_expiry = min(self._next_expiry, rec.lineno + _idle_limit(rec) + 1)

    def _open_tags(self) -> tuple[bytes, ...] | None:
        """The tags of the ranks with an open record, when every one has a tag: a line that starts with
        none of them continues no record."""
        if self._tags is False:
            tags = tuple(r.tag for r in self._open.values())
            self._tags = tags if all(tags) else None  # type: ignore[assignment]
        return self._tags  # type: ignore[return-value]

    def _expire(self, lineno: int) -> None:
        """Close the records whose rank has written no line for a while (other ranks' lines in between)."""
        if lineno < self._next_expiry:
            return
        for rank, r in list(self._open.items()):
            if lineno - r.seen > _idle_limit(r):
                self._close(rank)
        self._next_expiry = min((r.seen + _idle_limit(r) + 1 for r in self._open.values()), default=1 << 62)

    def _close_wrapper(self, rank: str | None, wrapped: Line | None) -> None:
        rec = self._open.pop(rank)
        self._tags = False
        line = rec.wrapper
        assert line is not None
        alone = self.m.match_line(line)
        if wrapped is not None:
            # "BackendCompilerFailed: backend='inductor' raised:" and the wrapped exception on the next line
            joined = normalize.parse(f"{line.text} {wrapped.message}")
            match = self.m.match_line(joined)
            if match is not None and (alone is None or match.rank <= alone.rank):
                self._count_line(joined, match, rec.lineno)
                self._put(rank, Record("bare", rec.lineno), rec.tag)
                return
        self._count_line(line, alone, rec.lineno)
        if wrapped is not None:
            self._count_line(wrapped, self.m.match_line(wrapped), rec.lineno + 1)

    def _close(self, rank: str | None) -> None:
        rec = self._open.get(rank)
        if rec is None:
            return
        self._tags = False
        if rec.kind == "wrapper":
            self._close_wrapper(rank, None)
            return
        del self._open[rank]
        if rec.kind == "traceback":
            # the log ends (or moves on) before the traceback's final line: say so
            self._unknown(
                "Traceback without its final exception line",
                "Traceback (most recent call last): ... (its final exception line is not in the log)",
                TRACEBACK_HEAD,
                rec.lineno,
                "warning",
            )
            if rec.warning:
                self.result.record_lines -= 1  # the header line moves from the record count to unknown
            else:
                self.result.unknown_lines -= 1  # the header line was explained already: it counts once
            return
        if rec.story is not None:
            first, rest = rec.story
            self._builder(self._identity(first)).feed(rec.lineno, first, rest)

    def _finish_stories(self) -> None:
        stories = {ident: b.finish() for ident, b in self._builders.items()}
        if len(stories) > 1:
            # lines without a rank or pid (a launcher's own output) hold no story of a process: drop an
            # empty one so it is not shown as a rank
            stories = {k: s for k, s in stories.items() if not s.empty or k is not None}
        self.result.stories = stories or {None: Story()}
        if len(self.result.stories) > 1:
            self.result.divergence = diverge(self.result.stories)


def scan_stream(matcher: Matcher, fh: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> ScanResult:
    return LogScanner(matcher, chunk_bytes).scan(fh)
