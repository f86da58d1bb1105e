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
vLLM's ``ERROR 04-03 06:14:31 [core.py:1108]`` headers. What CI systems, launchers, container
runtimes and log collectors put before a whole line is peeled off first (:func:`split_runner`: CI
timestamps, a runner's clock, journald, srun, docker compose, torch's and torchrun's rank tags,
pytest's ``E`` and ``FAILED x.py::t - ``, ComfyUI's ``!!! Exception during processing !!!`` ...); the
prefixes that name a process give the line its ``rank``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# CSI colour/cursor codes, and the OSC/APC strings some CI systems write before a line (Buildkite's
# "\x1b_bk;t=1717197163783\x07" timestamp).
ANSI_RX = re.compile(r"\x1b(?:\[[0-9;?]*[A-Za-z]|[\]_P^][^\x07\x1b]*(?:\x07|\x1b\\))")

# ------------------------------------------------------------------ runner and launcher prefixes
#
# What runs a program puts before each line it wrote, in front of the program's own logger header, any
# number of them and in any order ("2024-05-31T23:12:43.7832053Z [default0]:[rank0]:W0531 ..."). Each
# pattern consumes its own separator and no more, so a line's indentation after the prefix survives. A
# ``rank`` group names the process that wrote the line (see :func:`split_runner`).
_SYSLOG_TIME = r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?"
_LEVELS = r"(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)"
RUNNER_PATTERNS: tuple[tuple[str, str, re.Pattern], ...] = tuple(
    # matched with pattern.match(text, pos) as prefixes nest, where "^" would not match: the anchors go
    (name, first, re.compile(re.sub(r"(^|\|)\^", r"\1", rx)))
    for name, first, rx in (
        # journald / syslog ("journalctl", short and short-iso/precise): "Dec 07 12:00:01 host python[1234]: "
        (
            "journald",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
            rf"^(?:{_SYSLOG_TIME}|\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?) "
            r"[\w.-]+ (?P<rank>[\w.@/-]+\[\d+\]): ",
        ),
        # RFC 3339 timestamps: GitHub Actions and Azure ("2024-05-31T23:12:43.7832053Z "), `kubectl logs
        # --timestamps` and `docker logs -t` (nanoseconds), GitLab's "... 00O " stream marker after one
        (
            "iso-time",
            "0123456789",
            r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?(?: \d\d[OE]\+?)?\s",
        ),
        # a date and time before a logging level ("2024-05-31 23:12:43,123 WARNING ...", DeepSpeed's
        # "[2024-05-31 23:12:43,123] [INFO] "); a bare date is left alone (other tools' formats start with one)
        (
            "asctime",
            "[0123456789",
            rf"^(?:\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d(?:[.,]\d+)?|\[\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d(?:[.,]\d+)?\]) (?=\[?{_LEVELS}\b)",
        ),
        # `ts` (moreutils) and other syslog-style clocks without a host: "May 31 23:12:43 "
        ("syslog-time", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", rf"^{_SYSLOG_TIME} "),
        # a runner's clock ("[01:17:10.938]: "), Jenkins' timestamper ("[2024-05-31T23:12:43.783Z] "), a bare
        # "23:12:43 " clock
        (
            "clock",
            "[0123456789",
            r"^(?:\[(?:\d\d:\d\d:\d\d(?:[.,]\d+)?|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)\]:?"
            r"|\d\d:\d\d:\d\d(?:[.,]\d+)?)\s",
        ),
        # torch's own "[rank3]:" (torch.distributed initialised), Lightning's "[rank: 1] ", OpenMPI's
        # --tag-output "[1,3]<stdout>:"
        ("rank", "[", r"^\[(?:rank(?P<rank>\d+)\]:?|rank: ?(?P<rank2>\d+)\]|\d+,(?P<rank3>\d+)\]<std(?:out|err)>:)\s?"),
        # torchrun --tee / --local-ranks-filter "[default0]:", a job launcher's role tag ("[trainer0]:"; the
        # colon is required for names other than torchrun's, so a bracketed word in a message is not one)
        ("role", "[", r"^\[(?P<rank>(?:default|local_rank)\d+)\]:?\s?|^\[(?P<rank2>[A-Za-z_][\w-]*\d+)\]:\s?"),
        # `kubectl logs --prefix`: "[pod/trainer-0/pytorch] "
        ("kubectl", "[", r"^\[(?P<rank>pod/[^\]\s]+)\] "),
        # Ray and vLLM workers: "(RayWorkerWrapper pid=1234, ip=10.0.0.1) ", "(EngineCore_DP0 pid=12) "
        ("worker", "(", r"^\((?P<rank>(?:[A-Za-z]\w* )?pid=\d+)(?:, ip=[\d.:a-f]+)?\)\s"),
        # docker compose: "trainer-1  | " (v2), "trainer_1  | " (v1), coloured or not
        (
            "compose",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            r"^(?P<rank>[A-Za-z0-9][\w.-]*[-_]\d+)\s+\| ",
        ),
        # srun --label: "0: ", " 3: ", "12: " (the task number)
        ("srun", " 0123456789", r"^ *(?P<rank>\d{1,5}): "),
        # a tqdm bar glued to the line ("[00:00<?, ?it/s]")
        ("progress", "", r"^[^\[\]]*\[\d\d:\d\d<[^\]]*\]"),
        # GitHub Actions annotations: "##[error]", "##[warning]"
        ("annotation", "#", r"^##\[(?P<level>error|warning|notice|debug|group|endgroup)\]"),
        # pytest: "E   <exception line>", the short summary "FAILED tests/x.py::test_y - "
        ("pytest", "EF", r"^E {2,}(?=\S)|^(?:FAILED|ERROR) \S+::\S+ - "),
        # ComfyUI's error prefix
        ("comfyui", "!", r"^!!! Exception during processing !!!\s"),
    )
)
RUNNER_FIRST = frozenset("".join(first for _, first, _ in RUNNER_PATTERNS if first))
# The patterns a line's first character allows, in order; a tqdm bar (no fixed first character) is
# tried only on lines holding "<".
_BY_FIRST = {c: tuple(p for p in RUNNER_PATTERNS if c in p[1]) for c in RUNNER_FIRST}
_PROGRESS = next(p for p in RUNNER_PATTERNS if not p[1])
RANK_LABEL = {"rank": "rank{}", "srun": "task {}"}
TORCHRUN_TAGS_RX = re.compile(r"(?:\[(?:rank|default|local_rank)\d+\]:?)+ ?")
ANNOTATION_LEVEL = {"error": "E", "warning": "W"}
# One match that rules out every prefix above on most lines (a glog or logging header, a message), so
# only lines that may carry one go through the patterns one by one.
RUNNER_MAYBE_RX = re.compile(
    r"\d{4}-\d\d-\d\d[T ]|\[(?:\d|rank|default|local_rank|pod/|[A-Za-z_][\w-]*\d+\]:)|[A-Z][a-z]{2} [ \d]\d "
    r"|\d\d:\d\d:\d\d|\(|[A-Za-z0-9][\w.-]*[-_]\d+\s+\| | *\d{1,5}: |##\[|E  |(?:FAILED|ERROR) \S+::|!!! "
)


def _split_runner(text: str) -> tuple[str, str | None, int, str | None]:
    pos, ranks, level = 0, [], None
    for _ in range(8):  # prefixes nest: "2024-05-31T23:12:43Z trainer-1  | [default0]:[rank0]:W0531 ..."
        if text[pos : pos + 1] == "[" and (tags := TORCHRUN_TAGS_RX.match(text, pos)):
            # the usual case on multi-rank logs, in one match: torchrun's and torch's own tags
            for tag in tags.group(0).replace("[", " ").replace("]", " ").replace(":", " ").split():
                ranks.append(tag)
            pos = tags.end()
            continue
        candidates = _BY_FIRST.get(text[pos : pos + 1], ())
        if "<" in text[pos : pos + 120]:
            candidates = (*candidates, _PROGRESS)
        m, name = None, ""
        for candidate, _, rx in candidates:
            if (m := rx.match(text, pos)) and m.end() > pos:
                name = candidate
                break
            m = None
        if m is None:
            break
        if m.lastindex:
            groups = m.groupdict()
            label = groups.get("rank") or groups.get("rank2") or groups.get("rank3")
            if label is not None:
                ranks.append(RANK_LABEL[name].format(label) if name in RANK_LABEL else label)
            if name == "annotation":
                level = ANNOTATION_LEVEL.get(groups["level"], level)
        pos = m.end()
    return text[:pos], " ".join(ranks) or None, pos, level


def split_runner(text: str) -> tuple[str, str | None, str, str | None]:
    """What runners put before a line, peeled off: (the prefixes, the rank they name, the rest, a level).

    The rank joins every launcher label on the line ("default0 rank0", "task 3", "trainer-1",
    "python[1234]"); None when no prefix names a process. The rest keeps its indentation. The level is
    what a GitHub annotation ("##[error]") says, else None.
    """
    if (text[:1] not in RUNNER_FIRST or RUNNER_MAYBE_RX.match(text) is None) and "<" not in text[:120]:
        return "", None, text, None
    prefix, rank, pos, level = _split_runner(text)
    return prefix, rank, text[pos:], level


# glog, as torch has logged since 2.2: level letter, MMDD, time, thread id, file:line]
GLOG_RX = re.compile(r"^([IWEVDFC])\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ (\S+):(\d+)\] ?")
# The common case in one match: optional launcher tag, glog header, compile-id and artifact tags.
GLOG_LINE_RX = re.compile(
    r"^(?:\[(?P<rank>rank\d+|default\d+|local_rank\d+)\]:?\s?)?([IWEVDFC])\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ "
    r"(\S+):\d+\] ?((?:\[(?:!?\d+/\d+(?:_\d+)?|__\w+)\] ?)*)\s*"
)
# A glog header whose path was cut to ".../file.py:12]" when pasted.
GLOG_CUT_RX = re.compile(r"^\.\.\.(/\S*?):(\d+)\] ?")
# torch 2.0-2.1: "[2023-03-20 07:29:05,653] [0/0] torch._inductor.graph: [ERROR] message"
OLD_TORCH_RX = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+\](?: \[[^\]]*\])? ([A-Za-z_][\w.]*): \[(\w+)\] ?")
# Python logging's default format "WARNING:torch._inductor.utils:message" and "[WARNING]:message".
PY_LOGGING_RX = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL):(?:([A-Za-z_][\w.]*):)?")
PY_LOGGING_BRACKET_RX = re.compile(
    r"^\[(DEBUG|INFO|WARNING|ERROR|CRITICAL)\]:?\s?(?:\[([\w./\\-]+\.py):\d+(?::[\w<>]+)?\]\s?)?"
)
# Hugging Face's examples and accelerate: "05/31/2024 23:12:43 - WARNING - __main__ - message"
HF_LOGGING_RX = re.compile(
    r"^(?:\d\d/\d\d/\d{4} \d\d:\d\d:\d\d(?:[.,]\d+)? - )?(DEBUG|INFO|WARNING|ERROR|CRITICAL) - ([A-Za-z_][\w.]*) - "
)
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
    runner: str = ""  # what a runner or launcher put before the line (timestamps, rank tags; see split_runner)
    rank: str | None = None  # the process the runner prefixes name ("rank3", "default0 rank0", "task 2")

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
    stripped = text.strip()
    if m := GLOG_LINE_RX.match(stripped):
        return _glog_line(text, stripped, m)
    runner, rank, rest, level = split_runner(text)
    if runner:
        stripped = rest.strip()
        if m := GLOG_LINE_RX.match(stripped):
            return _glog_line(text, stripped, m, runner, rank)
    s = stripped
    emitter = category = compile_id = None
    tags: list[str] = []
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
            if m.group(2):  # DeepSpeed's "[INFO] [engine.py:1234:step] "
                emitter = module_of_path(m.group(2))
    elif first in "DIWEC" and (m := VLLM_RX.match(s)):
        level = LEVELS[m.group(1)]  # the emitter is vLLM's file, not a torch module: no family by emitter
    elif first in "DIWEC" and (m := LEVEL_LOGGER_RX.match(s) or PY_LOGGING_RX.match(s)):
        level = LEVELS[m.group(1)]
        if m.group(2):
            emitter, logger_tags = _logger_module(m.group(2))
            tags.extend(logger_tags)
    elif " - " in s[:80] and (m := DASHED_LOGGING_RX.match(s) or HF_LOGGING_RX.match(s)):
        if m.re is HF_LOGGING_RX:
            level, name = LEVELS[m.group(1)], m.group(2)
        else:
            level, name = LEVELS[m.group(2)], m.group(1)
        emitter, logger_tags = _logger_module(name) if not name.startswith("__") else (name, ())
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
    indented = header[-2:] == "  " if header else (rest if runner else text)[:1] in (" ", "\t")
    if "Warning: " in s and (m := PY_WARNING_RX.match(s)):
        category = m.group(3)
        if m.group(1):
            emitter = emitter or module_of_path(m.group(1)) or None
        s = s[m.end() :]
    message = s.strip()
    exceptions, inner = _unwrap(message) if _may_wrap(message) else ((), message)
    return Line(
        text,
        message,
        level,
        emitter,
        tuple(tags),
        compile_id,
        category,
        exceptions,
        inner,
        header,
        indented,
        runner,
        rank,
    )


