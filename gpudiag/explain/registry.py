"""torch's own graph-break registry, of several torch releases, read without importing torch.

Since torch 2.8 every graph break dynamo can raise goes through ``unimplemented(gb_type=...,
explanation=..., hints=...)`` and is listed in ``torch/_dynamo/graph_break_registry.json``:
``{"GB0059": [{"Gb_type", "Context", "Explanation", "Hints"}, ...]}``, the current text first and
older wordings after it. Dynamo prints the ``gb_type`` as the first line of the graph-break message
(``Unsupported: <gb_type>`` when it is raised), then ``Explanation:`` and ``Hint:`` lines and a link
ending in ``gb0059.html``.

A user's log comes from their torch, not the one installed here, so gpudiag ships the registries of
several releases merged (``data/graph_break_registry.json``, written by
``bench/explain/registry_merge.py``; each wording lists the torch versions that have it). The
installed torch's registry is added when its version is not among them, so a new torch brings its
new graph breaks with it.

A line is matched by its registry link, by its gb_type (also lower-case, and followed by ``: detail``
as torch < 2.8 printed some), by a pasted ``Explanation:`` or ``Hint:`` line, or by the ``Context``
template, which is what torch < 2.8 printed as the whole message (``call_method SizeVariable() numel
[] {}``). A template's ``{...}`` parts are filled from the line where they can be.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field, replace
from importlib import resources

from gpudiag.installed import versions

REGISTRY_FILE = "_dynamo/graph_break_registry.json"
SHIPPED = "data/graph_break_registry.json"
DEFAULT_SITE = "https://meta-pytorch.github.io/compile-graph-break-site/gb/"
SITE_URL_RX = re.compile(r"compile-graph-break-site/gb/gb(\d{4})\.html", re.I)
SITE_BASE_RX = re.compile(r"GRAPH_BREAK_SITE_URL\s*=\s*\(?\s*[\"']([^\"']+)[\"']")
REASON_PREFIX_RX = re.compile(
    r"^(?:Graph [Bb]reak(?: [Rr]eason)?:\s*)?(?:(?:torch\._dynamo\.exc\.)?Unsupported:\s*)?(?:Reason:\s*)?"
)
# torch 2.1-2.3 logged "Graph break: <reason> from user code at:" (the frames follow on the next lines)
FROM_USER_CODE_RX = re.compile(r"\s+from user code at:?\s*$")
LINE_LABELS = ("Explanation:", "Hint:", "Developer debug context:")  # the lines of a graph break's message
LABEL_RX = re.compile(r"^(Explanation|Hint|Developer debug context):\s*", re.I)
PLACEHOLDER_RX = re.compile(r"\{([^{}]+)\}")
# A field that holds a variable or call expression instead of its text (the registry is extracted
# statically from unimplemented(...) calls): never shown as prose.
EXPR_RX = re.compile(r"^[A-Za-z_][\w.]*(?:\(.*\))?$")
# A bare message equal to a short, generic gb_type ("Import failure") is only taken for a graph
# break when the line comes from torch; longer ones are specific enough on their own.
BARE_TYPE_MIN_CHARS = 24
# A template is only matched when this many of its characters are literal (not {...}).
TEMPLATE_MIN_LITERAL = 12
CONTEXT_MIN_LITERAL = 10  # "call_method" and its spaces


def is_placeholder(text: str) -> bool:
    t = text.strip()
    return bool(t) and bool(EXPR_RX.match(t)) and " " not in t.split("(", 1)[0] and not t.endswith(".")


@dataclass(frozen=True)
class GraphBreakType:
    gb_id: str  # "GB0059"
    gb_type: str  # "Failed to trace builtin operator"
    explanation: str  # "" where torch's registry has none (or only a placeholder)
    hints: tuple[str, ...]
    context: str
    current: bool  # False: an older wording of this id, kept by torch for old logs
    url: str | None
    versions: tuple[str, ...] = ()  # torch releases whose registry has this wording
    filled: dict[str, str] = field(default_factory=dict)  # {placeholder: value from the user's line}
    matched_by: str = "gb_type"  # gb_type | link | explanation | hint | context (torch < 2.8 wording)

    def fill(self, text: str) -> str:
        """A template with the parts the user's line gave filled in (the others left as {...})."""
        if not self.filled:
            return text
        out = PLACEHOLDER_RX.sub(self._value, text)
        # an older wording's "type: detail" fills the one part the new wording leaves open
        if "detail" in self.filled and len(set(PLACEHOLDER_RX.findall(out))) == 1:
            out = PLACEHOLDER_RX.sub(self.filled["detail"], out)
        return out

    def _value(self, m: re.Match) -> str:
        """A part the line gave; ``{self.python_type_name()}`` is shown as what the line said ``self`` was."""
        expr = m.group(1)
        if expr in self.filled:
            return self.filled[expr]
        head = re.match(r"[A-Za-z_]\w*", expr)
        if head and head.group(0) in self.filled and expr[len(head.group(0)) : len(head.group(0)) + 1] in ".(":
            return self.filled[head.group(0)]
        return m.group(0)

    @property
    def shown_explanation(self) -> str:
        return self.fill(self.explanation) if self.explanation and not is_placeholder(self.explanation) else ""

    @property
    def shown_hints(self) -> tuple[str, ...]:
        return tuple(self.fill(h) for h in self.hints if not is_placeholder(h))

    def to_dict(self) -> dict:
        return {
            "id": self.gb_id,
            "type": self.gb_type,
            "explanation": self.shown_explanation or None,
            "hints": list(self.shown_hints),
            "context": self.context,
            "current_wording": self.current,
            "torch_versions": list(self.versions),
            "matched_by": self.matched_by,
            "filled": dict(self.filled),
            "url": self.url,
        }


