"""Reading a Triton cache: which kernels it holds, for which target, compiled with which options.

Triton keeps every kernel it compiles in its cache (``TRITON_CACHE_DIR``, else
``$TRITON_HOME/.triton/cache``, else ``~/.triton/cache``: ``cache_knobs`` in ``triton/knobs.py``):
one folder per compiled kernel, named by the hash of its source, options and compiler, holding
``NAME.json`` (the options it was compiled with and what came out: target, warps, stages, shared
memory, Triton version), ``NAME.ttir`` (its Triton IR after the target-independent passes), the
later stages (``.ttgir``, ``.llir``, ``.ptx``, ``.cubin``) and ``__grp__NAME.json`` listing them.
Folders of launcher libraries (``*.so``) and the autotuner's result files sit beside them.

Nothing here imports Triton: reading a cache of thousands of kernels is file I/O only.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpudiag.errors import EXIT_USAGE, GpudiagError

# The compile options a user (or inductor, or the autotuner) chose, which a recompile for another
# target must keep. The others in the metadata are derived from the target (arch, ptx_version,
# supported_fp8_dtypes, max_num_imprecise_acc_default, ...), paths on the machine that compiled it
# (extern_libs) or outputs (shared, tmem_size, name, hash): CUDAOptions and CUDABackend.parse_options in
# triton/backends/nvidia/compiler.py. Keys the installed Triton does not know are dropped by its own
# parse_options, as they would be on a launch.
CARRIED_OPTIONS = (
    "num_warps",
    "num_ctas",
    "num_stages",
    "maxnreg",
    "enable_fp_fusion",
    "enable_reflect_ftz",
    "launch_cooperative_grid",
    "launch_pdl",
    "debug",
    "sanitize_overflow",
    "ptx_options",
    "sched4reg",
    "clc",
    "instrumentation_mode",
    "min_shared_mem",
)
# Folder names Triton's cache managers use: base32 of a sha256 (Triton 3.x), hex sha256 or md5 (2.x).
_ENTRY_NAME = re.compile(r"[A-Z2-7]{52}|[0-9a-f]{64}|[0-9a-f]{32}")
_TENSOR = re.compile(r"tensor<([0-9x]+)x([a-zA-Z][a-zA-Z0-9]*)")


@dataclass(frozen=True)
class DotShape:
    """One ``tt.dot``/``tt.dot_scaled`` of a kernel: C[m, n] += A[m, k] @ B[k, n] (batch dims dropped)."""

    m: int
    n: int
    k: int
    a_type: str  # MLIR element type: bf16, f16, f32, f8E4M3FN, i8, ...

    @property
    def label(self) -> str:
        return f"{self.m}x{self.n}x{self.k} {self.a_type}"


@dataclass
class CachedKernel:
    """One compiled kernel of the cache, as its metadata records it."""

    folder: str  # the cache entry's folder name (Triton's hash)
    name: str
    ttir_path: Path
    ttir_sha256: str
    recorded_capability: int  # 90 for sm_90
    recorded_warp_size: int
    triton_version: str | None  # the Triton that compiled it (metadata "triton_version", Triton >= 3.2)
    num_warps: int
    num_stages: int
    num_ctas: int
    recorded_shared: int | None
    options: dict[str, Any]  # CARRIED_OPTIONS present in the metadata
    dots: tuple[DotShape, ...]

    @property
    def recorded_target(self) -> str:
        return f"sm_{self.recorded_capability}"

    @property
    def config_label(self) -> str:
        """What tells one config of a kernel from another: its dot tiles, warps and stages."""
        shapes = list(dict.fromkeys(d.label.split(" ")[0] for d in self.dots))
        parts = [", ".join(shapes)] if shapes else []
        parts.append(f"w{self.num_warps} s{self.num_stages}")
        if self.num_ctas > 1:
            parts.append(f"ctas {self.num_ctas}")
        if self.options.get("maxnreg"):
            parts.append(f"maxnreg {self.options['maxnreg']}")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "folder": self.folder,
            "config": self.config_label,
            "ttir_sha256": self.ttir_sha256,
            "num_warps": self.num_warps,
            "num_stages": self.num_stages,
            "num_ctas": self.num_ctas,
            "options": self.options,
            "dots": [{"m": d.m, "n": d.n, "k": d.k, "a_type": d.a_type} for d in self.dots],
            "recorded": {
                "target": self.recorded_target,
                "shared_bytes": self.recorded_shared,
                "triton_version": self.triton_version,
            },
        }


@dataclass(frozen=True)
class SkippedEntry:
    """A cache entry that holds a kernel gpudiag cannot check, and why (one line)."""

    folder: str
    name: str | None  # the kernel's name where its metadata could be read
    reason: str


@dataclass
class TritonCache:
    path: Path
    found_by: str  # "argument", "TRITON_CACHE_DIR", "TRITON_HOME", "default"
    kernels: list[CachedKernel]
    skipped: list[SkippedEntry]
    kernels_found: int  # before the name filter
    filtered_out: int = 0  # kernels the name filter left out
    not_kernels: int = 0  # launcher libraries, autotuner results: entries that are no compiled kernel

    @property
    def triton_versions(self) -> list[str]:
        return sorted({k.triton_version for k in self.kernels if k.triton_version})

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "found_by": self.found_by,
            "kernels_found": self.kernels_found,
            "kernels": len(self.kernels),
            "filtered_out": self.filtered_out,
            "other_entries": self.not_kernels,
            "triton_versions": self.triton_versions,
            "skipped": [{"folder": s.folder, "name": s.name, "reason": s.reason} for s in self.skipped],
        }


def locate(folder: str | os.PathLike[str] | None) -> tuple[Path, str]:
    """The cache folder to read and how it was chosen, by Triton's own rule when none is given."""
    if folder is not None and str(folder) != "":
        return Path(folder).expanduser(), "argument"
    if os.environ.get("TRITON_CACHE_DIR"):
        return Path(os.environ["TRITON_CACHE_DIR"]).expanduser(), "TRITON_CACHE_DIR"
    if os.environ.get("TRITON_HOME"):
        return Path(os.environ["TRITON_HOME"]).expanduser() / ".triton" / "cache", "TRITON_HOME"
    return Path("~/.triton/cache").expanduser(), "default"


