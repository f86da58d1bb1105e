"""``check-tiles --from-config-table``'s core: every entry of every table against every target, which
GPU loads which table, and corrected tables. Never prints; ``GpudiagError`` only for usage errors.

An entry's verdict on a target, worst first:

  invalid        not a config any Triton launches (a missing key, a block that is not a power of two,
                 0 stages): the runtime fails on it wherever it runs
  cannot-run     Triton refuses the kernel for this architecture (fp8 e4m3 before sm_89)
  does-not-fit   its shared memory is over the target's per-block opt-in limit
  cannot-launch  it fits, but the driver refuses the block (threads, registers)
  fits

Shared memory is the fused-MoE kernel's (``moe_estimate``; ``--exact`` compiles ``moe_kernel``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from gpudiag.tiles import config_table as ct
from gpudiag.tiles import device_names as dn
from gpudiag.tiles import moe_estimate as me
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
MODELLED_ARCHS = (80, 86, 87, 89, 90, 100, 103, 120, 121)
VALIDATED_ARCHS = (80, 86, 89, 90, 120)  # compiled ground truth in tests/data/tiles_moe_ground_truth.json


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
        return self.table.problem or self.table.not_modelled


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
    def all_fit(self) -> bool:
        return all(c.problem is None and all(r.all_fit for r in c.results) for c in self.tables)

    def totals(self) -> dict[str, Any]:
        per: dict[str, dict[str, int]] = {}
        for i, t in enumerate(self.targets):
            counts = {s.replace("-", "_"): 0 for s in STATUSES}
            fully = 0
            for c in self.tables:
                if c.problem is not None and not c.results:
                    continue
                r = c.results[i]
                for s in STATUSES:
                    counts[s.replace("-", "_")] += r.count(s)
                fully += r.all_fit
            per[t.label] = {**counts, "tables_all_fit": fully}
        return {
            "tables": len(self.tables),
            "bad_tables": sum(1 for c in self.tables if c.table.kind == "unreadable"),
            "not_modelled": sum(1 for c in self.tables if c.table.not_modelled),
            "per_target": per,
            "all_fit": self.all_fit,
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
                    "runtime": c.runtime,
                    "name": None
                    if n is None
                    else {
                        "experts": n.experts,
                        "n": n.n,
                        "device_name": n.device_name,
                        "dtype": n.dtype,
                        "block_shape": list(n.block_shape) if n.block_shape else None,
                        "per_channel_quant": n.per_channel,
                        "down": n.down,
                    },
                    "quant": t.quant if t.kind != "unreadable" else None,
                    "problem": c.problem,
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


# --- checking ----------------------------------------------------------------------------------


def runtime_of(table: ct.Table) -> str | None:
    """Whose table this is, where the file says: SGLang's triton_X_Y_Z folders and its spaced block_shape."""
    if table.folder_triton is not None:
        return "sglang"
    n = table.name
    if n is not None and n.block_shape is not None:
        return "sglang" if n.spaced_block_shape else "vllm"
    if n is not None and (n.down or n.per_channel):
        return "sglang"
    return None


def launched_block_k(table: ct.Table, entry: ct.Entry) -> int:
    """vLLM launches a block-scaled table with BLOCK_SIZE_K = min(BLOCK_SIZE_K, the scale block)."""
    n = table.name
    bk = entry.block_k or 0
    if n is not None and n.block_shape is not None and runtime_of(table) != "sglang":
        return min(bk, min(n.block_shape))
    return bk


@functools.lru_cache(maxsize=65536)
def _estimate(quant: str, bm: int, bn: int, bk: int, stages: int, warps: int, cc: int, limit: int):
    """(status, why, smem, largest): INVALID where no Triton compiles it (a problem on every target),
    CANNOT_RUN where this architecture's Triton refuses it, else the estimate."""
    why = me.problem(quant, bm, bn, bk, stages, warps, None)
    if why is not None:
        return INVALID, why, None, None
    why = me.problem(quant, bm, bn, bk, stages, warps, cc)
    if why is not None:
        return CANNOT_RUN, why, None, None
    smem = me.moe_smem(quant, bm, bn, bk, stages, warps, cc)
    return None, None, smem, me.largest_stages_that_fit(quant, bm, bn, bk, warps, cc, limit)


