"""The layouts config tables come in, as data: which entries a parsed document holds, before any of
them is read as a tile.

- A batch-size table (vLLM, SGLang, LightLLM): ``{"16": {...}, ...}``, every key an int but vLLM's and
  SGLang's ``"triton_version"``; LightLLM's ``bmm_scaled_fp8`` nests one more level, ``{M: {N: {...}}}``
  (``try_to_get_best_config`` picks the closest key at each level).
- FlagGems' ``tune_configs.yaml``: operator -> a list of ``{META: {...}, num_warps, num_stages}``, or of
  ``{gen: true, param_map: {META: {KEY: list name}, num_warps: list name or value, ...}, <list name>:
  [...]}`` whose configs are every combination of the named lists (``runtime/configloader.py``).

Never raises; a document that is none of these gives None.
"""

from __future__ import annotations

import itertools
from typing import Any

MAX_GENERATED = 4096  # configs one FlagGems "gen" entry may expand to


def _is_batch_key(k: Any) -> bool:
    return isinstance(k, str) and k.strip().isdigit()


def batch_items(doc: Any) -> list[tuple[str, Any]] | None:
    """``[(key, entry)]`` of a table keyed by batch size ("16", or "16/128" for a nested one), without
    ``triton_version``; None when ``doc`` is not one."""
    if not isinstance(doc, dict) or not doc:
        return None
    keys = [k for k in doc if k != "triton_version"]
    if not keys or not all(_is_batch_key(k) for k in keys):
        return None
    out: list[tuple[str, Any]] = []
    for k in keys:
        v = doc[k]
        inner = batch_items(v) if isinstance(v, dict) and v and all(_is_batch_key(x) for x in v) else None
        if inner is not None:
            out.extend((f"{k}/{ik}", iv) for ik, iv in inner)
        else:
            out.append((k, v))
    return out


def wrapped_batch_table(doc: Any) -> tuple[str, list[tuple[str, Any]]] | None:
    """SGLang's moe_sum_reduce-style ``{"8-2048-bfloat16": {M: {...}}}``: (the wrapping key, its items)."""
    if isinstance(doc, dict) and len(doc) == 1:
        (k, v), *_ = doc.items()
        items = batch_items(v)
        if items is not None:
            return str(k), items
    return None


def entry_keys(items: list[tuple[str, Any]], limit: int = 8) -> str:
    """The keys the entries have, for "it looks like" messages."""
    seen: dict[str, None] = {}
    for _, v in items:
        if isinstance(v, dict):
            for k in v:
                seen.setdefault(str(k), None)
    keys = list(seen)
    return ", ".join(keys[:limit]) + (", ..." if len(keys) > limit else "") if keys else "no keys"


def flat_meta(item: Any) -> Any:
    """``{META: {...}, num_warps, num_stages}`` as one flat mapping (a triton.Config's kwargs and options);
    anything else as it is."""
    if not isinstance(item, dict) or not isinstance(item.get("META"), dict):
        return item
    return {**item["META"], **{k: v for k, v in item.items() if k != "META"}}


def _generated(item: dict) -> list[dict] | str:
    """Every config of a FlagGems ``gen: true`` entry, or why it cannot be expanded."""
    pmap = item.get("param_map")
    if not isinstance(pmap, dict):
        return "a gen entry without a param_map"
    meta = pmap.get("META")
    targets = list(meta.items()) if isinstance(meta, dict) else []
    targets += [(k, v) for k, v in pmap.items() if k != "META"]
    axes: list[tuple[str, list]] = []
    for key, src in targets:
        values = item.get(src) if isinstance(src, str) else None
        if isinstance(values, list):
            axes.append((key, values))
        else:
            axes.append((key, [src]))
    count = 1
    for _, vals in axes:
        count *= max(1, len(vals))
    if count > MAX_GENERATED:
        return f"a gen entry of {count:,} configs (more than {MAX_GENERATED:,})"
    return [dict(zip((k for k, _ in axes), combo)) for combo in itertools.product(*(v for _, v in axes))]


def flaggems_operators(doc: Any) -> dict[str, list[dict] | str] | None:
    """FlagGems' operator -> its configs (flat mappings), or the reason one cannot be read; None when
    ``doc`` is not such a file."""
    if not isinstance(doc, dict) or not doc:
        return None
    if not all(isinstance(v, list) and v and all(isinstance(i, dict) for i in v) for v in doc.values()):
        return None
    if not any("META" in i or i.get("gen") is True for v in doc.values() for i in v):
        return None
    out: dict[str, list[dict] | str] = {}
    for op, items in doc.items():
        configs: list[dict] = []
        why = None
        for item in items:
            if item.get("gen") is True:
                got = _generated(item)
                if isinstance(got, str):
                    why = got
                    break
                configs.extend(got)
            else:
                configs.append(flat_meta(item))
        out[str(op)] = why if why is not None else configs
    return out
