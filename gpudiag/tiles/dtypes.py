"""Element types (``data/dtypes.toml``): sizes, Triton/torch names, default operand layouts."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.files import load_toml


@dataclass(frozen=True)
class DType:
    name: str
    bits: int
    aliases: tuple[str, ...] = ()
    triton: str | None = None
    torch: str | None = None
    out: str | None = None
    b_layout: str = "row"
    dot_precision: str | None = None
    sources: tuple[str, ...] = field(default_factory=tuple)

    def bytes_for(self, elements: int) -> int:
        """Bytes that ``elements`` of this type occupy (sub-byte types packed, rounded up)."""
        return (elements * self.bits + 7) // 8


@functools.lru_cache(maxsize=1)
def table() -> dict[str, DType]:
    raw = load_toml("gpudiag.tiles", "data/dtypes.toml")
    out: dict[str, DType] = {}
    for row in raw["dtype"]:
        dt = DType(
            name=row["name"],
            bits=int(row["bits"]),
            aliases=tuple(row.get("aliases", ())),
            triton=row.get("triton"),
            torch=row.get("torch"),
            out=row.get("out"),
            b_layout=row.get("b_layout", "row"),
            dot_precision=row.get("dot_precision"),
            sources=tuple(row.get("sources", ())),
        )
        for key in (dt.name, *dt.aliases):
            out[key.lower()] = dt
    return out


def names() -> list[str]:
    seen: list[str] = []
    for dt in table().values():
        if dt.name not in seen:
            seen.append(dt.name)
    return seen


def lookup(name: str) -> DType:
    dt = table().get((name or "").strip().lower())
    if dt is None:
        raise GpudiagError(f"unknown dtype '{name}': known are {', '.join(names())}", EXIT_USAGE)
    return dt
