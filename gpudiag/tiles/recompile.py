"""Compile a cached kernel's Triton IR for another GPU, with the installed Triton, on this machine.

``triton.compile`` takes Triton IR and a ``GPUTarget`` and needs no GPU (ptxas ships in the Triton
wheel). A cached ``.ttir`` has been through Triton's ``ttir`` stage for the target it was compiled
for, and that stage is not the same everywhere: below sm_90 it rewrites tensor descriptors (TMA)
into plain loads (``make_ttir`` in ``triton/backends/nvidia/compiler.py``). ``triton.compile(path)``
would skip it, so the IR is handed over as a source whose ``make_ir`` parses it, and the whole
pipeline from ``ttir`` on runs for the new target; on IR that has been through it once, the stage's
other passes (inline, canonicalise, combine, CSE, DCE, unroll) leave it as it is.

The compiles run in check-tiles' one compile engine (``compile_engine.py``): each in a forked
child whose diagnostics, ptxas messages and crashes stay in its log (kept as the reason when the
compile fails, never on gpudiag's stdout), with a Triton cache and temporary files thrown away
afterwards, so the user's own Triton cache is only ever read. Results are cached on disk by TTIR
hash x options x target x Triton version, failures the compiler reports included (they are
answers: "cannot run there").
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpudiag.tiles import compile_engine as engine
from gpudiag.tiles.compile_engine import FAILURE_KINDS, SourceUnreadable, default_jobs, summarise, triton_version

__all__ = [
    "FAILURE_KINDS",
    "CompiledResources",
    "RecompileJob",
    "default_jobs",
    "recompile",
    "summarise",
    "triton_version",
]

CompiledResources = engine.CompileResult  # what the installed Triton built for one target, or why not
Progress = engine.Progress  # (cells done, cells in all), called as each finishes


@dataclass(frozen=True)
class RecompileJob:
    """Everything that decides the compiled kernel (the cache key), and where its IR is.

    Two cache entries with the same IR and options (compiled under other settings or by another
    Triton) are the same job: the installed Triton builds the same kernel from them.
    """

    ttir_path: str = field(compare=False)
    ttir_sha256: str
    name: str
    options: tuple[tuple[str, Any], ...]  # sorted (option, value) pairs
    capability: int  # 89 for sm_89
    warp_size: int = 32

    def task(self) -> engine.Task:
        return engine.Task(
            kind="triton-cache",
            identity=self.ttir_sha256,
            capability=self.capability,
            options=self.options,
            warp_size=self.warp_size,
            make_source=functools.partial(_ttir_source, self.ttir_path, self.name),
            job=self,
        )

    def key(self, triton_version: str) -> str:
        return self.task().key(triton_version)


def cache_dir() -> Path:
    return engine.cache_dir()


def _ttir_source(path: str, name: str):
    """Cached Triton IR as a source ``triton.compile`` runs every stage from ``ttir`` on."""
    from triton._C.libtriton import ir
    from triton.compiler import ASTSource

    class CachedTTIR(ASTSource):
        # Not a Python function: only what triton.compile asks of a source is defined.
        def __init__(self) -> None:
            self.fn = None
            self.name = name
            self.ext = "ttir"
            self.path = path
            self.text = Path(path).read_text(encoding="utf-8")
            self.signature: dict = {}
            self.constants: dict = {}
            self.attrs: dict = {}
            try:
                from triton.backends.compiler import Language

                self.language = Language.TRITON
            except ImportError:  # Triton before the Gluon split
                pass

        def hash(self) -> str:
            return hashlib.sha256(f"ttir-{self.text}".encode()).hexdigest()

        def parse_options(self) -> dict:
            return {}

        def make_ir(self, *args):  # (target, options, codegen_fns, module_map, context); older: no target
            context = args[-1]
            try:
                module = ir.parse_mlir_module(self.path, context)
            except Exception as exc:
                raise SourceUnreadable(str(exc)) from None
            module.context = context
            return module

    return CachedTTIR()


def recompile(
    jobs: list[RecompileJob], parallel: int | None = None, use_cache: bool = True, on_progress: Progress | None = None
) -> list[CompiledResources]:
    """The compiled resources of every job, in order; identical jobs compile once, cached ones not at all."""
    engine.require_triton("--from-triton-cache (to recompile the kernels)")
    return engine.run(
        [job.task() for job in jobs],
        what="--from-triton-cache",
        parallel=parallel,
        use_cache=use_cache,
        on_progress=on_progress,
    )
