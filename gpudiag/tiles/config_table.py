"""Reading the config tables people ship into ``Table``s (``table_entries.py``), one file at a time,
never raising for a bad one:

- vLLM's and SGLang's fused-MoE, block-quantised GEMM and per-token scaled GEMM tables, and LightLLM's
  ``all_kernel_configs/<kernel>/{...}_DEVICE.json`` (what a name says: ``table_names.py``), objects
  keyed by batch size (LightLLM's ``bmm_scaled_fp8`` nests ``{M: {N: config}}``: ``table_layouts.py``);
- FlagGems' ``tune_configs.yaml`` (YAML or JSON): a table per operator;
- plain lists of Triton configs, and gpudiag's own ``--file`` YAML and CSV.

A file that is not a matmul tile table (another kernel's table, with no block M/N/K: SGLang's
moe_sum_reduce, vLLM's old LoRA configs, LightLLM's silu_and_mul or attention tables, a FlagGems
reduction) is a ``not-a-tile-table`` whose ``skipped`` line says what it looks like; it is not checked.
A file that cannot be read as a table is ``unreadable`` with its ``problem``. Only a path that does
not exist or holds no table-like file is a usage error.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles import config_keys as ck
from gpudiag.tiles import table_layouts as tl
from gpudiag.tiles.table_entries import (
    DEFAULT_STAGES,
    DEFAULT_WARPS,
    MAX_BLOCK,
    MAX_STAGES,
    Entry,
    Table,
    entry_from_mapping,
    stages_key,
)
from gpudiag.tiles.table_names import (
    GEMM_DTYPES,
    LIGHTLLM_MATMUL,
    MODELLED_DTYPES,
    TableName,
    parse_name,
)

__all__ = [
    "DEFAULT_STAGES",
    "DEFAULT_WARPS",
    "GEMM_DTYPES",
    "MAX_BLOCK",
    "MAX_STAGES",
    "MODELLED_DTYPES",
    "Entry",
    "Table",
    "TableName",
    "entry_from_mapping",
    "parse_name",
    "read_path",
    "read_table",
    "stages_key",
]

# What each quantisation means, for reports.
QUANT_TEXT = {
    "none": "bf16/fp16 activations and weights",
    "fp8_w8a8": "fp8 (e4m3) activations and weights, per-tensor or per-channel scales",
    "fp8_w8a8_block": "fp8 (e4m3) activations and weights, block-wise scales",
    "int8_w8a16": "bf16 activations, int8 weights",
    "int8_w8a8": "int8 activations and weights, per-channel scales",
    "int8_w8a8_block": "int8 activations and weights, block-wise scales",
    "fp8": "fp8 (e4m3) operands, scales applied after the K loop",
    "int8": "int8 operands, scales applied after the K loop",
}
# Which kernel a table's entries are launched with, for reports.
KERNEL_TEXT = {
    "fused-moe": "the fused-MoE kernel (gpudiag/tiles/moe_kernel.py)",
    "block-gemm": "the dense block-quantised GEMM, w8a8_block_{fp8,int8}_matmul (gpudiag/tiles/block_gemm_kernel.py)",
    "matmul": "a plain tiled Triton matmul (the standard matmul estimate, gpudiag/tiles/estimate.py)",
}
MAX_FILE_BYTES = 16 << 20  # a table is a few kB; anything this large is not one
TABLE_SUFFIXES = (".json", ".yaml", ".yml", ".csv")
MAX_DEPTH = 4  # folder levels searched (SGLang keeps its tables in configs/triton_3_4_0/)
NOT_A_TILE_TABLE = "not a matmul tile table: not checked"


def _not_a_tile_table(path: str, what: str, items: list[tuple[str, Any]] | None = None) -> Table:
    keys = (
        f" (its entries have {tl.entry_keys(items)}: not block M, N and K, so not a matmul's tiles)"
        if items is not None
        else ""
    )
    return Table(path, "not-a-tile-table", skipped=f"{NOT_A_TILE_TABLE}: {what}{keys}")


def _batch_table(path: str, name: TableName | None, doc: Any) -> Table:
    kind = {"block-gemm": "block-gemm-table", "matmul": "matmul-table"}.get(name.kernel if name else "", "moe-table")
    t = Table(path, kind, name)
    if not isinstance(doc, dict):
        what = {"block-gemm-table": "block-quantised GEMM", "matmul-table": "GEMM"}.get(kind, "fused-MoE")
        t.kind, t.problem = "unreadable", f"a {what} table is a JSON object of batch sizes, got a {type(doc).__name__}"
        return t
    if isinstance(doc.get("triton_version"), (str, int, float)):
        t.triton_version = str(doc["triton_version"])
    batch = tl.batch_items(doc)
    if batch is None:
        for key, raw in doc.items():
            if key == "triton_version":
                continue
            if not str(key).strip().isdigit():
                t.entries.append(
                    Entry(
                        key,
                        raw=raw if isinstance(raw, dict) else None,
                        problem=f"key {key!r} is not a batch size: the runtimes int() every key but triton_version",
                    )
                )
                continue
            t.entries.append(entry_from_mapping(key, raw))
    else:
        t.entries = [entry_from_mapping(k, raw) for k, raw in batch]
    if not t.entries:
        t.kind, t.problem = "unreadable", "the table has no entries"
    return t


def _matmul_like(items: list[tuple[str, Any]]) -> bool:
    """Some entry names block sizes M, N and K: a matmul's tiles (the rest are then checked, or invalid)."""
    return any(isinstance(v, dict) and ck.has_block_keys(tl.flat_meta(v)) for _, v in items)


