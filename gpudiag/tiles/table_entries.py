"""A config table as data: its entries (``Entry``, read from any key spelling of ``config_keys``, each
with what is wrong with it) and the table (``Table``: its kind, its name, which kernel model checks it,
and why it is not checked where it is not). Reading files into these is ``config_table.py``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from gpudiag.tiles import config_keys as ck
from gpudiag.tiles import table_layouts as tl
from gpudiag.tiles.table_names import RUNTIME_DTYPES, TableName

DEFAULT_WARPS, DEFAULT_STAGES = 4, 3  # a launch without num_warps/num_stages gets Triton's defaults
MAX_BLOCK, MAX_STAGES = 1024, 16


@dataclass
class Entry:
    """One config of a table: the batch size it is for (or its place in a list) and the tile."""

    key: str  # "16" (M) in a fused-MoE or GEMM table, "item 3" / "tiles.csv:4" in a list
    block_m: int | None = None
    block_n: int | None = None
    block_k: int | None = None
    group_m: int | None = None
    warps: int = DEFAULT_WARPS
    stages: int = DEFAULT_STAGES
    raw: dict[str, Any] | None = None  # the entry as written (a fitted table keeps every key)
    problem: str | None = None  # why this entry is not a config any Triton launches

    @property
    def spec(self) -> str:
        return f"{self.block_m}x{self.block_n}x{self.block_k}:{self.stages}@{self.warps}"


@dataclass
class Table:
    """One table: a fused-MoE, block-GEMM or plain-matmul table, a list of configs, a file that is
    not a tile table (``not_checked``), or something unreadable (``problem``)."""

    path: str
    kind: str  # "moe-table", "block-gemm-table", "matmul-table", "config-list", "not-a-tile-table", "unreadable"
    name: TableName | None = None
    entries: list[Entry] = field(default_factory=list)
    problem: str | None = None  # the whole file: one line (for a readable table, information only)
    triton_version: str | None = None  # a table's own "triton_version" key
    folder_triton: str | None = None  # SGLang's configs/triton_3_4_0/ folder, as "3.4.0"
    dtype_override: str | None = None  # a config list checked as this quantisation
    skipped: str | None = None  # why this file is not checked (not a tile table), with what it looks like
    section: str | None = None  # FlagGems: the operator this table is
    default_kernel: str = "fused-moe"  # the model for a table without a name (FlagGems' operators: matmul)

    @property
    def label(self) -> str:
        base = os.path.basename(self.path)
        return f"{base}: {self.section}" if self.section else base

    @property
    def kernel(self) -> str | None:
        """The kernel modelled for this table ("fused-moe", "block-gemm", "matmul"), None when unchecked."""
        if self.kind in ("unreadable", "not-a-tile-table"):
            return None
        if self.name is not None:
            return self.name.kernel or None
        return self.default_kernel

    @property
    def quant(self) -> str | None:
        if self.name is not None:
            return self.name.quant
        return self.dtype_override or "none"

    @property
    def not_modelled(self) -> str | None:
        """Why this table's entries are not checked although it is a tile table (its name's dtype), or None."""
        n = self.name
        if n is None or self.kind in ("unreadable", "not-a-tile-table"):
            return None
        if n.family == "vllm" and n.k is None and not n.runtime_builds:
            return (
                f"dtype={n.dtype}: no runtime builds this name, so none loads it (vLLM's and SGLang's "
                f"get_config_dtype_str give {', '.join(RUNTIME_DTYPES)} or no dtype part: a bf16 or fp16 model "
                f"looks up the name without dtype=, an fp8 one dtype=fp8_w8a8); not checked"
            )
        if n.quant is not None:
            return None
        if n.family == "scaled-mm":
            return (
                f"dtype={n.dtype}, input_dtype={n.input_dtype}: gpudiag models vLLM's per-token scaled GEMM tables "
                "for fp8 (float8_e4m3fn) and int8 operands only; not checked"
            )
        what = n.dtype or "?"
        if n.block_shape is not None and n.dtype == "int8_w8a8":
            what += " with block_shape"
        return (
            f"dtype={what}: loaded by the runtimes' fused-MoE code, but gpudiag models that kernel only for bf16/fp16 "
            "(no dtype part), fp8_w8a8 (per tensor, per channel or block-wise), int8_w8a16 and int8_w8a8; not checked"
        )

    @property
    def not_checked(self) -> str | None:
        """Why this file's entries are not checked at all (and count for nothing in the exit code), or None."""
        return self.skipped or self.not_modelled


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _pow2(v: int) -> bool:
    return v > 0 and v & (v - 1) == 0


def entry_from_mapping(key: str, raw: Any) -> Entry:
    """One table entry, with what is wrong with it (if anything) in ``problem``; keys in any of the
    spellings of ``config_keys`` (BLOCK_SIZE_M, BLOCK_M, TILE_M, ...), named as written in messages."""
    if not isinstance(raw, dict):
        return Entry(key, raw=None, problem=f"not an object of block sizes: {json.dumps(raw)[:60]}")
    if "_problem" in raw:
        return Entry(key, raw=None, problem=str(raw["_problem"]))
    if isinstance(raw.get("kwargs"), dict):  # a triton.Config written out: {"kwargs": {...}, "num_warps": 4}
        raw = {**raw["kwargs"], **{k: v for k, v in raw.items() if k != "kwargs"}}
    if isinstance(raw.get("META"), dict):  # FlagGems: {META: {...}, num_warps, num_stages}
        raw = tl.flat_meta(raw)
    e = Entry(key, raw=dict(raw))
    got = ck.fields(raw)
    missing = [f for f in ck.BLOCK_FIELDS if f not in got]
    if missing:
        e.problem = ck.missing_text(missing, list(raw))
        return e
    values = {}
    for f, (written, v) in got.items():
        n = _int(v)
        if n is None:
            e.problem = f"{written} is not an integer: {v!r}"
            return e
        values[f] = (written, n)
    e.block_m, e.block_n, e.block_k = (values[f][1] for f in ck.BLOCK_FIELDS)
    e.group_m = values["group_m"][1] if "group_m" in values else None
    e.warps = values["warps"][1] if "warps" in values else DEFAULT_WARPS
    e.stages = values["stages"][1] if "stages" in values else DEFAULT_STAGES
    for f in ck.BLOCK_FIELDS:
        written, v = values[f]
        if not _pow2(v):
            e.problem = f"{written}={v} is not a power of two (tl.arange needs a power-of-2 range)"
            return e
        if v > MAX_BLOCK:
            e.problem = f"{written}={v} is larger than any tile (at most {MAX_BLOCK})"
            return e
    name = {f: values[f][0] if f in values else ck.DISPLAY[f] for f in ("group_m", "stages", "warps")}
    if e.group_m is not None and e.group_m < 1:
        e.problem = f"{name['group_m']}={e.group_m}: must be at least 1"
    elif not 1 <= e.stages <= MAX_STAGES:
        e.problem = f"{name['stages']}={e.stages}: must be 1..{MAX_STAGES}"
    elif not _pow2(e.warps) or e.warps > 32:
        e.problem = f"{name['warps']}={e.warps}: must be a power of two, at most 32"
    return e


def stages_key(raw: dict) -> str:
    """The key an entry writes its stage count under (``num_stages`` where it has none)."""
    return next((k for k in raw if ck.field_of(k) == "stages"), "num_stages")