@dataclass(frozen=True)
class Template:
    """A registry text with ``{...}`` parts, matched against a user's line; compiled on first use."""

    text: str
    names: tuple[str, ...]
    literal: int  # characters outside {...}
    anchor: str  # its longest literal piece: a line without it cannot match (checked before the regex)
    gb: GraphBreakType

    @functools.cached_property
    def rx(self) -> re.Pattern | None:
        parts: list[str] = []
        seen: list[str] = []
        pos = 0
        for m in PLACEHOLDER_RX.finditer(self.text):
            parts.append(re.escape(self.text[pos : m.start()]))
            if m.group(1) in seen:
                parts.append(".+?")
            else:
                parts.append(f"(?P<p{len(seen)}>.+?)")
                seen.append(m.group(1))
            pos = m.end()
        parts.append(re.escape(self.text[pos:].rstrip(". ")) + r"\.?")
        try:
            return re.compile("".join(parts).replace(r"\ ", r"\s+"), re.S)
        except re.error:
            return None

    def match(self, text: str, whole: bool = True) -> dict[str, str] | None:
        if self.anchor not in text or self.rx is None:
            return None
        m = self.rx.fullmatch(text) if whole else self.rx.match(text)
        if m is None:
            return None
        return {n: v.strip() for i, n in enumerate(self.names) if (v := m.group(f"p{i}")) is not None}


def template(text: str, gb: GraphBreakType, min_literal: int) -> Template | None:
    names: list[str] = []
    pieces = PLACEHOLDER_RX.split(text)  # literal, name, literal, name, ...
    literals = pieces[0::2]
    for n in pieces[1::2]:
        if n not in names:
            names.append(n)
    literal = sum(len(p.strip()) for p in literals)
    if not names or literal < min_literal:
        return None
    anchor = max((p.strip() for p in literals), key=len)
    return Template(text, tuple(names), literal, anchor, gb)


