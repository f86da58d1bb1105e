"""Every log format torch, dynamo, inductor and Triton have used, parsed once, before matching.

A pasted line or a log line arrives wrapped in layers: ANSI colours, a progress bar that a ``\\r``
overwrote, a launcher's rank tag (``[rank3]:``, torchrun's ``[default0]:``, vLLM's
``(EngineCore_DP0 pid=12)``), pytest's ``E   ``, a logger header (glog ``W1123 07:45:26.064000
736 torch/_inductor/utils.py:1250]``; torch <= 2.1's ``[2023-03-20 07:29:05,653] torch._inductor.graph:
[ERROR]``; Python's ``WARNING:torch._inductor.utils:``), compile-id and artifact tags (``[0/1]
[__recompiles]``), a Python warning's ``file.py:12: UserWarning:``, and exception wrappers
(``BackendCompilerFailed: backend='inductor' raised: RuntimeError: ...``). :func:`parse` peels them
off into a :class:`Line`: the message, who emitted it (a dotted module such as
``torch._inductor.utils``, from the logger name or the file path, Windows paths included), its level,
tags, warning category and the exception chain. Matching then looks only at the message, innermost
wrapped exception first. Also parsed: the Python logging cookbook's ``asctime - name - LEVEL -`` and
vLLM's ``ERROR 04-03 06:14:31 [core.py:1108]`` headers, and what CI and apps put before a whole line
(a GitHub Actions timestamp, a runner's ``[01:17:10.938]:`` clock, pytest's ``FAILED x.py::t - ``
summary, ComfyUI's ``!!! Exception during processing !!!``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

ANSI_RX = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Launcher prefixes, any number of them: [rank3]: / [rank3] (older torchrun), [default0]: (torchrun
# --tee), any role tag a job launcher adds the same way ("[trainer0]:[rank0]:"; the colon is required
# for names other than torchrun's, so a bracketed word in a message is not taken for one),
# (EngineCore_DP0 pid=12) (vLLM workers), a tqdm bar glued to the line ("[00:00<?, ?it/s]").
LAUNCHER_RX = re.compile(
    r"^(?:\[(?:rank|default|local_rank)\d+\]:?\s?|\[[A-Za-z_]+\d+\]:\s?|\([A-Za-z]\w* pid=\d+\)\s"
    r"|[^\[\]]*\[\d\d:\d\d<[^\]]*\])"
)
PYTEST_RX = re.compile(r"^E {2,}(?=\S)")
# Wrappers that CI systems, job runners and apps put before a whole line, any of them, in any order:
# a GitHub Actions timestamp ("2024-05-31T23:12:43.7832053Z "), a bracketed clock some runners and
# notebooks add ("[01:17:10.938]: "), pytest's short test summary ("FAILED tests/x.py::test_y - ") and
# ComfyUI's "!!! Exception during processing !!! ".
RUNNER_RX = re.compile(
    r"^(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\s|\[\d\d:\d\d:\d\d(?:[.,]\d+)?\]:?\s"
    r"|(?:FAILED|ERROR) \S+::\S+ - |!!! Exception during processing !!!\s)"
)
RUNNER_FIRST = frozenset("0123456789[FE!")
# glog, as torch has logged since 2.2: level letter, MMDD, time, thread id, file:line]
GLOG_RX = re.compile(r"^([IWEVDFC])\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ (\S+):(\d+)\] ?")
# The common case in one match: optional launcher tag, glog header, compile-id and artifact tags.
GLOG_LINE_RX = re.compile(
    r"^(?:\[(?:rank|default|local_rank)\d+\]:?\s?)?([IWEVDFC])\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ "
    r"(\S+):\d+\] ?((?:\[(?:!?\d+/\d+(?:_\d+)?|__\w+)\] ?)*)\s*"
)
# A glog header whose path was cut to ".../file.py:12]" when pasted.
GLOG_CUT_RX = re.compile(r"^\.\.\.(/\S*?):(\d+)\] ?")
# torch 2.0-2.1: "[2023-03-20 07:29:05,653] [0/0] torch._inductor.graph: [ERROR] message"
OLD_TORCH_RX = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+\](?: \[[^\]]*\])? ([A-Za-z_][\w.]*): \[(\w+)\] ?")
# Python logging's default format "WARNING:torch._inductor.utils:message" and "[WARNING]:message".
PY_LOGGING_RX = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL):(?:([A-Za-z_][\w.]*):)?")
PY_LOGGING_BRACKET_RX = re.compile(r"^\[(DEBUG|INFO|WARNING|ERROR|CRITICAL)\]:?\s?")
# torchdynamo's own repo (2022): "WARNING torchinductor.compile_fx: message"
LEVEL_LOGGER_RX = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) ([A-Za-z_][\w.]*): ")
# The Python logging cookbook's "%(asctime)s - %(name)s - %(levelname)s - %(message)s", which many
# training scripts and servers configure: "2025-07-16 17:42:26,498 - py.warnings - WARNING - msg".
DASHED_LOGGING_RX = re.compile(
    r"^(?:\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[,.]\d+)? - )?([A-Za-z_][\w.]*) - "
    r"(DEBUG|INFO|WARNING|ERROR|CRITICAL) - "
)
# vLLM's logger, the usual host of torch.compile errors in serving: "ERROR 04-03 06:14:31 [core.py:1108] msg"
VLLM_RX = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) \d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \[[^\]]+\] ")
# Compile ids and artifact tags, in any order: "[0/1] [__recompiles] ", "[__cudagraphs] [0/0_1] "
TAGS_RX = re.compile(r"^(?:\[(?:!?\d+/\d+(?:_\d+)?|__\w+)\] ?)+")
TAG_RX = re.compile(r"\[(!?\d+/\d+(?:_\d+)?|__\w+)\]")
# "/x/y.py:12: UserWarning: msg", "C:\\x\\y.py:12: UserWarning:", "UserWarning: msg"
PY_WARNING_RX = re.compile(r"^(?:(.*?\.pyw?):(\d+): )?([A-Z]\w*Warning): ")
# An exception line: "module.Class: text" or "Class: text" (which class names count: see _is_exception).
EXCEPTION_RX = re.compile(r"^((?:[A-Za-z_]\w*\.)*[A-Z]\w*)(?:: ?|$)")
EXCEPTION_SUFFIX_RX = re.compile(r"(?:Error|Exception|Failed|Warning|Exit|Interrupt)$")
WRAPPER_RX = re.compile(r"^backend=['\"‘’]?\w+['\"‘’]? raised:\s*")
PACKAGE_PATH_RX = re.compile(r"(?:^|[/\\])((?:torch|triton|torchinductor|torchdynamo)[/\\][^:]*?)\.py$")
LEVELS = {"DEBUG": "D", "INFO": "I", "WARNING": "W", "ERROR": "E", "CRITICAL": "C"}
GLOG_LEVELS = frozenset("IWEVDFC")
# Exception classes torch and Triton raise whose names do not say "Error": recognised bare.
BARE_EXCEPTIONS = frozenset(
    {
        "Unsupported",
        "OutOfResources",
        "GuardOnDataDependentSymNode",
        "BypassFxGraphCache",
        "FailOnRecompileLimitHit",
        "SkipFrame",
        "ShortenTraceback",
    }
)


@dataclass(slots=True)
class Line:
    """One line of a log, or one pasted line, with every known prefix parsed off."""

    text: str  # the line as shown: ANSI codes, NUL bytes and overwritten progress output removed
    message: str  # what the emitter said, without any prefix
    level: str | None = None  # one letter: D I W E C (V, F from glog)
    emitter: str | None = None  # dotted module ("torch._inductor.utils") or logger name
    tags: tuple[str, ...] = ()  # artifact tags without the underscores ("graph_breaks")
    compile_id: str | None = None  # "0/1"
    category: str | None = None  # Python warning category ("UserWarning")
    exceptions: tuple[str, ...] = ()  # exception chain, outermost first
    inner: str = ""  # the innermost wrapped message (the message itself when nothing is wrapped)
    header: str = ""  # the prefix removed before the message (repeated on every line of a record)
    indented: bool = False  # the message was indented after its prefix: a continuation or a traceback frame

    @property
    def texts(self) -> tuple[str, ...]:
        """What matching looks at: the innermost wrapped message first, then the whole message."""
        return (self.inner, self.message) if self.inner != self.message else (self.message,)

    @property
    def from_torch_or_triton(self) -> bool:
        root = (self.emitter or "").split(".", 1)[0]
        return root in ("torch", "triton", "torchinductor", "torchdynamo") or bool(self.tags)

    @property
    def is_warning_or_error(self) -> bool:
        return bool(self.level in ("W", "E", "C", "F") or self.category or self.exceptions)


def clean(raw: str) -> str:
    """ANSI codes, NUL bytes and the trailing newline removed."""
    text = ANSI_RX.sub("", raw) if "\x1b" in raw else raw
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text.rstrip("\r\n")


def segments(raw: str) -> list[str]:
    """The texts a line shows: a progress bar redrawn with ``\\r`` and the warning after it are two."""
    text = clean(raw)
    if "\r" not in text:
        return [text]
    return [part for part in text.split("\r") if part.strip()] or [""]


@functools.lru_cache(maxsize=1024)
def module_of_path(path: str) -> str | None:
    """``.venv/lib/python3.12/site-packages/torch/_inductor/utils.py`` -> ``torch._inductor.utils``."""
    m = PACKAGE_PATH_RX.search(path.strip().strip("\"'"))
    return m.group(1).replace("\\", "/").replace("/", ".") if m else None


@functools.lru_cache(maxsize=256)
def _logger_module(name: str) -> tuple[str, tuple[str, ...]]:
    """``torch._dynamo.convert_frame.__recompiles`` -> (``torch._dynamo.convert_frame``, (``recompiles``,))."""
    parts = name.split(".")
    tags = tuple(p.strip("_") for p in parts if p.startswith("__"))
    return ".".join(p for p in parts if not p.startswith("__")), tags


def parse(raw: str) -> Line:
    """The last text of the line (see :func:`segments`), parsed.

    Runs on every decoded log line, so each layer is tried only when its first character allows it.
    """
    if "\r" in raw or "\x1b" in raw or "\x00" in raw:
        text = segments(raw)[-1]
    else:
        text = raw.rstrip("\n")
    stripped = s = text.strip()
    if m := GLOG_LINE_RX.match(stripped):
        return _glog_line(text, stripped, m)
    level = emitter = category = compile_id = None
    tags: list[str] = []

    for _ in range(4):  # launcher prefixes nest: "[00:00<?, ?it/s][rank0]:W0202 ..."
        first = s[:1]
        m = (
            (LAUNCHER_RX.match(s) if first in "[(" or "<" in s[:120] else None)
            or (PYTEST_RX.match(s) if first == "E" else None)
            or (RUNNER_RX.match(s) if first in RUNNER_FIRST else None)
        )
        if not m or not m.group(0):
            break
        s = s[m.end() :].lstrip()
    first = s[:1]
    m = None
    if first in GLOG_LEVELS and (m := GLOG_RX.match(s)):
        level, emitter = m.group(1), module_of_path(m.group(2)) or m.group(2)
    elif first == "." and (m := GLOG_CUT_RX.match(s)):
        emitter = module_of_path(m.group(1)) or m.group(1)
    elif first == "[" and (m := OLD_TORCH_RX.match(s) or PY_LOGGING_BRACKET_RX.match(s)):
        if m.re is OLD_TORCH_RX:
            emitter, logger_tags = _logger_module(m.group(1))
            tags.extend(logger_tags)
            level = LEVELS.get(m.group(2).upper(), m.group(2)[:1].upper())
        else:
            level = LEVELS[m.group(1)]
    elif first in "DIWEC" and (m := VLLM_RX.match(s)):
        level = LEVELS[m.group(1)]  # the emitter is vLLM's file, not a torch module: no family by emitter
    elif first in "DIWEC" and (m := LEVEL_LOGGER_RX.match(s) or PY_LOGGING_RX.match(s)):
        level = LEVELS[m.group(1)]
        if m.group(2):
            emitter, logger_tags = _logger_module(m.group(2))
            tags.extend(logger_tags)
    elif " - " in s[:80] and (m := DASHED_LOGGING_RX.match(s)):
        level = LEVELS[m.group(2)]
        emitter, logger_tags = _logger_module(m.group(1))
        tags.extend(logger_tags)
    if m:
        s = s[m.end() :].lstrip()
    if s[:1] == "[" and (m := TAGS_RX.match(s)):
        for tag in TAG_RX.findall(m.group(0)):
            if tag.startswith("__"):
                tags.append(tag.strip("_"))
            else:
                compile_id = tag.lstrip("!")
        s = s[m.end() :].lstrip()
    header = stripped[: len(stripped) - len(s)]
    indented = header[-2:] == "  " if header else text[:1] in (" ", "\t")
    if "Warning: " in s and (m := PY_WARNING_RX.match(s)):
        category = m.group(3)
        if m.group(1):
            emitter = emitter or module_of_path(m.group(1)) or None
        s = s[m.end() :]
    message = s.strip()
    exceptions, inner = _unwrap(message) if _may_wrap(message) else ((), message)
    return Line(text, message, level, emitter, tuple(tags), compile_id, category, exceptions, inner, header, indented)


def _glog_line(text: str, stripped: str, m: re.Match) -> Line:
    """:func:`parse` for the usual glog line, from one match (the layered path gives the same answer)."""
    level, path, tag_text = m.group(1, 2, 3)
    tags: tuple[str, ...] = ()
    compile_id = None
    if tag_text:
        for tag in tag_text.split("]")[:-1]:  # "[0/1] [__recompiles] " -> "[0/1", " [__recompiles"
            tag = tag.lstrip(" [")
            if tag[:2] == "__":
                tags += (tag.strip("_"),)
            else:
                compile_id = tag.lstrip("!")
    cut = m.end()
    s = stripped[cut:]
    header = stripped[:cut]
    category = None
    if "Warning: " in s and (w := PY_WARNING_RX.match(s)):
        category = w.group(3)
        s = s[w.end() :]
    message = s.strip()
    exceptions, inner = _unwrap(message) if _may_wrap(message) else ((), message)
    return Line(
        text,
        message,
        level,
        module_of_path(path) or path,
        tags,
        compile_id,
        category,
        exceptions,
        inner,
        header,
        header[-2:] == "  ",
    )


def _may_wrap(message: str) -> bool:
    return ": " in message or message[-5:] in ("Error", "ption") or message[:8] == "backend="


# What wrappers put between their class name and the wrapped exception: BackendCompilerFailed's
# "backend='inductor' raised:" and torch 2.0's "debug_wrapper raised" / "compile_fn raised" (no colon).
RAISED_BY_RX = re.compile(r"^(?:backend=['\"‘’]?\w+['\"‘’]?|[a-z_]\w*) raised:?\s*(?=[A-Z_a-z])")


def _unwrap(message: str) -> tuple[tuple[str, ...], str]:
    """The exception chain of ``A: B: C: text`` (outermost first) and the innermost message.

    A message that starts with ``backend='inductor' raised:`` is BackendCompilerFailed's own text (its
    class name was on the line above, or cut off), so the chain starts with that class.
    """
    chain: list[str] = []
    rest = message
    if rest[:8] == "backend=" and (m := WRAPPER_RX.match(rest)):
        chain.append("BackendCompilerFailed")
        rest = rest[m.end() :]
    while len(chain) < 6:
        m = EXCEPTION_RX.match(rest)
        if not m or not _is_exception(m.group(1)):
            break
        chain.append(m.group(1))
        rest = rest[m.end() :].lstrip()
        if (r := RAISED_BY_RX.match(rest)) and (e := EXCEPTION_RX.match(rest[r.end() :])) and _is_exception(e.group(1)):
            rest = rest[r.end() :]
    inner = rest.strip() if chain and rest.strip() else message
    if chain and inner != message:
        # keep the innermost exception's own name with its message: "RuntimeError: text"
        inner = f"{chain[-1].rsplit('.', 1)[-1]}: {inner}"
    return tuple(chain), inner


def _is_exception(name: str) -> bool:
    """A qualified class name, a name ending like an exception's, or one of torch's bare ones."""
    return "." in name or bool(EXCEPTION_SUFFIX_RX.search(name)) or name in BARE_EXCEPTIONS