def check_entry(quant: str, e: ct.Entry, bk: int, tt: TableTarget) -> EntryVerdict:
    v = EntryVerdict(e.key, e.block_m, e.block_n, bk if e.block_k is not None else None, e.stages, e.warps, INVALID)
    if e.problem is not None:
        v.reason = e.problem
        return v
    assert e.block_m is not None and e.block_n is not None
    limit = tt.target.limit_bytes
    status, why, smem, largest = _estimate(quant, e.block_m, e.block_n, bk, e.stages, e.warps, tt.capability, limit)
    if status is not None:
        v.status, v.reason = status, why
        return v
    v.needed_bytes, v.mma = smem.needed_bytes, smem.mma
    v.margin_bytes = limit - smem.needed_bytes
    v.largest_stages_that_fit = largest
    _finish(v, tt)
    return v


def _finish(v: EntryVerdict, tt: TableTarget) -> None:
    limit = tt.target.limit_bytes
    assert v.needed_bytes is not None and v.warps is not None
    v.margin_bytes, v.reason = limit - v.needed_bytes, None
    if v.needed_bytes > limit:
        v.status = DOES_NOT_FIT
        v.reason = f"needs {v.needed_bytes:,} B, {-v.margin_bytes:,} B over {limit:,}; " + (
            f"fits with {v.largest_stages_that_fit} stage{'s' if v.largest_stages_that_fit != 1 else ''}"
            if v.largest_stages_that_fit
            else "does not fit even with 1 stage"
        )
        return
    occ = tt.target.occupancy(v.warps * 32, v.needed_bytes, None)
    if occ is not None and occ.cannot_launch:
        v.status, v.reason = CANNOT_LAUNCH, occ.cannot_launch
    else:
        v.status = FITS


_SEEN: dict[tuple, EntryVerdict] = {}  # one verdict per distinct entry and target; repeats are copies


def _checked(quant: str, e: ct.Entry, bk: int, tt: TableTarget) -> EntryVerdict:
    if e.problem is not None:
        return check_entry(quant, e, bk, tt)
    k = (quant, e.block_m, e.block_n, bk, e.stages, e.warps, id(tt))
    v = _SEEN.get(k)
    if v is None:
        v = _SEEN[k] = check_entry(quant, e, bk, tt)
    twin = object.__new__(EntryVerdict)
    twin.__dict__.update(v.__dict__)
    twin.key = e.key
    return twin


def check_table(table: ct.Table, targets: list[TableTarget]) -> CheckedTable:
    c = CheckedTable(table, runtime=runtime_of(table))
    if table.name is not None:
        c.name_match = dn.match(table.name.device_name)
    quant = table.quant
    if table.kind == "unreadable" or quant is None:
        return c
    for tt in targets:
        c.results.append(
            TableResult(tt.label, [_checked(quant, e, launched_block_k(table, e), tt) for e in table.entries])
        )
    return c


def _target_tables(checked: list[CheckedTable], targets: list[TableTarget]) -> list[TargetTables]:
    """For each target GPU: per table family in the folder, the file its runtime looks for, whether the
    folder has it, and the family's tables whose every entry fits the target."""
    families: dict[tuple, list[CheckedTable]] = {}
    for c in checked:
        if c.table.name is not None and c.table.kind == "moe-table":  # vLLM's and SGLang's own tables apart
            families.setdefault((*c.table.name.family_key, c.runtime), []).append(c)
    out = []
    for i, tt in enumerate(targets):
        names = list(tt.names)
        if not names:
            continue
        wanted = {r.vllm for r in names} | {r.sglang for r in names} | {r.vllm_h200 for r in names if r.vllm_h200}
        rows = []
        for key, members in families.items():
            found = [c.table.path for c in members if c.table.name is not None and c.table.name.device_name in wanted]
            fitting = [c.table.path for c in members if c.results and c.results[i].all_fit and c.problem is None]
            first = members[0].table.name
            assert first is not None
            rows.append(
                {
                    "family": {
                        "experts": key[0],
                        "n": key[1],
                        "dtype": key[2],
                        "block_shape": list(key[3]) if key[3] else None,
                    },
                    "wanted": first.with_device(names[0].vllm) if names else None,
                    "found": found,
                    "fitting": fitting,
                }
            )
        out.append(TargetTables(tt.label, names, rows))
    return out


