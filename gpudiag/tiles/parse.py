"""Tile configs from the command line (``BMxBNxBK[B][:STAGES][@WARPS]``) and from JSON, YAML or CSV files.

Files are parsed with data-only parsers (``json``, ``csv``, ``yaml.safe_load``); nothing is evaluated.
Every error names what was wrong and where (argument, or file and line) and raises ``GpudiagError`` (exit 2).
A file is read whole, up to ``MAX_FILE_BYTES``: a regular file, ``-`` for standard input, or a pipe
(``<(...)``, a FIFO), as UTF-8 with or without a byte-order mark, any line endings (a CSV saved by
Excel: BOM, CRLF, and ``;`` between fields where the locale's decimal mark is a comma).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles import config_keys

# Bounds that no real GEMM tile crosses: a typo (1280 for 128) should be an error, not a verdict.
MAX_BLOCK = 1024
MAX_STAGES = 16
VALID_WARPS = (1, 2, 4, 8, 16, 32)
# The largest config file read: 100,000 configs take about 3 MB; anything far bigger is not a config list.
MAX_FILE_BYTES = 64 * 1024 * 1024
STDIN = "-"

_TILE_RE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*[xX]\s*(\d+)\s*([bB])?\s*(?::\s*(\d+))?\s*(?:@\s*(\d+))?\s*$")


@dataclass(slots=True)  # not frozen: a frozen dataclass is several times slower to create, 100,000 at a time
class TileConfig:
    """One candidate: block sizes, pipeline stages, warps; ``k_in_bytes`` when K was written as ``64B``."""

    block_m: int
    block_n: int
    block_k: int
    stages: int | None = None
    warps: int | None = None
    k_in_bytes: bool = False
    where: str = ""  # "argument 2", "tiles.csv:4", "script.py:12 kernel matmul"
    group: str | None = None  # kernel name for --from-script, inductor set for --from-inductor
    dtype: str | None = None  # per-config dtype from a file row, overrides --dtype
    precision: str | None = None  # tl.dot's input_precision for fp32 operands where the source says (inductor)

    def spec(self) -> str:
        k = f"{self.block_k}B" if self.k_in_bytes else str(self.block_k)
        s = f"{self.block_m}x{self.block_n}x{k}"
        if self.stages is not None:
            s += f":{self.stages}"
        if self.warps is not None:
            s += f"@{self.warps}"
        return s


def _bad(msg: str) -> GpudiagError:
    return GpudiagError(msg, EXIT_USAGE)


def validate(cfg: TileConfig) -> TileConfig:
    where = f" ({cfg.where})" if cfg.where else ""
    for name, v in (("BM", cfg.block_m), ("BN", cfg.block_n), ("BK", cfg.block_k)):
        if v <= 0:
            raise _bad(f"tile '{cfg.spec()}'{where}: {name} must be positive, got {v}")
        if v > MAX_BLOCK:
            raise _bad(f"tile '{cfg.spec()}'{where}: {name}={v} is larger than any GEMM tile (max {MAX_BLOCK})")
    if cfg.stages is not None and not 1 <= cfg.stages <= MAX_STAGES:
        raise _bad(f"tile '{cfg.spec()}'{where}: stages must be 1..{MAX_STAGES}, got {cfg.stages}")
    if cfg.warps is not None and cfg.warps not in VALID_WARPS:
        raise _bad(
            f"tile '{cfg.spec()}'{where}: warps must be one of {', '.join(map(str, VALID_WARPS))}, got {cfg.warps}"
        )
    return cfg


def parse_tile(text: str, where: str = "") -> TileConfig:
    """``128x256x64:3@8`` -> TileConfig. ``64B`` as K means 64 bytes of K (CUTLASS/TRT-LLM tile names)."""
    m = _TILE_RE.match(text or "")
    if not m:
        loc = f" ({where})" if where else ""
        raise _bad(f"malformed tile '{text}'{loc}: expected BMxBNxBK[:STAGES][@WARPS], e.g. 128x256x64:3@8")
    bm, bn, bk, kb, st, w = m.groups()
    return validate(
        TileConfig(
            int(bm), int(bn), int(bk), int(st) if st else None, int(w) if w else None, k_in_bytes=bool(kb), where=where
        )
    )


# Field names people use for the same thing (Triton kwargs, inductor GemmConfig, CSV headers): the one
# alias table (config_keys), with gpudiag's own file-only spellings, plus a row's dtype and tile spec.
_EXTRA_KEYS = {"dtype": ("dtype",), "tile": ("tile", "spec", "config")}
_ALIAS = {
    **{a: f for a, f in config_keys.FILE_LOOKUP.items() if f != "group_m"},  # a file's group size is not checked
    **{a: f for f, aliases in _EXTRA_KEYS.items() for a in aliases},
}


def _int(value: Any, field: str, where: str) -> int:
    if isinstance(value, bool):
        raise _bad(f"{where}: {field} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():  # the common case, no regular expression
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise _bad(f"{where}: {field} must be an integer, got {value!r}")


def from_mapping(row: dict[str, Any], where: str, group: str | None = None) -> TileConfig:
    norm: dict[str, Any] = {}
    for k, v in row.items():
        key = _ALIAS.get(str(k).strip().lower())
        if key is not None and v not in (None, ""):
            norm[key] = v
    return _from_fields(norm, where, group)


def _from_fields(norm: dict[str, Any], where: str, group: str | None = None) -> TileConfig:
    """A config from fields already named by their canonical keys (block_m, ..., tile, dtype)."""
    if "tile" in norm:
        cfg = parse_tile(str(norm["tile"]), where)
        return TileConfig(
            cfg.block_m,
            cfg.block_n,
            cfg.block_k,
            cfg.stages,
            cfg.warps,
            cfg.k_in_bytes,
            where,
            group,
            norm.get("dtype"),
        )
    missing = [k for k in ("block_m", "block_n", "block_k") if k not in norm]
    if missing:
        raise _bad(
            f"{where}: missing {', '.join(missing)} (need block_m, block_n, block_k, any case, or "
            + "; ".join(config_keys.spellings(k) for k in missing)
            + "; optional num_stages, num_warps)"
        )
    cfg = TileConfig(
        _int(norm["block_m"], "block_m", where),
        _int(norm["block_n"], "block_n", where),
        _int(norm["block_k"], "block_k", where),
        _int(norm["stages"], "num_stages", where) if "stages" in norm else None,
        _int(norm["warps"], "num_warps", where) if "warps" in norm else None,
        where=where,
        group=group,
        dtype=str(norm["dtype"]) if "dtype" in norm else None,
    )
    return validate(cfg)


def _items_from_document(doc: Any, name: str, line_of) -> list[TileConfig]:
    from gpudiag.tiles.parse_tables import table_configs
    from gpudiag.tiles.table_layouts import flat_meta

    table = table_configs(doc, name)
    if table is not None:
        return table
    if isinstance(doc, dict):
        for key in ("configs", "tiles", "candidates"):
            if key in doc:
                doc = doc[key]
                break
        else:
            doc = [doc]
    if not isinstance(doc, list):
        raise _bad(f'{name}: expected a list of configs (or {{"configs": [...]}}), got {type(doc).__name__}')
    out = []
    for i, item in enumerate(doc):
        where = f"{name}:{line_of(i)}" if line_of(i) else f"{name} item {i + 1}"
        if isinstance(item, str):
            out.append(parse_tile(item, where))
        elif isinstance(item, dict):
            out.append(from_mapping(flat_meta(item), where))
        elif isinstance(item, (list, tuple)) and 3 <= len(item) <= 5:
            keys = ("block_m", "block_n", "block_k", "num_stages", "num_warps")
            out.append(from_mapping(dict(zip(keys, item)), where))
        else:
            raise _bad(
                f"{where}: a config is a string like '128x128x64:3@4', an object with block_m/block_n/block_k, "
                f"or a list [BM, BN, BK, stages, warps]; got {item!r}"
            )
    return out


def _json_item_lines(text: str) -> list[int]:
    """Line where each item of the config list starts, for error messages (json keeps no positions)."""
    item_depth = 2 if text.lstrip().startswith("{") else 1
    lines: list[int] = []
    depth, line, in_str, esc, expect_item = 0, 1, False, False, False
    for ch in text:
        if in_str:
            if ch == '"' and not esc:
                in_str = False
            esc = (not esc) and ch == "\\"
            continue
        if ch == "\n":
            line += 1
            continue
        if ch in " \t\r":
            continue
        if depth == item_depth and expect_item and ch not in "]}":
            lines.append(line)
            expect_item = False
        if ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            expect_item = depth == item_depth and ch == "["
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == item_depth:
            expect_item = True
    return lines


def _too_deep(name: str, what: str) -> GpudiagError:
    return _bad(f"{name}: invalid {what}: nested deeper than a config list ever is (Python's parser gave up)")


def parse_json(text: str, name: str) -> list[TileConfig]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(f"{name}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise _too_deep(name, "JSON") from None
    lines = _json_item_lines(text)
    return _items_from_document(doc, name, lambda i: lines[i] if i < len(lines) else None)


def _yaml_module(name: str):
    try:
        import yaml  # PyYAML is optional: not a declared dependency of gpudiag
    except ImportError:
        raise _bad(
            f"{name}: reading YAML needs PyYAML, which is not installed; `pip install pyyaml`, "
            "or give the configs as JSON or CSV"
        ) from None
    return yaml


def yaml_error(exc: Exception, name: str) -> GpudiagError:
    """PyYAML's error as one line: the file, the line it stopped at, and its complaint."""
    mark = getattr(exc, "problem_mark", None)
    line = f":{mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return _bad(f"{name}{line}: invalid YAML: {problem}")


