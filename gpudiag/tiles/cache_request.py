"""``check-tiles --from-triton-cache``: what the user asks (``CacheRequest``) and the policy that
turns it into a report: which cache folder, which kernels, which targets (``--arch`` and ``--gpu``
comma lists, and the live GPU when none is named or ``--index`` asks for it), how many parallel
compiles. The CLI only parses and renders; this never prints and raises ``GpudiagError``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles.cache_report import CacheCheckReport, CacheTarget, check_cache

Progress = Callable[[int, int], None]  # (cells done, cells in all)


@dataclass
class CacheRequest:
    folders: list[str] = field(default_factory=list)  # at most one: the cache folder (else Triton's rule)
    kernels: list[str] | None = None  # --kernel name filters
    arch: str | None = None  # comma list
    gpu: str | None = None  # comma list
    index: int | None = None
    jobs: int | None = None
    use_cache: bool = True


def validate(req: CacheRequest) -> None:
    if req.folders and len(req.folders) > 1:
        raise GpudiagError(
            f"--from-triton-cache reads one cache folder, got {len(req.folders)}: {', '.join(req.folders)}",
            EXIT_USAGE,
        )
    if req.jobs is not None and req.jobs < 1:
        raise GpudiagError(f"--jobs must be at least 1, got {req.jobs}", EXIT_USAGE)


def named_targets(arch: str | None, gpu: str | None, index: int | None = None) -> dict[str, CacheTarget]:
    """``--arch a,b`` and ``--gpu "X",Y`` (comma lists), by the label each cell is shown under."""
    from gpudiag.device import selection

    sel = selection.select(gpu, arch, index, many=True)
    return {t.label: CacheTarget.of(t.label, t.facts) for t in selection.resolve_named(sel)}


def with_live_gpu(found: dict[str, CacheTarget], index: int | None) -> list[CacheTarget]:
    """The named targets, and the live GPU when none is named or ``--index`` asks for it."""
    if index is not None or not found:
        from gpudiag.device import selection

        facts, why = selection.live(index)
        if facts is None:
            raise GpudiagError(selection.no_live_message(why or "none visible"), EXIT_USAGE)
        label = selection.short_name(facts.name)
        found.setdefault(label, CacheTarget.of(label, facts))
    return list(found.values())


def check_cache_request(req: CacheRequest, on_progress: Progress | None = None) -> CacheCheckReport:
    """The whole mode: the request checked, the targets named (bad input before the environment),
    the cache read, the live GPU added where it applies, every kernel recompiled for every target."""
    from gpudiag.tiles.triton_cache import read_cache

    validate(req)
    named = named_targets(req.arch, req.gpu, req.index)  # bad input before the environment
    cache = read_cache(req.folders[0] if req.folders else None, req.kernels)
    targets = with_live_gpu(named, req.index)
    return check_cache(cache, targets, parallel=req.jobs, use_cache=req.use_cache, on_progress=on_progress)