@dataclass
class Registry:
    path: str
    torch_version: str | None
    by_id: dict[str, GraphBreakType] = field(default_factory=dict)
    by_type: dict[str, GraphBreakType] = field(default_factory=dict)
    wordings: list[GraphBreakType] = field(default_factory=list)
    sources: tuple[str, ...] = ()  # torch versions merged

    @property
    def label(self) -> str:
        if self.sources:
            return f"{self.path}, torch {', '.join(self.sources)}"
        return f"torch {self.torch_version or '?'} {self.path}"

    def get(self, gb_id: str) -> GraphBreakType | None:
        return self.by_id.get(gb_id.upper())

    def add(self, gb: GraphBreakType) -> None:
        self.wordings.append(gb)
        if gb.current and gb.gb_id not in self.by_id:
            self.by_id[gb.gb_id] = gb
        if gb.gb_type not in self.by_type or (gb.current and not self.by_type[gb.gb_type].current):
            self.by_type[gb.gb_type] = gb

    @functools.cached_property
    def _lower(self) -> dict[str, GraphBreakType]:
        out: dict[str, GraphBreakType] = {}
        for t, gb in self.by_type.items():
            out.setdefault(t.lower().rstrip("."), gb)
        return out

    @functools.cached_property
    def _hints(self) -> dict[str, GraphBreakType]:
        out: dict[str, GraphBreakType] = {}
        for gb in self.wordings:
            for h in (*gb.hints, *join_hints(gb.hints)):
                if not is_placeholder(h):
                    out.setdefault(_norm(h), gb)
        return out

    @functools.cached_property
    def _explanations(self) -> tuple[dict[str, GraphBreakType], list[Template]]:
        exact: dict[str, GraphBreakType] = {}
        templates = []
        for gb in self.wordings:
            text = gb.explanation
            if not text or is_placeholder(text):
                continue
            if "{" in text and (t := template(_norm(text), gb, TEMPLATE_MIN_LITERAL)):
                templates.append(t)
            else:
                exact.setdefault(_norm(text), gb)
        templates.sort(key=lambda t: -t.literal)
        return exact, templates

    @functools.cached_property
    def _contexts(self) -> list[Template]:
        out = []
        for gb in self.wordings:
            # torch < 2.8 printed these as the whole message: "call_method {self} {name} {args} {kwargs}"
            if gb.context[:1].isalpha() and "{" in gb.context and (t := template(gb.context, gb, CONTEXT_MIN_LITERAL)):
                out.append(t)
        # most literal text first; among equals the plainest type ("Unsupported method call")
        out.sort(key=lambda t: (-t.literal, not t.gb.gb_type.startswith("Unsupported"), len(t.gb.gb_type), t.gb.gb_id))
        return out

    def lookup(self, message: str, text: str, from_torch: bool) -> GraphBreakType | None:
        """The graph-break type a line names: by its registry link, gb_type, explanation, hint or context."""
        if "compile-graph-break-site" in text and (m := SITE_URL_RX.search(text)):
            gb = self.get(f"GB{m.group(1)}")
            return replace(gb, matched_by="link") if gb else None
        candidate = FROM_USER_CODE_RX.sub("", REASON_PREFIX_RX.sub("", message, count=1)).strip()
        if lab := LABEL_RX.match(candidate):
            return self._by_label(lab.group(1).lower(), candidate[lab.end() :].strip())
        hit = self.by_type.get(candidate)
        if hit is None:
            hit = self._by_type_loosely(candidate)
        if hit is not None:
            if candidate == message.strip() and not from_torch and len(candidate) < BARE_TYPE_MIN_CHARS:
                return None
            return hit
        return self._by_context(candidate)

    def _by_type_loosely(self, candidate: str) -> GraphBreakType | None:
        low = candidate.lower().rstrip(".")
        if hit := self._lower.get(low):
            return hit
        head = low.split(": ", 1)[0] if ": " in low else None  # torch < 2.8: "uninitialized nn.Module: Foo"
        if head and len(head) >= BARE_TYPE_MIN_CHARS - 8 and (hit := self._lower.get(head)):
            return replace(hit, filled={"detail": candidate.split(": ", 1)[1]}, matched_by="gb_type (older wording)")
        return None

    def _by_label(self, label: str, body: str) -> GraphBreakType | None:
        if not body:
            return None
        key = _norm(body)
        if label == "developer debug context":  # torch's context line is the old message: match its template
            return self._by_context(body)
        if label == "hint":
            hit = self._hints.get(key)
            return replace(hit, matched_by="hint") if hit else None
        if label != "explanation":
            return None
        exact, templates = self._explanations
        if hit := exact.get(key):
            return replace(hit, matched_by="explanation")
        for t in templates:
            if (filled := t.match(key)) is not None or (filled := t.match(key, whole=False)) is not None:
                return replace(t.gb, filled=filled, matched_by="explanation")
        return None

    def _by_context(self, candidate: str) -> GraphBreakType | None:
        if len(candidate) > 300 or not candidate[:1].isalpha():
            return None
        for t in self._contexts:
            if (filled := t.match(candidate)) is not None:
                return replace(t.gb, filled=filled, matched_by="context (torch < 2.8 wording)")
        return None


