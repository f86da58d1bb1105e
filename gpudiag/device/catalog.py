"""The offline GPU catalogue: sourced data files, read here, turned into ``DeviceFacts``.

Three tables ship in ``gpudiag/device/data``:

``compute_capabilities.toml``
    One ``[[cc]]`` row per compute capability (7.0 .. 12.1): the per-architecture limits of the
    CUDA Programming Guide's "Technical Specifications per Compute Capability" table, plus FP32
    lanes per SM from the architecture whitepapers.
``gpus.toml``
    One ``[[gpu]]`` row per model: compute capability, SM count, memory, L2, bandwidth and dense
    bf16 tensor throughput. Every source of a row says what kind it is (``live``, ``datasheet``,
    ``third-party``, ``derived``) and which fields it gives, so each value carries its evidence
    (``DeviceFacts.evidence``). A row may override any per-cc limit.
``gpu_families.toml``
    Families with no row (AMD, NVIDIA older than sm_70, GTX 16), so ``--gpu`` can say what they are.

Adding a GPU means adding a row; no code changes. ``--gpu`` names are resolved to a row by
``gpudiag.device.lookup``, with ``gpudiag.device.names`` (one normaliser and one scorer for every row).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from gpudiag.device import names
from gpudiag.device.facts import DeviceFacts
from gpudiag.errors import GpudiagError
from gpudiag.files import load_toml

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
# gpus.toml field -> DeviceFacts attribute, where the names differ.
ROW_FIELD_ON_FACTS = {"memory_gib": "memory_total_bytes", "memory_bandwidth_gbps": "memory_bandwidth_bytes_per_s"}
SOURCE_KINDS = ("live", "datasheet", "third-party", "derived")  # best evidence first


@dataclass(frozen=True)
class Source:
    """One source of a catalogue row: what kind of evidence it is and which fields it gives."""

    kind: str  # one of SOURCE_KINDS
    fields: tuple[str, ...]
    text: str
    row: str  # "gpus.toml h200", "compute_capabilities.toml 9.0"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "fields": list(self.fields), "text": self.text, "row": self.row}


def _sources(raw: list[dict[str, Any]], row: str) -> tuple[Source, ...]:
    out = tuple(Source(s["kind"], tuple(s["fields"]), s["text"], row) for s in raw)
    return tuple(sorted(out, key=lambda s: SOURCE_KINDS.index(s.kind)))


def best_source(sources: tuple[Source, ...], field: str) -> Source | None:
    """The strongest source that gives ``field`` (sources are kept best-first)."""
    return next((s for s in sources if field in s.fields), None)


@dataclass(frozen=True)
class CCLimits:
    """One row of the per-compute-capability table."""

    major: int
    minor: int
    arch_name: str
    fp32_lanes_per_sm: int | None
    limits: dict[str, int]
    sources: tuple[Source, ...]
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

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the row answers to: key, name, aliases, NVML names."""
        return (self.key.replace("-", " "), self.name, *self.aliases)

    @functools.cached_property
    def sources(self) -> tuple[Source, ...]:
        return _sources(self.data["sources"], f"gpus.toml {self.key}")

    @property
    def arch_name(self) -> str | None:
        cc = cc_limits(self.compute_capability)
        return self.data.get("arch_name") or (cc.arch_name if cc else None)


@dataclass(frozen=True)
class Family:
    """A family of GPUs with no row: outside what gpudiag covers, or a covered architecture's model."""

    name: str
    patterns: tuple[re.Pattern, ...]
    covered: bool
    compute_capability: tuple[int, int] | None
    sources: tuple[str, ...]


def parse_cc(text: str) -> tuple[int, int]:
    """``"9.0"``, ``"90"``, ``"sm_90"``, ``"sm_90a"``, ``"compute_121"``, ``"12.1"`` -> (major, minor)."""
    s = str(text).strip().lower()
    m = re.fullmatch(r"(\d+)\.(\d)", s)
    if m:
        return int(m.group(1)), int(m.group(2))
    m = re.fullmatch(r"(?:sm_?|compute_?|cc)?(\d{1,2})(\d)[af]?", s)
    if m:
        return int(m.group(1)), int(m.group(2))
    raise GpudiagError(f"not a compute capability: {shown(text)} (expected e.g. 9.0 or sm_90)")


def shown(text: str, limit: int = 60) -> str:
    """What the user typed, quoted, and cut where it is too long to echo whole."""
    text = str(text)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


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
            sources=_sources(row.get("sources", []), f"compute_capabilities.toml {row['cc']}"),
            notes=row.get("notes"),
        )
    return rows


