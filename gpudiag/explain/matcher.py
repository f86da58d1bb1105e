"""One parsed line -> the best explanation there is, and how exact it is.

Order, most exact first, each tried on the innermost wrapped message before the whole message:

1. a specific catalogue entry (our own: cited source, fixes, device verdict);
2. torch's graph-break registry of the installed torch (its gb id, explanation and hints);
3. a generic catalogue entry (a message template with an open part, "skipping cudagraphs due to ...");
4. a family: the exception class in the chain, innermost first, else the module a qualified class
   was raised from, else the emitting module or logger.

A catalogue entry that also names a registry graph break carries it (our verdict and fixes, torch's
id and hints). Lines from other tools have no torch emitter and no torch exception class, so step 4
cannot claim them.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from gpudiag.explain import normalize, registry
from gpudiag.explain.catalog import Catalogue, Entry, Family
from gpudiag.explain.normalize import Line
from gpudiag.explain.registry import GraphBreakType, Registry

# How exact a match is: lower wins when several lines of a paste match.
EXACT, GENERIC, FAMILY = 0, 1, 2

# A message cut short (an issue title, a terminal or a log viewer cutting at its width) still names its
# entry when it is the start of that entry's printed message and long enough to say something: at
# least this many characters and words, and this share of the whole message.
CUT_MIN_CHARS, CUT_MIN_WORDS, CUT_MIN_SHARE = 24, 4, 0.5

# Signs that torch.compile, dynamo, inductor or Triton were at work when a line was printed: their
# modules or file paths, their exception wrappers, their artifact tags and compile ids, their caches.
COMPILE_EVIDENCE_RX = re.compile(
    r"torch[./\\]_(?:dynamo|inductor|functorch|higher_order_ops)|torch[./\\]_?export|\btorchinductor|\btorchdynamo"
    r"|\btriton\b|\bTriton\b|torch\.compile|BackendCompilerFailed|InductorError|LoweringException"
    r"|cudagraph|CUDAGraph|compile_fx|aot_autograd|AOTAutograd|max-autotune|reduce-overhead|\[__\w+\]"
    r"|\[\d+/\d+(?:_\d+)?\]|triton_(?:poi|red|per|mm|tem)_|\bdynamo\b|\binductor\b"
)
COMPILE_EMITTERS = ("torch._dynamo", "torch._inductor", "torch._functorch", "torch.export", "torch._export", "triton")


def compile_evidence(text: str, line: Line | None = None, patterns: Sequence[re.Pattern] = ()) -> bool:
    """Whether the line (or the paste or log around it) shows the compile stack at work.

    ``patterns`` replace the default signs where an entry needs stronger ones (an ImportError of a
    Triton module is compile evidence only when torch's own frames did the import)."""
    if patterns:
        return any(p.search(text) for p in patterns)
    if line is not None and (line.tags or (line.emitter or "").startswith(COMPILE_EMITTERS)):
        return True
    return bool(COMPILE_EVIDENCE_RX.search(text))


@dataclass(frozen=True, eq=False)
class Match:
    kind: str  # "catalogue" | "registry" | "family"
    id: str
    entry: Entry | None = None
    graph_break: GraphBreakType | None = None
    family: Family | None = None
    cut_short: bool = False  # the line is the start of the entry's message, not all of it

    @property
    def rank(self) -> int:
        if self.kind == "family":
            return FAMILY
        return GENERIC if self.entry is not None and self.entry.generic else EXACT

    @property
    def described(self) -> Entry | Family | None:
        """Our own text for the match (a catalogue entry, else a family); None for a registry-only one."""
        return self.entry if self.entry is not None else self.family

    @property
    def title(self) -> str:
        d = self.described
        if d is not None:
            return d.title
        assert self.graph_break is not None  # a match is a catalogue entry, a family or a registry type
        return f"Graph break: {self.graph_break.gb_type}"

    @property
    def severity(self) -> str:
        d = self.described
        # a graph break splits the graph; raised (fullgraph) it is reported as Unsupported
        return d.severity if d is not None else "performance"


class Matcher:
    """The catalogue, torch's registry and the families, indexed for matching."""

    def __init__(
        self,
        catalogue: Catalogue,
        families: Iterable[Family] = (),
        registry_loader: Callable[[], Registry | None] = registry.installed,
    ) -> None:
        self.catalogue = catalogue
        self.families = tuple(families)
        self._registry_loader = registry_loader
        self._registry: Registry | bool | None = False  # False: not loaded yet (it costs ~20 ms)
        self._examples: list[tuple[str, Entry]] | None = None  # cut_short's index, built on first use
        self.by_needle: dict[str, list[Entry]] = {}
        for e in catalogue.entries:
            for n in e.needles:
                self.by_needle.setdefault(n, []).append(e)
        for lst in self.by_needle.values():
            lst.sort(key=lambda e: e.generic)  # specific entries are tried before generic ones
        self.family_by_exception = {name: f for f in self.families for name in f.exceptions}
        self.emitter_prefixes = sorted(((p, f) for f in self.families for p in f.emitters), key=lambda t: -len(t[0]))

    @property
    def registry(self) -> Registry | None:
        if self._registry is False:
            self._registry = self._registry_loader()
        return self._registry  # type: ignore[return-value]

    def candidates(self, text: str) -> list[Entry]:
        """Entries whose needles occur in the text, specific ones first."""
        seen: list[Entry] = []
        for n, entries in self.by_needle.items():
            if n in text:
                for e in entries:
                    if e not in seen:
                        seen.append(e)
        # specific before generic; an entry for a special case (one that names its culprit) before the
        # general entry of the same message
        seen.sort(key=lambda e: (e.generic, e.refines is None))
        return seen

    def match(self, raw: str) -> Match | None:
        return self.match_line(normalize.parse(raw))

    def match_line(self, line: Line) -> Match | None:
        texts = (*line.texts, line.text) if line.text != line.message else line.texts
        cands = self.candidates(line.text)
        generic: Entry | None = None
        for text in texts:
            for e in cands:
                if e.matches(text):
                    if not e.generic:
                        return Match("catalogue", e.id, entry=e, graph_break=self.graph_break(line))
                    generic = generic or e
        gb = self.graph_break(line)
        if gb is not None:
            # a catalogue entry for this graph-break type (reached from a pasted Explanation:/Hint: line
            # or an older wording) gives our own fixes with torch's
            for e in self.candidates(gb.gb_type):
                if not e.generic and e.matches(gb.gb_type):
                    return Match("catalogue", e.id, entry=e, graph_break=gb)
            return Match("registry", gb.gb_id, graph_break=gb)
        for text in texts:
            if cut := self.cut_short(text):
                return Match("catalogue", cut.id, entry=cut, cut_short=True)
        if generic is not None:
            return Match("catalogue", generic.id, entry=generic)
        family = self.family_of(line)
        return Match("family", family.id, family=family) if family is not None else None

    def cut_short(self, message: str) -> Entry | None:
        """The one specific entry whose printed message (as its examples show it) ``message`` is the
        start of, long enough to be that message's (CUT_MIN_*); None where none or several are."""
        text = _folded(message)
        if len(text) < CUT_MIN_CHARS or len(text.split()) < CUT_MIN_WORDS:
            return None
        examples = self._example_messages()
        found: dict[str, Entry] = {}
        i = bisect.bisect_left(examples, (text,))
        while i < len(examples) and examples[i][0].startswith(text):
            whole, entry = examples[i]
            if whole != text and len(text) >= CUT_MIN_SHARE * len(whole):
                found[entry.id] = entry
            i += 1
        return next(iter(found.values())) if len(found) == 1 else None

    def _example_messages(self) -> list[tuple[str, Entry]]:
        """Every specific entry's example messages, prefixes parsed off and folded, sorted."""
        if self._examples is None:
            self._examples = sorted(
                (
                    (_folded(normalize.parse(x).message), e)
                    for e in self.catalogue.entries
                    if not e.generic
                    for x in e.examples
                ),
                key=lambda pair: pair[0],
            )
        return self._examples

    def graph_break(self, line: Line) -> GraphBreakType | None:
        if len(line.message) > 400 or self.registry is None:
            return None
        for text in line.texts:
            if gb := self.registry.lookup(text, line.text, line.from_torch_or_triton):
                return gb
        return None

    def family_of(self, line: Line) -> Family | None:
        for exc in reversed(line.exceptions):
            if f := self.family_by_exception.get(exc.rsplit(".", 1)[-1]):
                return f
        # A qualified class names the module that defines it ("torch._subclasses.fake_tensor.X"), which
        # says which part of the stack raised it even when the class itself is not listed.
        for exc in reversed(line.exceptions):
            if "." in exc and (f := self._family_of_module(exc.rsplit(".", 1)[0])):
                return f
        return self._family_of_module(line.emitter) if line.emitter else None

    def _family_of_module(self, module: str) -> Family | None:
        for prefix, f in self.emitter_prefixes:
            if module == prefix or module.startswith(prefix + "."):
                return f
        return None

    def all_matches(self, raw: str) -> list[Entry]:
        """Every entry whose pattern matches (ignoring needles): used by tests for uniqueness."""
        line = normalize.parse(raw)
        return [e for e in self.catalogue.entries if any(e.matches(t) for t in (*line.texts, line.text))]


def _folded(text: str) -> str:
    """Case and runs of white space folded, trailing punctuation and ellipses dropped: how a message
    and the start of it are compared."""
    return " ".join(text.casefold().split()).rstrip(" .…:")
