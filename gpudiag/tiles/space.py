"""``check-tiles --kernel MODULE:FUNCTION --configs SPACE.json``: pre-screen a tuning space with the
user's own kernel, before a tuner compiles and launches every config on the GPU.

Each config x target is compiled by the installed Triton for that target (no GPU needed) in check-
tiles' one compile engine: a forked child per compile, so a compiler crash is a row, never an abort;
``--jobs`` at a time; cached on disk by the kernel's source (Triton's own hash of it and the jit
functions it calls), its argument types and constants, the config, the target and Triton's version.
A compile whose shared memory is already over the target's limit stops there, before LLVM and
ptxas. Each cell is then judged as Triton and the driver would: fits the per-block opt-in shared
memory, can launch (threads, registers), compiles at all.

The surviving space (every config that launches on every target) is a plain list of config dicts, in
the space's own spelling, that a tuner reads back; every other config is listed with its reason per
target. ``--shard K/N`` screens the K-th of N even parts of the space (1 <= K <= N; every N-th config
in an order shuffled by a hash of the space, so each part holds a fair share of the slow, large tiles),
so N machines (a Slurm array) split it; their JSON documents merge into one answer
(``space_report.merge``), and a shared ``GPUDIAG_CACHE_DIR`` answers a later whole run at once.
"""

from __future__ import annotations

import functools
import hashlib
import time
from dataclasses import dataclass
from typing import Any

from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles import compile_engine as engine
from gpudiag.tiles.cache_report import TMEM_COLUMNS, CacheTarget
from gpudiag.tiles.kernel_spec import KernelSpec
from gpudiag.tiles.occupancy import Occupancy, occupancy
from gpudiag.tiles.space_configs import SpaceConfig, split_configs

WHAT = "--kernel"


def _bad(message: str) -> GpudiagError:
    return GpudiagError(message, EXIT_USAGE)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"2/8"`` -> (2, 8): the second of eight shards, 1-based as ``split -n K/N`` counts."""
    if text is None:
        return None
    k, sep, n = text.partition("/")
    try:
        kk, nn = int(k), int(n)
    except ValueError:
        kk = nn = 0
    if not sep or nn < 1 or not 1 <= kk <= nn:
        raise _bad(f"--shard takes K/N with 1 <= K <= N (e.g. 1/4 ... 4/4), got {text!r}")
    return kk, nn


def shard_indices(raw: list[dict[str, Any]], shard: tuple[int, int] | None) -> set[int]:
    """The configs shard K of N screens: every N-th of the space in an order shuffled by a hash of the
    space, so that each shard gets as many configs as the others (within one) and a fair share of the
    large, slow ones (a product space lists them together)."""
    if shard is None:
        return set(range(len(raw)))
    salt = space_hash(raw)
    order = sorted(range(len(raw)), key=lambda i: hashlib.sha256(f"{salt}:{i}".encode()).digest())
    return set(order[shard[0] - 1 :: shard[1]])


def space_hash(raw: list[dict[str, Any]]) -> str:
    """The whole space, in order: shards of the same space carry the same hash."""
    return engine.digest(raw)[:16]


@functools.lru_cache(maxsize=64)
def _kernel_hash(fn: Any) -> str:
    """Triton's own hash of the kernel: its source and every jit function and global it uses."""
    try:
        return str(fn.cache_key)
    except Exception:
        return hashlib.sha256(str(getattr(fn, "src", fn.__name__)).encode()).hexdigest()


def kernel_hash(spec: KernelSpec) -> str:
    return _kernel_hash(spec.fn)


# --- building what to compile ----------------------------------------------------------------------


@dataclass(frozen=True)
class SourceParts:
    """What ``ASTSource`` takes, by argument name: types ("constexpr" for constants), values, aligned."""

    signature: tuple[tuple[str, str], ...]
    constexprs: tuple[tuple[str, Any], ...]
    divisible: tuple[str, ...]