def check_tables(
    path: str,
    tables: list[ct.Table],
    targets: list[TableTarget],
    exact: bool = False,
    jobs: int | None = None,
    use_cache: bool = True,
    progress=None,
) -> TableReport:
    _SEEN.clear()
    checked = [check_table(t, targets) for t in tables]
    _SEEN.clear()
    tv = None
    if exact:
        from gpudiag.tiles import table_exact

        tv = table_exact.apply(checked, targets, jobs, use_cache, progress)
    report = TableReport(path, targets, checked, _target_tables(checked, targets), exact, tv, [])
    report.notes = notes(report)
    return report


def notes(report: TableReport) -> list[str]:
    out = [
        "shared memory: gpudiag's model of the fused-MoE kernel (gpudiag/tiles/moe_kernel.py: a grouped matmul "
        "over gathered rows, B stored [experts, N, K]); the estimate equals the compiled shared memory on every "
        "entry of a sample of vLLM's and SGLang's tables, Triton 3.9 on sm_80/86/89/90/120 and 3.6 on sm_86/89/90 "
        "(tests/data/tiles_moe_ground_truth*.json)"
        + ("; --exact compiled it for each target" if report.exact else "; --exact compiles it for each target"),
        "fits = shared memory <= the per-block opt-in limit, the check Triton makes before launch (OutOfResources: "
        "shared memory); both GEMMs of a MoE layer run with the same entry",
    ]
    archs = {t.capability for t in report.targets}
    unvalidated = sorted(a for a in archs if a not in VALIDATED_ARCHS)
    if unvalidated and not report.exact:
        out.append(
            "estimate on "
            + ", ".join(f"sm_{a}" for a in unvalidated)
            + ": modelled from Triton's code, not yet compared with compiled fused-MoE kernels there; --exact compiles"
        )
    if any(c.runtime != "sglang" and c.table.name and c.table.name.block_shape for c in report.tables):
        out.append(
            "block-scaled vLLM tables: checked with BLOCK_SIZE_K = min(BLOCK_SIZE_K, block_shape), as vLLM launches them"
        )
    out.append(
        "device_name: vLLM looks a table up by NVML's name with spaces as '_' ("
        + dn.H200_RULE
        + "); SGLang by torch.cuda.get_device_name() the same way, in configs/triton_<version>/"
    )
    return out


# --- corrected tables --------------------------------------------------------------------------


def fitted_entries(c: CheckedTable, i: int) -> tuple[dict[str, Any] | None, list[str]]:
    """The table with each entry that does not fit target ``i`` at its largest stage count that does;
    None (with the reasons) when stage counts cannot make it fit."""
    r = c.results[i]
    why: list[str] = []
    doc: dict[str, Any] = {}
    if c.table.triton_version is not None:
        doc["triton_version"] = c.table.triton_version
    changed = []
    for e, v in zip(c.table.entries, r.entries):
        raw = dict(e.raw or {})
        if v.status == DOES_NOT_FIT:
            if not v.largest_stages_that_fit:
                why.append(f"M={e.key} ({v.spec}) does not fit with 1 stage")
            else:
                raw["num_stages"] = v.largest_stages_that_fit
                changed.append(f"M={e.key}: num_stages {v.stages} -> {v.largest_stages_that_fit}")
        elif v.status != FITS:
            why.append(f"M={e.key} ({v.spec}): {v.status}: {v.reason}")
        doc[e.key] = raw
    if why:
        return None, why
    return doc, changed