@functools.lru_cache(maxsize=1)
def gpu_rows() -> tuple[GpuRow, ...]:
    return tuple(GpuRow(key=r["key"], name=r["name"], data=r) for r in _load("gpus.toml")["gpu"])


@functools.lru_cache(maxsize=1)
def families() -> tuple[Family, ...]:
    return tuple(
        Family(
            f["name"],
            tuple(re.compile(p) for p in f["match"]),
            bool(f["covered"]),
            parse_cc(f["compute_capability"]) if "compute_capability" in f else None,
            tuple(f["sources"]),
        )
        for f in _load("gpu_families.toml")["family"]
    )


def cc_limits(cc: tuple[int, int]) -> CCLimits | None:
    major, minor = cc  # a list from JSON is a tuple here
    return cc_table().get((int(major), int(minor)))


def find_row_for_live_name(nvml_name: str) -> GpuRow | None:
    """The catalogue row for a name NVML reports, matched exactly (after normalisation) only."""
    return _live_name_index().get(names.tokens(nvml_name))


@functools.lru_cache(maxsize=1)
def _live_name_index() -> dict[tuple[str, ...], GpuRow]:
    """Each row's name and NVML names, normalised once; the first row to claim a name keeps it."""
    index: dict[tuple[str, ...], GpuRow] = {}
    for row in gpu_rows():
        for n in [row.name, *row.data.get("nvml_names", ())]:
            index.setdefault(names.tokens(n), row)
    return index


def warm() -> None:
    """Load what a live probe's last step reads (the per-cc table, the live-name index), so that a
    caller waiting on the driver anyway can pay for it then."""
    cc_table()
    _live_name_index()


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
            _cite(facts, name, best_source(row.sources, name))
    if facts.cuda_cores is None and facts.sm_count and row.fp32_lanes_per_sm:
        facts.set("cuda_cores", facts.sm_count * row.fp32_lanes_per_sm, "derived")


def _cite(facts: DeviceFacts, name: str, source: Source | None) -> None:
    """Record which catalogue source backs ``name`` (adding the source to the facts' list once)."""
    if source is None:
        return
    entry = source.to_dict()
    if entry not in facts.catalogue_sources:
        facts.catalogue_sources.append(entry)
    facts.evidence[name] = {"kind": source.kind, "source": facts.catalogue_sources.index(entry)}


def cite_row_field(facts: DeviceFacts, row: GpuRow, row_field: str) -> None:
    """Set a gpus.toml value on ``facts`` (as ``catalogue:gpu``) with the evidence behind it."""
    value = row.data.get(row_field)
    if value is None:
        return
    name = ROW_FIELD_ON_FACTS.get(row_field, row_field)
    if row_field == "memory_gib":
        value = int(float(value) * GIB)
    elif row_field == "memory_bandwidth_gbps":
        value = int(float(value) * 1e9)
    facts.set(name, value, "catalogue:gpu")
    _cite(facts, name, best_source(row.sources, row_field))


def facts_from_row(row: GpuRow) -> DeviceFacts:
    """A catalogue GPU as ``DeviceFacts`` (origin "catalogue"; values carry their evidence)."""
    d = row.data
    facts = DeviceFacts(origin="catalogue", name=row.name, compute_capability=row.compute_capability)
    facts.catalogue_key = row.key
    _cite(facts, "compute_capability", best_source(row.sources, "compute_capability"))
    for row_field in (
        "sm_count",
        "l2_bytes",
        "memory_gib",
        "memory_bus_width_bits",
        "memory_clock_max_mhz",
        "memory_bandwidth_gbps",
        "bf16_dense_tflops",
        *CC_LIMIT_FIELDS,
    ):  # a row may override any per-cc limit
        cite_row_field(facts, row, row_field)
    if d.get("arch_name"):
        facts.set("arch_name", d["arch_name"], "catalogue:gpu")
    apply_cc_limits(facts)
    for s in row.sources:  # every source of the row is listed, even one no shown value cites
        if s.to_dict() not in facts.catalogue_sources:
            facts.catalogue_sources.append(s.to_dict())
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
    apply_cc_limits(facts)
    facts.missing("sm_count", f"{row.sm} names an architecture, not a model; SM count varies by model")
    facts.notes.append("per-architecture limits only; name a model (--gpu 'RTX 5090') for SM count, memory and L2")
    return facts
