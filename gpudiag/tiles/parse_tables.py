"""Config tables read as ``--file`` configs: a runtime's table keyed by batch size (vLLM, SGLang,
LightLLM's nested ``{M: {N: config}}``) and FlagGems' ``tune_configs.yaml`` (operator -> configs, its
``META`` form and ``gen: true`` entries), and the YAML document reader they share with
``--from-config-table``. A FlagGems operator without block M, N and K (a reduction, attention) is not a
matmul's tiles: left out, and none left is an error naming the operators and the accepted keys."""

from __future__ import annotations

from typing import Any

from gpudiag.tiles import config_keys, parse, table_layouts
from gpudiag.tiles.parse import TileConfig, from_mapping

_bad = parse._bad


def load_yaml_document(path: str) -> Any:
    """A YAML file parsed as data (``yaml.safe_load``); one-line errors (exit 2)."""
    data, name, _ = parse.read_bytes(path)
    yaml = parse._yaml_module(name)
    try:
        return yaml.safe_load(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise _bad(f"{name}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise parse.yaml_error(exc, name) from None
    except RecursionError:
        raise parse._too_deep(name, "YAML") from None


def table_configs(doc: Any, name: str) -> list[TileConfig] | None:
    """A runtime's table (keyed by batch size) or FlagGems' operator file as configs, or None where
    ``doc`` is neither. A FlagGems operator without block M/N/K keys (a reduction, attention) is not a
    matmul's tiles and is left out; none left is an error naming them."""
    items = table_layouts.batch_items(doc)
    if items is not None:
        return [_config(raw, f"{name} M={key}") for key, raw in items]
    ops = table_layouts.flaggems_operators(doc)
    if ops is None:
        return None
    out: list[TileConfig] = []
    skipped = []
    for op, configs in ops.items():
        if isinstance(configs, str):
            raise _bad(f"{name}: operator {op}: {configs}")
        if not any(config_keys.has_block_keys(c) for c in configs):  # already flat
            skipped.append(op)
            continue
        for i, c in enumerate(configs, 1):
            out.append(_config(c, f"{name} operator {op} item {i}", op))
    if not out:
        raise _bad(
            f"{name}: no operator has matmul tiles (block M, N and K: "
            + "; ".join(config_keys.spellings(f) for f in config_keys.BLOCK_FIELDS)
            + f"); operators: {', '.join(skipped[:8])}"
        )
    return out


def _config(raw: Any, where: str, group: str | None = None) -> TileConfig:
    if not isinstance(raw, dict):
        raise _bad(f"{where}: a config is an object of block sizes, got {raw!r}")
    return from_mapping(table_layouts.flat_meta(raw), where, group)
