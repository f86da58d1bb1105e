"""A ``--kernel`` kernel's tuning space: configs as tuners store them (a list, or a dict of lists
meaning every combination), read from ``--configs SPACE.json`` or the module, and each split into the
kernel's constexpr arguments and Triton's compile options (``SpaceConfig``).

``--configs SPACE.json`` is a list of config dicts (the kernel's constexpr arguments plus
``num_warps``/``num_stages``, as vLLM's and SGLang's tuned tables store them), a dict of lists (every
combination, as MoE tuners write their search spaces), or ``{"configs": ..., "signature": ...,
"constants": ...}``; ``--signature SPEC.json`` is ``{"signature": {...}, "constants": {...}}``.
Never prints; ``GpudiagError`` (exit 2) names what is wrong.
"""

from __future__ import annotations

import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles.kernel_signature import check_mapping, check_signature

if TYPE_CHECKING:
    from gpudiag.tiles.kernel_spec import KernelSpec

DEFAULT_WARPS = 4  # triton.Config's defaults
DEFAULT_STAGES = 3
BASE_OPTIONS = ("num_warps", "num_stages", "num_ctas", "maxnreg")
MAX_SPACE = 1_000_000  # configs in one space: a product spec beyond this is surely a mistake


def _bad(message: str) -> GpudiagError:
    return GpudiagError(message, EXIT_USAGE)


@dataclass
class SpaceConfig:
    """One config of the space: as given (what a tuner reads back), and split for the compiler."""

    index: int  # its place in the whole space (shards keep it)
    given: dict[str, Any]  # exactly as in the space, for the surviving-space output
    kwargs: dict[str, Any]  # the kernel's constexpr arguments
    options: dict[str, Any]  # triton.compile options: num_warps, num_stages, ...

    @property
    def warps(self) -> int:
        return int(self.options.get("num_warps", DEFAULT_WARPS))

    @property
    def stages(self) -> int:
        return int(self.options.get("num_stages", DEFAULT_STAGES))

    def label(self) -> str:
        parts = [f"{k}={v}" for k, v in self.kwargs.items()]
        parts += [f"{k}={v}" for k, v in self.options.items()]
        return ", ".join(parts)


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """A ``triton.Config`` as the plain dict tuners store: its kwargs, then num_warps and num_stages."""
    if isinstance(cfg, dict):
        return dict(cfg)
    out = dict(getattr(cfg, "kwargs", {}) or {})
    for opt in BASE_OPTIONS:
        v = getattr(cfg, opt, None)
        if v is not None and not (opt == "num_ctas" and v == 1):
            out[opt] = v
    return out


def expand_space(value: Any, what: str) -> list[dict[str, Any]]:
    """A list of configs (dicts or ``triton.Config``), or a dict of lists: every combination, in order."""
    if isinstance(value, dict):
        if not value:
            raise _bad(f"{what}: an empty space")
        lists = []
        for k, v in value.items():
            if not isinstance(k, str):
                raise _bad(f"{what}: keys must be names, got {k!r}")
            vals = v if isinstance(v, list) else [v]
            if not vals:
                raise _bad(f"{what}: {k!r} has no values")
            lists.append(vals)
        size = 1
        for vals in lists:
            size *= len(vals)
        if size > MAX_SPACE:
            raise _bad(f"{what}: {size:,} combinations (more than {MAX_SPACE:,})")
        keys = list(value)
        return [dict(zip(keys, combo)) for combo in itertools.product(*lists)]
    if isinstance(value, (list, tuple)):
        out = []
        for i, c in enumerate(value):
            d = config_to_dict(c)
            if not isinstance(d, dict) or not all(isinstance(k, str) for k in d):
                raise _bad(f"{what}[{i}]: a config must be an object of names and values")
            out.append(d)
        if not out:
            raise _bad(f"{what}: no configs")
        return out
    raise _bad(f"{what}: expected a list of configs or an object of lists (every combination)")


def read_json(path: str, what: str) -> Any:
    p = Path(path)
    try:
        text = sys.stdin.read() if path == "-" else p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _bad(f"{what} {path}: no such file") from None
    except IsADirectoryError:
        raise _bad(f"{what} {path}: is a folder, not a JSON file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(f"{what} {path}: cannot be read ({exc})") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _bad(f"{what} {path}: not valid JSON ({str(exc)[:200]})") from None


def apply_space_file(spec: KernelSpec, path: str) -> None:
    """``--configs SPACE.json`` into the spec: its configs, and its signature and constants if it has them."""
    doc = read_json(path, "--configs")
    what = f"--configs {Path(path).name}"
    if isinstance(doc, dict) and "configs" in doc:
        unknown = set(doc) - {"configs", "signature", "constants", "not_divisible", "kernel"}
        if unknown:
            raise _bad(f"{what}: unknown key(s) {', '.join(sorted(unknown))}")
        apply_signature_doc(spec, doc, what)
        doc = doc["configs"]
    spec.raw_configs = expand_space(doc, what)
    spec.space_source = str(path)


def apply_signature_doc(spec: KernelSpec, doc: dict, what: str) -> None:
    if doc.get("signature") is not None:
        spec.signature.update(check_signature(doc["signature"], what))
    if doc.get("constants") is not None:
        spec.constants.update(check_mapping(doc["constants"], f"{what}['constants']"))
    spec.not_divisible |= set(doc.get("not_divisible") or ())


def apply_signature_file(spec: KernelSpec, path: str) -> None:
    """``--signature SPEC.json``: ``{"signature": {...}, "constants": {...}, "not_divisible": [...]}``."""
    doc = read_json(path, "--signature")
    what = f"--signature {Path(path).name}"
    if not isinstance(doc, dict):
        raise _bad(f"{what}: expected an object with 'signature' (and 'constants')")
    if "signature" not in doc and "constants" not in doc:
        doc = {"signature": doc}  # the bare mapping of argument -> type
    apply_signature_doc(spec, doc, what)


def cuda_options() -> set[str]:
    """The options Triton's CUDA backend takes (``CUDAOptions``), else the common four."""
    try:
        from triton.backends.nvidia.compiler import CUDAOptions

        return set(CUDAOptions.__dataclass_fields__)
    except Exception:
        return set(BASE_OPTIONS)


def split_configs(spec: KernelSpec, raw: list[dict[str, Any]]) -> tuple[list[SpaceConfig], dict[str, int]]:
    """Each config split into the kernel's constexpr arguments and compile options; keys that are
    neither (AMD's ``waves_per_eu``, ``kpack``) are counted and left out of the compile."""
    args = set(spec.arg_names)
    constexpr = spec.constexpr_names()
    options = cuda_options()
    ignored: dict[str, int] = {}
    out = []
    for i, given in enumerate(raw):
        kwargs, opts = {}, {}
        for k, v in given.items():
            if k in args:
                if k not in constexpr:
                    raise _bad(
                        f"config {i}: {k!r} is an argument of {spec.name} but not a tl.constexpr; a config sets "
                        "constexpr arguments and compile options only"
                    )
                kwargs[k] = v
            elif k in options:
                if k in BASE_OPTIONS and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                    raise _bad(f"config {i}: {k} must be a whole number, got {v!r}")
                opts[k] = v
            else:
                ignored[k] = ignored.get(k, 0) + 1
        opts.setdefault("num_warps", DEFAULT_WARPS)
        opts.setdefault("num_stages", DEFAULT_STAGES)
        out.append(SpaceConfig(i, dict(given), kwargs, opts))
    return out, ignored