def source_parts(spec: KernelSpec, cfg: SpaceConfig) -> SourceParts:
    names = spec.arg_names
    params = {p.name: p for p in spec.fn.params}
    sig: list[tuple[str, str]] = []
    const: list[tuple[str, Any]] = []
    divisible: list[str] = []
    missing: list[str] = []
    for name in names:
        p = params[name]
        if p.is_constexpr:
            if name in cfg.kwargs:
                value = cfg.kwargs[name]
            elif name in spec.constants:
                value = spec.constants[name]
            elif getattr(p, "has_default", False) or _default(p) is not _NO_DEFAULT:
                value = _default(p)
            else:
                missing.append(name)
                continue
            sig.append((name, "constexpr"))
            const.append((name, value))
            continue
        if name not in spec.signature:
            missing.append(name)
            continue
        t = spec.signature[name]
        if t == 1 or t is None:  # the launcher's specialisation of 1 (and None) to a constant
            sig.append((name, "constexpr"))
            const.append((name, t))
            continue
        sig.append((name, str(t).strip()))
        if name not in spec.not_divisible and not getattr(p, "do_not_specialize", False):
            divisible.append(name)
    if missing:
        kind = "tl.constexpr value(s)" if all(params[m].is_constexpr for m in missing) else "type(s) or value(s)"
        raise _bad(
            f'{spec.name}: no {kind} for {", ".join(missing)}; give them in the config, under "constants", or in '
            'the signature (e.g. "*bf16", "i32", 1 for a unit stride)'
        )
    return SourceParts(tuple(sig), tuple(const), tuple(divisible))


_NO_DEFAULT = object()


def _default(param: Any) -> Any:
    default = getattr(param, "default", _NO_DEFAULT)
    try:
        import inspect

        if default is inspect.Parameter.empty:
            return _NO_DEFAULT
    except Exception:
        pass
    return default


def _constexpr_value(value: Any) -> Any:
    """``"tl.bfloat16"`` in a JSON file means the dtype (a string constant is otherwise kept)."""
    if isinstance(value, str) and value.startswith(("tl.", "triton.language.")):
        import triton.language as tl

        obj = getattr(tl, value.rpartition(".")[2], None)
        if isinstance(obj, tl.dtype):
            return obj
    return value


def build_source(fn: Any, parts: SourceParts):
    """The ``ASTSource`` a launch with these arguments would compile (run in the compile child)."""
    from triton.backends.compiler import BaseBackend
    from triton.compiler import ASTSource

    names = list(fn.arg_names)
    try:
        divisible = BaseBackend.parse_attr("D")
    except Exception:
        divisible = [["tt.divisibility", 16]]
    signature = dict(parts.signature)
    constexprs = {(names.index(n),): _constexpr_value(v) for n, v in parts.constexprs}
    attrs = {(names.index(n),): divisible for n in parts.divisible}
    return ASTSource(fn, signature, constexprs, attrs)


def task_for(spec: KernelSpec, cfg: SpaceConfig, target: CacheTarget, khash: str) -> engine.Task:
    parts = source_parts(spec, cfg)
    identity = engine.digest(
        {
            "kernel": khash,
            "name": spec.fn.__name__,
            "signature": parts.signature,
            "constexprs": [(n, repr(v)) for n, v in parts.constexprs],
            "divisible": parts.divisible,
        }
    )
    return engine.Task(
        kind="kernel",
        identity=identity,
        capability=target.capability,
        options=tuple(sorted(cfg.options.items())),
        warp_size=target.facts.warp_size or 32,
        make_source=functools.partial(build_source, spec.fn, parts),
        stop_above=target.limit_bytes,
        job=(cfg, target.label),
    )


# --- judging one compile on one target ------------------------------------------------------------

LAUNCHES, DOES_NOT_FIT, CANNOT_LAUNCH, CANNOT_COMPILE, UNKNOWN = (
    "launches",
    "does-not-fit",
    "cannot-launch",
    "cannot-compile",
    "unknown",
)
STATUSES = (LAUNCHES, DOES_NOT_FIT, CANNOT_LAUNCH, CANNOT_COMPILE, UNKNOWN)


@dataclass
class Verdict:
    status: str
    reason: str | None
    margin_bytes: int | None
    occupancy: Occupancy | None


def judge(res: engine.CompileResult, target: CacheTarget, warps: int) -> Verdict:
    """As Triton and the driver would answer a launch: out of resource, too many threads or registers."""
    if res.failure == "environment":
        return Verdict(UNKNOWN, f"not checked: {res.reason}", None, None)
    if res.failure is not None:  # the compiler refused or crashed: an answer about this config there
        return Verdict(CANNOT_COMPILE, res.reason, None, None)
    shared = res.shared_bytes or 0
    margin = target.limit_bytes - shared
    if margin < 0:
        return Verdict(
            DOES_NOT_FIT,
            f"out of resource: shared memory, needs {shared:,} B > {target.limit_bytes:,} B per block "
            f"({-margin:,} B over)",
            margin,
            None,
        )
    occ = occupancy(
        target.sm,
        threads=(res.num_warps or warps) * target.sm.warp_size,
        smem_bytes=shared,
        regs_per_thread=res.regs_per_thread,
    )
    if res.tmem_columns and res.tmem_columns > TMEM_COLUMNS:
        return Verdict(
            CANNOT_LAUNCH, f"out of resource: tensor memory, {res.tmem_columns} columns > {TMEM_COLUMNS}", margin, occ
        )
    if occ.cannot_launch:
        return Verdict(CANNOT_LAUNCH, occ.cannot_launch, margin, occ)
    return Verdict(LAUNCHES, None, margin, occ)


