"""``gpudiag.prune_configs``: a drop-in ``early_config_prune`` for ``@triton.autotune``.

::

    @triton.autotune(configs, key=["M", "N", "K"],
                     prune_configs_by={"early_config_prune": gpudiag.prune_configs})
    @triton.jit
    def matmul_kernel(a_ptr, b_ptr, c_ptr, ..., BLOCK_SIZE_M: tl.constexpr, ...): ...

Triton calls it as ``early_config_prune(configs, named_args, **kwargs)`` before it benchmarks (the
autotuner's ``prune_configs``, Triton 3.x), and benchmarks only what it returns. It drops the configs
that cannot run on the GPU:

- ``prune_configs`` (estimate mode): matmul-shaped configs (block sizes named ``BLOCK_M/N/K`` or
  ``BLOCK_SIZE_M/N/K``) are judged by gpudiag's estimate of Triton's shared memory for the standard
  matmul, with the element types of the first two matmul tensors among the arguments (A and B) and the
  third (C), against the live GPU's opt-in shared memory per block (read once through gpudiag's device
  layer, for the GPU the tensors are on). Configs without those names are kept. Well under a
  millisecond a config.
- ``prune_configs.with_kernel(kernel)`` (exact mode): every config is compiled for the live GPU by the
  installed Triton, with the arguments of the call as its signature, in forked children, cached on disk
  (check-tiles' compile engine): what does not fit, cannot launch or does not compile is dropped, the
  compiler's crashes included. ``with_kernel()`` without a kernel finds it from the autotuner calling it.
- ``prune_configs.for_target("sm_120")`` (or a GPU name): the same judgement for a named target, to
  prune a table offline.

Each config dropped is logged once (logger ``gpudiag.prune``, INFO) with its number and the limit.
When nothing fits it keeps the config with the fewest stages and says so (WARNING): it never hands
the autotuner an empty list. Any failure of its own leaves the configs as they were, with a warning.
Importing it imports neither typer, rich nor gpudiag's CLI.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("gpudiag.prune")

BLOCK_NAMES = {
    "m": ("BLOCK_M", "BLOCK_SIZE_M"),
    "n": ("BLOCK_N", "BLOCK_SIZE_N"),
    "k": ("BLOCK_K", "BLOCK_SIZE_K"),
}
_LOCK = threading.Lock()
_TARGETS: dict[Any, _Target] = {}  # resolved once per process: the live GPU per CUDA ordinal, named ones


@dataclass(frozen=True)
class _Target:
    label: str  # "NVIDIA H100 80GB HBM3 (sm_90)"
    capability: int
    limit: int  # per-block opt-in shared memory
    facts: Any  # DeviceFacts

    @property
    def max_threads(self) -> int | None:
        return self.facts.max_threads_per_block


@dataclass(frozen=True)
class _Verdict:
    keep: bool
    reason: str | None = None  # why it is dropped
    needed: int | None = None  # bytes, when known
    stages: int = 3


def _resolve(name: str | None, index: int | None) -> _Target:
    from gpudiag import device

    key = ("named", name.strip().lower()) if name else ("live", index or 0)
    with _LOCK:
        hit = _TARGETS.get(key)
        if hit is not None:
            return hit
        if name:
            arch = re.fullmatch(r"(?:sm_?)?(\d{2,3})[a-z]?", name.strip().lower())
            facts = device.resolve_target(arch=f"sm_{arch.group(1)}") if arch else device.resolve_target(gpu=name)
        else:
            facts = device.resolve_target(index=index or 0)
        limit = facts.smem_per_block_optin_bytes
        if limit is None:
            raise ValueError(f"{facts.name}: its per-block shared-memory limit is unknown")
        major, minor = facts.compute_capability
        label = facts.name if facts.sm in facts.name else f"{facts.name} ({facts.sm})"
        hit = _TARGETS[key] = _Target(label, major * 10 + minor, limit, facts)
        return hit


def _config_key(cfg: Any) -> tuple:
    kwargs = getattr(cfg, "kwargs", None) or {}
    return (
        tuple(sorted((k, repr(v)) for k, v in kwargs.items())),
        getattr(cfg, "num_warps", None),
        getattr(cfg, "num_stages", None),
        getattr(cfg, "num_ctas", None),
        getattr(cfg, "maxnreg", None),
    )


def _label(cfg: Any) -> str:
    kwargs = getattr(cfg, "kwargs", None) or {}
    parts = [f"{k}={v}" for k, v in kwargs.items()]
    parts += [f"num_warps={getattr(cfg, 'num_warps', None)}", f"num_stages={getattr(cfg, 'num_stages', None)}"]
    return ", ".join(parts)


def _tensors(args: dict[str, Any]) -> list[Any]:
    return [v for v in args.values() if hasattr(v, "dtype") and hasattr(v, "data_ptr")]


def _device_index(args: dict[str, Any]) -> int | None:
    for t in _tensors(args):
        dev: Any = getattr(t, "device", None)
        if getattr(dev, "type", None) == "cuda":
            return dev.index
    return None


def _operand_dtypes(args: dict[str, Any]) -> tuple[Any, Any, Any] | None:
    """(A, B, C) as gpudiag's dtypes: the first two tensors of a matmul element type, and the third."""
    from gpudiag.tiles import dtypes

    by_torch: dict[str, Any] = {}
    for dt in dtypes.table().values():
        if dt.torch and dt.triton:
            by_torch.setdefault(dt.torch, dt)
    found = []
    for t in _tensors(args):
        match = by_torch.get(str(t.dtype).removeprefix("torch."))
        if match is not None:
            found.append(match)
    if not found:
        return None
    a = found[0]
    b = found[1] if len(found) > 1 else a
    out = found[2] if len(found) > 2 else (dtypes.lookup(a.out) if a.out else a)
    return a, b, out


