"""The torch.compile modes a bake-off knows, and which of them make sense on which device."""

from __future__ import annotations

from gpudiag.errors import GpudiagError

ALL_MODES = ("eager", "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
# (CUDA-graph mode, its twin): the two differ only in inductor's ``triton.cudagraphs``.
CUDAGRAPH_PAIRS = (("reduce-overhead", "default"), ("max-autotune", "max-autotune-no-cudagraphs"))
CUDAGRAPH_MODES = tuple(graphs for graphs, _ in CUDAGRAPH_PAIRS)
AUTOTUNE_MODES = ("max-autotune", "max-autotune-no-cudagraphs")

# Why a mode is skipped on the CPU: CUDA graphs need a CUDA device, and inductor ignores the
# cudagraphs option for CPU graphs, so these would re-measure another mode under a different name.
CPU_SKIP_REASON = {
    "reduce-overhead": "CUDA graphs need a CUDA device; on the CPU reduce-overhead compiles exactly like default",
    "max-autotune": "CUDA graphs need a CUDA device; on the CPU max-autotune is max-autotune-no-cudagraphs",
}


def parse_modes(text: str | None) -> list[str]:
    """``"default,max-autotune"`` -> the modes in canonical order, eager always first (the baseline);
    None -> all of them. An empty list is a mistake, not a request for everything."""
    if text is None:
        return list(ALL_MODES)
    wanted = [m.strip() for m in text.split(",") if m.strip()]
    if not wanted:
        raise GpudiagError(f"--modes is empty; give a comma-separated list from {', '.join(ALL_MODES)}")
    unknown = [m for m in wanted if m not in ALL_MODES]
    if unknown:
        raise GpudiagError(f"unknown mode {unknown[0]!r} in --modes; choose from {', '.join(ALL_MODES)}")
    # eager is the baseline every speedup and every correctness check refers to.
    return [m for m in ALL_MODES if m in wanted or m == "eager"]


def skip_reason(mode: str, device: str) -> str | None:
    if device == "cpu":
        return CPU_SKIP_REASON.get(mode)
    return None
