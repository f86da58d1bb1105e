"""The one table of the key spellings a tile config is written with, for every reader of configs:
``--file`` (JSON, YAML, CSV headers), ``--from-config-table`` (vLLM, SGLang, LightLLM and FlagGems
tables, lists of Triton configs) and ``--from-script`` (``triton.Config`` kwargs).

Keys are matched without regard to case. ``FILE_ONLY`` spellings (a bare ``m``/``n``/``k``, CSV
column names) are gpudiag's own file formats' and are not read as block sizes elsewhere: a kernel's
``K`` constexpr is the problem size, not a tile.
"""

from __future__ import annotations

from typing import Any

# canonical field -> its spellings, the usual one first (lowercase; matched case-insensitively)
ALIASES: dict[str, tuple[str, ...]] = {
    "block_m": ("block_size_m", "block_m", "bm", "tile_m", "block_size_q"),
    "block_n": ("block_size_n", "block_n", "bn", "tile_n", "block_size_kv"),
    "block_k": ("block_size_k", "block_k", "bk", "tile_k"),
    "group_m": ("group_size_m", "group_m"),
    "stages": ("num_stages", "stages", "ns"),
    "warps": ("num_warps", "warps", "nw"),
}
FILE_ONLY: dict[str, tuple[str, ...]] = {"block_m": ("m",), "block_n": ("n",), "block_k": ("k",)}
BLOCK_FIELDS = ("block_m", "block_n", "block_k")
# How a field is named in messages about tables and scripts (the Triton-config spelling).
DISPLAY = {
    "block_m": "BLOCK_M",
    "block_n": "BLOCK_N",
    "block_k": "BLOCK_K",
    "group_m": "GROUP_M",
    "stages": "num_stages",
    "warps": "num_warps",
}

_LOOKUP = {alias: field for field, aliases in ALIASES.items() for alias in aliases}
FILE_LOOKUP = {**_LOOKUP, **{alias: field for field, aliases in FILE_ONLY.items() for alias in aliases}}


def field_of(key: Any, files: bool = False) -> str | None:
    """The canonical field a key spells (``BLOCK_SIZE_M`` -> ``block_m``), or None."""
    return (FILE_LOOKUP if files else _LOOKUP).get(str(key).strip().lower())


def fields(mapping: dict, files: bool = False) -> dict[str, tuple[str, Any]]:
    """``{field: (key as written, value)}`` for the keys of ``mapping`` that spell a config field
    (the first spelling met wins)."""
    out: dict[str, tuple[str, Any]] = {}
    for k, v in mapping.items():
        f = field_of(k, files)
        if f is not None and f not in out:
            out[f] = (str(k), v)
    return out


def _named(field: str) -> list[str]:
    """The spellings of ``field`` messages offer (not attention's BLOCK_SIZE_Q/KV, which mean M and N there)."""
    return [a for a in ALIASES[field] if not a.endswith(("_q", "_kv"))]


def spellings(field: str, upper: bool = True) -> str:
    """``BLOCK_SIZE_K, BLOCK_K, BK, TILE_K``: the spellings accepted for ``field``, for messages."""
    return ", ".join(a.upper() if upper else a for a in _named(field))


def missing_text(missing: list[str], present: list[str] | tuple[str, ...] = ()) -> str:
    """``missing BLOCK_SIZE_K (also accepted: BLOCK_K, BK, TILE_K)``: each missing field named in the
    style of the keys that are there (``present``, as written), with the other spellings."""
    style = next((p for p in (str(k) for k in present) if field_of(p) in BLOCK_FIELDS), "")
    parts = []
    for f in missing:
        names = [a.upper() for a in _named(f)]
        pick = names[0]
        if style:
            stem = style[:-1].lower()  # "block_size_", "block_", "tile_", "b"
            same = [a for a in ALIASES[f] if a[:-1] == stem]
            if same:
                pick = same[0].upper() if style.isupper() or not style.islower() else same[0]
        parts.append(f"{pick} (also accepted: {', '.join(n for n in names if n.lower() != pick.lower())})")
    return "missing " + "; ".join(parts)


def has_block_keys(mapping: Any) -> bool:
    """Whether a mapping names all three block sizes (a matmul tile)."""
    return isinstance(mapping, dict) and all(f in fields(mapping) for f in BLOCK_FIELDS)