def _dots(ttir: str) -> tuple[DotShape, ...]:
    shapes = []
    for line in ttir.splitlines():
        op = line.find("tt.dot")
        if op < 0 or not re.match(r"tt\.dot(_scaled)?\s", line[op:]):
            continue
        types = _TENSOR.findall(line[line.find(" : ", op) :])
        if len(types) < 2:
            continue
        a_dims = [int(x) for x in types[0][0].split("x")]
        b_dims = [int(x) for x in types[1][0].split("x")]
        if len(a_dims) >= 2 and len(b_dims) >= 2:
            # dot_scaled packs fp4 two per byte along K: the B operand's K is the logical one.
            shapes.append(DotShape(a_dims[-2], b_dims[-1], max(a_dims[-1], b_dims[-2]), types[0][1]))
    return tuple(shapes)


def _target(meta: dict[str, Any]) -> tuple[str, Any, int]:
    t = meta.get("target")
    if isinstance(t, dict):
        return str(t.get("backend")), t.get("arch"), int(t.get("warp_size") or 32)
    if isinstance(t, (list, tuple)) and len(t) >= 2:  # GPUTarget serialised as a tuple
        return str(t[0]), t[1], int(t[2]) if len(t) > 2 else 32
    raise ValueError("no target in its metadata")


def _read_entry(entry: Path, meta_path: Path) -> CachedKernel | SkippedEntry | None:
    """A kernel, why it cannot be checked, or None for a JSON file that is no kernel's metadata."""
    folder = entry.name
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return SkippedEntry(folder, None, f"unreadable metadata {meta_path.name}: {exc}")
    if not isinstance(meta, dict) or "target" not in meta or "name" not in meta:
        return None  # e.g. the autotuner's NAME.autotune.json results
    try:
        backend, arch, warp_size = _target(meta)
        if backend != "cuda":
            return SkippedEntry(folder, str(meta["name"]), f"compiled for {backend} ({arch}), not an NVIDIA GPU")
        capability = int(arch)
        num_warps, num_stages = int(meta["num_warps"]), int(meta["num_stages"])
        num_ctas = int(meta.get("num_ctas") or 1)
    except (KeyError, TypeError, ValueError) as exc:
        what = exc.args[0] if isinstance(exc, KeyError) else exc
        return SkippedEntry(folder, str(meta["name"]), f"metadata {meta_path.name} is incomplete or malformed: {what}")
    name = str(meta["name"])
    ttir_path = meta_path.with_suffix(".ttir")
    if not ttir_path.is_file():
        return SkippedEntry(
            folder,
            name,
            f"no {ttir_path.name} beside its metadata (a cache written with "
            "TRITON_STORE_BINARY_ONLY=1 keeps only the binary, which cannot be recompiled)",
        )
    try:
        raw = ttir_path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return SkippedEntry(folder, name, f"unreadable {ttir_path.name}: {exc}")
    if "tt.func" not in text:
        return SkippedEntry(folder, name, f"{ttir_path.name} is not Triton IR (it defines no tt.func)")
    shared = meta.get("shared")
    return CachedKernel(
        folder=folder,
        name=name,
        ttir_path=ttir_path,
        ttir_sha256=hashlib.sha256(raw).hexdigest(),
        recorded_capability=capability,
        recorded_warp_size=warp_size,
        triton_version=meta.get("triton_version"),
        num_warps=num_warps,
        num_stages=num_stages,
        num_ctas=num_ctas,
        recorded_shared=int(shared) if isinstance(shared, int) else None,
        options={k: meta[k] for k in CARRIED_OPTIONS if meta.get(k) is not None},
        dots=_dots(text),
    )


def _kernel_metadata_files(entry: Path) -> list[Path]:
    """The kernel metadata files in a cache entry; raises OSError when the folder cannot be read."""
    return sorted(
        p for p in entry.iterdir() if p.suffix == ".json" and not p.name.startswith("__grp__") and p.is_file()
    )