# --- the screen -----------------------------------------------------------------------------------


@dataclass
class Cell:
    target: str
    verdict: Verdict
    compiled: engine.CompileResult

    def to_dict(self) -> dict[str, Any]:
        c, v = self.compiled, self.verdict
        return {
            "target": self.target,
            "status": v.status,
            "reason": v.reason,
            "shared_bytes": c.shared_bytes,
            "margin_bytes": v.margin_bytes,
            "regs_per_thread": c.regs_per_thread,
            "spills": c.spills,
            "num_warps": c.num_warps,
            "blocks_per_sm": None if v.occupancy is None else v.occupancy.blocks_per_sm,
            "failure": c.failure,
            "crash_signal": c.crash_signal,
            "stopped_early": c.stopped_early,
            "compiler_output": c.compiler_output,
            "cached": c.cached,
            "compile_s": round(c.compile_s, 3),
        }


@dataclass
class Row:
    config: SpaceConfig
    cells: list[Cell]

    @property
    def survives(self) -> bool:
        return all(c.verdict.status == LAUNCHES for c in self.cells)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.config.index,
            "config": self.config.given,
            "label": self.config.label(),
            "cells": [c.to_dict() for c in self.cells],
        }


def _weight(cfg: SpaceConfig) -> int:
    """How large a config's tile is, for ordering: the product of its block sizes (its whole-number
    arguments named BLOCK..., else all of them), times its stages."""
    ints = {k: v for k, v in cfg.kwargs.items() if isinstance(v, int) and not isinstance(v, bool) and v > 1}
    blocks = {k: v for k, v in ints.items() if "BLOCK" in k.upper()} or ints
    w = cfg.stages
    for v in blocks.values():
        w *= v
    return w


def screen(
    spec: KernelSpec,
    targets: list[CacheTarget],
    shard: tuple[int, int] | None = None,
    parallel: int | None = None,
    use_cache: bool = True,
    on_progress: engine.Progress | None = None,
):
    """Compile the spec's space (or one shard of it) for every target and judge every cell."""
    from gpudiag.tiles.space_report import SpaceReport

    if spec.raw_configs is None:
        raise _bad(
            f"{spec.name}: no configs to screen; give --configs SPACE.json, or return 'configs' from "
            "gpudiag_kernels(), or name an @triton.autotune kernel"
        )
    version = engine.require_triton(WHAT)
    t0 = time.perf_counter()
    configs, ignored = split_configs(spec, spec.raw_configs)
    mine = shard_indices(spec.raw_configs, shard)
    chosen = [c for c in configs if c.index in mine]
    khash = kernel_hash(spec)
    if chosen:
        from gpudiag.tiles.exact import require_astsource_api

        require_astsource_api()
    # a missing type or constant is a usage error here, before any compile
    tasks = [task_for(spec, c, t, khash) for c in chosen for t in targets]
    # the largest tiles first: the slowest compiles start early instead of trailing at the end
    order = sorted(range(len(tasks)), key=lambda i: -_weight(chosen[i // len(targets)]))
    ran = engine.run(
        [tasks[i] for i in order], what=WHAT, parallel=parallel, use_cache=use_cache, on_progress=on_progress
    )
    results: list[engine.CompileResult] = [engine.CompileResult()] * len(tasks)
    for i, res in zip(order, ran):
        results[i] = res
    rows = []
    n = len(targets)
    for i, cfg in enumerate(chosen):
        cells = [Cell(t.label, judge(r, t, cfg.warps), r) for t, r in zip(targets, results[i * n : (i + 1) * n])]
        rows.append(Row(cfg, cells))
    unique = dict(zip(tasks, results))
    compiled = sum(not r.cached for r in unique.values())
    return SpaceReport(
        kernel=spec.name,
        where=spec.where,
        kernel_hash=khash,
        space_source=spec.space_source,
        space_size=len(configs),
        space_hash=space_hash(spec.raw_configs),
        shard=shard,
        targets=[t.to_dict() for t in targets],
        rows=[r_.to_dict() for r_ in rows],
        triton=version,
        jobs=parallel or engine.default_jobs(),
        compiled=compiled,
        cached=len(unique) - compiled,
        wall_s=time.perf_counter() - t0,
        ignored_keys=ignored,
    )
