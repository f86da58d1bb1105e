"""``check-tiles --from-config-table``'s core: every entry of every table against every target, which
GPU loads which table, and corrected tables. Never prints; ``GpudiagError`` only for usage errors.

The verdicts and the report they make up (``TableReport``, its JSON) are ``table_report.py``; an
entry's verdict on a target is, worst first, invalid, cannot-run, does-not-fit, cannot-launch, fits.
Shared memory is the fused-MoE kernel's (``moe_estimate``; ``--exact`` compiles ``moe_kernel``), or for a
dense block-quantised GEMM table (``N=..,K=..,...,block_shape=[..].json``) that GEMM's
(``block_gemm_estimate``; ``--exact`` compiles ``block_gemm_kernel``).
"""

from __future__ import annotations

import functools
from typing import Any

from gpudiag.tiles import block_gemm_estimate as be
from gpudiag.tiles import config_table as ct
from gpudiag.tiles import device_names as dn
from gpudiag.tiles import estimate as est
from gpudiag.tiles import moe_estimate as me
from gpudiag.tiles.table_report import (
    CANNOT_LAUNCH,
    CANNOT_RUN,
    DOES_NOT_FIT,
    FITS,
    INVALID,
    CheckedTable,
    EntryVerdict,
    TableReport,
    TableResult,
    TableTarget,
    TargetTables,
)

MODELLED_ARCHS = (80, 86, 87, 89, 90, 100, 103, 120, 121)
VALIDATED_ARCHS = (80, 86, 89, 90, 120)  # compiled ground truth in tests/data/tiles_moe_ground_truth.json


# --- checking ----------------------------------------------------------------------------------


def runtime_of(table: ct.Table) -> str | None:
    """Whose table this is, where the file says: LightLLM's names, SGLang's triton_X_Y_Z folders and its
    spaced block_shape, FlagGems' tune_configs."""
    if table.section is not None:
        return "flaggems"
    n = table.name
    if n is not None and n.family == "lightllm":
        return "lightllm"
    if n is not None and n.family == "scaled-mm":
        return "vllm"
    if table.folder_triton is not None:
        return "sglang"
    if n is not None and n.block_shape is not None:
        return "sglang" if n.spaced_block_shape else "vllm"
    if n is not None and (n.down or n.per_channel):
        return "sglang"
    return None


def launched_block_k(table: ct.Table, entry: ct.Entry) -> int:
    """vLLM launches a block-scaled fused-MoE table with BLOCK_SIZE_K = min(BLOCK_SIZE_K, the scale block);
    its dense block-quantised GEMM takes the entry as written."""
    n = table.name
    bk = entry.block_k or 0
    if (
        n is not None
        and n.family == "vllm"
        and n.k is None
        and n.block_shape is not None
        and runtime_of(table) != "sglang"
    ):
        return min(bk, min(n.block_shape))
    return bk


def swapped_operands(table: ct.Table) -> bool:
    """LightLLM's grouped MoE GEMM computes ``tl.dot(b, a)`` for fp8 (BLOCK_N x BLOCK_K by BLOCK_K x
    BLOCK_M): the MMA's M is the entry's BLOCK_N (grouped_fused_moe.py)."""
    n = table.name
    return (
        n is not None
        and n.family == "lightllm"
        and n.lightllm_kernel == "grouped_moe_gemm_kernel"
        and n.quant == "fp8_w8a8"
    )


GEMM_PREFIX = "gemm:"  # a dense block-quantised GEMM's quant, as _estimate takes it: "gemm:fp8", "gemm:int8:row"
MATMUL_PREFIX = "matmul:"  # a plain Triton matmul: "matmul:<A and B element>:<B layout>"
# A config list's or FlagGems operator's --dtype quantisation -> the plain matmul's operand element.
MATMUL_ELEMENT = {
    "none": "bf16",
    "fp8_w8a8": "fp8e4m3",
    "int8_w8a8": "int8",
    "int8_w8a16": "int8",
    "fp8": "fp8e4m3",
    "int8": "int8",
}


def estimate_quant(table: ct.Table) -> str | None:
    """The quantisation as ``_estimate`` takes it: moe_kernel.QUANTS, "gemm:fp8[:row]" / "gemm:int8", or
    "matmul:<element>:<B layout>"."""
    q = table.quant
    if q is None or table.kernel is None:
        return None
    n = table.name
    if table.kernel == "block-gemm":
        b_row = n is not None and n.family == "lightllm"  # LightLLM's fp8_block_mm: B [K, N], N contiguous
        return GEMM_PREFIX + ("int8" if q.startswith("int8") else "fp8") + (":row" if b_row else "")
    if table.kernel == "matmul":
        # vLLM's scaled_mm and LightLLM's bmm_scaled_fp8 read B K-contiguous; FlagGems' mm/bmm/addmm B [K, N]
        b_layout = "row" if table.section is not None else "col"
        return f"{MATMUL_PREFIX}{MATMUL_ELEMENT.get(q, 'bf16')}:{b_layout}"
    return q


