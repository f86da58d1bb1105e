"""GPU names as people type them: one normaliser, one scorer, no list of spellings.

``tokens("NVIDIA GeForce RTX 4090D")`` and ``tokens("rtx 4090 d")`` are the same words, so every
catalogue name (key, name, aliases, NVML names) and every query is compared as a bag of words:

* Unicode is NFKC-folded (a full-width ``Ｈ１００`` is ``H100``) and lower-cased; punctuation splits.
* Letters and a number of two digits or more are split (``h100`` -> ``h 100``, ``rtx3070`` ->
  ``rtx 3070``), a number and the letters after it always (``4090d`` -> ``4090 d``), while a short
  suffix stays one word (``sxm5``, ``t4``, ``hbm3e``).
* Marketing words that never tell two GPUs apart (NVIDIA, GeForce, GPU, "Generation", memory types)
  are dropped; ``mobile``, ``max-q`` and ``4090m`` all mean ``laptop``.

A query matches a name when every significant query word is in it. Brand words (RTX, Tesla,
Jetson) may be left out; a memory size (``16gb``) and an architecture (``ada``) are checked against
the row instead. Among matching names the one adding the fewest distinguishing words wins (``3070``
is the RTX 3070, not the 3070 Ti); a tie between two GPUs is ambiguous. A laptop, a "D" or an NVL
variant is never mistaken for the desktop part: the query's ``laptop`` must be in the name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

NOISE = frozenset(
    {
        "nvidia",
        "geforce",
        "gpu",
        "graphics",
        "card",
        "generation",
        "edition",
        "tensor",
        "core",
        "nvgpu",
        "founders",
        "accelerator",
        "module",
        "developer",
        "kit",
        "series",
        "the",
        "hbm2",
        "hbm2e",
        "hbm3",
        "hbm3e",
        "gddr6",
        "gddr6x",
        "gddr7",
        "lpddr5",
        "lpddr5x",
    }
)
BRAND = frozenset({"rtx", "gtx", "tesla", "jetson", "dgx", "hgx", "superchip", "grace"})
ARCH = {
    "volta": "Volta",
    "turing": "Turing",
    "ampere": "Ampere",
    "ada": "Ada Lovelace",
    "lovelace": "Ada Lovelace",
    "hopper": "Hopper",
    "blackwell": "Blackwell",
}
SYNONYMS = {"mobile": "laptop", "notebook": "laptop"}
MEMORY_RX = re.compile(r"^(\d+(?:\.\d+)?)gb$")

# What a distinguishing word in a name costs when the query did not ask for it.
EXTRA_WORD, EXTRA_BRAND, EXTRA_ARCH, WRONG_MEMORY = 10, 1, 1, 15
MAX_QUERY_CHARS = 100


def normalise(text: str) -> str:
    """Lower-case words, split and folded as the module docstring says."""
    s = unicodedata.normalize("NFKC", text).casefold()
    s = re.sub(r"max[\s_-]*q", " laptop ", s)
    s = re.sub(r"(?<=\d{3})m\b", " laptop", s)  # "4090m" is how laptop parts are written
    s = re.sub(r"[^a-z0-9.]+", " ", s)
    s = re.sub(r"(?<=[a-z])(?=\d{2})", " ", s)
    s = re.sub(r"(?<=\d)(?=[a-z])", " ", s)
    s = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", s)
    s = re.sub(r"\b(\d+(?:\.\d+)?) (gb|gib)\b", r"\1gb", s)  # "16 gb" is one word
    s = re.sub(r"\b[a-z](?: [a-z]\b)+", lambda m: m.group(0).replace(" ", ""), s)  # "r t x" spelled out
    return " ".join(SYNONYMS.get(w, w) for w in s.split())


def tokens(text: str) -> tuple[str, ...]:
    return tuple(w for w in normalise(text).split() if w not in NOISE)


def memory_gib(words) -> float | None:
    for w in words:
        m = MEMORY_RX.match(w)
        if m:
            return float(m.group(1))
    return None


@dataclass(frozen=True)
class Match:
    """How well one catalogue name answers a query: lower ``cost`` is better."""

    key: str
    name: str
    cost: int
    memory_differs: bool


def score(
    query: tuple[str, ...], name: tuple[str, ...], arch_name: str | None, row_memory_gib: float | None
) -> tuple[int, bool] | None:
    """(cost, whether the row's memory differs from the query's), or None when ``name`` cannot be it."""
    wanted = set(query)
    have = set(name)
    for word in wanted - have:
        if word in BRAND:
            continue
        if word in ARCH and ARCH[word] == arch_name:
            continue
        if MEMORY_RX.match(word):
            continue
        return None
    cost = 0
    for word in have - wanted:
        if MEMORY_RX.match(word):
            continue  # judged against the row's memory below
        cost += EXTRA_BRAND if word in BRAND else EXTRA_ARCH if word in ARCH else EXTRA_WORD
    asked = memory_gib(query)
    differs = False
    if asked is not None:
        named = memory_gib(name)
        actual = named if named is not None else row_memory_gib
        differs = actual is None or abs(actual - asked) > 0.1 * asked
        cost += WRONG_MEMORY if differs else 0
    return cost, differs
