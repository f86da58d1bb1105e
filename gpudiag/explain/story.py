"""The recompile and graph-break story of a log, per compiled function.

The log scanner hands over every record dynamo and inductor write about recompiles, graph breaks and
CUDA-graph partitions (a record is the lines of one log call, which glog repeats its header on):

* ``Recompiling function f in file.py:12`` + ``triggered by the following guard failure(s):`` +
  ``- 0/1: <failed guard>`` lines (``guard N failures:`` groups with recompiles_verbose), every
  format since torch 2.0 (2.0's one-line tuple, 2.1's un-numbered failures, 2.4+'s compile ids);
* ``torch._dynamo hit config.recompile_limit (8)`` + ``function: 'f' (file.py:12)`` + ``last reason:``;
* ``Detected recompile when torch.compile stance is 'fail_on_recompile'`` and its failures;
* ``Graph break in user code at file.py:12`` + ``Graph Break Reason:`` + the graph-break type (and
  the older ``Graph break: [skip: ]from user code at:`` + ``File ..., line N`` forms);
* ``Created N graph partitions: X cudagraphable, Y non-cudagraphable`` + ``opK: reason=...`` lines
  (torch >= 2.9) and ``skipping cudagraphs due to ...``.

From them it builds, per function: how many times it recompiled and how close that came to
recompile_limit (from the log, else the installed torch's default), every failed guard classified
(data/story.toml) with the one change that removes it, the class that caused most recompiles first;
graph breaks grouped by reason and by user frame; CUDA-graph findings.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from gpudiag.explain.catalog import GuardClass, PartitionReason, story_data
from gpudiag.explain.normalize import Line
from gpudiag.explain.registry import Registry
from gpudiag.installed import versions

RECOMPILING_RX = re.compile(r"Recompiling function (?P<name>\S+) in (?P<file>.+):(?P<line>\d+)$")
# torch 2.0 logged a tuple: ('Recompiling function step in /x.py', "triggered by the following guard failure: ...")
RECOMPILING_OLD_RX = re.compile(
    r"Recompiling function (?P<name>[^\s'\"]+) in (?P<file>[^'\"]+?)(?::(?P<line>\d+))?['\"]"
)
OLD_TRIGGER_RX = re.compile(r"triggered by the following guard failures?:\s*(?P<failure>.+?)['\"]?\)?$")
LIMIT_RX = re.compile(
    r"torch(?:\._dynamo|dynamo) hit config\.(?P<kind>\w+) \((?P<limit>\d+)\)|torchdynamo hit recompilation "
    r"cache limit \((?P<old_limit>\d+)\) for function '(?P<name>[^']+)' \((?P<file>.+):(?P<line>\d+)\)"
)
LIMIT_FUNCTION_RX = re.compile(r"^function: '(?P<name>[^']+)' \((?P<file>.+):(?P<line>\d+)\)")
LAST_REASON_RX = re.compile(r"^(?:last reason|reasons):\s+(?P<failure>\S.*)")  # "reasons:" is torch 2.0's
COMPILE_ID_PREFIX_RX = re.compile(r"^\d+/\d+:\s+")
FAIL_ON_RECOMPILE_RX = re.compile(
    r"Detected recompile when torch\.compile stance is 'fail_on_recompile'\. filename: "
    r"'(?P<file>[^']+)', function name: '(?P<name>[^']+)', line number: (?P<line>\d+)"
)
FAILURE_RX = re.compile(r"^-\s+(?:(?P<cid>\d+/\d+):\s+)?(?P<failure>\S.*)$")
GUARD_GROUP_RX = re.compile(r"^guard (?P<n>\d+) failures:")
HINT_RX = re.compile(r"\(HINT: (?P<hint>.+)\)\s*$")
GUARD_CODE_COMMENT_RX = re.compile(r"\s+#.*$")
GB_AT_RX = re.compile(
    r"Graph break (?:\(user stack suppressed due to duplicate graph break\) )?in user code at (?P<frame>.+:\d+)"
)
GB_OLD_RX = re.compile(r"Graph break: (?:skip: )?(?:(?P<reason>.+?) )?from user code at:?")
GB_REASON_RX = re.compile(r"^Graph Break Reason: (?P<reason>.+)")
FILE_LINE_RX = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')
EXPLANATION_RX = re.compile(r"^\s*Explanation:")
UNSUPPORTED_RX = re.compile(r"(?:torch\._dynamo\.exc\.)?Unsupported: (?P<reason>.+)")
PARTITIONS_RX = re.compile(
    r"Created (?P<n>\d+) graph partitions: (?P<ok>\d+) cudagraphable, (?P<bad>\d+) non-cudagraphable"
)
OP_REASON_RX = re.compile(r"^(?P<op>\w+): reason=(?P<reason>.+?)(?:, ir=|$)")
SKIP_CUDAGRAPHS_RX = re.compile(r"skipping cudagraphs? due to (?P<reason>.+)")
FOUND_FROM = ". Found from"  # inductor appends the stack of the op that caused the skip
LIMIT_DEFAULT_RX = re.compile(r"^(?:recompile_limit|cache_size_limit)\s*(?::\s*int\s*)?=\s*(\d+)", re.M)
# Limits a process sets once and each compiled function counts against on its own ("accumulated_recompile_limit"
# counts all of them together: it says nothing of the others' limit).
PER_FUNCTION_LIMITS = ("recompile_limit", "cache_size_limit")
# The story keeps memory flat however long the log is: beyond these, records are only counted.
MAX_FUNCTIONS = 500
MAX_GROUPS = 200  # graph-break reasons, partition reasons, CUDA-graph skip reasons
MAX_FRAMES = 100  # user frames listed per graph-break reason
MAX_DIVERGE_RANKS = 16  # beyond this many ranks, divergence is not spelled out rank by rank
MAX_DIVERGENCES = 30
MAX_REMEMBERED = 4096  # compile ids and seen breaks kept for matching records together
NUM_RX = re.compile(r"\d+")
# What starts a story record: checked on every decoded log line, so kept to one cheap search.
STORY_START_RX = re.compile(
    r"Recompiling function |hit config\.|hit recompilation cache limit|Detected recompile when"
    r"|Graph break (?:in user code|\(user stack|: )|Created \d+ graph partitions|^op\d+: reason="
    r"|skipping cudagraphs? due to|FailOnRecompileLimitHit"
)


@dataclass
class GuardFinding:
    """One failed guard, classified."""

    guard_class: GuardClass | None
    failure: str  # the guard text as logged, without its compile id and trailing code comment
    fix: str | None
    hint: str | None  # torch's own hint, when it printed one

    @property
    def class_id(self) -> str:
        return self.guard_class.id if self.guard_class else "other"

    @property
    def title(self) -> str:
        return self.guard_class.title if self.guard_class else "another guard (not classified)"


def classify_guard(failure: str) -> GuardFinding:
    """The class of one failed guard (``tensor 'x' size mismatch at index 1 ...``) and its fix."""
    guards, _ = story_data()
    hint_m = HINT_RX.search(failure)
    hint = hint_m.group("hint") if hint_m else None
    plain = GUARD_CODE_COMMENT_RX.sub("", failure[: hint_m.start()] if hint_m else failure).strip()
    for gc in guards:
        for rx in gc.patterns:
            m = rx.search(failure) or rx.search(plain)
            if m:
                values = {k: v for k, v in m.groupdict().items() if v is not None}
                try:
                    fix = gc.fix.format(**values)
                except (KeyError, IndexError):
                    fix = re.sub(r"\{\w+\}", "it", gc.fix)
                return GuardFinding(gc, plain, fix, hint)
    return GuardFinding(None, plain, None, hint)


@dataclass
class GuardGroup:
    finding: GuardFinding  # the first of its class
    count: int = 0  # recompiles in which this class failed


@dataclass
class FunctionStory:
    name: str
    location: str  # file:line of the function's first line
    recompiles: int = 0  # "Recompiling function" records (plus recompiles refused by fail_on_recompile)
    limit: int | None = None
    limit_kind: str | None = None  # recompile_limit | accumulated_recompile_limit | cache_size_limit ...
    limit_from: str | None = None  # "log" (the limit was hit), else the installed torch's default
    hit_limit: bool = False
    failed_recompile: bool = False  # a recompile raised: fail_on_recompile stance, or at the limit
    # fail_on_recompile_limit_hit / fullgraph=True (FailOnRecompileLimitHit)
    guards: dict[str, GuardGroup] = field(default_factory=dict)
    first_line: int = 0

    def add_recompile(self, failures: list[str]) -> None:
        classes: dict[str, GuardFinding] = {}
        for failure in failures:
            finding = classify_guard(failure)
            classes.setdefault(finding.class_id, finding)
        for cid, finding in classes.items():
            group = self.guards.setdefault(cid, GuardGroup(finding))
            group.count += 1

    def ranked_guards(self) -> list[GuardGroup]:
        return sorted(self.guards.values(), key=lambda g: (-g.count, g.finding.class_id))


@dataclass
class GraphBreakGroup:
    reason: str
    gb_id: str | None = None
    url: str | None = None
    count: int = 0
    frames: Counter = field(default_factory=Counter)


@dataclass
class PartitionFinding:
    reason: str
    finding: str
    benign: bool
    count: int = 0
    ops: list[str] = field(default_factory=list)


@dataclass
class Story:
    functions: dict[str, FunctionStory] = field(default_factory=dict)
    graph_breaks: dict[str, GraphBreakGroup] = field(default_factory=dict)
    partitions_created: int = 0
    partitions_non_cudagraphable: int = 0
    partition_findings: dict[str, PartitionFinding] = field(default_factory=dict)
    cudagraph_skips: Counter = field(default_factory=Counter)
    default_limit: int | None = None  # the installed torch's recompile_limit default
    log_limit: tuple[int, str] | None = None  # (value, kind) of a per-function limit this log showed hit
    overflow: int = 0  # records not kept because a MAX_* bound was reached

    @property
    def empty(self) -> bool:
        return not (
            self.functions
            or self.graph_breaks
            or self.partitions_created
            or self.partition_findings
            or self.cudagraph_skips
            or self.log_limit
        )

    def breaks_by_frame(self) -> list[tuple[str, int, list[str]]]:
        frames: dict[str, Counter] = {}
        for g in self.graph_breaks.values():
            for frame, n in g.frames.items():
                frames.setdefault(frame, Counter())[g.reason] += n
        return sorted(
            ((f, sum(c.values()), [r for r, _ in c.most_common()]) for f, c in frames.items()),
            key=lambda t: (-t[1], t[0]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "functions": [
                {
                    "name": f.name,
                    "location": f.location,
                    "recompiles": f.recompiles,
                    "limit": f.limit,
                    "limit_kind": f.limit_kind,
                    "limit_from": f.limit_from,
                    "hit_limit": f.hit_limit,
                    "failed": f.failed_recompile,
                    "guards": [
                        {
                            "class": g.finding.class_id,
                            "title": g.finding.title,
                            "recompiles": g.count,
                            "example": g.finding.failure,
                            "fix": g.finding.fix,
                            "torch_hint": g.finding.hint,
                        }
                        for g in f.ranked_guards()
                    ],
                }
                for f in self.ranked_functions()
            ],
            "graph_breaks": {
                "by_reason": [
                    {
                        "reason": g.reason,
                        "graph_break_id": g.gb_id,
                        "url": g.url,
                        "count": g.count,
                        "frames": [{"frame": fr, "count": n} for fr, n in g.frames.most_common()],
                    }
                    for g in self.ranked_breaks()
                ],
                "by_frame": [
                    {"frame": fr, "count": n, "reasons": reasons} for fr, n, reasons in self.breaks_by_frame()
                ],
            },
            "cudagraphs": {
                "partitions": self.partitions_created,
                "non_cudagraphable": self.partitions_non_cudagraphable,
                "findings": [
                    {"reason": p.reason, "finding": p.finding, "benign": p.benign, "count": p.count, "ops": p.ops}
                    for p in self.partition_findings.values()
                ],
                "skipped": [{"reason": r, "count": n} for r, n in self.cudagraph_skips.most_common()],
            },
            "overflow": self.overflow,
        }

    def ranked_functions(self) -> list[FunctionStory]:
        return sorted(self.functions.values(), key=lambda f: (-f.recompiles, f.first_line))

    def ranked_breaks(self) -> list[GraphBreakGroup]:
        return sorted(self.graph_breaks.values(), key=lambda g: (-g.count, g.reason))


@functools.lru_cache(maxsize=1)
def installed_recompile_limit() -> tuple[int | None, str | None]:
    """The default recompile_limit of the installed torch, read from its torch/_dynamo/config.py."""
    text = versions.source_text("torch", "_dynamo/config.py")
    m = LIMIT_DEFAULT_RX.search(text or "")
    if not m:
        return None, None
    return int(m.group(1)), f"default of the installed torch {versions.torch_version() or ''} (torch/_dynamo/config.py)"


class StoryBuilder:
    """Collects story records while a log is scanned; :meth:`finish` returns the :class:`Story`."""

    def __init__(self, registry: Registry | None) -> None:
        self.registry = registry
        self.story = Story()
        self._frame_names: dict[str, str] = {}  # compile frame id ("0") -> function key
        self._breaks_seen: set[tuple[str | None, str]] = set()
        self._last_limit_hit: FunctionStory | None = None  # FailOnRecompileLimitHit names no function

    @staticmethod
    def starts_record(message: str) -> bool:
        return STORY_START_RX.search(message) is not None

    # -- functions

    def _function(
        self, name: str, file: str, line: str | None, lineno: int, compile_id: str | None
    ) -> FunctionStory | None:
        location = f"{file}:{line}" if line else file
        key = f"{name} {location}"
        fs = self.story.functions.get(key)
        if fs is None:
            # the same function written with another path (relative, cut): reuse the story of its frame id
            frame_key = self._frame_names.get(compile_id.split("/")[0]) if compile_id else None
            fs = self.story.functions.get(frame_key) if frame_key else None
            if fs is not None and fs.name != name:
                fs = None  # another process's frame 0 (concatenated logs, other ranks)
            if fs is None:
                if len(self.story.functions) >= MAX_FUNCTIONS:
                    self.story.overflow += 1
                    return None
                fs = self.story.functions[key] = FunctionStory(name, location, first_line=lineno)
        if compile_id:
            if len(self._frame_names) >= MAX_REMEMBERED:
                self._frame_names.clear()
            self._frame_names.setdefault(compile_id.split("/")[0], f"{fs.name} {fs.location}")
        return fs

    def feed(self, lineno: int, first: Line, rest: list[str]) -> None:
        """One record: its first line parsed, and the messages of its continuation lines."""
        msg = first.message
        if "Recompiling function" in msg and (m := RECOMPILING_RX.search(msg) or RECOMPILING_OLD_RX.search(msg)):
            failures = self._failures(rest)
            if not failures and (old := OLD_TRIGGER_RX.search(msg)):
                failures = [old.group("failure")]
            fs = self._function(m.group("name"), m.group("file").strip(), m.group("line"), lineno, first.compile_id)
            if fs is not None:
                fs.recompiles += 1
                fs.add_recompile(failures)
        elif " hit " in msg and (m := LIMIT_RX.search(msg)):
            self._limit(m, lineno, first, rest)
        elif "fail_on_recompile" in msg and (m := FAIL_ON_RECOMPILE_RX.search(msg)):
            fs = self._function(m.group("name"), m.group("file"), m.group("line"), lineno, first.compile_id)
            if fs is not None:
                fs.recompiles += 1
                fs.failed_recompile = True
                fs.add_recompile(self._failures(rest))
        elif "FailOnRecompileLimitHit" in msg:
            # raised right after the limit record (fail_on_recompile_limit_hit, or fullgraph=True)
            if self._last_limit_hit is not None:
                self._last_limit_hit.failed_recompile = True
        elif "Graph break" in msg and ((at := GB_AT_RX.search(msg)) or GB_OLD_RX.search(msg)):
            self._graph_break(msg, first, rest, at)
        else:
            self.feed_line(first)

    def _failures(self, rest: list[str]) -> list[str]:
        """The failed guards of a recompile record: with recompiles_verbose, guard 0 (the newest entry) first."""
        failures = []
        for text in rest:
            s = text.strip()
            if s.startswith("- User stack trace") or s.startswith("-   ") or GUARD_GROUP_RX.match(s):
                continue
            if m := FAILURE_RX.match(s):
                failures.append(m.group("failure"))
        return failures

    def _limit(self, m: re.Match, lineno: int, first: Line, rest: list[str]) -> None:
        if m.group("old_limit"):
            fs = self._function(m.group("name"), m.group("file"), m.group("line"), lineno, first.compile_id)
            limit, kind = int(m.group("old_limit")), "cache_size_limit"
        else:
            limit, kind = int(m.group("limit")), m.group("kind")
            func = next((f for t in rest if (f := LIMIT_FUNCTION_RX.match(t.strip()))), None)
            fs = None
            if func is not None:
                fs = self._function(
                    func.group("name"), func.group("file"), func.group("line"), lineno, first.compile_id
                )
        if kind in PER_FUNCTION_LIMITS:
            # the process's limit, as its own log says: it holds for every compiled function of this process
            self.story.log_limit = (limit, kind)
        if fs is None:
            return
        fs.limit, fs.limit_kind, fs.limit_from, fs.hit_limit = limit, kind, "log", True
        self._last_limit_hit = fs
        if not fs.guards:  # a log without TORCH_LOGS=recompiles: the last reason is all there is
            last = next((r for t in rest if (r := LAST_REASON_RX.match(t.strip()))), None)
            if last:
                fs.add_recompile([COMPILE_ID_PREFIX_RX.sub("", last.group("failure"))])

    # -- graph breaks

    def _graph_break(self, msg: str, first: Line, rest: list[str], at: re.Match | None) -> None:
        frame = at.group("frame") if at else None
        reason = None
        if not at and (old := GB_OLD_RX.search(msg)) and old.group("reason"):
            reason = old.group("reason")
        lines = [t.rstrip() for t in rest]
        for i, text in enumerate(lines):
            s = text.strip()
            if reason is None and (r := GB_REASON_RX.match(s)):
                reason = r.group("reason")
            if EXPLANATION_RX.match(text) and i > 0:
                # the graph-break type is the line before "  Explanation:" (torch >= 2.7)
                gb_type = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), None)
                if gb_type:
                    reason = gb_type
            if reason is None and (u := UNSUPPORTED_RX.search(s)):
                reason = u.group("reason")
        if frame is None and lines:
            files = [FILE_LINE_RX.search(t) for t in lines]
            last = [f for f in files if f]
            if last:
                frame = f"{last[-1].group('file')}:{last[-1].group('line')}"
        reason = (reason or "reason not logged").strip()
        if reason.startswith("Encountered graph break when attempting to trace"):
            reason = reason.rstrip(":")
        key = (first.compile_id, frame or "?")
        if key in self._breaks_seen and first.compile_id:
            return  # the same break logged twice (a duplicate-stack record)
        if len(self._breaks_seen) >= MAX_REMEMBERED:
            self._breaks_seen.clear()
        self._breaks_seen.add(key)
        group = self.story.graph_breaks.get(reason)
        if group is None:
            if len(self.story.graph_breaks) >= MAX_GROUPS:
                self.story.overflow += 1
                return
            gb = self.registry.lookup(reason, " ".join(lines), True) if self.registry is not None else None
            group = self.story.graph_breaks[reason] = GraphBreakGroup(
                reason, gb.gb_id if gb else None, gb.url if gb else None
            )
        group.count += 1
        frame = frame or "?"
        if frame not in group.frames and len(group.frames) >= MAX_FRAMES:
            frame = "(other frames)"
        group.frames[frame] += 1

    # -- single lines: partitions and CUDA-graph skips

    def feed_line(self, line: Line) -> None:
        msg = line.message
        if "graph partitions" in msg and (m := PARTITIONS_RX.search(msg)):
            self.story.partitions_created += int(m.group("n"))
            self.story.partitions_non_cudagraphable += int(m.group("bad"))
        elif m := OP_REASON_RX.match(msg):
            self._partition_reason(m.group("reason"), m.group("op"))
        elif "cudagraph" in msg and (m := SKIP_CUDAGRAPHS_RX.search(msg)):
            reason = m.group("reason")
            if FOUND_FROM in reason:
                reason = reason[: reason.index(FOUND_FROM)]
            reason = reason.strip()
            while reason.startswith("skipping cudagraphs due to "):  # inductor nests the prefix
                reason = reason[len("skipping cudagraphs due to ") :]
            reason = NUM_RX.sub("N", reason)  # "mutated inputs (3 instances)": one reason
            if reason in self.story.cudagraph_skips or len(self.story.cudagraph_skips) < MAX_GROUPS:
                self.story.cudagraph_skips[reason] += 1
            else:
                self.story.overflow += 1

    def _partition_reason(self, reason: str, op: str) -> None:
        _, reasons = story_data()
        known: PartitionReason | None = next((p for p in reasons if p.pattern.search(reason)), None)
        key = known.id if known else reason
        pf = self.story.partition_findings.get(key)
        if pf is None and len(self.story.partition_findings) >= MAX_GROUPS:
            self.story.overflow += 1
            return
        if pf is None:
            if known:
                m = known.pattern.search(reason)
                groups = m.groupdict() if m is not None else {}
                finding = known.finding.format(**{k: v for k, v in groups.items() if v})
            else:
                finding = "inductor kept this op out of the CUDA graph (reason not in gpudiag's table)"
            pf = self.story.partition_findings[key] = PartitionFinding(reason, finding, bool(known and known.benign))
        pf.count += 1
        if op not in pf.ops and len(pf.ops) < 10:
            pf.ops.append(op)

    def finish(self) -> Story:
        """The story, each function's limit filled in: the one this process's log showed when some function
        hit it (recompile_limit and cache_size_limit are per function but set once per process), else the
        installed torch's default."""
        limit, source = installed_recompile_limit()
        self.story.default_limit = limit
        for fs in self.story.functions.values():
            if fs.limit is not None:
                continue
            if self.story.log_limit is not None:
                fs.limit, fs.limit_kind = self.story.log_limit
                fs.limit_from = "log"
            elif limit is not None:
                fs.limit, fs.limit_kind, fs.limit_from = limit, "recompile_limit", source
        return self.story


