"""Reading the config tables people ship: vLLM's and SGLang's fused-MoE tables, plain lists of Triton
configs, and gpudiag's own config files (``--file``'s JSON, YAML and CSV).

A fused-MoE table is a JSON object named like ``E=8,N=14336,device_name=NVIDIA_H100_80GB_HBM3.json``
(optionally ``,dtype=fp8_w8a8``, ``,block_shape=[128,128]``, SGLang's ``,per_channel_quant=True`` and
``_down`` for the second GEMM's own table), mapping a batch size M (a string of digits, as
``json`` writes an int key) to ``{BLOCK_SIZE_M, BLOCK_SIZE_N, BLOCK_SIZE_K, GROUP_SIZE_M, num_warps,
num_stages}``. vLLM drops a top-level ``"triton_version"`` before it turns every key into an int;
nothing else may be there. The element types come from the name: no dtype means bf16 (or fp16)
activations and weights.

A dense block-quantised GEMM table (vLLM's and SGLang's ``w8a8_block_fp8_matmul`` /
``w8a8_block_int8_matmul``) is named like ``N=1536,K=1536,device_name=NVIDIA_H100_80GB_HBM3,
dtype=fp8_w8a8,block_shape=[128,128].json`` (SGLang writes ``block_shape=[128, 128]``; the dtype is
``fp8_w8a8`` or ``int8_w8a8``) and holds the same entries, for a plain tiled matmul with block-wise
scales (``block_gemm_kernel.py``).

Nothing here raises for a bad table: each table carries its own problem (one line), each entry its
own, so one bad file never stops the others from being checked. Only a path that does not exist or
holds no table is a usage error.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpudiag.errors import EXIT_USAGE, GpudiagError

# Quantisations gpudiag's fused-MoE kernel model covers (moe_kernel.QUANTS), from the table name's dtype.
MODELLED_DTYPES = {None: "none", "fp8_w8a8": "fp8_w8a8", "int8_w8a16": "int8_w8a16", "int8_w8a8": "int8_w8a8"}
# What each quantisation means, for reports.
QUANT_TEXT = {
    "none": "bf16/fp16 activations and weights",
    "fp8_w8a8": "fp8 (e4m3) activations and weights, per-tensor or per-channel scales",
    "fp8_w8a8_block": "fp8 (e4m3) activations and weights, block-wise scales",
    "int8_w8a16": "bf16 activations, int8 weights",
    "int8_w8a8": "int8 activations and weights, per-channel scales",
    "int8_w8a8_block": "int8 activations and weights, block-wise scales",
}
# Which kernel a table's entries are launched with, for reports.
KERNEL_TEXT = {
    "fused-moe": "the fused-MoE kernel (gpudiag/tiles/moe_kernel.py)",
    "block-gemm": "the dense block-quantised GEMM, w8a8_block_{fp8,int8}_matmul (gpudiag/tiles/block_gemm_kernel.py)",
}
GEMM_DTYPES = ("fp8_w8a8", "int8_w8a8")
ENTRY_KEYS = ("BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K")
DEFAULT_WARPS, DEFAULT_STAGES = 4, 3  # a launch without num_warps/num_stages gets Triton's defaults
MAX_BLOCK, MAX_STAGES = 1024, 16
MAX_FILE_BYTES = 16 << 20  # a table is a few kB; anything this large is not one
TABLE_SUFFIXES = (".json", ".yaml", ".yml", ".csv")
MAX_DEPTH = 4  # folder levels searched (SGLang keeps its tables in configs/triton_3_4_0/)

_NAME_RE = re.compile(
    r"^E=(?P<E>\d+),N=(?P<N>\d+),device_name=(?P<device>.+?)"
    r"(?:,dtype=(?P<dtype>[A-Za-z0-9_]+?))?"
    r"(?:,block_shape=\[(?P<bn>\d+),(?P<space>\s*)(?P<bk>\d+)\])?"
    r"(?P<per_channel>,per_channel_quant=True)?"
    r"(?P<down>_down)?\.json$"
)
_GEMM_NAME_RE = re.compile(
    r"^N=(?P<N>\d+),K=(?P<K>\d+),device_name=(?P<device>.+?)"
    r",dtype=(?P<dtype>fp8_w8a8|int8_w8a8)"
    r",block_shape=\[(?P<bn>\d+),(?P<space>\s*)(?P<bk>\d+)\]\.json$"
)


@dataclass(frozen=True)
class TableName:
    """What a fused-MoE table's (or a dense block-quantised GEMM table's) file name says."""

    experts: int | None  # None: a dense block-quantised GEMM table (``k`` is set)
    n: int
    device_name: str  # as written, spaces already replaced by "_"
    dtype: str | None  # "fp8_w8a8", ...; None: bf16/fp16
    block_shape: tuple[int, int] | None
    per_channel: bool = False
    down: bool = False  # SGLang's separate table for the second GEMM
    spaced_block_shape: bool = False  # "[128, 128]": SGLang writes the list as Python prints it
    k: int | None = None  # a dense GEMM table's K

    @property
    def kernel(self) -> str:
        """The kernel the runtime launches with this table's entries (a ``KERNEL_TEXT`` key)."""
        return "block-gemm" if self.k is not None else "fused-moe"

    @property
    def quant(self) -> str | None:
        """The kernel variant (moe_kernel.QUANTS; for a dense GEMM table "fp8_w8a8_block" or
        "int8_w8a8_block"), or None when gpudiag does not model this dtype."""
        if self.k is not None:
            return f"{self.dtype}_block"
        q = MODELLED_DTYPES.get(self.dtype) if self.dtype in MODELLED_DTYPES else None
        if q == "fp8_w8a8" and self.block_shape is not None:
            return "fp8_w8a8_block"
        if q == "int8_w8a8" and self.block_shape is not None:
            return None  # block-wise int8: not modelled
        return q

    @property
    def family_key(self) -> tuple:
        """Tables for the same layer shape and quantisation, whatever GPU they were tuned on."""
        return (self.experts, self.n, self.dtype, self.block_shape, self.per_channel, self.down, self.k)

    def with_device(self, device_name: str, spaced: bool | None = None) -> str:
        """This table's file name with another device_name (how a runtime spells it for that GPU)."""
        if self.k is not None:
            parts = [f"N={self.n}", f"K={self.k}", f"device_name={device_name}"]
        else:
            parts = [f"E={self.experts}", f"N={self.n}", f"device_name={device_name}"]
        if self.dtype:
            parts.append(f"dtype={self.dtype}")
        if self.block_shape:
            sep = ", " if (self.spaced_block_shape if spaced is None else spaced) else ","
            parts.append(f"block_shape=[{self.block_shape[0]}{sep}{self.block_shape[1]}]")
        if self.per_channel:
            parts.append("per_channel_quant=True")
        return ",".join(parts) + ("_down" if self.down else "") + ".json"