def _glog_line(text: str, stripped: str, m: re.Match, runner: str = "", rank: str | None = None) -> Line:
    """:func:`parse` for the usual glog line, from one match (the layered path gives the same answer)."""
    level, path, tag_text = m.group(2, 3, 4)
    if m.group("rank"):  # torch's own "[rank3]:" (or torchrun's "[default0]:") in the fast path
        tag = m.group("rank")
        runner += stripped[: m.start(2)]
        rank = f"{rank} {tag}" if rank else tag
        stripped = stripped[m.start(2) :]
        cut = m.end() - m.start(2)
    else:
        cut = m.end()
    tags: tuple[str, ...] = ()
    compile_id = None
    if tag_text:
        for tag in tag_text.split("]")[:-1]:  # "[0/1] [__recompiles] " -> "[0/1", " [__recompiles"
            tag = tag.lstrip(" [")
            if tag[:2] == "__":
                tags += (tag.strip("_"),)
            else:
                compile_id = tag.lstrip("!")
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
        runner,
        rank,
    )


def _may_wrap(message: str) -> bool:
    return ": " in message or message[-5:] in ("Error", "ption") or message[:8] == "backend="


# What wrappers put between their class name and the wrapped exception: BackendCompilerFailed's
# "backend='inductor' raised:" and torch 2.0's "debug_wrapper raised" / "compile_fn raised" (no colon).
RAISED_BY_RX = re.compile(r"^(?:backend=['\"‘’]?\w+['\"‘’]?|[a-z_]\w*) raised:?\s*(?=[A-Z_a-z])")


