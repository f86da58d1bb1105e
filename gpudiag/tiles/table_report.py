"""``check-tiles --from-config-table`` as data: the targets, each entry's verdict on each target, each
table's results, which table each target GPU loads, and the report that owns its JSON (schema
``gpudiag.check-tiles-table/1``). The checking that fills it in is ``table_check.py``.

An entry's verdict on a target, worst first:

  invalid        not a config any Triton launches (a missing key, a block that is not a power of two,
                 0 stages): the runtime fails on it wherever it runs
  cannot-run     Triton refuses the kernel for this architecture (fp8 e4m3 before sm_89)
  does-not-fit   its shared memory is over the target's per-block opt-in limit
  cannot-launch  it fits, but the driver refuses the block (threads, registers)
  fits
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gpudiag.tiles import config_table as ct
from gpudiag.tiles import device_names as dn
from gpudiag.tiles.target import Target

SCHEMA = "gpudiag.check-tiles-table/1"
INVALID, CANNOT_RUN, DOES_NOT_FIT, CANNOT_LAUNCH, FITS = (
    "invalid",
    "cannot-run",
    "does-not-fit",
    "cannot-launch",
    "fits",
)
STATUSES = (INVALID, CANNOT_RUN, DOES_NOT_FIT, CANNOT_LAUNCH, FITS)


@dataclass(frozen=True)
class TableTarget:
    label: str  # "sm_86", "RTX 4090"
    target: Target
    catalogue_key: str | None = None  # the catalogue GPU it is
    names: tuple[dn.RuntimeName, ...] = ()  # how the runtimes spell its device_name; () for an architecture

    @property
    def capability(self) -> int:
        assert self.target.capability is not None
        return self.target.capability

    def to_dict(self) -> dict[str, Any]:
        d = self.target.to_dict()
        d["label"] = self.label
        d["catalogue_key"] = self.catalogue_key
        d["device_names"] = [
            {"nvml": r.nvml, "vllm": r.vllm, "vllm_h200": r.vllm_h200, "sglang": r.sglang, "recorded": r.recorded}
            for r in self.names
        ]
        return d


@dataclass
class EntryVerdict:
    key: str
    block_m: int | None
    block_n: int | None
    block_k: int | None  # as launched (vLLM clamps a block-scaled table's K to the scale block)
    stages: int | None
    warps: int | None
    status: str
    needed_bytes: int | None = None
    margin_bytes: int | None = None
    largest_stages_that_fit: int | None = None
    reason: str | None = None
    method: str = "estimate"  # or "compiler"
    mma: str | None = None

    @property
    def spec(self) -> str:
        if self.block_m is None:
            return "-"
        return f"{self.block_m}x{self.block_n}x{self.block_k}:{self.stages}@{self.warps}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "block_m": self.block_m,
            "block_n": self.block_n,
            "block_k": self.block_k,
            "stages": self.stages,
            "warps": self.warps,
            "status": self.status,
            "needed_bytes": self.needed_bytes,
            "margin_bytes": self.margin_bytes,
            "largest_stages_that_fit": self.largest_stages_that_fit,
            "reason": self.reason,
            "method": self.method,
            "mma": self.mma,
        }


@dataclass
class TableResult:
    """One table on one target."""

    target: str
    entries: list[EntryVerdict]

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e.status == status)

    @property
    def all_fit(self) -> bool:
        return bool(self.entries) and all(e.status == FITS for e in self.entries)

    def summary(self) -> dict[str, Any]:
        over = [e for e in self.entries if e.status == DOES_NOT_FIT]
        return {
            "entries": len(self.entries),
            **{s.replace("-", "_"): self.count(s) for s in STATUSES},
            "all_fit": self.all_fit,
            "worst_margin_bytes": min((e.margin_bytes for e in over if e.margin_bytes is not None), default=None),
            "limit_bytes": None,
        }


@dataclass
class CheckedTable:
    table: ct.Table
    results: list[TableResult] = field(default_factory=list)  # one per target, in order
    name_match: dn.NameMatch | None = None
    runtime: str | None = None  # "vllm", "sglang" or None where the file does not tell

    @property
    def problem(self) -> str | None:
        """What is wrong with the file (unreadable), or what to know about it (no runtime loads it)."""
        return self.table.problem

    @property
    def not_checked(self) -> str | None:
        """Why its entries are not checked: not a matmul tile table, or a dtype gpudiag does not model."""
        return None if self.table.kind == "unreadable" else self.table.not_checked

    @property
    def checked(self) -> bool:
        return bool(self.results)


@dataclass
class TargetTables:
    """Which of the folder's tables a target GPU loads, family by family."""

    target: str
    names: list[dn.RuntimeName]
    families: list[dict[str, Any]]  # {family, wanted (file name), found (path or None), fitting [paths]}