def _config_list(path: str, doc: Any) -> Table:
    t = Table(path, "config-list")
    items = doc
    if isinstance(doc, dict):
        for key in ("configs", "tiles", "candidates"):
            if isinstance(doc.get(key), list):
                items = doc[key]
                break
    if not isinstance(items, list):
        keys = ", ".join(list(map(str, doc))[:6]) if isinstance(doc, dict) else type(doc).__name__
        return _not_a_tile_table(
            path, f"neither a table keyed by batch size nor a list of configs (top-level keys: {keys})"
        )
    for i, raw in enumerate(items, 1):
        if isinstance(raw, dict) and not ck.fields(tl.flat_meta(raw)) and not isinstance(raw.get("kwargs"), dict):
            raw = _from_gpudiag_mapping(raw)
        t.entries.append(entry_from_mapping(f"item {i}", raw))
    if not t.entries:
        t.kind, t.problem = "unreadable", "the list holds no configs"
    return t


def _from_gpudiag_mapping(raw: dict) -> Any:
    """gpudiag's own spellings (block_m, bm, tile "128x64x32:3@4", ...) as a table entry."""
    from gpudiag.tiles import parse

    try:
        cfg = parse.from_mapping(raw, "")
    except GpudiagError as exc:
        return {"_problem": exc.message.lstrip(": ")}
    return _entry_mapping(cfg)


def _entry_mapping(cfg: Any) -> dict[str, int]:
    """A parsed ``TileConfig`` in a runtime table's spelling (stages and warps only where it gives them)."""
    out = {"BLOCK_SIZE_M": cfg.block_m, "BLOCK_SIZE_N": cfg.block_n, "BLOCK_SIZE_K": cfg.block_k}
    if cfg.warps is not None:
        out["num_warps"] = cfg.warps
    if cfg.stages is not None:
        out["num_stages"] = cfg.stages
    return out


def _flaggems_tables(path: str, ops: dict[str, list[dict] | str]) -> list[Table]:
    """One table per FlagGems operator: its matmul-like configs checked as a plain Triton matmul, the others
    reported as not checked."""
    out = []
    for op, configs in ops.items():
        if isinstance(configs, str):
            out.append(Table(path, "unreadable", problem=f"operator {op}: {configs}", section=op))
            continue
        items = [(f"{op} item {i}", c) for i, c in enumerate(configs, 1)]
        if not _matmul_like(items):
            t = _not_a_tile_table(path, f"operator {op}", items)
            t.section = op
            out.append(t)
            continue
        t = Table(path, "config-list", section=op, default_kernel="matmul")
        t.entries = [entry_from_mapping(k, c) for k, c in items]
        out.append(t)
    return out


def _gpudiag_file(path: str) -> list[Table]:
    """A YAML or CSV config file: FlagGems' tune_configs.yaml, or gpudiag's ``--file`` format."""
    from gpudiag.tiles import parse, parse_tables

    if path.lower().endswith((".yaml", ".yml")):
        try:
            doc = parse_tables.load_yaml_document(path)
        except GpudiagError as exc:
            return [Table(path, "unreadable", problem=exc.message.replace(f"{path}: ", "", 1))]
        ops = tl.flaggems_operators(doc)
        if ops is not None:
            return _flaggems_tables(path, ops)
    try:
        configs = parse.parse_file(path)
    except GpudiagError as exc:
        return [Table(path, "unreadable", problem=exc.message.replace(f"{path}: ", "", 1))]
    t = Table(path, "config-list")
    for c in configs:
        t.entries.append(entry_from_mapping(c.where.rsplit("/", 1)[-1], _entry_mapping(c)))
    return [t]


