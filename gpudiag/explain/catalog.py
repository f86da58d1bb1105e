"""gpudiag's explain data, loaded, validated and compiled once.

* ``data/warnings.toml``: the catalogue, one entry per message (patterns, meaning, the gating source
  it cites, fixes, an optional device-verdict rule);
* ``data/families.toml``: the fallback by emitter (exception class, module or logger);
* ``data/story.toml``: classes of guard failure and reasons for non-cudagraphable partitions.

Adding a warning, a family or a class means adding a row; no code changes. Validation errors name
the row, so a bad one is obvious.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from gpudiag.errors import GpudiagError
from gpudiag.files import load_toml

# Most costly first: reports sort by this rank. "unknown" is a family's: the subsystem is known, the cost not.
SEVERITIES = ("fatal", "wrong-results", "performance", "unknown", "harmless")
VERDICT_RULES = (
    "sm_gate",
    "rocm_gate",
    "smem",
    "threads",
    "tmem",
    "tf32",
    "triton_arch",
    "torch_arch",
    "ptx_feature",
    "api_release",
)
REQUIRED = (
    "id",
    "title",
    "severity",
    "needles",
    "patterns",
    "meaning",
    "trigger",
    "source_file",
    "source_function",
    "source_text",
    "fixes",
    "examples",
)
FAMILY_REQUIRED = ("id", "title", "severity", "meaning", "trigger", "source_file", "source_text", "fixes")


FIX_WHEN = ("compile", "general", "inner", "no-inner")
SCOPES = ("compile", "general")
CULPRIT_RX = re.compile(r"\{(\w+)\}")


def reflow(text: str) -> str:
    """Catalogue prose is wrapped at ~100 columns in TOML: join its lines back into paragraphs, so the
    JSON holds sentences and the console wraps them to its own width; indented lines (code) and blank
    lines are kept."""
    out: list[str] = []
    for line in text.splitlines():
        if (
            out
            and line.strip()
            and not line.startswith((" ", "\t"))
            and out[-1].strip()
            and not out[-1].startswith((" ", "\t"))
        ):
            out[-1] = f"{out[-1]} {line.strip()}"
        else:
            out.append(line.rstrip())
    return "\n".join(out)


@dataclass(frozen=True)
class Fix:
    text: str
    code: str
    # shown only: with compile evidence ("compile"), without it ("general"), when the line wraps an
    # inner error ("inner") or when it does not ("no-inner"); None: always
    when: str | None = None
    needs: str | None = None  # a culprit part ({name} in text/code) the fix is about; dropped without it
    if_line: re.Pattern | None = None  # shown only when the line (or paste) matches

    def shown(self, compile_evidence: bool, has_inner: bool, culprit: dict[str, str], text: str = "") -> Fix | None:
        if self.if_line is not None and not self.if_line.search(text):
            return None
        if (self.when == "compile" and not compile_evidence) or (self.when == "general" and compile_evidence):
            return None
        if (self.when == "inner" and not has_inner) or (self.when == "no-inner" and has_inner):
            return None
        if self.needs is None:
            return self
        if not culprit.get(self.needs):
            return None
        return Fix(fill(self.text, culprit), fill(self.code, culprit), self.when)


def fill(template: str, values: dict[str, str]) -> str:
    """``{name}`` parts replaced by the culprit the line named (others left as they are: code has braces)."""
    return CULPRIT_RX.sub(lambda m: values.get(m.group(1), m.group(0)), template)


@dataclass(frozen=True)
class Source:
    """Where a message or a rule lives in the installed torch or triton, and since when."""

    file: str  # inside site-packages: "torch/_inductor/utils.py" (a shared library for C++ text)
    text: str  # a literal that file contains
    function: str | None = None
    since: str | None = None
    removed_in: str | None = None
    changes: str | None = None

    @property
    def package(self) -> str:
        return self.file.split("/", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "function": self.function,
            "text": self.text,
            "since": self.since,
            "removed_in": self.removed_in,
            "changes": self.changes,
        }


def _source(row: dict[str, Any]) -> Source:
    return Source(
        row["source_file"],
        row["source_text"],
        row.get("source_function"),
        row.get("since"),
        row.get("removed_in"),
        row.get("changes"),
    )


def _fixes(row: dict[str, Any]) -> tuple[Fix, ...]:
    out = []
    for f in row["fixes"]:
        if f.get("when") not in (None, *FIX_WHEN):
            raise GpudiagError(f"{row.get('id')}: fix 'when' {f.get('when')!r} not in {FIX_WHEN}")
        if_line = _compile(str(row.get("id")), "fix if_line of", [f["if_line"]])[0] if f.get("if_line") else None
        out.append(Fix(f["text"], f.get("code", ""), f.get("when"), f.get("needs"), if_line))
    return tuple(out)


def _compile(rid: str, kind: str, patterns: list[str]) -> tuple[re.Pattern, ...]:
    try:
        return tuple(re.compile(p) for p in patterns)
    except re.error as exc:
        raise GpudiagError(f"{kind} {rid}: bad pattern: {exc}") from None


GROUP_RX = re.compile(r"\(\?P<(\w+)>")


class LazyPatterns(Sequence[re.Pattern]):
    """An entry's regular expressions, compiled the first time they are used.

    Compiling the whole catalogue's ~450 patterns was a fifth of one ``explain-warning LINE``'s
    time; a line's needles pick a few entries, and only theirs are compiled. A bad pattern still
    fails with the entry's id, at first use (tests compile every one: :meth:`Catalogue.compile_all`).
    """

    __slots__ = ("_compiled", "_kind", "_rid", "texts")

    def __init__(self, rid: str, kind: str, texts: Iterable[str]) -> None:
        self.texts = tuple(texts)
        self._rid, self._kind = rid, kind
        self._compiled: tuple[re.Pattern, ...] | None = None

    def compiled(self) -> tuple[re.Pattern, ...]:
        if self._compiled is None:
            self._compiled = _compile(self._rid, self._kind, list(self.texts))
        return self._compiled

    def group_names(self) -> set[str]:
        return {n for t in self.texts for n in GROUP_RX.findall(t)}

    def __iter__(self) -> Iterator[re.Pattern]:
        return iter(self.compiled())

    def __len__(self) -> int:
        return len(self.texts)

    def __bool__(self) -> bool:
        return bool(self.texts)

    def __getitem__(self, i):  # type: ignore[override]
        return self.compiled()[i]


# eq=False: entries are unique objects, and identity comparison keeps the log scan's membership
# tests cheap (a field-by-field __eq__ cost a fifth of the scan time).
@dataclass(frozen=True, eq=False)
class Entry:
    """One catalogued message."""

    id: str
    title: str
    severity: str
    needles: tuple[str, ...]
    patterns: Sequence[re.Pattern]
    meaning: str
    trigger: str
    source: Source
    fixes: tuple[Fix, ...]
    examples: tuple[str, ...]
    generic: bool = False
    verdict: str | None = None
    references: tuple[str, ...] = ()
    # "general": the line also comes from eager PyTorch or other tools; compile-specific causes and
    # fixes (when = "compile") are given only when the line or the paste shows the compile stack.
    scope: str = "compile"
    culprit: Sequence[re.Pattern] = ()  # named groups: what the message names (function, module, dim)
    summary: str = ""  # one sentence about the culprit, {group} filled in; shown when every part is known
    evidence: Sequence[re.Pattern] = ()  # what counts as compile evidence for this entry (default: any)
    refines: str | None = None  # the id of a broader entry this one is a special case of (tried first)

    def matches(self, text: str) -> bool:
        return any(p.search(text) for p in self.patterns)

    def culprit_of(self, text: str) -> dict[str, str]:
        for p in self.culprit:
            if m := p.search(text):
                return {k: v.strip() for k, v in m.groupdict().items() if v and v.strip()}
        return {}


@dataclass(frozen=True, eq=False)
class Family:
    """What emitted a line (exception class, module or logger), when no entry knows the message."""

    id: str
    title: str
    severity: str
    exceptions: frozenset[str]
    emitters: tuple[str, ...]
    meaning: str
    trigger: str
    source: Source
    fixes: tuple[Fix, ...]
    scope: str = "compile"
    generic: bool = True
    culprit: tuple[re.Pattern, ...] = ()
    summary: str = ""
    evidence: tuple[re.Pattern, ...] = ()

    def culprit_of(self, text: str) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class GuardClass:
    id: str
    title: str
    patterns: tuple[re.Pattern, ...]
    fix: str
    source: Source


@dataclass(frozen=True)
class PartitionReason:
    id: str
    pattern: re.Pattern
    finding: str
    benign: bool
    source: Source


@dataclass(frozen=True)
class Catalogue:
    entries: tuple[Entry, ...]
    by_id: dict[str, Entry] = field(default_factory=dict)

    def get(self, entry_id: str) -> Entry | None:
        return self.by_id.get(entry_id)

    def compile_all(self) -> None:
        """Compile every entry's patterns now: a bad one raises ``GpudiagError`` naming its entry."""
        for e in self.entries:
            for group in (e.patterns, e.culprit, e.evidence):
                if isinstance(group, LazyPatterns):
                    group.compiled()


