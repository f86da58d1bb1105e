"""The records of a log that span several lines, followed per rank for the scanner (scan.py).

A line that needs its neighbours (its decision's mode is CONTEXT) opens a record of its rank: a glog
record that repeats its header on every line, a Python logging record, a bare warning with indented
lines under it, a traceback up to its final exception line, a compiler wrapper ("backend='inductor'
raised:") waiting for the exception on the next line, or a recompile or graph-break record that the
story reads. The lines that continue an open record are read into it (counted once, by its first
line); lines of other ranks in between do not end it, only a while without a line of its own rank.
Each process (rank tags, else glog pid) gets a story of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gpudiag.explain import normalize
from gpudiag.explain.line_decision import SKIP, TRACEBACK_HEAD, Decision, decide_line, glog_header
from gpudiag.explain.log_input import decode
from gpudiag.explain.matcher import Matcher
from gpudiag.explain.normalize import Line
from gpudiag.explain.story import Story, StoryBuilder, diverge

if TYPE_CHECKING:
    from gpudiag.explain.scan import ScanResult

TRACEBACK_LOOKAHEAD = 2000  # lines of its rank searched for a traceback's final exception line
RECORD_MAX_LINES = 400  # continuation lines read for one record
RECORD_IDLE_LINES = 8  # a record of one rank ends after this many lines of other ranks
TRACEBACK_IDLE_LINES = 400  # a traceback, after this many
MAX_PROCESSES = 64  # ranks or processes told apart; the story of any further ones is kept as one
OTHER_PROCESSES = "other processes"
TRACEBACK_NOT_FINAL = ("Traceback", "During handling", "The above exception", "^", "~")
CHAINED = ("During handling", "The above exception")  # between the tracebacks of chained exceptions
GLOG_PID_RX = re.compile(r"^[IWEVDFC]\d{4} \d\d:\d\d:\d\d\.\d+\s+(\d+) ")
RUNNER_FIRST_BYTES = frozenset(c.encode() for c in normalize.RUNNER_FIRST)
RUNNER_MAYBE_BYTES = re.compile(normalize.RUNNER_MAYBE_RX.pattern.encode())
TORCHRUN_TAGS_BYTES = re.compile(normalize.TORCHRUN_TAGS_RX.pattern.encode())


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


class Records:
    """The open records of a log's ranks, the lines read into them, and each process's story."""

    def __init__(self, matcher: Matcher, result: ScanResult, decision: Callable[[bytes, bytes], Decision]) -> None:
        self.m = matcher
        self.result = result
        self.decision = decision  # the scanner's (memoised) decision for a line's key and bytes
        self.open: dict[str | None, Record] = {}  # rank -> its open record
        self._builders: dict[str | None, StoryBuilder] = {}
        self._pid_rank: dict[str, str] = {}
        self._tag_ranks: dict[bytes, str | None] = {}  # "[default3]:[rank3]:" -> "default3 rank3"
        self._tags: tuple[bytes, ...] | bool | None = False  # open_tags' answer (False: to be worked out)
        self._next_expiry = 1 << 62  # no record can go stale before this line
        self._last_pid: str | None = None  # the identity of the last line with a pid and no rank
        self._pids: set[str] = set()

    def close_all(self) -> None:
        """The log has ended: every record still open is closed."""
        for rank in list(self.open):
            self._close(rank)

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

    def occurrence(self, d: Decision, raw: bytes, lineno: int) -> None:
        if not (d.segmented or d.story or d.traceback or d.wrapper or d.runner):
            # the common case, a warning whose record may go on: counted from its decision, the record's
            # header cut from the bytes (no rank: no runner prefix)
            if None in self.open:
                self._close(None)
            if d.match is not None:
                self.result.add_known(d.match, lineno, d.text, d.warning)
            else:
                self.result.add_unknown(d.unknown_key, d.message, d.text, lineno, d.unknown_kind)
            if d.opens == "glog":
                m = normalize.GLOG_LINE_RX.match(decode(raw))
                header = m.group(0).rstrip() if m else ""
                self._put(None, Record("glog" if header else "bare", lineno, header, warning=d.warning))
            elif d.opens == "pylog":
                head = normalize.parse(decode(raw)).header.rstrip()
                self._put(None, Record("pylog", lineno, head, warning=d.warning))
            elif d.opens is not None:
                self._put(None, Record(d.opens, lineno, warning=d.warning))
            return
        text = decode(raw)
        if d.segmented:
            segs = normalize.segments(text)
            for j, seg in enumerate(segs):
                line = normalize.parse(seg)
                sd = decide_line(self.m, line)
                if j < len(segs) - 1:  # an overwritten segment opens nothing
                    if sd.mode == SKIP:
                        continue
                    if sd.match is not None:
                        self.result.add_known(sd.match, lineno, line.text, sd.warning)
                    else:
                        self.result.add_unknown(sd.unknown_key, line.message, line.text, lineno, sd.unknown_kind)
                    continue
                if sd.mode == SKIP:
                    continue
                self._start(sd, line, lineno)
            return
        self._start(d, normalize.parse(text), lineno)

    def _start(self, d: Decision, line: Line, lineno: int) -> None:
        """A line that is read on its own and may open a record of its rank."""
        rank = line.rank
        if rank in self.open:
            self._close(rank)
        if d.traceback:
            self.result.tracebacks += 1
            if d.match is not None:  # a logger's header answers it (a glog warning that logged a traceback)
                self.result.add_known(d.match, lineno, line.text, d.warning)
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
            self.result.add_known(d.match, lineno, line.text, d.warning)
        elif d.mode != SKIP:
            self.result.add_unknown(d.unknown_key, line.message, line.text, lineno, d.unknown_kind)
        kind = d.opens
        if d.story:
            glog = glog_header(line.header)
            kind = "glog" if glog else ("pylog" if line.header else "bare")
            self._put(rank, Record(kind, lineno, glog or line.header.rstrip(), story=(line, [])), _tag_of(line))
        elif kind is not None:
            header = glog_header(line.header) if kind == "glog" else line.header.rstrip()
            self._put(rank, Record(kind, lineno, header, warning=d.warning), _tag_of(line))

    def feed(self, key: bytes, raw: bytes, lineno: int) -> bool:
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
                rank = self._tag_ranks[tag] = normalize.split_runner(decode(tag) + "x")[1]
            if rank not in self.open:
                text = rest = ""
            else:
                text = decode(raw)
                rest = text[len(tag) :]  # the tags are ASCII
        elif b"\x1b" in raw or b"\x00" in raw or b"\r" in raw:
            text = normalize.clean(decode(raw))
            if "\r" in text:
                text = text.rsplit("\r", 1)[-1]
            rank, rest = normalize.split_runner(text)[1:3]
        elif (raw[:1] in RUNNER_FIRST_BYTES and RUNNER_MAYBE_BYTES.match(raw)) or b"<" in raw[:120]:
            text = decode(raw)
            rank, rest = normalize.split_runner(text)[1:3]
        else:
            text = rest = ""  # no runner prefix: rank None, decoded below only if a record of it is open
            rank = None
        rec = self.open.get(rank)
        if rec is None:
            self.expire(lineno)
            return False
        rec.seen = lineno
        if not text:
            text = rest = decode(raw)
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
        del self.open[rank]
        self._tags = False
        d = self.decision(key, raw)
        if d.mode == SKIP:
            return True  # counted as skipped with its reason
        self.occurrence(d, raw, lineno)
        if rank not in self.open and not d.wrapper:
            self._put(rank, Record("glog", lineno, rec.header) if rec.header else Record("bare", lineno), rec.tag)
        return True

    def _put(self, rank: str | None, rec: Record, tag: bytes | None = None) -> None:
        """Open a record for a rank (after its line rec.lineno)."""
        rec.seen, rec.tag = rec.lineno, tag
        self.open[rank] = rec
        self._tags = False
        self._next_expiry = min(self._next_expiry, rec.lineno + _idle_limit(rec) + 1)

    def open_tags(self) -> tuple[bytes, ...] | None:
        """The tags of the ranks with an open record, when every one has a tag: a line that starts with
        none of them continues no record."""
        if self._tags is False:
            tags = tuple(r.tag for r in self.open.values())
            self._tags = tags if all(tags) else None  # type: ignore[assignment]
        return self._tags  # type: ignore[return-value]

    def expire(self, lineno: int) -> None:
        """Close the records whose rank has written no line for a while (other ranks' lines in between)."""
        if lineno < self._next_expiry:
            return
        for rank, r in list(self.open.items()):
            if lineno - r.seen > _idle_limit(r):
                self._close(rank)
        self._next_expiry = min((r.seen + _idle_limit(r) + 1 for r in self.open.values()), default=1 << 62)

    def _close_wrapper(self, rank: str | None, wrapped: Line | None) -> None:
        rec = self.open.pop(rank)
        self._tags = False
        line = rec.wrapper
        assert line is not None
        alone = self.m.match_line(line)
        if wrapped is not None:
            # "BackendCompilerFailed: backend='inductor' raised:" and the wrapped exception on the next line
            joined = normalize.parse(f"{line.text} {wrapped.message}")
            match = self.m.match_line(joined)
            if match is not None and (alone is None or match.rank <= alone.rank):
                self.result.add_line(joined, match, rec.lineno)
                self._put(rank, Record("bare", rec.lineno), rec.tag)
                return
        self.result.add_line(line, alone, rec.lineno)
        if wrapped is not None:
            self.result.add_line(wrapped, self.m.match_line(wrapped), rec.lineno + 1)

    def _close(self, rank: str | None) -> None:
        rec = self.open.get(rank)
        if rec is None:
            return
        self._tags = False
        if rec.kind == "wrapper":
            self._close_wrapper(rank, None)
            return
        del self.open[rank]
        if rec.kind == "traceback":
            # the log ends (or moves on) before the traceback's final line: say so
            self.result.add_unknown(
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

    def finish_stories(self) -> None:
        stories = {ident: b.finish() for ident, b in self._builders.items()}
        if len(stories) > 1:
            # lines without a rank or pid (a launcher's own output) hold no story of a process: drop an
            # empty one so it is not shown as a rank
            stories = {k: s for k, s in stories.items() if not s.empty or k is not None}
        self.result.stories = stories or {None: Story()}
        if len(self.result.stories) > 1:
            self.result.divergence = diverge(self.result.stories)