@dataclass
class TableReport:
    path: str
    targets: list[TableTarget]
    tables: list[CheckedTable]
    target_tables: list[TargetTables]
    exact: bool
    triton_version: str | None
    notes: list[str]

    @property
    def unreadable(self) -> list[CheckedTable]:
        return [c for c in self.tables if c.table.kind == "unreadable"]

    @property
    def all_fit(self) -> bool:
        """Every checked entry fits every target and every file could be read (what exit 0 means). Files
        that are not tile tables and tables of a dtype gpudiag does not model are not checked: they count
        for nothing here."""
        return not self.unreadable and all(r.all_fit for c in self.tables for r in c.results)

    def exit_reasons(self) -> list[str]:
        """Why the exit code is 1, in words (empty when it is 0)."""
        out = []
        failing = [c for c in self.tables if any(not r.all_fit for r in c.results)]
        if failing:
            out.append(
                f"{len(failing)} checked table{'s' if len(failing) != 1 else ''} with entries that do not fit a target"
            )
        if self.unreadable:
            n = len(self.unreadable)
            out.append(f"{n} file{'s' if n != 1 else ''} that could not be read as a table")
        return out

    def totals(self) -> dict[str, Any]:
        per: dict[str, dict[str, int]] = {}
        for i, t in enumerate(self.targets):
            counts = {s.replace("-", "_"): 0 for s in STATUSES}
            fully = 0
            for c in self.tables:
                if not c.results:
                    continue
                r = c.results[i]
                for s in STATUSES:
                    counts[s.replace("-", "_")] += r.count(s)
                fully += r.all_fit
            per[t.label] = {**counts, "tables_all_fit": fully}
        return {
            "tables": len(self.tables),
            "checked_tables": sum(1 for c in self.tables if c.results),
            "bad_tables": len(self.unreadable),
            "not_modelled": sum(1 for c in self.tables if c.table.kind != "unreadable" and c.table.not_modelled),
            "not_tile_tables": sum(1 for c in self.tables if c.table.kind == "not-a-tile-table"),
            "per_target": per,
            "all_fit": self.all_fit,
            "exit_reasons": self.exit_reasons(),
        }

    def to_dict(self) -> dict[str, Any]:
        tables: list[dict[str, Any]] = []
        for c in self.tables:
            t = c.table
            n = t.name
            tables.append(
                {
                    "path": t.path,
                    "kind": t.kind,
                    "kernel": t.kernel,
                    "runtime": c.runtime,
                    "name": None
                    if n is None
                    else {
                        "experts": n.experts,
                        "n": n.n,
                        "k": n.k,
                        "device_name": n.device_name,
                        "dtype": n.dtype,
                        "block_shape": list(n.block_shape) if n.block_shape else None,
                        "per_channel_quant": n.per_channel,
                        "down": n.down,
                        "family": n.family,
                        "input_dtype": n.input_dtype,
                        "out_dtype": n.out_dtype,
                        "lightllm_kernel": n.lightllm_kernel,
                    },
                    "quant": t.quant if t.kernel is not None else None,
                    "problem": c.problem,
                    "not_checked": c.not_checked,
                    "section": t.section,
                    "triton_version": t.triton_version,
                    "folder_triton": t.folder_triton,
                    "device_name_match": None
                    if c.name_match is None
                    else {
                        "gpus": sorted({g.key for g in c.name_match.gpus}),
                        "vendor": c.name_match.vendor,
                        "close": list(c.name_match.close),
                    },
                    "results": [
                        {
                            "target": r.target,
                            "summary": {**r.summary(), "limit_bytes": self.targets[i].target.limit_bytes},
                            "entries": [e.to_dict() for e in r.entries],
                        }
                        for i, r in enumerate(c.results)
                    ],
                }
            )
        return {
            "schema": SCHEMA,
            "path": self.path,
            "exact": self.exact,
            "triton_version": self.triton_version,
            "targets": [t.to_dict() for t in self.targets],
            "summary": self.totals(),
            "tables": tables,
            "target_tables": [
                {
                    "target": tt.target,
                    "device_names": sorted({r.vllm for r in tt.names} | {r.vllm_h200 for r in tt.names if r.vllm_h200}),
                    "families": tt.families,
                }
                for tt in self.target_tables
            ],
            "notes": self.notes,
        }

    def json_chunks(self, extra: dict[str, Any] | None = None):
        """``to_dict`` as text, a table per line (C-encoded): a folder of 400 tables x 5 targets is
        10 MB of JSON, which ``json.dumps(indent=2)`` takes seconds to write."""
        import json

        doc = self.to_dict()
        if extra:
            doc.update(extra)
        tables = doc.pop("tables")
        head = json.dumps(doc, indent=2)
        yield head[:-2] + ',\n  "tables": ['
        encode = json.JSONEncoder(separators=(", ", ": ")).encode
        for i, t in enumerate(tables):
            yield ("," if i else "") + "\n    " + encode(t)
        yield "\n  ]\n}\n"
