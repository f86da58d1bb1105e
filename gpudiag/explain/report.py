"""explain-warning as data: what the user gave (a line, an id, a log, --list) -> one ExplainReport.

:func:`build` resolves the device, decides what the input is (catalogue id, torch graph-break id,
family id, or text), explains it and returns one :class:`ExplainReport` that owns its JSON
(``to_dict``) and its exit code. The CLI only parses options and renders.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpudiag.device.facts import DeviceFacts
from gpudiag.errors import EXIT_NO, EXIT_OK, EXIT_USAGE, GpudiagError
from gpudiag.explain import normalize
from gpudiag.explain.catalog import SEVERITIES, Catalogue, Entry, Fix, Source, families, fill, load
from gpudiag.explain.matcher import Match, Matcher, compile_evidence
from gpudiag.explain.registry import join_hints
from gpudiag.explain.verdicts import Verdict, verdict_for

if TYPE_CHECKING:
    # The log's scanner and story are loaded only for --log (and a guard line): one line's answer
    # does not pay for their import.
    from gpudiag.explain.scan import ScanResult
    from gpudiag.explain.story import GuardFinding, Story

SCHEMA = "gpudiag.explain-warning/1"
WORD_RX = re.compile(r"[A-Za-z_][A-Za-z_.]{2,}")
GB_ID_RX = re.compile(r"^GB\d{4}$", re.I)
PLACEHOLDER_RX = re.compile(r"\{[^{}]+\}")
GUARD_LINE_RX = re.compile(
    r"^(?:-\s+|last reason:\s+|.*(?:triggered by|due to) the following guard failures?:\s*(?:\[\[?['\"])?(?=\S))"
    r"(?:\d+/\d+:\s+)?(?P<failure>\S.*)$"
)
GUARD_ENTRIES = (
    "dynamo.guard-failure-detail",
    "dynamo.recompile-limit",
    "dynamo.fail-on-recompile",
    "dynamo.recompiling",
)
ORIGIN = {
    "catalogue": "gpudiag's catalogue (exact message)",
    "family": "family answer: the emitter is known, this exact message is not",
}


@dataclass
class Device:
    """The GPU verdicts were made for (or why there is none)."""

    name: str | None
    sm: str | None
    sm_count: int | None
    origin: str | None  # "live" | "catalogue" | None
    none_reason: str | None = None

    @classmethod
    def of(cls, facts: DeviceFacts | None, why: str | None) -> Device:
        if facts is None:
            return cls(None, None, None, None, why or "no GPU")
        return cls(facts.name, facts.sm, facts.sm_count, facts.origin)


# Verdicts true whoever printed the line (what the target's hardware has, which Triton releases have a
# name), so they stand in a general answer too.
STANDALONE_VERDICTS = (None, "ptx_feature", "api_release")


@dataclass
class Explanation:
    """What a line (or an id) means, where the explanation came from, and the verdict for this GPU."""

    match: Match
    line: str | None
    verdict: Verdict
    registry_label: str | None = None  # "torch 2.13.0 torch/_dynamo/graph_break_registry.json"
    guard: GuardFinding | None = None
    raised: bool = False  # the line is the Unsupported exception itself (fullgraph/export): fatal
    evidence: bool = True  # the line or the paste shows torch.compile / inductor / Triton at work
    culprit: dict[str, str] = field(default_factory=dict)  # what the message names, from the entry's patterns
    inner: str | None = None  # the innermost wrapped error, where the line wraps one
    quiet: bool = False  # an INFO/DEBUG/verbose log line that is no warning, error or exception
    paste: str = ""  # the line, or the whole paste it came from

    @property
    def scope(self) -> str:
        """ "general" when the answer does not claim a compile-stack problem (eager lines, other tools)."""
        d = self.match.described
        return "general" if d is not None and d.scope == "general" and not self.evidence else "compile"

    @property
    def specific(self) -> bool:
        """The answer is about this message (not a family's, not a catch-all template's)."""
        return self.kind != "family" and not (self.match.entry is not None and self.match.entry.generic)

    @property
    def summary(self) -> str:
        """One sentence naming the culprit, where the message names one; else empty."""
        e = self.match.entry
        if e is not None and e.summary and self.culprit:
            text = fill(e.summary, self.culprit)
            return "" if "{" in text and any(f"{{{k}}}" in text for k in _culprit_names(e)) else text
        gb = self.match.graph_break
        if gb is not None and gb.filled and gb.shown_explanation and "{" not in gb.shown_explanation:
            return gb.shown_explanation
        if self.kind == "family" and self.inner:
            return f"The wrapped error is: {self.inner}"
        if self.kind == "family" and self.quiet:
            return (
                "This is an INFO/DEBUG log line of that part of the stack, not a warning or an error: "
                "normal output, nothing to fix."
            )
        return ""

    @property
    def id(self) -> str:
        return self.match.id

    @property
    def kind(self) -> str:
        return self.match.kind

    @property
    def exact(self) -> bool:
        return self.match.kind != "family" and not self.match.cut_short

    @property
    def origin(self) -> str:
        if self.kind == "registry":
            return f"torch's graph-break registry ({self.registry_label})"
        if self.match.cut_short:
            return "gpudiag's catalogue (your line is the start of this message, cut short)"
        return ORIGIN[self.kind]

    @property
    def title(self) -> str:
        return self.match.title

    @property
    def severity(self) -> str:
        if self.kind == "family" and self.quiet:
            return "harmless"
        return "fatal" if self.raised and self.kind == "registry" else self.match.severity

    @property
    def meaning(self) -> str:
        m = self.match
        if m.described is not None:
            return m.described.meaning
        gb = m.graph_break
        assert gb is not None  # a match without our own text is a registry match
        text = gb.shown_explanation
        if text and PLACEHOLDER_RX.search(text):
            text += " ({...} parts are filled in with your code's values in the log)"
        said = f" torch's explanation: {text}" if text else ""
        when = ""
        if gb.matched_by.startswith("context"):
            when = (
                f" Your line is the older (torch < 2.8) form of this graph break; torch >= 2.8 calls it "
                f"{gb.gb_type!r} ({gb.gb_id})."
            )
        elif gb.versions:
            when = f" (This wording is in torch {', '.join(sorted(gb.versions))}.)"
        return (
            f"Dynamo could not trace this, so it ended the graph here: the code before and after "
            f"compile separately with a Python step between them (raised instead when graph breaks are "
            f"not allowed, e.g. fullgraph=True).{said}{when}"
        )

    @property
    def trigger(self) -> str:
        m = self.match
        if m.described is not None:
            return m.described.trigger
        gb = m.graph_break
        assert gb is not None  # a match is a catalogue entry, a family or a registry type
        return (
            f"torch/_dynamo: unimplemented(gb_type={gb.gb_type!r}, context={gb.context!r}, ...) "
            f"-> a graph break, or the Unsupported exception when one is not allowed."
        )

    @property
    def source(self) -> Source:
        m = self.match
        if m.described is not None:
            return m.described.source
        gb = m.graph_break
        assert gb is not None  # a match is a catalogue entry, a family or a registry type
        return Source("torch/_dynamo/graph_break_registry.json", gb.gb_type, gb.gb_id)

    @property
    def fixes(self) -> tuple[Fix, ...]:
        m = self.match
        own: tuple[Fix, ...] = ()
        described = m.described
        if described is not None:
            shown = (f.shown(self.evidence, bool(self.inner), self.culprit, self.paste) for f in described.fixes)
            own = tuple(f for f in shown if f is not None)
            # a fix about the culprit, or one shown because the line matched it, first: it is the one for this message
            own = tuple(
                sorted(
                    own,
                    key=lambda f: (
                        0
                        if f.if_line is not None
                        or any(f.text == fill(g.text, self.culprit) and g.needs for g in described.fixes)
                        else 1
                    ),
                )
            )
        if m.graph_break is None:
            return own
        gb = m.graph_break
        torch_hints = tuple(Fix(f"torch's hint: {h}", "") for h in join_hints(gb.shown_hints))
        if m.entry is not None:
            return own + torch_hints
        culprit_fixes, version_note = _registry_fixes(gb)
        return culprit_fixes + torch_hints + version_note + (() if torch_hints else (GRAPH_BREAK_LOG_FIX,))

    @property
    def references(self) -> tuple[str, ...]:
        refs = self.match.entry.references if self.match.entry is not None else ()
        gb = self.match.graph_break
        return refs + ((gb.url,) if gb is not None and gb.url else ())

    def to_dict(self) -> dict[str, Any]:
        e = self.match.entry
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "scope": self.scope,
            "specific": self.specific,
            "summary": self.summary or None,
            "culprit": dict(self.culprit),
            "generic": bool(e.generic) if e is not None else self.kind == "family",
            "match": {"kind": self.kind, "exact": self.exact, "origin": self.origin},
            "meaning": self.meaning,
            "trigger": self.trigger,
            "source": self.source.to_dict(),
            "verdict_rule": e.verdict if e is not None else None,
            "fixes": [{"text": f.text, "code": f.code} for f in self.fixes],
            "patterns": [p.pattern for p in e.patterns] if e is not None else [],
            "references": list(self.references),
            "graph_break": self.match.graph_break.to_dict() if self.match.graph_break else None,
            "guard": _guard_dict(self.guard),
            "line": self.line,
            "verdict": vars(self.verdict),
        }


GRAPH_BREAK_LOG_FIX = Fix(
    "See where this graph break happens (the user frame) and what else breaks the graph:",
    'TORCH_LOGS="graph_breaks" python train.py',
)


# A torch < 2.8 context naming a logging.Logger (``UserDefinedObjectVariable(Logger)``, transformers'
# ``warning_once``): dynamo's config.ignore_logger_methods (torch/_dynamo/config.py) is the fix.
LOGGER_RX = re.compile(r"\((?:\w+\.)*(?:Logger|LoggerAdapter|RootLogger)\)")
LOGGING_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "warning_once", "info_once"}
)


def _registry_fixes(gb) -> tuple[tuple[Fix, ...], tuple[Fix, ...]]:
    """What a registry answer can say about the culprit its line named (torch < 2.8 lines name the
    object and the method or function dynamo could not trace)."""
    out: list[Fix] = []
    f = gb.filled
    what = f.get("name") or f.get("fn") or f.get("func")
    obj = f.get("self") or f.get("obj")
    exc = re.match(r"BuiltinVariable\((\w+(?:Error|Exception|Warning))\)", obj or "")
    scalar = re.match(r"BuiltinVariable\((int|float|bool)\)", obj or "")
    if scalar and "TensorVariable" in f.get("args", ""):
        out.append(
            Fix(
                f"The culprit is {scalar.group(1)}() of a tensor: converting a tensor to a Python {scalar.group(1)} "
                "needs its value, which is data-dependent while tracing (like .item()). Keep it a tensor "
                "(compare or compute with tensor ops), or let dynamo capture scalars:",
                "torch._dynamo.config.capture_scalar_outputs = True",
            )
        )
    elif exc:
        out.append(
            Fix(
                f"Creating the exception {exc.group(1)} inside the compiled region was not supported by this torch: "
                "raise it outside the compiled function, replace the check by torch._check(...), or upgrade torch "
                "(newer releases trace raising exceptions).",
                "",
            )
        )
    elif (obj and LOGGER_RX.search(obj)) or (what in LOGGING_METHODS and obj and "Variable(" in obj):
        out.append(
            Fix(
                f"The culprit is the logging call `{what or obj}` on a logging.Logger: dynamo does not trace "
                "logger methods. Let it drop them from compiled code (they then do not run there) instead of "
                "breaking the graph, or remove the call from the compiled region:",
                "torch._dynamo.config.ignore_logger_methods = {logging.Logger.warning, logging.Logger.info}"
                "   # newer torch: ignore_logging_functions (the old name stays an alias)",
            )
        )
    elif obj and "GeneratorObjectVariable" in obj:
        out.append(
            Fix(
                f"The culprit is `{what}` on a generator object: this torch does not trace generators used "
                "inside the compiled region. Consume the generator into a list before the compiled code (or "
                "use a list comprehension instead of a generator), or upgrade torch (newer releases trace "
                "generators).",
                "",
            )
        )
    elif what or obj:
        builtin = re.fullmatch(r"BuiltinVariable\((\w+)\)", what or obj or "")
        target = (
            f"the builtin `{builtin.group(1)}()`"
            if builtin
            else f"`{what}`" + (f" on {obj}" if obj and what else "")
            if what
            else f"{obj}"
        )
        out.append(
            Fix(
                f"The culprit is {target}: call it outside the compiled region (before or after the compiled "
                "function, or in a function under @torch.compiler.disable), or use an equivalent torch "
                "operation dynamo can trace.",
                "",
            )
        )
    note: list[Fix] = []
    if gb.matched_by.startswith(("context", "gb_type (older")):
        note.append(
            Fix(
                f"This is a torch < 2.8 wording: newer torch traces more of Python; after upgrading, this graph "
                f"break (if it remains) reads {gb.gb_type!r} ({gb.gb_id}) with torch's own hints.",
                "",
            )
        )
    return tuple(out), tuple(note)


def _culprit_names(e: Entry) -> set[str]:
    return {n for p in e.culprit for n in p.groupindex}


def _guard_dict(g: GuardFinding | None) -> dict[str, Any] | None:
    if g is None:
        return None
    return {"class": g.class_id, "title": g.title, "failure": g.failure, "fix": g.fix, "torch_hint": g.hint}


@dataclass
class LogItem:
    explanation: Explanation
    count: int
    first_line: int
    informational: bool = False  # only on INFO/DEBUG lines (a family answer there is normal output)


@dataclass
class UnknownItem:
    message: str
    count: int
    first_line: int
    line: str
    kind: str = "warning"  # "warning" (warning, error, exception) | "other" (names the compile stack)


@dataclass
class LogReport:
    source: str
    bytes_read: int
    lines: int
    encoding: str
    known: list[LogItem] = field(default_factory=list)
    unknown: list[UnknownItem] = field(default_factory=list)
    unknown_overflow: int = 0
    tracebacks: int = 0
    story: Story = field(default_factory=lambda: _story_mod().Story())
    compression: str | None = None
    explained_lines: int = 0
    unknown_lines: int = 0
    record_lines: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> lines
    stories: dict[str | None, Story] = field(default_factory=dict)  # per rank or process, when several
    divergence: list[str] = field(default_factory=list)
    broken: str | None = None  # why reading stopped before the end of the log

    @property
    def read(self) -> int:
        return self.explained_lines + self.unknown_lines + self.record_lines


@dataclass
class ListedItem:
    id: str
    kind: str  # "catalogue" | "family"
    severity: str
    title: str


@dataclass
class ExplainReport:
    """Everything one explain-warning run found; ``to_dict`` is its JSON, ``exit_code`` its exit status."""

    form: str  # "text" | "id" | "no-match" | "log" | "list"
    device: Device | None = None
    explanation: Explanation | None = None
    text: str | None = None  # the input, for "no-match"
    closest: list[Entry] = field(default_factory=list)
    log: LogReport | None = None
    listed: list[ListedItem] = field(default_factory=list)
    registry_label: str | None = None  # for --list: whose registry would answer graph-break ids
    registry_size: int = 0

    @property
    def exit_code(self) -> int:
        if self.form == "no-match" or (
            self.form == "log" and self.log is not None and all(it.informational for it in self.log.known)
        ):
            return EXIT_NO
        return EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"schema": SCHEMA, "form": self.form}
        if self.form == "list":
            doc["entries"] = [vars(i) for i in self.listed]
            doc["registry"] = {"source": self.registry_label, "graph_break_types": self.registry_size}
            return doc
        doc["device"] = vars(self.device) if self.device else None
        if self.form in ("text", "id"):
            assert self.explanation is not None  # the text and id forms carry one
            doc.update(self.explanation.to_dict())
        elif self.form == "no-match":
            doc.update(text=self.text, closest=[{"id": e.id, "title": e.title} for e in self.closest])
        else:
            assert self.log is not None  # the remaining form is the log's
            doc.update(_log_dict(self.log))
        return doc


def _log_dict(rep: LogReport) -> dict[str, Any]:
    return {
        "source": rep.source,
        "bytes": rep.bytes_read,
        "lines": rep.lines,
        "encoding": rep.encoding,
        "compression": rep.compression,
        "broken": rep.broken,
        "counts": {
            "read": rep.read,
            "explained": rep.explained_lines,
            "unknown": rep.unknown_lines,
            "in_records": rep.record_lines,
            "skipped": [{"reason": why, "lines": n} for why, n in rep.skipped.items()],
        },
        "tracebacks": rep.tracebacks,
        "known": [
            {
                "id": it.explanation.id,
                "kind": it.explanation.kind,
                "exact": it.explanation.exact,
                "title": it.explanation.title,
                "severity": it.explanation.severity,
                "count": it.count,
                "first_line": it.first_line,
                "informational": it.informational,
                "line": it.explanation.line,
                "verdict": vars(it.explanation.verdict),
            }
            for it in rep.known
        ],
        "unknown": [
            {"message": u.message, "count": u.count, "first_line": u.first_line, "kind": u.kind} for u in rep.unknown
        ],
        "unknown_overflow": rep.unknown_overflow,
        "story": rep.story.to_dict(),
        "ranks": [{"rank": rank, "story": st.to_dict()} for rank, st in rep.stories.items()]
        if len(rep.stories) > 1
        else [],
        "divergence": rep.divergence,
    }


@dataclass
class Context:
    catalogue: Catalogue
    matcher: Matcher
    facts: DeviceFacts | None
    no_device_reason: str | None

    @classmethod
    def create(cls, facts: DeviceFacts | None, why: str | None) -> Context:
        cat = load()
        return cls(cat, Matcher(cat, families()), facts, why)

    def explain(self, match: Match, line: str | None, paste: str | None = None) -> Explanation:
        parsed = normalize.parse(line) if line else None
        around = paste or line or ""
        d = match.described
        evidence = (
            compile_evidence(around, parsed, d.evidence if d is not None else ())
            if line
            else True  # an id: the entry as written
        )
        general = d is not None and d.scope == "general" and not evidence
        if match.entry is not None and not (general and match.entry.verdict not in STANDALONE_VERDICTS):
            verdict = verdict_for(match.entry, line or "", self.facts, self.no_device_reason)
        elif general:
            verdict = Verdict("n/a", "no device-specific rule here: nothing in the line shows the compile stack")
        else:
            verdict = Verdict("n/a", "no device-specific rule: it applies wherever it was printed")
        culprit: dict[str, str] = {}
        if match.entry is not None and line:
            culprit = match.entry.culprit_of(around)
        if not culprit and match.graph_break is not None:
            culprit = dict(match.graph_break.filled)
        # a wrapped error: a chain of two or more exceptions ("InductorError: OSError: ...")
        inner = (
            parsed.inner
            if parsed is not None and len(parsed.exceptions) >= 2 and parsed.inner != parsed.message
            else None
        )
        quiet = bool(
            parsed is not None
            and parsed.level in ("D", "I", "V")
            and not parsed.exceptions
            and not parsed.category
            and not re.search(r"(?i)\b(error|warn|fail|exception|traceback)", parsed.message)
        )
        guard = None
        if parsed is not None and match.entry is not None and match.entry.id in GUARD_ENTRIES:
            for text in (parsed.message, *(t for t in parsed.message.splitlines()[1:])):
                if g := GUARD_LINE_RX.match(text.strip()):
                    guard = _story_mod().classify_guard(g.group("failure"))
                    break
        reg = self.matcher.registry
        raised = bool(parsed and any(x.rsplit(".", 1)[-1] == "Unsupported" for x in parsed.exceptions))
        return Explanation(
            match,
            line,
            verdict,
            reg.label if reg is not None else None,
            guard,
            raised,
            evidence,
            culprit,
            inner,
            quiet,
            around,
        )

    def by_id(self, ident: str) -> Explanation | None:
        if entry := self.catalogue.get(ident):
            return self.explain(Match("catalogue", entry.id, entry=entry), None)
        if family := next((f for f in self.matcher.families if f.id == ident), None):
            return self.explain(Match("family", family.id, family=family), None)
        if GB_ID_RX.match(ident) and self.matcher.registry is not None and (gb := self.matcher.registry.get(ident)):
            return self.explain(Match("registry", gb.gb_id, graph_break=gb), None)
        return None


def _story_mod():
    from gpudiag.explain import story

    return story


def _words(text: str) -> set[str]:
    return {w.lower() for w in WORD_RX.findall(text)}


def closest(catalogue: Catalogue, text: str, n: int = 3) -> list[Entry]:
    """Entries sharing the most words with the text (title and examples), best first."""
    words = _words(normalize.parse(text).message)
    if not words:
        return []
    scored = []
    for e in catalogue.entries:
        ew = _words(e.title + " " + " ".join(normalize.parse(x).message for x in e.examples))
        score = len(words & ew) / (len(words | ew) or 1)
        if score > 0:
            scored.append((score, e.id, e))
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [e for _, _, e in scored[:n]]


def explain_text(ctx: Context, text: str) -> Explanation | None:
    """The best explanation among the lines of a (possibly multi-line) paste, most exact first."""
    best: tuple[int, int, Match, str] | None = None
    for i, raw in enumerate(ln for ln in text.splitlines() if ln.strip()):
        for segment in normalize.segments(raw):
            match = ctx.matcher.match_line(normalize.parse(segment))
            if match is not None and (best is None or match.rank < best[0]):
                best = (match.rank, i, match, segment.strip())
    if best is None:
        return None
    _, i, match, line = best
    if match.entry is not None and match.entry.id in GUARD_ENTRIES and "\n" in text.strip():
        line = "\n".join(ln.rstrip() for ln in text.strip().splitlines()[i:])  # the record's failure lines too
    return ctx.explain(match, line, text if "\n" in text.strip() else None)


def explain_log(ctx: Context, path: str) -> LogReport:
    from gpudiag.explain import scan

    if path == "-":
        label, result = "<stdin>", scan.scan_stream(ctx.matcher, sys.stdin.buffer)
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
            result = scan.scan_stream(ctx.matcher, fh)
    return _log_report(ctx, label, result)


def _log_report(ctx: Context, label: str, result: ScanResult) -> LogReport:
    report = LogReport(
        label,
        result.bytes_read,
        result.lines,
        result.encoding,
        unknown_overflow=result.unknown_overflow,
        tracebacks=result.tracebacks,
        story=result.story,
        compression=result.compression,
        explained_lines=result.explained_lines,
        unknown_lines=result.unknown_lines,
        record_lines=result.record_lines,
        skipped=dict(result.skipped),
        stories=result.stories,
        divergence=result.divergence,
        broken=result.broken,
    )
    for hit in result.known.values():
        report.known.append(LogItem(ctx.explain(hit.match, hit.line), hit.count, hit.first_line, hit.informational))
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    report.known.sort(
        key=lambda it: (
            it.informational,
            rank[it.explanation.severity],
            not it.explanation.exact,
            -it.count,
            it.first_line,
        )
    )
    report.unknown = sorted(
        (UnknownItem(u.message, u.count, u.first_line, u.line, u.kind) for u in result.unknown.values()),
        key=lambda u: (u.kind != "warning", u.first_line),
    )
    return report


def _device(gpu: str | None) -> tuple[DeviceFacts | None, str | None]:
    from gpudiag.device import selection

    # NVML answers everything explain's verdicts need (SM count, compute capability, hence the
    # per-architecture limits) without cuInit, a quarter of this command's time on an H100 host.
    return selection.resolve_or_none(selection.select(gpu=gpu), nvml_only=True)


def listing() -> ExplainReport:
    from gpudiag.explain.registry import installed

    items = [ListedItem(e.id, "catalogue", e.severity, e.title) for e in load().entries]
    items += [ListedItem(f.id, "family", f.severity, f.title) for f in families()]
    reg = installed()
    return ExplainReport(
        "list", listed=items, registry_label=reg.label if reg else None, registry_size=len(reg.by_id) if reg else 0
    )


def build(
    text: str | None = None, log: str | None = None, list_entries: bool = False, gpu: str | None = None
) -> ExplainReport:
    """The whole command: one of TEXT (a line, a paste, or an id), --log FILE, or --list."""
    if list_entries:
        return listing()
    if (text is None) == (log is None):
        raise GpudiagError("give exactly one of TEXT or --log FILE (or --list); see --help", EXIT_USAGE)
    facts, why = _device(gpu)
    ctx = Context.create(facts, why)
    device = Device.of(facts, why)
    if log is not None:
        return ExplainReport("log", device, log=explain_log(ctx, log))
    assert text is not None
    if not text.strip():
        raise GpudiagError("nothing to explain: the message is empty", EXIT_USAGE)
    if " " not in text.strip() and (ex := ctx.by_id(text.strip())):
        return ExplainReport("id", device, explanation=ex)
    ex = explain_text(ctx, text)
    if ex is None:
        return ExplainReport("no-match", device, text=text.strip(), closest=closest(ctx.catalogue, text))
    return ExplainReport("text", device, explanation=ex)


__all__ = ["SCHEMA", "Device", "ExplainReport", "Explanation", "LogReport", "build"]