def parse_name(filename: str) -> TableName | None:
    m = _NAME_RE.match(filename)
    if m is None:
        g = _GEMM_NAME_RE.match(filename)
        if g is None:
            return None
        return TableName(
            None,
            int(g["N"]),
            g["device"],
            g["dtype"],
            (int(g["bn"]), int(g["bk"])),
            spaced_block_shape=bool(g["space"]),
            k=int(g["K"]),
        )
    block = (int(m["bn"]), int(m["bk"])) if m["bn"] else None
    return TableName(
        int(m["E"]),
        int(m["N"]),
        m["device"],
        m["dtype"],
        block,
        bool(m["per_channel"]),
        bool(m["down"]),
        bool(m["space"]),
    )


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
    """One file: a fused-MoE table, a list of configs, or something unreadable (``problem``)."""

    path: str
    kind: str  # "moe-table", "block-gemm-table", "config-list", "unreadable"
    name: TableName | None = None
    entries: list[Entry] = field(default_factory=list)
    problem: str | None = None  # the whole file: one line
    triton_version: str | None = None  # a table's own "triton_version" key
    folder_triton: str | None = None  # SGLang's configs/triton_3_4_0/ folder, as "3.4.0"
    dtype_override: str | None = None  # a config list checked as this quantisation

    @property
    def label(self) -> str:
        return os.path.basename(self.path)

    @property
    def kernel(self) -> str | None:
        """The kernel modelled for this table ("fused-moe", "block-gemm"), None for an unreadable file."""
        if self.kind == "unreadable":
            return None
        return self.name.kernel if self.name is not None else "fused-moe"

    @property
    def quant(self) -> str | None:
        if self.name is not None:
            return self.name.quant
        return self.dtype_override or "none"

    @property
    def not_modelled(self) -> str | None:
        """Why gpudiag has no model of this table's kernel, or None."""
        if self.name is None or self.name.quant is not None:
            return None
        what = self.name.dtype or "?"
        if self.name.block_shape is not None and self.name.dtype == "int8_w8a8":
            what += " with block_shape"
        return (
            f"dtype {what}: gpudiag models the fused-MoE kernel for bf16/fp16, fp8_w8a8 (per tensor, per channel "
            "or block-wise), int8_w8a16 and int8_w8a8; this one is not checked"
        )


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
    """One table entry, with what is wrong with it (if anything) in ``problem``."""
    if not isinstance(raw, dict):
        return Entry(key, raw=None, problem=f"not an object of block sizes: {json.dumps(raw)[:60]}")
    if "_problem" in raw:
        return Entry(key, raw=None, problem=str(raw["_problem"]))
    if isinstance(raw.get("kwargs"), dict):  # a triton.Config written out: {"kwargs": {...}, "num_warps": 4}
        raw = {**raw["kwargs"], **{k: v for k, v in raw.items() if k != "kwargs"}}
    e = Entry(key, raw=dict(raw))
    missing = [k for k in ENTRY_KEYS if k not in raw]
    if missing:
        e.problem = f"missing {', '.join(missing)}"
        return e
    values = {}
    for k in (*ENTRY_KEYS, "GROUP_SIZE_M", "num_warps", "num_stages"):
        if k not in raw:
            continue
        v = _int(raw[k])
        if v is None:
            e.problem = f"{k} is not an integer: {raw[k]!r}"
            return e
        values[k] = v
    e.block_m, e.block_n, e.block_k = (values[k] for k in ENTRY_KEYS)
    e.group_m = values.get("GROUP_SIZE_M")
    e.warps = values.get("num_warps", DEFAULT_WARPS)
    e.stages = values.get("num_stages", DEFAULT_STAGES)
    for k in ENTRY_KEYS:
        v = values[k]
        if not _pow2(v):
            e.problem = f"{k}={v} is not a power of two (tl.arange needs a power-of-2 range)"
            return e
        if v > MAX_BLOCK:
            e.problem = f"{k}={v} is larger than any tile (at most {MAX_BLOCK})"
            return e
    if e.group_m is not None and e.group_m < 1:
        e.problem = f"GROUP_SIZE_M={e.group_m}: must be at least 1"
    elif not 1 <= e.stages <= MAX_STAGES:
        e.problem = f"num_stages={e.stages}: must be 1..{MAX_STAGES}"
    elif not _pow2(e.warps) or e.warps > 32:
        e.problem = f"num_warps={e.warps}: must be a power of two, at most 32"
    return e