def _matmul_tile(spec: str, bm: int, bn: int, bk: int, stages: int, warps: int) -> est.MatmulTile:
    element, b_layout = spec.split(":")
    return be.operand_tile(element, bm, bn, bk, stages, warps, b_layout)


@functools.lru_cache(maxsize=65536)
def _estimate(quant: str, bm: int, bn: int, bk: int, stages: int, warps: int, cc: int, limit: int):
    """(status, why, smem, largest): INVALID where no Triton compiles it (a problem on every target),
    CANNOT_RUN where this architecture's Triton refuses it, else the estimate."""
    if quant.startswith(MATMUL_PREFIX):
        tile = _matmul_tile(quant[len(MATMUL_PREFIX) :], bm, bn, bk, stages, warps)
        why = est.tile_problem(tile)
        if why is not None:
            return INVALID, why, None, None
        why = est.target_problem(tile, cc)
        if why is not None:
            return CANNOT_RUN, why, None, None
        return None, None, est.triton_smem(tile, cc), est.largest_stages_that_fit(tile, cc, limit)
    if quant.startswith(GEMM_PREFIX):
        g, _, b_layout = quant[len(GEMM_PREFIX) :].partition(":")
        b_layout = b_layout or "col"
        why = be.problem(g, bm, bn, bk, stages, warps, None)
        if why is not None:
            return INVALID, why, None, None
        why = be.problem(g, bm, bn, bk, stages, warps, cc)
        if why is not None:
            return CANNOT_RUN, why.replace("fp8_w8a8 table", "fp8_w8a8 block-quantised GEMM table"), None, None
        return (
            None,
            None,
            be.gemm_smem(g, bm, bn, bk, stages, warps, cc, b_layout),
            be.largest_stages_that_fit(g, bm, bn, bk, warps, cc, limit, b_layout),
        )
    why = me.problem(quant, bm, bn, bk, stages, warps, None)
    if why is not None:
        return INVALID, why, None, None
    why = me.problem(quant, bm, bn, bk, stages, warps, cc)
    if why is not None:
        return CANNOT_RUN, why, None, None
    smem = me.moe_smem(quant, bm, bn, bk, stages, warps, cc)
    return None, None, smem, me.largest_stages_that_fit(quant, bm, bn, bk, warps, cc, limit)


def check_entry(quant: str, e: ct.Entry, bk: int, tt: TableTarget, swap: bool = False) -> EntryVerdict:
    v = EntryVerdict(e.key, e.block_m, e.block_n, bk if e.block_k is not None else None, e.stages, e.warps, INVALID)
    if e.problem is not None:
        v.reason = e.problem
        return v
    assert e.block_m is not None and e.block_n is not None
    limit = tt.target.limit_bytes
    bm, bn = (e.block_n, e.block_m) if swap else (e.block_m, e.block_n)
    status, why, smem, largest = _estimate(quant, bm, bn, bk, e.stages, e.warps, tt.capability, limit)
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


def _checked(quant: str, e: ct.Entry, bk: int, tt: TableTarget, swap: bool = False) -> EntryVerdict:
    if e.problem is not None:
        return check_entry(quant, e, bk, tt)
    k = (quant, e.block_m, e.block_n, bk, e.stages, e.warps, id(tt), swap)
    v = _SEEN.get(k)
    if v is None:
        v = _SEEN[k] = check_entry(quant, e, bk, tt, swap)
    twin = object.__new__(EntryVerdict)
    twin.__dict__.update(v.__dict__)
    twin.key = e.key
    return twin


def check_table(table: ct.Table, targets: list[TableTarget]) -> CheckedTable:
    c = CheckedTable(table, runtime=runtime_of(table))
    if table.name is not None:
        c.name_match = dn.match(table.name.device_name)
    quant = estimate_quant(table)
    if table.kind == "unreadable" or quant is None or table.not_checked:
        return c
    swap = swapped_operands(table)
    for tt in targets:
        c.results.append(
            TableResult(tt.label, [_checked(quant, e, launched_block_k(table, e), tt, swap) for e in table.entries])
        )
    return c