# torch's and Triton's own exception classes, named inside a line after the user's words ("Pippy example
# error: torch._dynamo.exc.Unsupported: ...", an issue title "... error (Unsupported: hasattr ...)", a
# line quoted in backticks): a qualified torch/Triton class starting a word, or a bare class name only
# torch raises right after an opening bracket, quote or backtick (a bare "Unsupported: " after other
# words is too common in other tools' messages). Either is followed by ": ".
EMBEDDED_EXCEPTION_RX = re.compile(
    r"(?:(?<=[\s(\[`'\"])|^)((?:torch|triton)(?:\.[a-z_]\w*)+\.[A-Z]\w*): (?=\S)"
    r"|(?<=[(\[`'\"])(Unsupported|StepUnsupported|BackendCompilerFailed|InductorError|LoweringException"
    r"|TorchRuntimeError|InternalTorchDynamoError|UncapturedHigherOrderOpError|GuardOnDataDependentSymNode"
    r"|ConstraintViolationError|CppCompileError|CUDACompileError|FailOnRecompileLimitHit|InfiniteGeneratorError"
    r"|RecompileError): (?=\S)"
)
# What closes a quote or bracket the embedded exception was opened with: "(Unsupported: x)" -> "x"
CLOSER = {"(": ")", "[": "]", "`": "`", "'": "'", '"': '"'}


