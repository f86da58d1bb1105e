"""What an architecture can do: the thresholds every verdict compares a compute capability with.

The rules are data (``data/arch_features.toml``, each with its sources), so ``info``'s verdicts and
``explain-warning``'s rules read the same threshold instead of writing ``>= (8, 0)`` twice.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from gpudiag.files import load_toml

CC = tuple[int, int]


def _cc(text: str) -> CC:
    major, minor = str(text).split(".")
    return int(major), int(minor)


def sm_name(cc: CC) -> str:
    return f"sm_{cc[0]}{cc[1]}"


@dataclass(frozen=True)
class ArchFeature:
    """One capability and the compute capabilities that have it."""

    id: str
    what: str
    sources: tuple[str, ...]
    min_cc: CC | None = None  # present from this compute capability on
    majors: tuple[int, ...] = ()  # or present only on these major versions
    notes: str | None = None

    def on(self, cc: CC) -> bool:
        cc = (int(cc[0]), int(cc[1]))
        if self.majors:
            return cc[0] in self.majors
        return self.min_cc is not None and cc >= self.min_cc

    def compare(self, cc: CC) -> str:
        """``cc`` against the rule, as a reader checks it: ``sm_90 >= sm_80``, ``sm_120 is not sm_9x``."""
        sm = sm_name(cc)
        if self.majors:
            families = "/".join(f"sm_{m}x" for m in self.majors)
            return f"{sm} is {families}" if self.on(cc) else f"{sm} is not {families}"
        return f"{sm} {'>=' if self.on(cc) else '<'} {sm_name(self.min_cc)}" if self.min_cc else sm

    @property
    def rule(self) -> str:
        """The threshold as a reader checks it: ``>= sm_80`` or ``sm_10x/sm_11x only``."""
        if self.majors:
            return " or ".join(f"sm_{m}x" for m in self.majors) + " only"
        return f">= {sm_name(self.min_cc)}" if self.min_cc else "never"


@functools.lru_cache(maxsize=1)
def features() -> dict[str, ArchFeature]:
    out = {}
    for row in load_toml("gpudiag.device", "data/arch_features.toml")["feature"]:
        out[row["id"]] = ArchFeature(
            id=row["id"],
            what=row["what"],
            sources=tuple(row["sources"]),
            min_cc=_cc(row["min_cc"]) if "min_cc" in row else None,
            majors=tuple(row.get("majors", ())),
            notes=row.get("notes"),
        )
    return out


def feature(feature_id: str) -> ArchFeature:
    """The rule for one feature; ``KeyError`` names a feature the data file lacks (a bug, not input)."""
    return features()[feature_id]


def supports(feature_id: str, cc: CC) -> bool:
    """Whether compute capability ``cc`` has the feature: ``supports("tf32_tensor_cores", (8, 0))``."""
    return feature(feature_id).on(cc)
