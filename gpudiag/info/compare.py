"""``gpudiag info --gpu A,B``: what differs between GPUs for kernel tuning, side by side.

Will configs tuned on one GPU carry over to another? Only a handful of facts decide it: the shared
memory a block may opt in to and an SM holds, the SM count against inductor's ``is_big_gpu`` gate,
registers, L2 and bandwidth, and the instructions a kernel may have been built around (TMA, wgmma,
tcgen05, fp8, fp4). The report keeps every row (``--json``); the text shows those that differ, and
a note for each difference that breaks or changes a tuned config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gpudiag.device import arch
from gpudiag.device.facts import DeviceFacts
from gpudiag.device.selection import Target
from gpudiag.errors import EXIT_OK
from gpudiag.installed.sm_gate import SmGate, installed_sm_gate

SCHEMA_ID = "gpudiag.info-compare/1"


@dataclass(frozen=True)
class Field:
    key: str  # JSON key
    label: str  # text label
    kind: str  # "bytes", "count", "bandwidth", "feature", "gate"
    read: Callable[[DeviceFacts], Any]
    source_field: str | None = None  # DeviceFacts field whose source the value cites


def _feature(feature_id: str) -> Callable[[DeviceFacts], bool]:
    return lambda f: arch.supports(feature_id, f.compute_capability)


FEATURES = (
    ("tma", "TMA", "tma"),
    ("wgmma", "wgmma", "wgmma"),
    ("tcgen05", "tcgen05", "tcgen05"),
    ("fp8", "fp8 tensor cores", "fp8_tensor_cores"),
    ("fp4", "fp4 tensor cores", "fp4_tensor_cores"),
)

FIELDS = (
    Field("sm", "architecture", "text", lambda f: f.sm),
    Field(
        "smem_per_block_optin_bytes",
        "smem / block opt-in",
        "bytes",
        lambda f: f.smem_per_block_optin_bytes,
        "smem_per_block_optin_bytes",
    ),
    Field("smem_per_sm_bytes", "smem / SM", "bytes", lambda f: f.smem_per_sm_bytes, "smem_per_sm_bytes"),
    Field(
        "smem_reserved_per_block_bytes",
        "smem reserved / block",
        "bytes",
        lambda f: f.smem_reserved_per_block_bytes,
        "smem_reserved_per_block_bytes",
    ),
    Field("sm_count", "SMs", "gate", lambda f: f.sm_count, "sm_count"),
    Field("regs_per_sm", "registers / SM", "count", lambda f: f.regs_per_sm, "regs_per_sm"),
    Field("regs_per_block", "registers / block", "count", lambda f: f.regs_per_block, "regs_per_block"),
    Field("max_threads_per_sm", "threads / SM", "count", lambda f: f.max_threads_per_sm, "max_threads_per_sm"),
    Field("max_blocks_per_sm", "blocks / SM", "count", lambda f: f.max_blocks_per_sm, "max_blocks_per_sm"),
    Field("l2_bytes", "L2 cache", "bytes", lambda f: f.l2_bytes, "l2_bytes"),
    Field(
        "memory_bandwidth_bytes_per_s",
        "bandwidth (peak)",
        "bandwidth",
        lambda f: f.memory_bandwidth_bytes_per_s,
        "memory_bandwidth_bytes_per_s",
    ),
    *(Field(key, label, "feature", _feature(fid)) for key, label, fid in FEATURES),
)


@dataclass
class Row:
    key: str
    label: str
    kind: str
    values: list[Any]
    sources: list[str | None]  # the kind of source behind each value ("live", "datasheet", "cc table"...)

    @property
    def differs(self) -> bool:
        return len({repr(v) for v in self.values}) > 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "kind": self.kind,
            "values": self.values,
            "sources": self.sources,
            "differs": self.differs,
        }


@dataclass
class CompareReport:
    """Several GPUs side by side; ``to_dict`` is its JSON, ``exit_code`` its exit status."""

    targets: list[Target]
    sm_gate: SmGate
    rows: list[Row]
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_OK

    def stderr_lines(self) -> list[str]:
        return []

    @property
    def differing(self) -> list[Row]:
        return [r for r in self.rows if r.differs]

    @property
    def same(self) -> list[Row]:
        return [r for r in self.rows if not r.differs]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_ID,
            "targets": [
                {
                    "label": t.label,
                    "name": t.facts.name,
                    "sm": t.facts.sm,
                    "origin": t.facts.origin,
                    "asked": t.asked,
                    "catalogue_key": t.facts.catalogue_key,
                }
                for t in self.targets
            ],
            "inductor_sm_gate": {
                "cuda_min_sms": self.sm_gate.cuda_min_sms,
                "where": self.sm_gate.where,
            },
            "rows": [r.to_dict() for r in self.rows],
            "notes": list(self.notes),
        }


def _source(f: DeviceFacts, name: str | None) -> str | None:
    if name is None:
        return "arch rule"
    ev = f.evidence.get(name)
    if ev is not None:
        return str(ev["kind"])
    src = f.sources.get(name)
    if src is None:
        return None
    if src == "catalogue:cc":
        return "cc table"
    return "live" if src in ("nvml", "cuda-driver") else src.split(":")[0]


def compare(targets: list[Target]) -> CompareReport:
    gate = installed_sm_gate()
    rows = []
    for fld in FIELDS:
        values = [fld.read(t.facts) for t in targets]
        if all(v is None for v in values):
            continue
        rows.append(Row(fld.key, fld.label, fld.kind, values, [_source(t.facts, fld.source_field) for t in targets]))
    report = CompareReport(targets, gate, rows)
    report.notes = _notes(report)
    return report


def _kib(n: int) -> str:
    return f"{n / 1024:g} KiB ({n:,} B)"


def _notes(report: CompareReport) -> list[str]:
    """What each difference means for a config tuned on one of the GPUs, run on another."""
    targets = report.targets
    by_key = {r.key: r for r in report.rows}
    notes = []
    smem = by_key.get("smem_per_block_optin_bytes")
    if smem is not None and smem.differs and None not in smem.values:
        low = min(range(len(targets)), key=lambda i: smem.values[i])
        bigger = [t.label for i, t in enumerate(targets) if smem.values[i] > smem.values[low]]
        lowest = targets[low]
        check = f"--gpu {lowest.facts.catalogue_key}" if lowest.facts.catalogue_key else f"--arch {lowest.facts.sm}"
        notes.append(
            f"configs tuned on {' or '.join(bigger)} that use more than {_kib(smem.values[low])} of shared "
            f"memory per block do not fit {lowest.label}: check them with gpudiag check-tiles {check}"
        )
    sms = by_key.get("sm_count")
    gate = report.sm_gate.cuda_min_sms
    if sms is not None and gate is not None:
        small = [t.label for t, n in zip(targets, sms.values) if n is not None and n < gate]
        big = [t.label for t, n in zip(targets, sms.values) if n is not None and n >= gate]
        if small and big:
            notes.append(
                f"inductor's is_big_gpu needs {gate} SMs or more: max-autotune's Triton GEMM templates are off on "
                f"{' and '.join(small)} and on for {' and '.join(big)} ({report.sm_gate.where})"
            )
    for key, label in (
        ("wgmma", "wgmma (Hopper only)"),
        ("tcgen05", "tcgen05 (sm_10x/sm_11x only)"),
        ("tma", "TMA"),
        ("fp8", "fp8 tensor cores"),
        ("fp4", "fp4 tensor cores"),
    ):
        row = by_key.get(key)
        if row is not None and row.differs:
            without = [t.label for t, v in zip(targets, row.values) if not v]
            notes.append(f"kernels built on {label} do not run as built on {' and '.join(without)}")
    return notes
