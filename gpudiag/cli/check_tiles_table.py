"""``gpudiag check-tiles --from-config-table PATH``: vLLM's and SGLang's fused-MoE config tables (and
lists of Triton configs) against one or more GPUs: every entry's verdict, a line per table and
target, which GPU loads which table, and corrected tables on request (``--write-fitted DIR``).

Exit 0 when every checked entry fits every target, 1 when something checked does not (an entry over
the limit, one that cannot launch or cannot run there, a bad entry) or a file cannot be read as a
table, 2 on usage errors. Files that are not matmul tile tables, and tables of a dtype gpudiag does
not model or no runtime loads, are reported as not checked and do not change the exit code. The core is gpudiag/tiles/table_check.py; this module parses the mode's options, resolves the
targets, calls the core and writes the corrected tables; gpudiag/cli/check_tiles_table_render.py
renders the text report.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from pathlib import Path

import typer

from gpudiag.cli.modes import reject_unused_options
from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles import config_table as ct
from gpudiag.tiles import device_names as dn
from gpudiag.tiles import table_check as tc
from gpudiag.tiles import table_report as tr

# The check-tiles parameters that mean something here; any other one given is an error.
USED_PARAMS = {
    "from_config_table",
    "write_fitted",
    "gpu",
    "arch",
    "index",
    "exact",
    "jobs",
    "no_cache",
    "json_out",
    "dtype",
    "show_all",
}
# --dtype for a list of configs (a fused-MoE table's name says its own).
DTYPE_QUANT = {
    "bf16": "none",
    "fp16": "none",
    "bfloat16": "none",
    "float16": "none",
    "fp8": "fp8_w8a8",
    "fp8e4m3": "fp8_w8a8",
    "fp8_w8a8": "fp8_w8a8",
    "int8_w8a16": "int8_w8a16",
    "int8": "int8_w8a8",
    "int8_w8a8": "int8_w8a8",
}


def _reject_unused_options() -> None:
    reject_unused_options(USED_PARAMS, "--from-config-table (the tables give the configs)")


def resolve_targets(arch: str | None, gpu: str | None, index: int | None) -> list[tr.TableTarget]:
    """``--arch a,b`` and ``--gpu "X",Y`` (comma lists, as --from-triton-cache takes them), else the live GPU."""
    from gpudiag.cli.check_tiles_cache import named_targets, with_live_gpu
    from gpudiag.tiles.target import target_from_facts

    named = named_targets(arch, gpu)
    gpu_labels = set(named) - {f.facts.sm for f in named.values() if f.label == f.facts.sm}
    found = with_live_gpu(named, index)
    out = []
    for t in found:
        facts = t.facts
        cc = facts.compute_capability[0] * 10 + facts.compute_capability[1]
        if cc not in tc.MODELLED_ARCHS:
            raise GpudiagError(
                f"{t.label} ({facts.sm}): the fused-MoE model covers "
                + ", ".join(f"sm_{c}" for c in tc.MODELLED_ARCHS)
                + " (the architectures Triton emits tensor-core code for)",
                EXIT_USAGE,
            )
        names: tuple[dn.RuntimeName, ...] = ()
        key = facts.catalogue_key if facts.origin == "catalogue" else None
        if facts.origin != "catalogue":  # the live GPU: its own name is what the runtimes read
            names = (dn.spelled(key or "live", facts.name, facts.name),)
        elif t.label in gpu_labels and key:
            names = tuple(dn.for_row(key))
        out.append(tr.TableTarget(t.label, target_from_facts(facts), key, names))
    return out


def run_from_config_table(
    path: str | None,
    tiles: list[str] | None,
    arch: str | None,
    gpu: str | None,
    index: int | None,
    exact: bool,
    jobs: int | None,
    use_cache: bool,
    json_out: bool,
    dtype: str | None,
    write_fitted: str | None,
    show_all: bool,
) -> None:
    _reject_unused_options()
    if path is None:
        raise GpudiagError("--write-fitted goes with --from-config-table PATH", EXIT_USAGE)
    if tiles:
        raise GpudiagError(
            f"tile arguments ({' '.join(tiles)}) do not apply to --from-config-table, whose tables give the configs",
            EXIT_USAGE,
        )
    if jobs is not None and jobs < 1:
        raise GpudiagError(f"--jobs must be at least 1, got {jobs}", EXIT_USAGE)
    quant = None
    if dtype is not None:
        quant = DTYPE_QUANT.get(dtype.strip().lower())
        if quant is None:
            raise GpudiagError(
                f"--dtype {dtype!r} for a list of configs: one of {', '.join(sorted(DTYPE_QUANT))} "
                "(a fused-MoE table's file name gives its own)",
                EXIT_USAGE,
            )
    # the path first: where it does not exist, "inside the tables being checked" would compare with its parent
    tables = ct.read_path(path)  # a missing path is a usage error; a bad table is a verdict
    out_dir = _check_output_dir(write_fitted, path) if write_fitted is not None else None
    for t in tables:
        if t.kind == "config-list" and quant is not None:
            t.dtype_override = quant
    targets = resolve_targets(arch, gpu, index)
    from gpudiag.cli.check_tiles import _Progress

    with _Progress() as progress:
        report = tc.check_tables(path, tables, targets, exact, jobs, use_cache, progress.update)
    written = write_fitted_tables(report, out_dir) if out_dir is not None else None
    if json_out:
        for chunk in report.json_chunks({"written": written} if written is not None else None):
            sys.stdout.write(chunk)
    else:
        from gpudiag.cli.check_tiles_table_render import render  # loaded only for a text report

        render(report, show_all, written)
    if not report.all_fit:
        raise typer.Exit(1)


# --- corrected tables --------------------------------------------------------------------------


def _check_output_dir(out: str, source: str) -> Path:
    o, s = Path(out).resolve(), Path(source).resolve()
    src_dir = s if s.is_dir() else s.parent
    if o == src_dir or src_dir in o.parents:
        raise GpudiagError(
            f"--write-fitted {out}: inside the tables being checked ({source}); write the fitted tables elsewhere, "
            "so no input is overwritten and the next check does not read them",
            EXIT_USAGE,
        )
    if o.exists() and not o.is_dir():
        raise GpudiagError(f"--write-fitted {out}: exists and is not a folder", EXIT_USAGE)
    return o


def _safe(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label).strip("_") or "target"


FITTABLE_KINDS = (
    "moe-table",
    "block-gemm-table",
    "matmul-table",
)  # tables a runtime loads by name: a copy can stand in


def write_fitted_tables(report: tr.TableReport, out: Path) -> dict:
    """For each target: every fused-MoE or block-quantised GEMM table that does not fit, with its stage
    counts lowered to the largest that fits, under the table's own file name in DIR/<target>/, and a
    README.md saying they are derived, not tuned. The JSON is what vLLM and SGLang read (the same
    keys; ``triton_version`` only where the input had it)."""
    summary: dict = {"dir": str(out), "targets": []}
    inputs = {Path(c.table.path).resolve() for c in report.tables}
    today = datetime.date.today().isoformat()
    for i, tt in enumerate(report.targets):
        folder = out / _safe(tt.label)
        done, skipped = [], []
        for c in report.tables:
            if c.table.kind not in FITTABLE_KINDS or c.table.name is None or not c.results or c.results[i].all_fit:
                continue
            doc, changes = tc.fitted_entries(c, i)
            if doc is None:
                skipped.append({"table": c.table.path, "why": changes})
                continue
            sub = folder / f"triton_{c.table.folder_triton.replace('.', '_')}" if c.table.folder_triton else folder
            dest = sub / c.table.label  # SGLang's tables keep their configs/triton_X_Y_Z folder
            if dest.resolve() in inputs:
                raise GpudiagError(f"--write-fitted: {dest} is one of the tables being checked", EXIT_USAGE)
            sub.mkdir(parents=True, exist_ok=True)
            dest.write_text(json.dumps(doc, indent=4) + "\n", encoding="utf-8")
            done.append({"table": c.table.path, "written": str(dest), "changes": changes, "kind": c.table.kind})
        if done or skipped:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "README.md").write_text(_readme(tt, done, skipped, today, report.exact), encoding="utf-8")
        summary["targets"].append({"target": tt.label, "folder": str(folder), "written": done, "not_written": skipped})
    return summary


def _readme(tt: tr.TableTarget, done: list, skipped: list, today: str, exact: bool) -> str:
    names = (
        ", ".join(sorted({f"`{r.vllm}`" for r in tt.names} | {f"`{r.vllm_h200}`" for r in tt.names if r.vllm_h200}))
        if tt.names
        else None
    )
    kinds = {d["kind"] for d in done}
    lines = [
        f"# Fitted config tables for {tt.label} ({tt.target.name}, {tt.target.sm}) — derived, not tuned",
        "",
        f"Written by `gpudiag check-tiles --from-config-table --write-fitted` on {today}. Each table here is a copy "
        "of the named input with every entry that did not fit this target's shared memory "
        f"({tt.target.limit_bytes:,} B per block) given the largest stage count that fits "
        f"({'compiled' if exact else 'estimated'} by gpudiag). Nothing was timed: these are derived from tables "
        "tuned for another GPU and are not tuned for this one. Re-tune for the best speed.",
        "",
        "Each runtime looks a table up by the name of the GPU it runs on"
        + (f": {names} here, so rename a table's device_name part to that to have it loaded." if names else "."),
        "",
    ]
    if "moe-table" in kinds:
        lines += [
            "Fused-MoE tables: vLLM reads a folder of them from `VLLM_TUNED_CONFIG_FOLDER`; SGLang from "
            "`SGLANG_MOE_CONFIG_DIR`/configs/triton_<version>/ (SGLang's tables are written under their "
            "triton_X_Y_Z folder here).",
            "",
        ]
    if "block-gemm-table" in kinds:
        lines += [
            "Block-quantised GEMM tables (`N=..,K=..,dtype=..,block_shape=..`): vLLM and SGLang read them only "
            "from the `configs/` folder beside their loader, with no environment variable to point elsewhere: "
            "vLLM's `vllm/model_executor/layers/quantization/utils/configs/`, SGLang's "
            "`python/sglang/srt/layers/quantization/configs/`. Copy a table there to have it loaded.",
            "",
        ]
    if "matmul-table" in kinds:
        lines += [
            "GEMM tables: vLLM's per-token scaled GEMM tables are read from the same `configs/` folder as the "
            "block-quantised ones; LightLLM's from `lightllm/common/all_kernel_configs/<kernel>/`, named with "
            "`torch.cuda.get_device_name()` (spaces as `_`). Copy a table there to have it loaded.",
            "",
        ]
    for d in done:
        lines.append(f"- `{os.path.basename(d['written'])}` from `{d['table']}`:")
        lines.extend(f"  - {c}" for c in d["changes"])
    for s in skipped:
        lines.append(
            f"- not written, `{s['table']}`: " + "; ".join(s["why"][:3]) + (" ..." if len(s["why"]) > 3 else "")
        )
    return "\n".join(lines) + "\n"