def _entry(row: dict[str, Any]) -> Entry:
    rid = row.get("id", "<no id>")
    missing = [k for k in REQUIRED if not row.get(k)]
    if missing:
        raise GpudiagError(f"warnings catalogue entry {rid}: missing {', '.join(missing)}")
    if row["severity"] not in SEVERITIES:
        raise GpudiagError(f"warnings catalogue entry {rid}: severity {row['severity']!r} not in {SEVERITIES}")
    if row.get("verdict") and row["verdict"] not in VERDICT_RULES:
        raise GpudiagError(f"warnings catalogue entry {rid}: unknown verdict rule {row['verdict']!r}")
    if row.get("scope", "compile") not in SCOPES:
        raise GpudiagError(f"warnings catalogue entry {rid}: scope {row['scope']!r} not in {SCOPES}")
    culprit = LazyPatterns(rid, "warnings catalogue entry", row.get("culprit", []))
    names = culprit.group_names()
    for part in CULPRIT_RX.findall(row.get("summary", "")) + [f["needs"] for f in row["fixes"] if f.get("needs")]:
        if part not in names:
            raise GpudiagError(f"warnings catalogue entry {rid}: {{{part}}} is not a group of its culprit patterns")
    return Entry(
        id=rid,
        title=row["title"],
        severity=row["severity"],
        needles=tuple(row["needles"]),
        patterns=LazyPatterns(rid, "warnings catalogue entry", row["patterns"]),
        meaning=reflow(row["meaning"].strip()),
        trigger=reflow(row["trigger"].strip()),
        source=_source(row),
        fixes=_fixes(row),
        examples=tuple(row["examples"]),
        generic=bool(row.get("generic", False)),
        verdict=row.get("verdict"),
        references=tuple(row.get("references", ())),
        scope=row.get("scope", "compile"),
        culprit=culprit,
        summary=" ".join(row.get("summary", "").split()),
        evidence=LazyPatterns(rid, "warnings catalogue entry", row.get("evidence", [])),
        refines=row.get("refines"),
    )