def parse_yaml(text: str, name: str) -> list[TileConfig]:
    yaml = _yaml_module(name)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise yaml_error(exc, name) from None
    except RecursionError:
        raise _too_deep(name, "YAML") from None
    lines: list[int] = []
    if node is not None:
        seq = node
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value in ("configs", "tiles", "candidates"):
                    seq = v
                    break
        if isinstance(seq, yaml.SequenceNode):
            lines = [item.start_mark.line + 1 for item in seq.value]
    if doc is None:
        raise _bad(f"{name}: the file holds no configs")
    return _items_from_document(doc, name, lambda i: lines[i] if i < len(lines) else None)


def _delimiter(text: str) -> str:
    """``,``; or ``;`` or a tab where the first line that is not a comment has that and no comma."""
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            if "," not in line:
                for d in (";", "\t"):
                    if d in line:
                        return d
            break
    return ","


def parse_csv(text: str, name: str) -> list[TileConfig]:
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text))
    try:
        numbered = [
            (reader.line_num, r)
            for r in reader
            if r and not r[0].lstrip().startswith("#") and (r[0].strip() or any(c.strip() for c in r))
        ]
    except csv.Error as exc:
        raise _bad(f"{name}:{reader.line_num}: malformed CSV: {exc}") from None
    if not numbered:
        raise _bad(f"{name}: the file holds no configs")
    first_line, header = numbered[0]
    fields = [h.strip().lower() for h in header]
    known = [f for f in fields if f in _ALIAS]
    out = []
    if not known:  # headerless: one tile spec per line, or BM,BN,BK[,stages[,warps]]
        for line, r in numbered:
            cells = [c.strip() for c in r if c.strip()]
            where = f"{name}:{line}"
            if len(cells) == 1:
                out.append(parse_tile(cells[0], where))
            else:
                out.append(
                    from_mapping(dict(zip(("block_m", "block_n", "block_k", "num_stages", "num_warps"), cells)), where)
                )
        return out
    keys = [_ALIAS.get(f) for f in fields]  # named once for the whole file, not per row
    numeric = ("block_m", "block_n", "block_k", "stages", "warps")
    cols = [keys.index(k) if k in keys else None for k in numeric]
    plain = None not in cols[:3] and set(filter(None, keys)) <= set(numeric)
    for line, r in numbered[1:]:
        if len(r) > len(fields):
            raise _bad(f"{name}:{line}: {len(r)} columns but the header has {len(fields)}")
        if plain:  # the common file: integers only, read without building a dict per row
            try:
                bm, bn, bk, st, w = (int(r[c]) if c is not None and c < len(r) and r[c].strip() else None for c in cols)
                if bm is not None and bn is not None and bk is not None:
                    out.append(validate(TileConfig(bm, bn, bk, st, w, where=f"{name}:{line}")))
                    continue
            except ValueError:
                pass  # the general path below names what is wrong
        out.append(_from_fields({k: v for k, v in zip(keys, r) if k is not None and v != ""}, f"{name}:{line}"))
    if not out:
        raise _bad(f"{name}: the file has a header (line {first_line}) but no configs")
    return out


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def _too_big(name: str, size: str) -> GpudiagError:
    return _bad(
        f"{name}: {size} is more than a config list: check-tiles reads files of at most "
        f"{_size(MAX_FILE_BYTES)}; split it, or check the file is the one you meant"
    )


