"""What one distinct line of a log is, decided once for every line with the same key (its bytes
without the digits): skipped (and why), explained, unknown, or one that needs its neighbours (it opens
a record, a traceback, a story record, or waits for the exception a compiler wrapper names on the
next line). The scanner (gpudiag/explain/scan.py) counts and follows the lines by these decisions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gpudiag.explain import normalize
from gpudiag.explain.matcher import Match, Matcher
from gpudiag.explain.normalize import Line
from gpudiag.explain.prefilter import BASE_TOKENS, digit_free
from gpudiag.explain.story import StoryBuilder

SKIP_BLANK = "blank or only digits"
SKIP_NO_TOKEN = "no error/warning/exception token and no compile-stack name"
NUM_RX = re.compile(r"0x[0-9a-fA-F]+|\d+(?:\.\d+)?")
UNKNOWN_TEXT_RX = re.compile(r"Warning|WARNING|Error|ERROR|Exception")
TRACEBACK_HEAD = "Traceback (most recent call last)"
WRAPPER_END_RX = re.compile(r"backend=['\"‘’]?\w+['\"‘’]? raised:\s*$")
GLOG_HEADER_RX = re.compile(r"^[IWEVDFC]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+:\d+\] ")
# A glog warning/error header in a line's key (its digits removed: "W1123 07:45:26.064000 736 f.py:1]"
# is "W :: .  f.py:]"), wherever runner prefixes put it.
GLOG_WE_KEY_RX = re.compile(rb"(?:^|[^A-Za-z])[WEF] ::\.\s+\S+:\]")

SKIP, KNOWN, UNKNOWN, CONTEXT = 0, 1, 2, 3


@dataclass(slots=True, eq=False)
class Decision:
    """What every line with one key (its bytes without digits) is, decided at its first occurrence."""

    mode: int  # SKIP, KNOWN, UNKNOWN (counted where they stand) or CONTEXT (handled per occurrence)
    skip: str | None = None  # the reason, for SKIP
    match: Match | None = None
    text: str = ""  # the first occurrence, as shown
    message: str = ""  # its message
    runner: bool = False  # a runner prefix (or a colour) before it: its header is found per occurrence
    unknown_key: str = ""
    unknown_kind: str = "warning"
    warning: bool = False  # a warning/error line (level, category or exception)
    opens: str | None = None  # the record it opens: "glog" | "pylog" | "bare" | None
    story: bool = False
    traceback: bool = False
    wrapper: bool = False
    segmented: bool = False  # a progress bar redrawn before it ("\r"): each segment is a line


PENDING = Decision(CONTEXT)  # has a token: decided when its first occurrence is seen
BLANK = Decision(SKIP, SKIP_BLANK)
NO_TOKEN = Decision(SKIP, SKIP_NO_TOKEN)


def group_key(message: str) -> str:
    """Unknown lines that differ only in numbers (shapes, pids, line numbers) group together."""
    return NUM_RX.sub("N", message.strip())[:200]


def is_warningish(line: Line) -> bool:
    """A warning/error line, or one whose text says Warning, Error or Exception."""
    return line.is_warning_or_error or bool(UNKNOWN_TEXT_RX.search(line.message if line.level else line.text))


def glog_header(header: str) -> str:
    """The glog header every line of a record repeats (time, pid, file:line, compile id and artifact tags),
    without the spaces after it (the continuation lines' indentation); "" for any other header."""
    return header.rstrip() if GLOG_HEADER_RX.match(header) else ""


def names_the_stack(text: str) -> bool:
    """An error word or a compile-stack name (BASE_TOKENS) in the text, or a glog warning/error header."""
    key = digit_free(text)
    low = key.lower()
    return any(t in low for t in BASE_TOKENS) or GLOG_WE_KEY_RX.search(key) is not None


def decide_line(matcher: Matcher, line: Line, names_stack: bool = False) -> Decision:
    """What a line is. names_stack: its key is known to hold an error word or a compile-stack name."""
    match = matcher.match_line(line)
    if match is None:
        if not line.message:
            return BLANK  # a logger header with nothing after it
        if (
            not (names_stack and not line.runner)
            and not is_warningish(line)
            and not names_the_stack(normalize.split_runner(line.text)[2] if line.runner else line.text)
        ):
            # a needle's word but nothing the matcher answers, no error word and no compile-stack name
            # (or only in the runner's prefix: "triton-server-1  | step 3")
            return NO_TOKEN
    warning = line.is_warning_or_error
    story = StoryBuilder.starts_record(line.message)
    traceback = line.message.startswith(TRACEBACK_HEAD)
    wrapper = WRAPPER_END_RX.search(line.message) is not None
    unknown_kind = "warning" if is_warningish(line) else "other"
    opens = None
    if not line.indented and (warning or unknown_kind == "warning" or (match is not None and line.level is None)):
        glog = glog_header(line.header)
        opens = "glog" if glog else ("pylog" if line.header else "bare")
    d = Decision(
        KNOWN if match is not None else UNKNOWN,
        match=match,
        text=line.text,
        message=line.message,
        runner=bool(line.runner) or "\x1b" in line.text,
        unknown_key="" if match is not None else group_key(line.message),
        unknown_kind=unknown_kind,
        warning=warning,
        opens=opens,
        story=story,
        traceback=traceback,
        wrapper=wrapper,
    )
    if story or traceback or wrapper or opens is not None:
        d.mode = CONTEXT
    return d