def rank_order(label: str | None) -> tuple:
    """rank2 before rank10; 'pid 716' after the ranks; lines without a rank last."""
    if label is None:
        return (2, ())
    return (
        1 if label.startswith("pid ") else 0,
        tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", label)),
    )


def _names(ranks: list[str | None]) -> str:
    labels = [r or "lines without a rank" for r in ranks]
    if len(labels) > 5:
        return f"{', '.join(labels[:3])} and {len(labels) - 3} more"
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def diverge(stories: dict[str | None, Story]) -> list[str]:
    """Where the ranks' (or processes') stories differ, one sentence each: a function that recompiled on
    some ranks only or a different number of times, a limit hit on some only, a guard class that failed
    on some only, a graph break on some only or a different number of times."""
    ranks = sorted(stories, key=rank_order)
    out: list[str] = []
    if len(ranks) > MAX_DIVERGE_RANKS:
        return [f"{len(ranks)} ranks or processes: too many to compare one by one (each has its story above)"]
    keys = list(dict.fromkeys(k for r in ranks for k in stories[r].functions))
    for key in keys:
        per = {r: fs for r in ranks if (fs := stories[r].functions.get(key)) is not None}
        present = [r for r in ranks if r in per and per[r].recompiles]
        any_fs = next(iter(per.values()))
        name = f"{any_fs.name} ({any_fs.location})"
        counts = {r: per[r].recompiles for r in present}
        if present and len(present) < len(ranks):
            missing = [r for r in ranks if r not in present]
            out.append(
                f"{name} recompiled on {_names(present)} "
                f"({', '.join(f'{counts[r]}x' for r in present)}), not on {_names(missing)}"
            )
        elif len(set(counts.values())) > 1:
            out.append(f"{name} recompiled {', '.join(f'{counts[r]} times on {r}' for r in present)}")
        hit = [r for r in ranks if r in per and per[r].hit_limit]
        if hit and len(hit) < len(ranks):
            kind = per[hit[0]].limit_kind or "the recompile limit"
            out.append(f"{name} hit {kind} on {_names(hit)} only")
        classes: dict[str, list[str | None]] = {}
        for r in present:
            for cid in per[r].guards:
                classes.setdefault(cid, []).append(r)
        for cid, on in classes.items():
            if len(on) < len(present):
                title = next(per[r].guards[cid].finding.title for r in on)
                out.append(f"{name}: guard '{title}' failed on {_names(on)} only")
    limits = {r: lim for r in ranks if (lim := stories[r].log_limit) is not None}
    if len(set(limits.values())) > 1:
        out.append("the recompile limit differs: " + ", ".join(f"{k} {v} on {r}" for r, (v, k) in limits.items()))
    reasons = list(dict.fromkeys(g for r in ranks for g in stories[r].graph_breaks))
    for reason in reasons:
        counts = {r: stories[r].graph_breaks[reason].count for r in ranks if reason in stories[r].graph_breaks}
        if len(counts) < len(ranks):
            out.append(f"graph break '{reason}' on {_names(list(counts))} only")
        elif len(set(counts.values())) > 1:
            out.append(f"graph break '{reason}': " + ", ".join(f"{n}x on {r}" for r, n in counts.items()))
    if len(out) > MAX_DIVERGENCES:
        out = [*out[:MAX_DIVERGENCES], f"... and {len(out) - MAX_DIVERGENCES} more differences"]
    return out