def parse(data: dict[str, Any]) -> Catalogue:
    entries = tuple(_entry(r) for r in data.get("warning", ()))
    by_id: dict[str, Entry] = {}
    for e in entries:
        if e.id in by_id:
            raise GpudiagError(f"warnings catalogue: duplicate id {e.id}")
        by_id[e.id] = e
    for e in entries:
        if e.refines is not None and e.refines not in by_id:
            raise GpudiagError(f"warnings catalogue entry {e.id}: refines unknown entry {e.refines}")
    return Catalogue(entries, by_id)


def _family(row: dict[str, Any]) -> Family:
    rid = row.get("id", "<no id>")
    missing = [k for k in FAMILY_REQUIRED if not row.get(k)]
    if missing or not (row.get("exceptions") or row.get("emitters")):
        raise GpudiagError(f"family {rid}: missing {', '.join(missing) or 'exceptions or emitters'}")
    if row["severity"] not in SEVERITIES:
        raise GpudiagError(f"family {rid}: severity {row['severity']!r} not in {SEVERITIES}")
    return Family(
        rid,
        row["title"],
        row["severity"],
        frozenset(row.get("exceptions", ())),
        tuple(row.get("emitters", ())),
        reflow(row["meaning"].strip()),
        reflow(row["trigger"].strip()),
        _source(row),
        _fixes(row),
        row.get("scope", "compile"),
    )


def parse_families(data: dict[str, Any], catalogue_ids: Iterable[str] = ()) -> tuple[Family, ...]:
    families = tuple(_family(r) for r in data.get("family", ()))
    seen: set[str] = set(catalogue_ids)
    for f in families:
        if f.id in seen:
            raise GpudiagError(f"family {f.id}: id already used")
        seen.add(f.id)
    return families


@functools.lru_cache(maxsize=1)
def load() -> Catalogue:
    return parse(load_toml("gpudiag.explain", "data/warnings.toml"))


@functools.lru_cache(maxsize=1)
def families() -> tuple[Family, ...]:
    return parse_families(load_toml("gpudiag.explain", "data/families.toml"), set(load().by_id))


@functools.lru_cache(maxsize=1)
def story_data() -> tuple[tuple[GuardClass, ...], tuple[PartitionReason, ...]]:
    data = load_toml("gpudiag.explain", "data/story.toml")
    guards = tuple(
        GuardClass(r["id"], r["title"], _compile(r["id"], "guard class", r["patterns"]), r["fix"], _source(r))
        for r in data.get("guard", ())
    )
    partitions = tuple(
        PartitionReason(
            r["id"],
            _compile(r["id"], "partition reason", [r["pattern"]])[0],
            r["finding"],
            bool(r.get("benign", False)),
            _source(r),
        )
        for r in data.get("partition", ())
    )
    return guards, partitions


@functools.lru_cache(maxsize=1)
def tf32_rows() -> tuple[dict[str, Any], ...]:
    return tuple(load_toml("gpudiag.explain", "data/tf32.toml")["gpu"])