def _looks_like_entry(entry: Path) -> bool:
    """A cache entry: named as Triton names them, or holding a group file. A folder that cannot be
    read may be one: it is taken as one, so that it is reported rather than passed over."""
    if _ENTRY_NAME.fullmatch(entry.name):
        return True
    try:
        return any(p.name.startswith("__grp__") for p in entry.iterdir())
    except OSError:
        return True


def _caches_below(path: Path, depth: int = 3, limit: int = 3) -> list[Path]:
    """Triton caches inside ``path`` (inductor keeps one per device under ``<its cache>/triton/<N>``)."""
    found: list[Path] = []
    frontier = [path]
    for _ in range(depth):
        nxt: list[Path] = []
        for folder in frontier:
            try:
                subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
            except OSError:
                continue
            for sub in subs:
                if any(_looks_like_entry(e) for e in _subdirs(sub)[:20]):
                    found.append(sub)
                    if len(found) >= limit:
                        return found
                else:
                    nxt.append(sub)
        frontier = nxt[:200]
    return found


def _subdirs(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_dir())
    except OSError:
        return []


def matches(name: str, patterns: list[str] | None) -> bool:
    """``--kernel``: a glob (``triton_mm*``) or, without wildcards, a part of the name."""
    if not patterns:
        return True
    return any(fnmatch.fnmatchcase(name, p) if any(c in p for c in "*?[") else p in name for p in patterns)


def read_cache(folder: str | os.PathLike[str] | None, name_filter: list[str] | None = None) -> TritonCache:
    """Every kernel in the cache (sorted by name, then config), and the entries that cannot be checked.

    Raises GpudiagError (exit 2) for a folder that is missing, not a Triton cache, empty, holds no
    kernel with Triton IR, or has no kernel the filter matches.
    """
    path, found_by = locate(folder)
    where = f"{path}" + (
        ""
        if found_by == "argument"
        else f" (from {found_by})"
        if found_by != "default"
        else " (Triton's default cache)"
    )
    if not path.exists():
        raise GpudiagError(f"no such folder: {where}", EXIT_USAGE)
    if not path.is_dir():
        raise GpudiagError(f"{where} is a file, not a Triton cache folder", EXIT_USAGE)
    try:
        children = sorted(path.iterdir())
    except OSError as exc:
        raise GpudiagError(f"cannot read {where}: {exc.strerror or exc}", EXIT_USAGE) from None
    entries = [c for c in children if c.is_dir() and _looks_like_entry(c)]
    if not children:
        raise GpudiagError(
            f"{where} is empty: run the workload once with TRITON_CACHE_DIR={path} to fill it", EXIT_USAGE
        )
    if not entries:
        below = _caches_below(path)
        hint = f"; Triton caches inside it: {', '.join(str(p) for p in below)}" if below else ""
        raise GpudiagError(f"{where} is not a Triton cache (no folder in it holds a compiled kernel){hint}", EXIT_USAGE)

    kernels: list[CachedKernel] = []
    skipped: list[SkippedEntry] = []
    not_kernels = 0
    for entry in entries:
        try:
            metadata = _kernel_metadata_files(entry)
        except OSError as exc:  # a kernel's folder that cannot be read is a kernel not checked: say so
            skipped.append(SkippedEntry(entry.name, None, f"unreadable folder: {exc.strerror or exc}"))
            continue
        found = [r for r in (_read_entry(entry, m) for m in metadata) if r is not None]
        if not found:
            not_kernels += 1
        for r in found:
            if isinstance(r, CachedKernel):
                kernels.append(r)
            else:
                skipped.append(r)
    total = len(kernels)
    if not kernels and not skipped:
        raise GpudiagError(
            f"{where} holds no compiled kernel ({not_kernels} other entries: launchers, autotuner results)", EXIT_USAGE
        )
    if not kernels:
        reasons = "; ".join(f"{s.folder[:12]}: {s.reason}" for s in skipped[:3])
        raise GpudiagError(
            f"no kernel in {where} can be checked ({len(skipped)} skipped: {reasons}"
            f"{'; ...' if len(skipped) > 3 else ''})",
            EXIT_USAGE,
        )
    chosen = [k for k in kernels if matches(k.name, name_filter)]
    if not chosen:
        names = sorted({k.name for k in kernels})
        shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
        raise GpudiagError(
            f"no kernel in {where} matches --kernel {' '.join(name_filter or [])}; its kernels: {shown}", EXIT_USAGE
        )
    chosen.sort(key=lambda k: (k.name, [(d.m, d.n, d.k) for d in k.dots], k.num_warps, k.num_stages, k.folder))
    skipped = [s for s in skipped if s.name is None or matches(s.name, name_filter)]
    return TritonCache(
        path=path,
        found_by=found_by,
        kernels=chosen,
        skipped=skipped,
        kernels_found=total,
        filtered_out=total - len(chosen),
        not_kernels=not_kernels,
    )