def _may_embed(text: str) -> bool:
    """A cheap test that the text may quote a torch exception (it runs on every log line with ": ")."""
    # the class names' endings, not "torch.": torch's own log messages name torch modules all the time
    return (
        "Unsupported: " in text
        or "Error: " in text
        or "Exception: " in text
        or "Failed: " in text
        or "Node: " in text
        or "Hit: " in text
        or "Resources: " in text
        or "Frame: " in text
    )


def _embedded(message: str) -> tuple[str, str] | None:
    """The part of a line from the torch exception it quotes on (and the closer to drop), or None."""
    m = EMBEDDED_EXCEPTION_RX.search(message, 1)
    if m is None:
        return None
    opener = message[m.start() - 1]
    return message[m.start() :], CLOSER.get(opener, "")


def _unwrap(message: str) -> tuple[tuple[str, ...], str]:
    """The exception chain of ``A: B: C: text`` (outermost first) and the innermost message.

    A message that starts with ``backend='inductor' raised:`` is BackendCompilerFailed's own text (its
    class name was on the line above, or cut off), so the chain starts with that class. A line that
    quotes a torch exception after words of its own (see :data:`EMBEDDED_EXCEPTION_RX`) is unwrapped
    from that exception on.
    """
    chain: list[str] = []
    rest = message
    closer = ""
    if rest[:8] == "backend=" and (m := WRAPPER_RX.match(rest)):
        chain.append("BackendCompilerFailed")
        rest = rest[m.end() :]
    while len(chain) < 6:
        m = EXCEPTION_RX.match(rest)
        if not m or not _is_exception(m.group(1)):
            if chain or closer or not _may_embed(rest) or not (found := _embedded(rest)):
                break
            # no exception at the start: one the line quotes after words of its own
            rest, closer = found
            continue
        chain.append(m.group(1))
        rest = rest[m.end() :].lstrip()
        if (r := RAISED_BY_RX.match(rest)) and (e := EXCEPTION_RX.match(rest[r.end() :])) and _is_exception(e.group(1)):
            rest = rest[r.end() :]
    inner = rest.strip() if chain and rest.strip() else message
    if (
        closer
        and inner != message
        and inner.endswith(closer)
        and inner.count(closer) > inner.count({")": "(", "]": "["}.get(closer, "\0"))
    ):
        inner = inner[: -len(closer)].rstrip()
    if chain and inner != message:
        # keep the innermost exception's own name with its message: "RuntimeError: text"
        inner = f"{chain[-1].rsplit('.', 1)[-1]}: {inner}"
    return tuple(chain), inner


def _is_exception(name: str) -> bool:
    """A qualified class name, a name ending like an exception's, or one of torch's bare ones."""
    return "." in name or bool(EXCEPTION_SUFFIX_RX.search(name)) or name in BARE_EXCEPTIONS
