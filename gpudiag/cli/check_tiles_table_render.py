"""``gpudiag check-tiles --from-config-table`` rendered for a terminal: the targets, a line per table
and target (entry by entry for a few), which table each target loads, the totals and what
``--write-fitted`` wrote. Imported only when the report is rendered as text."""

from __future__ import annotations

import os

from gpudiag.cli.output import console, say
from gpudiag.tiles import config_table as ct
from gpudiag.tiles import table_report as tr

ENTRY_ROWS_UP_TO = 4  # tables x targets shown entry by entry without --all
MAX_TABLE_LINES = 60  # tables summarised line by line without --all (those with a problem first)
MAX_FAMILY_LINES = 12  # table shapes listed per target GPU without --all
STATUS_WORD = {
    tr.FITS: "fit",
    tr.DOES_NOT_FIT: "over the limit",
    tr.CANNOT_LAUNCH: "cannot launch",
    tr.CANNOT_RUN: "cannot run there",
    tr.INVALID: "invalid",
}


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
    if t.kind == "block-gemm-table":
        bits.append("dense block-quantised GEMM (w8a8_block_matmul)")
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
            ("block-gemm-table", "block-quantised GEMM table"),
            ("config-list", "config list"),
            ("unreadable", "unreadable file"),
        )
        if kinds.get(k)
    )
    method = f"compiled with Triton {report.triton_version}" if report.exact else "estimate (--exact compiles)"
    say(con, f"check-tiles --from-config-table {report.path}", "bold")
    say(con, f"{what} x {_n(len(report.targets), 'target')} · {method}")
    con.print("targets (shared memory per block, opt-in):")
    for t in report.targets:
        where = "" if t.label == t.target.sm else f" {t.target.sm}"
        loads = ""
        if t.names:
            loads = " · looks up device_name=" + ", ".join(
                sorted({r.vllm for r in t.names} | {f"{r.vllm_h200} (newer vLLM)" for r in t.names if r.vllm_h200})
            )
        say(con, f"{t.label}{where}: {t.target.name}, {t.target.limit_bytes:,} B{loads}", indent="  ")

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
        say(con, os.path.relpath(c.table.path, report.path) if os.path.isdir(report.path) else c.table.label, "bold")
        desc = _describe(c)
        if desc:
            say(con, desc, indent="  ")
        nl = _name_line(c)
        if nl:
            say(con, nl[0], nl[1], indent="  ")
        if c.problem:
            style = "red" if c.table.kind == "unreadable" or c.table.problem else "yellow"
            say(con, ("bad table: " if c.table.kind == "unreadable" else "") + c.problem, style, indent="  ")
        bad = [e for e in c.table.entries if e.problem]
        if bad:
            say(
                con,
                f"{_n(len(bad), 'bad entry')}: "
                + "; ".join(f"M={e.key}: {e.problem}" if e.key.isdigit() else f"{e.key}: {e.problem}" for e in bad[:3])
                + (" ..." if len(bad) > 3 else ""),
                "red",
                indent="  ",
            )
        for i, r in enumerate(c.results):
            line, colour = _line(r, report.targets[i].target.limit_bytes)
            say(con, f"{report.targets[i].label}: {line}", colour, indent="  ")
        if entry_view and c.results:
            con.print(_entry_rows(report, c), soft_wrap=True, highlight=False, markup=False)
    if shown < len(report.tables):
        con.print()
        say(
            con,
            f"{len(report.tables) - shown} more tables in which every entry fits every target are not listed; --all lists them, --json gives every entry",
        )

    if report.target_tables:
        con.print()
        con.print("[bold]which table each target loads[/bold]")
        for tt in report.target_tables:
            names = sorted({r.vllm for r in tt.names} | {r.vllm_h200 for r in tt.names if r.vllm_h200})
            missing = sum(1 for f in tt.families if not f["found"])
            say(
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
                    (f"N={f['n']},K={f['k']}" if f.get("k") is not None else f"E={f['experts']},N={f['n']}")
                    + (f",dtype={f['dtype']}" if f["dtype"] else "")
                    + (f",block_shape=[{f['block_shape'][0]},{f['block_shape'][1]}]" if f["block_shape"] else "")
                )
                if fam["found"]:
                    say(con, f"{label}: loads {', '.join(os.path.basename(p) for p in fam['found'])}", indent="    ")
                    continue
                fitting = [os.path.basename(p) for p in fam["fitting"]]
                text = f"{label}: none, wants {fam['wanted']}; " + (
                    f"fits entirely: {', '.join(fitting[:3])}"
                    + (f" and {len(fitting) - 3} more" if len(fitting) > 3 else "")
                    if fitting
                    else "no table of this shape here fits entirely"
                )
                say(con, text, "yellow", indent="    ")
            if len(families) < len(tt.families):
                say(
                    con,
                    f"... {len(tt.families) - len(families)} more table shapes (--all lists them, --json gives all)",
                    "dim",
                    indent="    ",
                )
    elif any(not t.names for t in report.targets):
        con.print()
        say(
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
        say(
            con,
            f"{t.label}: " + ", ".join(parts),
            "green" if p["tables_all_fit"] == len(report.tables) else "red",
            indent="",
        )
    if totals["bad_tables"] or totals["not_modelled"]:
        say(con, f"{totals['bad_tables']} unreadable, {totals['not_modelled']} not modelled (not checked)", "yellow")
    if written is not None:
        for w in written["targets"]:
            if w["written"] or w["not_written"]:
                say(
                    con,
                    f"--write-fitted {w['target']}: {_n(len(w['written']), 'table')} written to {w['folder']} (derived, not tuned: see its README.md)"
                    + (
                        f"; {len(w['not_written'])} not written (no stage count makes them fit)"
                        if w["not_written"]
                        else ""
                    ),
                )
            else:
                say(con, f"--write-fitted {w['target']}: every table fits, nothing to write")
    for note in report.notes:
        say(con, f"note: {note}", "dim")
