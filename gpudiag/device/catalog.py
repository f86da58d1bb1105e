"""The offline GPU catalogue: sourced data files, read here, turned into ``DeviceFacts``.

Two tables ship in ``gpudiag/device/data``:

``compute_capabilities.toml``
    One ``[[cc]]`` row per compute capability (7.0 .. 12.1): the per-architecture limits of the
    CUDA Programming Guide's "Technical Specifications per Compute Capability" table, plus FP32
    lanes per SM from the architecture whitepapers.
``gpus.toml``
    One ``[[gpu]]`` row per model: compute capability, SM count, memory, L2, bandwidth and dense
    bf16 tensor throughput, each row with ``sources`` (and ``conflicts`` where public sources
    disagree, saying which one we trust and why). A row may override any per-cc limit.

Adding a GPU means adding a row; no code changes.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from typing import Any

from gpudiag.device.facts import DeviceFacts
from gpudiag.files import load_toml
from gpudiag.errors import GpudiagError


GIB = 1 << 30

# Per-cc fields copied onto DeviceFacts (catalogue name == DeviceFacts attribute).
CC_LIMIT_FIELDS = (
    "warp_size",
    "smem_per_block_bytes",
    "smem_per_block_optin_bytes",
    "smem_per_sm_bytes",
    "smem_reserved_per_block_bytes",
    "regs_per_sm",
    "regs_per_block",
    "max_threads_per_sm",
    "max_threads_per_block",
    "max_blocks_per_sm",
)


@dataclass(frozen=True)
class CCLimits:
    """One row of the per-compute-capability table."""

    major: int
    minor: int
    arch_name: str
    fp32_lanes_per_sm: int | None
    limits: dict[str, int]
    sources: tuple[str, ...]
    notes: str | None = None

    @property
    def sm(self) -> str:
        return f"sm_{self.major}{self.minor}"


@dataclass(frozen=True)
class GpuRow:
    """One row of the GPU table, exactly as the data file gives it."""

    key: str
    name: str
    data: dict[str, Any]

    @property
    def compute_capability(self) -> tuple[int, int]:
        return parse_cc(self.data["compute_capability"])

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(self.data.get("aliases", ())) + tuple(self.data.get("nvml_names", ()))


def parse_cc(text: str) -> tuple[int, int]:
    """``"9.0"``, ``"90"``, ``"sm_90"``, ``"sm_90a"``, ``"compute_121"``, ``"12.1"`` -> (major, minor)."""
    s = str(text).strip().lower()
    m = re.fullmatch(r"(\d+)\.(\d)", s)
    if m:
        return int(m.group(1)), int(m.group(2))
    m = re.fullmatch(r"(?:sm_?|compute_?|cc)?(\d{1,2})(\d)[af]?", s)
    if m:
        return int(m.group(1)), int(m.group(2))
    raise GpudiagError(f"not a compute capability: {text!r} (expected e.g. 9.0 or sm_90)")


def _load(name: str) -> dict[str, Any]:
    return load_toml("gpudiag.device", f"data/{name}")


@functools.lru_cache(maxsize=1)
def cc_table() -> dict[tuple[int, int], CCLimits]:
    rows = {}
    for row in _load("compute_capabilities.toml")["cc"]:
        major, minor = parse_cc(row["cc"])
        limits = {f: int(row[f]) for f in CC_LIMIT_FIELDS if f in row}
        rows[(major, minor)] = CCLimits(
            major=major,
            minor=minor,
            arch_name=row["arch_name"],
            fp32_lanes_per_sm=row.get("fp32_lanes_per_sm"),
            limits=limits,
            sources=tuple(row.get("sources", ())),
            notes=row.get("notes"),
        )
    return rows


@functools.lru_cache(maxsize=1)
def gpu_rows() -> tuple[GpuRow, ...]:
    return tuple(GpuRow(key=r["key"], name=r["name"], data=r) for r in _load("gpus.toml")["gpu"])


def cc_limits(cc: tuple[int, int]) -> CCLimits | None:
    return cc_table().get(tuple(cc))


def _norm(text: str) -> str:
    s = text.lower()
    s = re.sub(r"\b(nvidia|geforce|tesla|quadro)\b", " ", s)
    s = re.sub(r"[^a-z0-9.]+", " ", s)
    # "rtx3070" and "rtx 3070", "a100sxm" and "a100 sxm" are the same query.
    s = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", s)
    return " ".join(s.split())


def _tokens(text: str) -> list[str]:
    return _norm(text).split()


def _candidate_names(row: GpuRow) -> list[str]:
    return [row.key.replace("-", " "), row.name, *row.aliases]


def find_row_for_live_name(nvml_name: str) -> GpuRow | None:
    """The catalogue row for a name NVML reports, matched exactly (after normalisation) only."""
    wanted = _norm(nvml_name)
    for row in gpu_rows():
        if any(_norm(n) == wanted for n in [row.name, *row.data.get("nvml_names", ())]):
            return row
    return None


def lookup(query: str) -> DeviceFacts:
    """Forgiving ``--gpu`` lookup: "3070", "rtx 3070", "H100", "gb10", "sm_121".

    Raises ``GpudiagError`` (exit 2) listing the closest names when nothing or too much matches.
    """
    q = _norm(query)
    if not q:
        raise GpudiagError("--gpu needs a GPU name, e.g. --gpu 'RTX 3070' or --gpu sm_90")
    rows = gpu_rows()

    exact = [r for r in rows if any(_norm(n) == q for n in _candidate_names(r))]
    if len(exact) == 1:
        return facts_from_row(exact[0])

    # A compute capability names an architecture; use the one GPU of that cc if there is one,
    # otherwise the per-cc limits alone.
    if re.fullmatch(r"(sm|compute|cc)[ _]?\d{2,3}[af]?|\d+\.\d", q.replace(" ", "_")):
        cc = parse_cc(q.replace(" ", ""))
        same_cc = [r for r in rows if r.compute_capability == cc]
        if len(same_cc) == 1:
            facts = facts_from_row(same_cc[0])
            facts.notes.append(f"{query} resolved to the catalogue's only {facts.sm} model, {facts.name}; "
                               "other parts of this architecture may differ in SM count and memory")
            return facts
        return facts_from_cc(cc)

    q_tokens = q.split()
    containing = _rows_containing(rows, q_tokens)
    if not containing:
        # "4060 ti 16gb", "rtx 5090 32gb": a memory size the catalogue does not split on.
        trimmed = " ".join(re.sub(r"\b\d+ ?(gb|gib|g)\b", " ", q).split()).split()
        if trimmed and trimmed != q_tokens:
            containing = _rows_containing(rows, trimmed)
            q_tokens = trimmed
    if containing:
        # Prefer the row whose best name adds the fewest extra words ("3070" -> "RTX 3070",
        # not "RTX 3070 Ti"); a tie between different rows is ambiguous.
        def extra(r: GpuRow) -> int:
            return min(
                len(set(_tokens(n)) - set(q_tokens))
                for n in _candidate_names(r)
                if set(q_tokens) <= set(_tokens(n))
            )

        best = min(extra(r) for r in containing)
        winners = [r for r in containing if extra(r) == best]
        if len(winners) == 1:
            return facts_from_row(winners[0])
        names = ", ".join(sorted(r.name for r in winners))
        raise GpudiagError(f"--gpu {query!r} is ambiguous: it matches {names}. Name one of them.")

    raise GpudiagError(f"unknown GPU {query!r}; closest catalogue names: {', '.join(closest_names(query))}"
                       " (gpudiag info --list-gpus shows them all)")


def _rows_containing(rows: tuple[GpuRow, ...], q_tokens: list[str]) -> list[GpuRow]:
    return [r for r in rows if any(set(q_tokens) <= set(_tokens(n)) for n in _candidate_names(r))]


def closest_names(query: str, n: int = 5) -> list[str]:
    names: dict[str, str] = {}
    for r in gpu_rows():
        for cand in _candidate_names(r):
            names.setdefault(_norm(cand), r.name)
    hits = difflib.get_close_matches(_norm(query), list(names), n=n * 3, cutoff=0.3)
    out: list[str] = []
    for h in hits:
        if names[h] not in out:
            out.append(names[h])
    if not out:
        out = [r.name for r in gpu_rows()[:n]]  # nothing close: the first rows, so the user sees the format
    return out[:n]


def apply_cc_limits(facts: DeviceFacts, only_missing: bool = True) -> None:
    """Fill per-architecture limits (and arch name, CUDA cores) from the per-cc table."""
    row = cc_limits(facts.compute_capability)
    if row is None:
        facts.notes.append(f"compute capability {facts.cc} is not in the per-cc table")
        return
    if facts.arch_name is None:
        facts.set("arch_name", row.arch_name, "catalogue:cc")
    for name, value in row.limits.items():
        if not only_missing or getattr(facts, name) is None:
            facts.set(name, value, "catalogue:cc")
    if facts.cuda_cores is None and facts.sm_count and row.fp32_lanes_per_sm:
        facts.set("cuda_cores", facts.sm_count * row.fp32_lanes_per_sm, "derived")


def facts_from_row(row: GpuRow) -> DeviceFacts:
    """A catalogue GPU as ``DeviceFacts`` (origin "catalogue"; nothing here was measured)."""
    d = row.data
    facts = DeviceFacts(origin="catalogue", name=row.name, compute_capability=row.compute_capability)
    facts.catalogue_key = row.key
    facts.catalogue_sources = list(d.get("sources", ()))
    src = "catalogue:gpu"
    facts.set("sm_count", d.get("sm_count"), src)
    facts.set("l2_bytes", d.get("l2_bytes"), src)
    if d.get("memory_gib") is not None:
        facts.set("memory_total_bytes", int(float(d["memory_gib"]) * GIB), src)
    facts.set("memory_bus_width_bits", d.get("memory_bus_width_bits"), src)
    if d.get("memory_bandwidth_gbps") is not None:
        facts.set("memory_bandwidth_bytes_per_s", int(float(d["memory_bandwidth_gbps"]) * 1e9), src)
    facts.set("bf16_dense_tflops", d.get("bf16_dense_tflops"), src)
    # Row-level overrides of per-cc limits (e.g. a part that differs from its architecture).
    for name in CC_LIMIT_FIELDS:
        facts.set(name, d.get(name), src)
    if d.get("arch_name"):
        facts.set("arch_name", d["arch_name"], src)
    apply_cc_limits(facts)
    for note in ("notes", "conflicts"):
        if d.get(note):
            facts.notes.append(str(d[note]).strip())
    return facts


def facts_from_cc(cc: tuple[int, int]) -> DeviceFacts:
    """An architecture without a specific model: per-cc limits only, no SM count."""
    row = cc_limits(cc)
    if row is None:
        known = ", ".join(r.sm for r in cc_table().values())
        raise GpudiagError(f"unknown compute capability sm_{cc[0]}{cc[1]}; known: {known}")
    facts = DeviceFacts(origin="catalogue", name=f"any {row.arch_name} GPU ({row.sm})", compute_capability=cc)
    facts.catalogue_key = row.sm
    facts.catalogue_sources = list(row.sources)
    apply_cc_limits(facts)
    facts.missing("sm_count", f"{row.sm} names an architecture, not a model; SM count varies by model")
    facts.notes.append("per-architecture limits only; name a model (--gpu 'RTX 5090') for SM count, memory and L2")
    return facts
