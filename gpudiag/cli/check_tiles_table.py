"""``gpudiag check-tiles --from-config-table PATH``: vLLM's and SGLang's fused-MoE config tables (and
lists of Triton configs) against one or more GPUs: every entry's verdict, a line per table and
target, which GPU loads which table, and corrected tables on request (``--write-fitted DIR``).

Exit 0 when every entry of every table fits every target, 1 when something does not (an entry over
the limit, one that cannot launch or cannot run there, a bad entry or a bad table), 2 on usage
errors. The core is gpudiag/tiles/table_check.py (its report: table_report.py); this module parses,
renders and writes.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import textwrap
from pathlib import Path

import typer
from rich.markup import escape

from gpudiag.cli.modes import reject_unused_options
from gpudiag.cli.output import console
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
ENTRY_ROWS_UP_TO = 4  # tables x targets shown entry by entry without --all
MAX_TABLE_LINES = 60
MAX_FAMILY_LINES = 12  # table shapes listed per target GPU without --all  # tables summarised line by line without --all (those with a problem first)
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
STATUS_WORD = {
    tr.FITS: "fit",
    tr.DOES_NOT_FIT: "over the limit",
    tr.CANNOT_LAUNCH: "cannot launch",
    tr.CANNOT_RUN: "cannot run there",
    tr.INVALID: "invalid",
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
    out_dir = _check_output_dir(write_fitted, path) if write_fitted is not None else None
    tables = ct.read_path(path)  # a missing path is a usage error; a bad table is a verdict
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


def write_fitted_tables(report: tr.TableReport, out: Path) -> dict:
    """For each target: every fused-MoE table that does not fit, with its stage counts lowered to the
    largest that fits, under the table's own file name in DIR/<target>/, and a README.md saying they
    are derived, not tuned. The JSON is what vLLM and SGLang read (the same keys; ``triton_version``
    only where the input had it)."""
    summary: dict = {"dir": str(out), "targets": []}
    inputs = {Path(c.table.path).resolve() for c in report.tables}
    today = datetime.date.today().isoformat()
    for i, tt in enumerate(report.targets):
        folder = out / _safe(tt.label)
        done, skipped = [], []
        for c in report.tables:
            if c.table.kind != "moe-table" or not c.results or c.results[i].all_fit:
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
            done.append({"table": c.table.path, "written": str(dest), "changes": changes})
        if done or skipped:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "README.md").write_text(_readme(tt, done, skipped, today, report.exact), encoding="utf-8")
        summary["targets"].append({"target": tt.label, "folder": str(folder), "written": done, "not_written": skipped})
    return summary


def _readme(tt: tr.TableTarget, done: list, skipped: list, today: str, exact: bool) -> str:
    lines = [
        f"# Fitted fused-MoE tables for {tt.label} ({tt.target.name}, {tt.target.sm}) — derived, not tuned",
        "",
        f"Written by `gpudiag check-tiles --from-config-table --write-fitted` on {today}. Each table here is a copy "
        "of the named input with every entry that did not fit this target's shared memory "
        f"({tt.target.limit_bytes:,} B per block) given the largest stage count that fits "
        f"({'compiled' if exact else 'estimated'} by gpudiag). Nothing was timed: these are derived from tables "
        "tuned for another GPU and are not tuned for this one. Re-tune for the best speed.",
        "",
        "vLLM reads a folder of tables from `VLLM_TUNED_CONFIG_FOLDER`; SGLang from `SGLANG_MOE_CONFIG_DIR`"
        "/configs/triton_<version>/ (SGLang's tables are written under their triton_X_Y_Z folder here). Each runtime looks a table up by the name of the GPU it runs on"
        + (
            ": "
            + ", ".join(
                sorted({f"`{r.vllm}`" for r in tt.names} | {f"`{r.vllm_h200}`" for r in tt.names if r.vllm_h200})
            )
            + " here, so rename a table's device_name part to that to have it loaded."
            if tt.names
            else "."
        ),
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


# --- text --------------------------------------------------------------------------------------


def _say(con, text: str, style: str | None = None, indent: str = "", hang: str = "    ") -> None:
    wrapped = textwrap.fill(
        text,
        width=max(20, con.width),
        initial_indent=indent,
        subsequent_indent=indent + hang,
        break_on_hyphens=False,
        break_long_words=True,
    )
    con.print(escape(wrapped), style=style, soft_wrap=True, highlight=False)


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _line(r: tr.TableResult, limit: int) -> tuple[str, str | None]:
    """One table on one target, in a line, and its colour."""
    n = len(r.entries)
    fit = r.count(tr.FITS)
    parts = [f"{fit} of {n} fit"]
    over = [e for e in r.entries if e.status == tr.DOES_NOT_FIT]
    if over:
        worst = min(e.margin_bytes or 0 for e in over)
        stages = min((e.largest_stages_that_fit or 0) for e in over)
        fix = f"all fit with <= {stages} stages" if stages else "some do not fit even with 1 stage"
        parts.append(f"{len(over)} over {limit:,} B (worst {-worst:,} B over; {fix})")
    for s in (tr.CANNOT_LAUNCH, tr.CANNOT_RUN, tr.INVALID):
        k = r.count(s)
        if k:
            reasons = {e.reason for e in r.entries if e.status == s}
            why = next(iter(reasons)) if len(reasons) == 1 else None
            parts.append(f"{k} {STATUS_WORD[s]}" + (f" ({why})" if why and s != tr.INVALID else ""))
    if r.all_fit:
        parts.append(f"smallest margin {min(e.margin_bytes or 0 for e in r.entries):,} B")
    style = "green" if r.all_fit else ("yellow" if not over and not r.count(tr.CANNOT_RUN) else "red")
    return "; ".join(parts), style


def _describe(c: tr.CheckedTable) -> str:
    t = c.table
    bits = []
    if t.kind == "config-list":
        bits.append("list of configs")
    if c.runtime:
        bits.append(c.runtime + (f" (configs/triton_{t.folder_triton.replace('.', '_')})" if t.folder_triton else ""))
    if t.quant and t.kind != "unreadable":
        bits.append(ct.QUANT_TEXT.get(t.quant, t.quant) + (" (--dtype)" if t.dtype_override else ""))
    if t.name is not None and t.name.down:
        bits.append("second GEMM's own table")
    if t.triton_version:
        bits.append(f"tuned with Triton {t.triton_version}")
    return " · ".join(bits)


def _name_line(c: tr.CheckedTable) -> tuple[str, str | None] | None:
    m = c.name_match
    if m is None:
        return None
    if m.vendor:
        return f"device_name={m.device_name}: an {m.vendor} GPU; the NVIDIA targets never load it", None
    if m.gpus:
        gpus = sorted({g.gpu for g in m.gpus})
        via = sorted({g.key for g in m.gpus if g.vllm_h200 == m.device_name and g.vllm != m.device_name})
        text = f"device_name={m.device_name}: loaded on " + ", ".join(gpus)
        if via:
            text += " (" + ", ".join(via) + " through newer vLLM's H200 rule)"
        if not all(g.recorded for g in m.gpus):
            text += "; the catalogue has no NVML name recorded for some of these, so their spelling is assumed"
        return text, None
    text = f"device_name={m.device_name} matches no GPU in gpudiag's catalogue: no GPU it knows loads this table"
    if m.close:
        text += "; the names GPUs report closest to it: " + ", ".join(m.close)
    return text, "yellow"


def _entry_rows(report: tr.TableReport, c: tr.CheckedTable) -> str:
    rows = [("M", "config", "target", "smem B", "margin", "fits", "max st")]
    for j, e in enumerate(c.table.entries):
        for i, r in enumerate(c.results):
            v = r.entries[j]
            fits = {
                tr.FITS: "yes",
                tr.DOES_NOT_FIT: "NO",
                tr.CANNOT_LAUNCH: "no launch",
                tr.CANNOT_RUN: "cannot run",
                tr.INVALID: "invalid",
            }[v.status]
            rows.append(
                (
                    e.key if i == 0 else "",
                    v.spec if i == 0 else "",
                    report.targets[i].label,
                    "" if v.needed_bytes is None else f"{v.needed_bytes:,}",
                    "" if v.margin_bytes is None else f"{v.margin_bytes:+,}",
                    fits,
                    "" if v.largest_stages_that_fit is None else str(v.largest_stages_that_fit),
                )
            )
    widths = [max(len(row[k]) for row in rows) for k in range(7)]
    right = {3, 4, 6}
    out = []
    for row in rows:
        out.append(
            "  "
            + "  ".join(x.rjust(widths[k]) if k in right else x.ljust(widths[k]) for k, x in enumerate(row)).rstrip()
        )
    return "\n".join(out)


def render(report: tr.TableReport, show_all: bool = False, written: dict | None = None) -> None:
    con = console()
    kinds: dict[str, int] = {}
    for c in report.tables:
        kinds[c.table.kind] = kinds.get(c.table.kind, 0) + 1
    what = ", ".join(
        _n(kinds[k], w)
        for k, w in (
            ("moe-table", "fused-MoE table"),
            ("config-list", "config list"),
            ("unreadable", "unreadable file"),
        )
        if kinds.get(k)
    )
    method = f"compiled with Triton {report.triton_version}" if report.exact else "estimate (--exact compiles)"
    _say(con, f"check-tiles --from-config-table {report.path}", "bold")
    _say(con, f"{what} x {_n(len(report.targets), 'target')} · {method}")
    con.print("targets (shared memory per block, opt-in):")
    for t in report.targets:
        where = "" if t.label == t.target.sm else f" {t.target.sm}"
        loads = ""
        if t.names:
            loads = " · looks up device_name=" + ", ".join(
                sorted({r.vllm for r in t.names} | {f"{r.vllm_h200} (newer vLLM)" for r in t.names if r.vllm_h200})
            )
        _say(con, f"{t.label}{where}: {t.target.name}, {t.target.limit_bytes:,} B{loads}", indent="  ")

    entry_view = show_all or len(report.tables) * max(1, len(report.targets)) <= ENTRY_ROWS_UP_TO
    ordered = sorted(
        report.tables, key=lambda c: (c.problem is None and all(r.all_fit for r in c.results), c.table.path)
    )
    shown = 0
    for c in ordered:
        if not show_all and shown >= MAX_TABLE_LINES:
            break
        shown += 1
        con.print()
        _say(con, os.path.relpath(c.table.path, report.path) if os.path.isdir(report.path) else c.table.label, "bold")
        desc = _describe(c)
        if desc:
            _say(con, desc, indent="  ")
        nl = _name_line(c)
        if nl:
            _say(con, nl[0], nl[1], indent="  ")
        if c.problem:
            style = "red" if c.table.kind == "unreadable" or c.table.problem else "yellow"
            _say(con, ("bad table: " if c.table.kind == "unreadable" else "") + c.problem, style, indent="  ")
        bad = [e for e in c.table.entries if e.problem]
        if bad:
            _say(
                con,
                f"{_n(len(bad), 'bad entry')}: "
                + "; ".join(f"M={e.key}: {e.problem}" if e.key.isdigit() else f"{e.key}: {e.problem}" for e in bad[:3])
                + (" ..." if len(bad) > 3 else ""),
                "red",
                indent="  ",
            )
        for i, r in enumerate(c.results):
            line, colour = _line(r, report.targets[i].target.limit_bytes)
            _say(con, f"{report.targets[i].label}: {line}", colour, indent="  ")
        if entry_view and c.results:
            con.print(_entry_rows(report, c), soft_wrap=True, highlight=False, markup=False)
    if shown < len(report.tables):
        con.print()
        _say(
            con,
            f"{len(report.tables) - shown} more tables in which every entry fits every target are not listed; --all lists them, --json gives every entry",
        )

    if report.target_tables:
        con.print()
        con.print("[bold]which table each target loads[/bold]")
        for tt in report.target_tables:
            names = sorted({r.vllm for r in tt.names} | {r.vllm_h200 for r in tt.names if r.vllm_h200})
            missing = sum(1 for f in tt.families if not f["found"])
            _say(
                con,
                f"{tt.target}: looks up device_name={' or '.join(names)}; "
                + (
                    f"no table here for {missing} of {_n(len(tt.families), 'table shape')} (the runtime then "
                    "uses its untuned default config; copy a table that fits under the name it looks up)"
                    if missing
                    else f"a table here for each of the {_n(len(tt.families), 'table shape')}"
                ),
                indent="  ",
            )
            families = sorted(tt.families, key=lambda f: bool(f["found"]))  # the ones with no table first
            if not show_all and len(families) > MAX_FAMILY_LINES:
                families = families[:MAX_FAMILY_LINES]
            for fam in families:
                f = fam["family"]
                label = (
                    f"E={f['experts']},N={f['n']}"
                    + (f",dtype={f['dtype']}" if f["dtype"] else "")
                    + (f",block_shape=[{f['block_shape'][0]},{f['block_shape'][1]}]" if f["block_shape"] else "")
                )
                if fam["found"]:
                    _say(con, f"{label}: loads {', '.join(os.path.basename(p) for p in fam['found'])}", indent="    ")
                    continue
                fitting = [os.path.basename(p) for p in fam["fitting"]]
                text = f"{label}: none, wants {fam['wanted']}; " + (
                    f"fits entirely: {', '.join(fitting[:3])}"
                    + (f" and {len(fitting) - 3} more" if len(fitting) > 3 else "")
                    if fitting
                    else "no table of this shape here fits entirely"
                )
                _say(con, text, "yellow", indent="    ")
            if len(families) < len(tt.families):
                _say(
                    con,
                    f"... {len(tt.families) - len(families)} more table shapes (--all lists them, --json gives all)",
                    "dim",
                    indent="    ",
                )
    elif any(not t.names for t in report.targets):
        con.print()
        _say(
            con,
            "which table a GPU loads: an architecture names no GPU; give --gpu NAME to see the device_name it looks up",
            "dim",
        )

    con.print()
    totals = report.totals()
    for t in report.targets:
        p = totals["per_target"][t.label]
        parts = [f"{p['tables_all_fit']} of {_n(len(report.tables), 'table')} fit entirely"]
        parts += [
            f"{p[k]} entries {STATUS_WORD[s]}"
            for s in (tr.DOES_NOT_FIT, tr.CANNOT_LAUNCH, tr.CANNOT_RUN, tr.INVALID)
            if (k := s.replace("-", "_")) and p[k]
        ]
        _say(
            con,
            f"{t.label}: " + ", ".join(parts),
            "green" if p["tables_all_fit"] == len(report.tables) else "red",
            indent="",
        )
    if totals["bad_tables"] or totals["not_modelled"]:
        _say(con, f"{totals['bad_tables']} unreadable, {totals['not_modelled']} not modelled (not checked)", "yellow")
    if written is not None:
        for w in written["targets"]:
            if w["written"] or w["not_written"]:
                _say(
                    con,
                    f"--write-fitted {w['target']}: {_n(len(w['written']), 'table')} written to {w['folder']} (derived, not tuned: see its README.md)"
                    + (
                        f"; {len(w['not_written'])} not written (no stage count makes them fit)"
                        if w["not_written"]
                        else ""
                    ),
                )
            else:
                _say(con, f"--write-fitted {w['target']}: every table fits, nothing to write")
    for note in report.notes:
        _say(con, f"note: {note}", "dim")