def join_hints(hints: tuple[str, ...] | list[str]) -> list[str]:
    """The registry keeps a hint's implicitly concatenated string pieces apart; join them back."""
    out: list[str] = []
    for piece in hints:
        # a piece that continues a sentence: the previous one has no closing punctuation and this one
        # does not start a new sentence
        if out and not out[-1].rstrip().endswith((".", "!", "?", ":")) and not piece.strip()[:1].isupper():
            out[-1] = f"{out[-1].rstrip()} {piece.strip()}"
        else:
            out.append(piece.strip())
    return out


def _norm(text: str) -> str:
    return " ".join(text.split())


def parse(data: dict, path: str, torch_version: str | None, site_base: str | None) -> Registry:
    """A registry in torch's own format (one release)."""
    reg = Registry(path, torch_version)
    for gb_id, versions_of_id in data.items():
        if not isinstance(versions_of_id, list):
            continue
        url = _url(site_base, gb_id)
        for i, row in enumerate(versions_of_id):
            if not isinstance(row, dict) or not row.get("Gb_type") or is_placeholder(row["Gb_type"]):
                continue
            reg.add(
                GraphBreakType(
                    gb_id,
                    row["Gb_type"].strip(),
                    (row.get("Explanation") or "").strip(),
                    tuple(h.strip() for h in row.get("Hints") or () if h and h.strip()),
                    (row.get("Context") or "").strip(),
                    i == 0,
                    url,
                    (torch_version,) if torch_version else (),
                )
            )
    return reg


def _url(site_base: str | None, gb_id: str) -> str | None:
    return f"{site_base}gb{gb_id[2:]}.html" if site_base and gb_id[2:].isdigit() else None


def parse_merged(doc: dict, site_base: str = DEFAULT_SITE) -> Registry:
    """gpudiag's shipped registry: several releases merged by bench/explain/registry_merge.py."""
    sources = tuple(s["torch"] for s in doc.get("sources", ()))
    reg = Registry(f"gpudiag/explain/{SHIPPED}", sources[-1] if sources else None, sources=sources)
    for gb_id, wordings in doc.get("graph_breaks", {}).items():
        url = _url(site_base, gb_id)
        for w in wordings:
            if not w.get("gb_type"):
                continue
            reg.add(
                GraphBreakType(
                    gb_id,
                    w["gb_type"],
                    w.get("explanation") or "",
                    tuple(w.get("hints") or ()),
                    w.get("context") or "",
                    bool(w.get("current_in")) and w is wordings[0],
                    url,
                    tuple(w.get("torch") or ()),
                )
            )
    return reg


@functools.lru_cache(maxsize=1)
def shipped() -> Registry | None:
    try:
        return parse_merged(json.loads(resources.files("gpudiag.explain").joinpath(SHIPPED).read_bytes()))
    except (OSError, ValueError):
        return None


def _installed_only() -> Registry | None:
    text = versions.source_text("torch", REGISTRY_FILE)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    exc_source = versions.source_text("torch", "_dynamo/exc.py") or ""
    m = SITE_BASE_RX.search(exc_source)
    return parse(data, f"torch/{REGISTRY_FILE}", versions.torch_version(), m.group(1) if m else None)


@functools.lru_cache(maxsize=1)
def installed() -> Registry | None:
    """The shipped registries, plus the installed torch's when its release is not among them; None
    when there is neither."""
    merged = shipped()
    version = (versions.torch_version() or "").split("+", 1)[0]
    if merged is not None and (not version or version in merged.sources):
        return merged
    own = _installed_only()
    if merged is None:
        return own
    if own is not None:
        for gb in own.wordings:
            if gb.gb_type not in merged.by_type or gb.gb_id not in merged.by_id:
                merged.add(gb)
        merged.sources = (*merged.sources, version)
    return merged