_TRITON_DIR = re.compile(r"^triton_(\d+)_(\d+)_(\d+)$")


def _json_tables(path: str, doc: Any) -> list[Table]:
    p = Path(path)
    name = parse_name(p.name, p.parent.name)
    if name is not None and name.family == "lightllm" and name.lightllm_kernel not in LIGHTLLM_MATMUL:
        return [_not_a_tile_table(path, f"LightLLM's {name.lightllm_kernel} kernel table", tl.batch_items(doc) or [])]
    if name is not None:
        return [_batch_table(path, name, doc)]
    batch = tl.batch_items(doc)
    if batch is not None:
        if not _matmul_like(batch):
            return [_not_a_tile_table(path, "a table keyed by batch size", batch)]
        t = _batch_table(path, None, doc)
        t.problem = (
            "a table keyed by batch size whose file name is none of the runtimes' (E=..,N=..,device_name=...json "
            "and the others): no runtime loads it under this name; checked as the fused-MoE kernel, bf16"
        )
        return [t]
    wrapped = tl.wrapped_batch_table(doc)
    if wrapped is not None and not _matmul_like(wrapped[1]):
        return [_not_a_tile_table(path, f"a table under {wrapped[0]!r} keyed by batch size", wrapped[1])]
    ops = tl.flaggems_operators(doc)
    if ops is not None:
        return _flaggems_tables(path, ops)
    if isinstance(doc, dict) and doc and all(isinstance(v, dict) for v in doc.values()):
        named = [(str(k), v) for k, v in doc.items()]
        if not _matmul_like(named) and not any(k in doc for k in ("configs", "tiles", "candidates")):
            return [_not_a_tile_table(path, "an object of named entries", named)]
    return [_config_list(path, doc)]


def read_tables(path: str) -> list[Table]:
    """The tables of one file (a FlagGems file holds one per operator), never raising: what is wrong
    with a file is its table's ``problem``."""
    p = Path(path)
    folder = _TRITON_DIR.match(p.parent.name)
    try:
        size = p.stat().st_size
    except OSError as exc:
        return [Table(path, "unreadable", problem=f"cannot read: {exc.strerror or exc}")]
    if size > MAX_FILE_BYTES:
        return [Table(path, "unreadable", problem=f"{size:,} bytes: too large for a config table")]
    if p.suffix.lower() != ".json":
        tables = _gpudiag_file(path)
    else:
        try:
            text = p.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            return [Table(path, "unreadable", problem=f"cannot read: {exc}")]
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            return [Table(path, "unreadable", problem=f"bad JSON at line {exc.lineno}: {exc.msg}")]
        except RecursionError:
            return [Table(path, "unreadable", problem="bad JSON: nested too deeply")]
        tables = _json_tables(path, doc)
    if folder:
        for t in tables:
            t.folder_triton = ".".join(folder.groups())
    return tables


def read_table(path: str) -> Table:
    """The first table of one file (``read_tables`` gives them all)."""
    return read_tables(path)[0]


def find_files(root: str) -> list[str]:
    """``root`` itself, or every table-like file under it (sorted, a few levels deep)."""
    p = Path(root)
    if p.is_file():
        return [str(p)]
    if not p.exists():
        raise GpudiagError(f"--from-config-table {root}: no such file or folder", EXIT_USAGE)
    if not p.is_dir():
        raise GpudiagError(f"--from-config-table {root}: not a file or a folder", EXIT_USAGE)
    out: list[str] = []
    base = len(p.parts)
    for dirpath, dirnames, filenames in os.walk(p):
        depth = len(Path(dirpath).parts) - base
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if depth < MAX_DEPTH else []
        for f in sorted(filenames):
            if f.lower().endswith(TABLE_SUFFIXES) and not f.startswith("."):
                out.append(os.path.join(dirpath, f))
    return out


def read_path(root: str) -> list[Table]:
    files = find_files(root)
    if not files:
        raise GpudiagError(
            f"--from-config-table {root}: no tables there (.json fused-MoE tables or config lists, .yaml, .csv)",
            EXIT_USAGE,
        )
    return [t for f in files for t in read_tables(f)]