class ConfigPruner:
    """An ``early_config_prune`` hook; ``prune_configs`` is the live-GPU, estimate-mode one."""

    def __init__(
        self,
        target: str | None = None,
        kernel: Any = None,
        exact: bool = False,
        a_layout: str | None = None,
        b_layout: str | None = None,
        jobs: int | None = None,
    ) -> None:
        self.target = target
        self.kernel = kernel
        self.exact = exact or kernel is not None
        self.a_layout = a_layout
        self.b_layout = b_layout
        self.jobs = jobs
        self._verdicts: dict[tuple, _Verdict] = {}
        self._logged: set[tuple] = set()
        if target is not None:
            _resolve(target, None)  # an unknown name is the caller's mistake: say it now, not mid-tune

    def for_target(self, target: str) -> ConfigPruner:
        """The same hook for a named target: ``"sm_120"``, ``"sm_90"`` or a GPU name (``"RTX 5090"``)."""
        return ConfigPruner(target, self.kernel, self.exact, self.a_layout, self.b_layout, self.jobs)

    def with_kernel(self, kernel: Any = None, jobs: int | None = None) -> ConfigPruner:
        """Compile each config of ``kernel`` (the ``@triton.jit`` function, or the autotuner) for the target
        instead of estimating; without ``kernel``, the kernel of the autotuner that calls the hook."""
        return ConfigPruner(self.target, kernel, True, self.a_layout, self.b_layout, jobs or self.jobs)

    def with_layouts(self, a_layout: str | None = None, b_layout: str | None = None) -> ConfigPruner:
        """Estimate mode: A and B's layouts, "row" or "col" (default: A row-major, B as its dtype's kernels take it)."""
        return ConfigPruner(self.target, self.kernel, self.exact, a_layout, b_layout, self.jobs)

    def __repr__(self) -> str:
        where = self.target or "the live GPU"
        how = "compiling the kernel" if self.exact else "gpudiag's shared-memory estimate"
        return f"<gpudiag.prune_configs for {where}, by {how}>"

    # --- the hook --------------------------------------------------------------------------------

    def __call__(self, configs: list, named_args: dict | None = None, **kwargs: Any) -> list:
        configs = list(configs)
        if len(configs) <= 1:
            return configs
        args = {**(named_args or {}), **kwargs}
        try:
            target = _resolve(self.target, None) if self.target else _resolve(None, _device_index(args))
            if self.exact:
                verdicts = self._compiled(configs, args, target)
            else:
                verdicts = self._estimated(configs, args, target)
        except Exception as exc:  # never break the user's tuning run over gpudiag's own failure
            self._once(
                ("error", type(exc).__name__, str(exc)),
                logging.WARNING,
                "gpudiag.prune_configs could not judge the configs, keeping all %d: %s: %s",
                len(configs),
                type(exc).__name__,
                exc,
            )
            return configs
        keep = [c for c, v in zip(configs, verdicts) if v.keep]
        for i, (c, v) in enumerate(zip(configs, verdicts)):
            if not v.keep:
                self._once(
                    (target.label, _config_key(c), v.reason),
                    logging.INFO,
                    "dropped config #%d of %d (%s) on %s: %s",
                    i,
                    len(configs),
                    _label(c),
                    target.label,
                    v.reason,
                )
        if keep:
            return keep
        best = min(range(len(configs)), key=lambda i: (verdicts[i].stages, verdicts[i].needed or 0, i))
        self._once(
            (target.label, "none", tuple(_config_key(c) for c in configs)),
            logging.WARNING,
            "none of the %d configs can run on %s (%s B of shared memory per block); keeping config #%d (%s), "
            "the one with the fewest stages, so the autotuner has one to try",
            len(configs),
            target.label,
            f"{target.limit:,}",
            best,
            _label(configs[best]),
        )
        return [configs[best]]

    def _once(self, key: tuple, level: int, msg: str, *args: Any) -> None:
        if key in self._logged:
            return
        self._logged.add(key)
        logger.log(level, msg, *args)

    # --- estimate mode ---------------------------------------------------------------------------

    def _estimated(self, configs: list, args: dict[str, Any], target: _Target) -> list[_Verdict]:
        types = _operand_dtypes(args)
        names = tuple(t.name for t in types) if types else None
        out = []
        for cfg in configs:
            key = (target.label, names, _config_key(cfg), tuple(sorted(self._blocks_from_args(args).items())))
            v = self._verdicts.get(key)
            if v is None:
                v = self._verdicts[key] = self._estimate_one(cfg, args, target, types)
            out.append(v)
        return out

    @staticmethod
    def _blocks_from_args(args: dict[str, Any]) -> dict[str, int]:
        """Block sizes passed as arguments rather than tuned (a fixed BLOCK_K, say)."""
        found = {}
        for dim, names in BLOCK_NAMES.items():
            for n in names:
                if isinstance(args.get(n), int):
                    found[dim] = args[n]
        return found

    def _estimate_one(self, cfg: Any, args: dict[str, Any], target: _Target, types: tuple | None) -> _Verdict:
        from gpudiag.tiles import estimate as est

        kwargs = getattr(cfg, "kwargs", None) or {}
        stages = getattr(cfg, "num_stages", None) or 3
        warps = getattr(cfg, "num_warps", None) or 4
        threads = warps * 32
        if target.max_threads and threads > target.max_threads:
            return _Verdict(False, f"{warps} warps = {threads} threads > {target.max_threads} per block", None, stages)
        blocks = self._blocks_from_args(args)
        for dim, names in BLOCK_NAMES.items():
            for n in names:
                if isinstance(kwargs.get(n), int):
                    blocks[dim] = kwargs[n]
        if len(blocks) < 3 or types is None or target.capability not in est.MODELLED:
            return _Verdict(True, stages=stages)  # not a matmul the estimate models: the autotuner decides
        a, b, out = types
        tile = est.MatmulTile(
            blocks["m"],
            blocks["n"],
            blocks["k"],
            stages,
            warps,
            a,
            b,
            out,
            self.a_layout or "row",
            self.b_layout or b.b_layout,
        )
        problem = est.tile_problem(tile) or est.target_problem(tile, target.capability)
        if problem:
            return _Verdict(False, f"cannot compile: {problem}", None, stages)
        needed = est.triton_smem(tile, target.capability).needed_bytes
        if needed > target.limit:
            return _Verdict(
                False,
                f"needs {needed:,} B of shared memory > {target.limit:,} B per block (estimate, {a.name}x{b.name})",
                needed,
                stages,
            )
        return _Verdict(True, None, needed, stages)

    # --- exact mode ------------------------------------------------------------------------------

    def _compiled(self, configs: list, args: dict[str, Any], target: _Target) -> list[_Verdict]:
        from gpudiag.tiles import compile_engine as engine
        from gpudiag.tiles import kernel_signature, kernel_spec, space, space_configs
        from gpudiag.tiles.cache_report import CacheTarget

        kernel = self.kernel if self.kernel is not None else _calling_autotuner()
        fn, _ = kernel_spec.unwrap(kernel)
        sig, const, not_div = kernel_signature.signature_from_args(
            fn, [], {k: v for k, v in args.items() if k in set(fn.arg_names)}
        )
        spec = kernel_spec.KernelSpec(
            fn.__name__, fn, fn.__name__, sig, const, not_div, [space_configs.config_to_dict(c) for c in configs]
        )
        split, _ = space_configs.split_configs(spec, spec.raw_configs or [])
        cache_target = CacheTarget.of(target.label, target.facts)
        khash = space.kernel_hash(spec)
        tasks = [space.task_for(spec, c, cache_target, khash) for c in split]
        results = engine.run(tasks, what="gpudiag.prune_configs.with_kernel", parallel=self.jobs)
        out = []
        for cfg, res in zip(split, results):
            v = space.judge(res, cache_target, cfg.warps)
            needed = res.shared_bytes
            if v.status in (space.LAUNCHES, space.UNKNOWN):  # unknown: gpudiag could not tell, the autotuner will
                out.append(_Verdict(True, None, needed, cfg.stages))
            else:
                out.append(_Verdict(False, f"{v.reason} (compiled)", needed, cfg.stages))
        return out


def _calling_autotuner() -> Any:
    """The kernel of the ``triton.runtime.autotuner.Autotuner`` whose ``prune_configs`` called the hook."""
    frame: Any = sys._getframe(1)
    for _ in range(12):
        if frame is None:
            break
        owner = frame.f_locals.get("self")
        if owner is not None and hasattr(owner, "configs") and hasattr(owner, "fn"):
            return owner
        frame = frame.f_back
    raise ValueError(
        "with_kernel() without a kernel must be called by @triton.autotune; pass the kernel: "
        "prune_configs.with_kernel(my_kernel)"
    )


prune_configs = ConfigPruner()