def _target_tables(checked: list[CheckedTable], targets: list[TableTarget]) -> list[TargetTables]:
    """For each target GPU: per table family in the folder, the file its runtime looks for, whether the
    folder has it, and the family's NVIDIA-tuned tables whose every entry fits the target (a table tuned on
    an AMD or Intel GPU carries that vendor's keys and tuning: no drop-in for an NVIDIA GPU)."""
    families: dict[tuple, list[CheckedTable]] = {}
    for c in checked:
        n = c.table.name
        if n is not None and c.results and n.runtime_builds:  # runtimes apart
            families.setdefault((n.family_key, c.runtime), []).append(c)
    out = []
    for i, tt in enumerate(targets):
        names = list(tt.names)
        if not names:
            continue
        wanted = {r.vllm for r in names} | {r.sglang for r in names} | {r.vllm_h200 for r in names if r.vllm_h200}
        rows = []
        for members in families.values():
            found = [c.table.path for c in members if c.table.name is not None and c.table.name.device_name in wanted]
            fitting = [
                c.table.path
                for c in members
                if c.results
                and c.results[i].all_fit
                and c.problem is None
                and not (c.name_match and c.name_match.vendor)
            ]
            first = members[0].table.name
            assert first is not None
            device = names[0].sglang if first.family == "lightllm" else names[0].vllm
            rows.append(
                {
                    "family": {
                        "kernel": first.kernel,
                        "experts": first.experts,
                        "n": first.n,
                        "k": first.k,
                        "dtype": first.dtype,
                        "block_shape": list(first.block_shape) if first.block_shape else None,
                        "down": first.down,
                        "label": first.shape_label,
                    },
                    "wanted": first.with_device(device),
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
    kernels = {c.table.kernel for c in report.tables if c.results}
    out = []
    if "block-gemm" in kernels:
        out.append(
            "block-quantised GEMM tables (N=..,K=..,dtype=..,block_shape=[..]): shared memory of gpudiag's model of "
            "the dense w8a8 block-scaled matmul (gpudiag/tiles/block_gemm_kernel.py: A [M,K] and B [N,K] in fp8 or "
            "int8, fp32 scales per row and column block each K step, bf16 output); "
            + be.NOTE
            + ("; --exact compiled it for each target" if report.exact else "; --exact compiles it for each target")
        )
    if "matmul" in kernels:
        out.append(
            "GEMM tables with no model of their own (vLLM's per-token scaled GEMM, LightLLM's bmm_scaled_fp8, "
            "FlagGems' operators): the standard Triton matmul estimate (gpudiag/tiles/estimate.py), A row-major, "
            "B K-major (vLLM, LightLLM: scales applied after the K loop, nothing in the loop) or row-major "
            "(FlagGems: B [K, N], --dtype sets the operands, bf16/fp16 by default)"
            + ("; --exact does not compile these: their numbers are the estimate's" if report.exact else "")
        )
    if any(swapped_operands(c.table) for c in report.tables if c.results):
        out.append(
            "LightLLM fp8 grouped MoE tables: its kernel computes tl.dot(b, a), so the MMA's M is the entry's "
            "BLOCK_SIZE_N; checked as the fused-MoE fp8_w8a8 estimate with BLOCK_SIZE_M and BLOCK_SIZE_N swapped "
            "(per-tensor scales: a block-wise scaled model adds scale vectors the name does not tell)"
            + ("; --exact does not compile these: their numbers are the estimate's" if report.exact else "")
        )
    moe = bool(kernels & {"fused-moe"})
    if moe:
        out.append(
            "shared memory: gpudiag's model of the fused-MoE kernel (gpudiag/tiles/moe_kernel.py: a grouped matmul "
            "over gathered rows, B stored [experts, N, K]); the estimate equals the compiled shared memory on every "
            "entry of a sample of vLLM's and SGLang's tables, Triton 3.9 on sm_80/86/89/90/120 and 3.6 on sm_86/89/90 "
            "(tests/data/tiles_moe_ground_truth*.json)"
            + ("; --exact compiled it for each target" if report.exact else "; --exact compiles it for each target")
        )
    out.append(
        "fits = shared memory <= the per-block opt-in limit, the check Triton makes before launch (OutOfResources: "
        "shared memory)" + ("; both GEMMs of a MoE layer run with the same entry" if moe else "")
    )
    archs = {t.capability for t in report.targets}
    unvalidated = sorted(a for a in archs if a not in VALIDATED_ARCHS)
    if unvalidated and not report.exact:
        out.append(
            "estimate on "
            + ", ".join(f"sm_{a}" for a in unvalidated)
            + ": modelled from Triton's code, not yet compared with compiled kernels there; --exact compiles"
        )
    if any(
        c.runtime != "sglang" and c.table.name and c.table.name.block_shape and c.table.name.k is None
        for c in report.tables
    ):
        out.append(
            "block-scaled vLLM fused-MoE tables: checked with BLOCK_SIZE_K = min(BLOCK_SIZE_K, block_shape), as vLLM launches them"
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
                key = ct.stages_key(raw)  # the table's own spelling (num_stages, NUM_STAGES, ...)
                raw[key] = v.largest_stages_that_fit
                changed.append(f"M={e.key}: {key} {v.stages} -> {v.largest_stages_that_fit}")
        elif v.status != FITS:
            why.append(f"M={e.key} ({v.spec}): {v.status}: {v.reason}")
        outer, _, inner = e.key.partition("/")  # LightLLM's nested {M: {N: config}} keeps its nesting
        if inner:
            doc.setdefault(outer, {})[inner] = raw
        else:
            doc[e.key] = raw
    if why:
        return None, why
    return doc, changed