def _read_stream(f, name: str) -> bytes:
    data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _too_big(name, f"more than {_size(MAX_FILE_BYTES)}")
    return data


def read_bytes(path: str) -> tuple[bytes, str, bool]:
    """The file's bytes, the name to show, and whether it is a stream (stdin, a pipe, a FIFO) whose
    format is read from its content. Bounded: never more than ``MAX_FILE_BYTES`` is read."""
    if path == STDIN:
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            return sys.stdin.read(MAX_FILE_BYTES + 1).encode("utf-8"), "stdin", True
        return _read_stream(stream, "stdin"), "stdin", True
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _bad(f"{path}: no such file") from None
    except OSError as exc:
        raise _bad(f"{path}: cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise _bad(f"{path} is a folder, not a file of configs: give the file in it (.json, .yaml or .csv)")
    regular = stat.S_ISREG(st.st_mode)
    if regular and st.st_size > MAX_FILE_BYTES:
        raise _too_big(path, _size(st.st_size))
    try:
        with open(path, "rb") as f:
            return _read_stream(f, path), path, not regular
    except OSError as exc:
        raise _bad(f"{path}: cannot read: {exc.strerror or exc}") from None


def _sniff(text: str) -> str:
    """The format of configs given without a file name to tell it: json, yaml or csv."""
    first = next((ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    if first[:1] in "[{":
        return "json"
    if first.startswith("- ") or first == "-" or re.match(r"^[A-Za-z_][\w-]*:\s*$|^[A-Za-z_][\w-]*:\s", first):
        return "yaml"
    return "csv"


def parse_file(path: str) -> list[TileConfig]:
    """The configs of a file (``-``: standard input), by its suffix, or by its content when it has none."""
    data, name, stream = read_bytes(path)
    try:
        text = data.decode("utf-8-sig")  # a CSV saved by Excel starts with a byte-order mark
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _bad(
            f"{name}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}): save it as "
            "UTF-8 (Excel: CSV UTF-8)"
        ) from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise _bad(f"{name}: the {'input' if stream else 'file'} is empty")
    suffix = "" if path == STDIN else Path(path).suffix.lower()
    kind = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".csv": "csv", ".txt": "csv", ".tsv": "tsv"}.get(suffix)
    if kind is None and (stream or not suffix):
        kind = _sniff(text)
    if kind == "json":
        configs = parse_json(text, name)
    elif kind == "yaml":
        configs = parse_yaml(text, name)
    elif kind in ("csv", "tsv"):
        configs = parse_csv(text.replace("\t", ",") if kind == "tsv" else text, name)
    else:
        raise _bad(f"{name}: unknown file type '{suffix}': use .json, .yaml/.yml or .csv")
    if not configs:
        raise _bad(f"{name}: the file holds no configs")
    return configs
