"""``--from-config-table --exact``: the compiler's shared memory for every entry on every target, from
gpudiag's fused-MoE kernel model compiled with the installed Triton (``moe_exact``; for a dense
block-quantised GEMM table its model of that GEMM, ``block_gemm_exact``), and the largest
stage count that fits from compiling the stage counts next to the estimate's answer.

A compile that fails becomes the entry's verdict (cannot-run, with the compiler's words), never an
abort; the estimate's verdicts for the entries that could not be compiled are replaced.
"""

from __future__ import annotations

from gpudiag.tiles import block_gemm_exact, moe_exact
from gpudiag.tiles import estimate as est
from gpudiag.tiles import table_check as tc
from gpudiag.tiles import table_report as tr


def _job(table, v: tr.EntryVerdict, stages: int | None, cc: int):
    quant = tc.estimate_quant(table)
    assert quant is not None and stages is not None
    assert v.block_m is not None and v.block_n is not None and v.block_k is not None and v.warps is not None
    if quant.startswith(tc.GEMM_PREFIX):
        return block_gemm_exact.GemmJob(
            v.block_m, v.block_n, v.block_k, stages, v.warps, quant[len(tc.GEMM_PREFIX) :], cc
        )
    block = table.name.block_shape if table.name is not None else None
    return moe_exact.MoeJob(
        v.block_m, v.block_n, v.block_k, stages, v.warps, quant, cc, scale_block=block or (128, 128)
    )


def apply(checked: list[tr.CheckedTable], targets: list[tr.TableTarget], jobs, use_cache, progress) -> str | None:
    """Replace the estimate's numbers with the compiler's; returns the Triton version used."""
    todo: list[tuple[tr.CheckedTable, int, tr.EntryVerdict]] = []
    for c in checked:
        if c.table.kernel == "matmul" or tc.swapped_operands(c.table):
            continue  # no compiled model of these kernels: the estimate stands (a note says so)
        for i, r in enumerate(c.results):
            for v in r.entries:
                if v.status == tr.INVALID:
                    continue
                todo.append((c, i, v))

    def run(job_list, what):
        cb = (lambda d, n: progress(what, d, n)) if progress is not None else None
        return moe_exact.run(job_list, jobs, use_cache, cb)

    first = run([_job(c.table, v, v.stages, targets[i].capability) for c, i, v in todo], "compiling")
    searching = []
    for (c, i, v), res in zip(todo, first):
        v.method = "compiler"
        if res.error:
            v.status, v.needed_bytes, v.margin_bytes, v.largest_stages_that_fit = tr.CANNOT_RUN, None, None, None
            v.reason = res.error_summary
            continue
        v.needed_bytes = res.shared_bytes
        searching.append((c, i, v))
    # The largest stage count that fits, from the compiler: start at the estimate's and move a stage at a time.
    cand = {id(v): min(max(v.largest_stages_that_fit or 0, 0), est.MAX_STAGES) for _, _, v in searching}
    shared: dict[tuple[int, int], int | None] = {(id(v), v.stages or 0): v.needed_bytes for _, _, v in searching}
    done: dict[int, int] = {}

    def fits(v: tr.EntryVerdict, s: int, limit: int) -> bool:
        got = shared.get((id(v), s))
        return got is not None and got <= limit

    while len(done) < len(searching):
        need = [
            (c, i, v, s)
            for c, i, v in searching
            if id(v) not in done
            for s in (cand[id(v)], cand[id(v)] + 1)
            if 1 <= s <= est.MAX_STAGES and (id(v), s) not in shared
        ]
        if need:
            jobs_now = [_job(c.table, v, s, targets[i].capability) for c, i, v, s in need]
            for (_, _, v, s), res in zip(need, run(jobs_now, "stage counts")):
                shared[(id(v), s)] = None if res.error else res.shared_bytes
        for _, i, v in searching:
            if id(v) in done:
                continue
            limit, k = targets[i].target.limit_bytes, cand[id(v)]
            if k >= 1 and not fits(v, k, limit):
                cand[id(v)] = k - 1
            elif k + 1 <= est.MAX_STAGES and fits(v, k + 1, limit):
                cand[id(v)] = k + 1
            else:
                done[id(v)] = k
    for _, i, v in searching:
        v.largest_stages_that_fit = done[id(v)]
        tc._finish(v, targets[i])
    return moe_exact.exact.triton_version()