def _moe_table(path: str, name: TableName | None, doc: Any) -> Table:
    gemm = name is not None and name.k is not None
    t = Table(path, "block-gemm-table" if gemm else "moe-table", name)
    if not isinstance(doc, dict):
        t.kind, t.problem = (
            "unreadable",
            f"a {'block-quantised GEMM' if gemm else 'fused-MoE'} table is a JSON object of batch sizes, "
            f"got a {type(doc).__name__}",
        )
        return t
    for key, raw in doc.items():
        if key == "triton_version":
            t.triton_version = str(raw)
            continue
        if not key.strip().isdigit():
            t.entries.append(
                Entry(
                    key,
                    raw=raw if isinstance(raw, dict) else None,
                    problem=f"key {key!r} is not a batch size: vLLM and SGLang int() every key but triton_version",
                )
            )
            continue
        t.entries.append(entry_from_mapping(key, raw))
    if not t.entries:
        t.kind, t.problem = "unreadable", "the table has no entries"
    return t


def _config_list(path: str, doc: Any) -> Table:
    t = Table(path, "config-list")
    items = doc
    if isinstance(doc, dict):
        for key in ("configs", "tiles", "candidates"):
            if isinstance(doc.get(key), list):
                items = doc[key]
                break
    if not isinstance(items, list):
        return Table(
            path,
            "unreadable",
            problem="neither a fused-MoE table (E=..,N=..,device_name=...json) nor a list of configs",
        )
    for i, raw in enumerate(items, 1):
        if isinstance(raw, dict) and not any(k in raw for k in ENTRY_KEYS) and not isinstance(raw.get("kwargs"), dict):
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
        return {"_problem": exc.message}
    out = {"BLOCK_SIZE_M": cfg.block_m, "BLOCK_SIZE_N": cfg.block_n, "BLOCK_SIZE_K": cfg.block_k}
    if cfg.warps is not None:
        out["num_warps"] = cfg.warps
    if cfg.stages is not None:
        out["num_stages"] = cfg.stages
    return out


