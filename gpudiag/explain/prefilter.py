"""The log scanner's prefilter: which words a line must hold for the matcher to have an answer.

A line the prefilter lets through is decoded, parsed and matched; any other is counted as skipped
("no error/warning/exception token and no compile-stack name"). The tokens are derived from the
matcher's own data (the catalogue's needles, torch's exception classes and modules, the graph-break
registry's labels and types), so a line the matcher can answer always carries one:
tests/test_explain_scan.py proves it over the shipped catalogue and registry.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from gpudiag.explain import normalize, registry
from gpudiag.explain.matcher import Matcher

ASCII_DIGITS = b"0123456789"

# Tokens searched (lower-cased) in every new distinct line. Error words and the names of the compile
# stack; prefilter_tokens adds what the matcher's data needs beyond them.
BASE_TOKENS = (
    b"error",
    b"warn",
    b"exception",
    b"traceback",
    b"fail",
    b"fatal",
    b"critical",
    b"abort",
    b"assert",
    b"interrupt",
    b"unsupported",
    b"torch",
    b"triton",
    b"dynamo",
    b"inductor",
    b"cuda",
    b"__",
    b"graph",
    b"guard",
    b"compil",
    b"autotun",
    b"kernel",
    b"ptx",
    b"llvm",
    b"mlir",
    b"rocm",
    b"explanation:",
    b"hint:",
)


@dataclass(frozen=True)
class Prefilter:
    """What a line must hold for the matcher to answer it (see :func:`prefilter`)."""

    tokens: tuple[bytes, ...]  # lower-case, digit-free substrings
    tails: dict[bytes, tuple[bytes, ...]]  # last word -> graph-break types (digit-free) a line may end with


_PREFILTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def digit_free(text: str) -> bytes:
    """Text as the bytes of a line's key: UTF-8 with the ASCII digits removed."""
    return text.encode("utf-8", "replace").translate(None, ASCII_DIGITS)


def prefilter(matcher: Matcher) -> Prefilter:
    """BASE_TOKENS, a token for each needle, exception class and module they miss, and the graph-break types.

    The matcher answers a line only through a catalogue needle in it, an exception class or a module of
    torch/Triton named on it, or a graph-break type of the registry equal to its message (once its
    prefixes are gone, so the line ends with it). A line that holds none of the tokens and ends with
    none of those types cannot be answered. Tokens are lower-case and digit-free, like the keys they are
    searched in (removing the digits of a line removes those of any needle in it too).
    """
    cached = _PREFILTERS.get(matcher)
    if cached is not None:
        return cached
    tokens = list(BASE_TOKENS)

    def covered(low: bytes) -> bool:
        return any(t in low for t in tokens)

    for entry in matcher.catalogue.entries:
        for needle in entry.needles:
            low = digit_free(needle).lower()
            if low.strip() and not covered(low):
                tokens.append(low)
    names = [x for f in matcher.families for x in (*f.exceptions, *f.emitters)]
    for name in (*names, *normalize.BARE_EXCEPTIONS):
        low = digit_free(name).lower()
        if not covered(low):
            tokens.append(low)
    tails: dict[bytes, list[bytes]] = {}
    reg = matcher.registry
    if reg is not None:
        # a pasted "Explanation:", "Hint:" or "Developer debug context:" line of a graph break is answered
        # by the registry on its own (registry.LABEL_RX)
        for label in registry.LINE_LABELS:
            low = digit_free(label).lower()
            if not covered(low):
                tokens.append(low)
        for gb_type in reg.by_type:
            key = digit_free(gb_type).strip()
            if key and not covered(key.lower()):
                tails.setdefault(key.rsplit(None, 1)[-1], []).append(key)
    result = Prefilter(tuple(dict.fromkeys(tokens)), {w: tuple(v) for w, v in tails.items()})
    _PREFILTERS[matcher] = result
    return result


def prefilter_tokens(matcher: Matcher) -> tuple[bytes, ...]:
    """The tokens of :func:`prefilter`: BASE_TOKENS first, then those the matcher's data adds."""
    return prefilter(matcher).tokens