def _gpudiag_file(path: str) -> Table:
    """A YAML or CSV config file in gpudiag's ``--file`` format."""
    from gpudiag.tiles import parse

    try:
        configs = parse.parse_file(path)
    except GpudiagError as exc:
        return Table(path, "unreadable", problem=exc.message.replace(f"{path}: ", "", 1))
    t = Table(path, "config-list")
    for c in configs:
        raw = {"BLOCK_SIZE_M": c.block_m, "BLOCK_SIZE_N": c.block_n, "BLOCK_SIZE_K": c.block_k}
        if c.warps is not None:
            raw["num_warps"] = c.warps
        if c.stages is not None:
            raw["num_stages"] = c.stages
        t.entries.append(entry_from_mapping(c.where.rsplit("/", 1)[-1], raw))
    return t


_TRITON_DIR = re.compile(r"^triton_(\d+)_(\d+)_(\d+)$")


def read_table(path: str) -> Table:
    """One file, never raising: what is wrong with it is the table's ``problem``."""
    p = Path(path)
    folder = _TRITON_DIR.match(p.parent.name)
    try:
        size = p.stat().st_size
    except OSError as exc:
        return Table(path, "unreadable", problem=f"cannot read: {exc.strerror or exc}")
    if size > MAX_FILE_BYTES:
        return Table(path, "unreadable", problem=f"{size:,} bytes: too large for a config table")
    if p.suffix.lower() != ".json":
        t = _gpudiag_file(path)
    else:
        try:
            text = p.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            return Table(path, "unreadable", problem=f"cannot read: {exc}")
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            return Table(path, "unreadable", problem=f"bad JSON at line {exc.lineno}: {exc.msg}")
        except RecursionError:
            return Table(path, "unreadable", problem="bad JSON: nested too deeply")
        name = parse_name(p.name)
        if name is not None:
            t = _moe_table(path, name, doc)
        elif isinstance(doc, dict) and doc and all(k.isdigit() or k == "triton_version" for k in doc):
            t = _moe_table(path, None, doc)
            t.problem = (
                "a fused-MoE table whose file name does not say E=..,N=..,device_name=...: no runtime loads it "
                "(checked as bf16)"
            )
        else:
            t = _config_list(path, doc)
    if folder:
        t.folder_triton = ".".join(folder.groups())
    return t


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
    return [read_table(f) for f in files]
