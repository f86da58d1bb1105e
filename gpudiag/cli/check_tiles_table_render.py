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
SKIPPED_LISTED_UP_TO = 6  # files not checked shown one by one without --all (more: one line naming them)
STATUS_WORD = {
    tr.FITS: "fit",
    tr.DOES_NOT_FIT: "over the limit",
    tr.CANNOT_LAUNCH: "cannot launch",
    tr.CANNOT_RUN: "cannot run there",
    tr.INVALID: "invalid",
}


def _plural(word: str) -> str:
    if word.endswith("y") and not word.endswith(("ay", "ey", "oy", "uy")):
        return word[:-1] + "ies"
    return word + "s"


def _n(count: int, word: str, plural: str | None = None) -> str:
    """``1 entry``, ``2 entries``: the last word made plural (or ``plural`` as given)."""
    if count != 1 and plural is not None:
        return f"{count:,} {plural}"
    head, _, last = word.rpartition(" ")
    return f"{count:,} {head + ' ' if head else ''}{last if count == 1 else _plural(last)}"


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
    n = t.name
    if t.kind == "config-list":
        bits.append("FlagGems operator's configs" if t.section else "list of configs")
    if t.kind == "block-gemm-table":
        bits.append("dense block-quantised GEMM (w8a8_block_matmul)")
    if n is not None and n.family == "scaled-mm":
        bits.append("dense per-token scaled GEMM (vLLM's triton_scaled_mm)")
    if n is not None and n.family == "lightllm":
        bits.append(f"LightLLM {n.lightllm_kernel}")
    if t.kernel == "matmul":
        bits.append("checked as a plain Triton matmul (estimate)")
    if c.runtime:
        bits.append(c.runtime + (f" (configs/triton_{t.folder_triton.replace('.', '_')})" if t.folder_triton else ""))
    if t.quant and t.kernel is not None and not t.not_checked:
        bits.append(ct.QUANT_TEXT.get(t.quant, t.quant) + (" (--dtype)" if t.dtype_override else ""))
    if n is not None and n.down:
        bits.append("SGLang's second-GEMM (down) table")
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
        if c.table.name is not None and not c.table.name.runtime_builds:
            return (
                f"device_name={m.device_name}: the name of {', '.join(gpus)}, but no runtime builds this file name",
                None,
            )
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
        _n(kinds[k], w, "other files (not tile tables)" if k == "not-a-tile-table" else None)
        for k, w in (
            ("moe-table", "fused-MoE table"),
            ("block-gemm-table", "block-quantised GEMM table"),
            ("matmul-table", "GEMM table"),
            ("config-list", "config list"),
            ("not-a-tile-table", "other file (not a tile table)"),
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

    checked = [c for c in report.tables if c.results or c.table.kind == "unreadable"]
    skipped = [c for c in report.tables if not c.results and c.table.kind != "unreadable"]
    entry_view = show_all or len(checked) * max(1, len(report.targets)) <= ENTRY_ROWS_UP_TO
    listed = checked + (skipped if show_all or len(skipped) <= SKIPPED_LISTED_UP_TO else [])
    ordered = sorted(
        listed,
        key=lambda c: (not c.results, c.table.kind != "unreadable" and all(r.all_fit for r in c.results), c.table.path),
    )
    shown = 0
    for c in ordered:
        if not show_all and shown >= MAX_TABLE_LINES:
            break
        shown += 1
        con.print()
        where = (
            os.path.relpath(c.table.path, report.path) if os.path.isdir(report.path) else os.path.basename(c.table.path)
        )
        say(con, where + (f": {c.table.section}" if c.table.section else ""), "bold")
        desc = _describe(c)
        if desc:
            say(con, desc, indent="  ")
        nl = _name_line(c)
        if nl:
            say(con, nl[0], nl[1], indent="  ")
        if c.problem:
            unreadable = c.table.kind == "unreadable"
            say(con, ("bad table: " if unreadable else "") + c.problem, "red" if unreadable else "yellow", indent="  ")
        if c.not_checked:
            say(con, c.not_checked, "yellow", indent="  ")
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
    if len(listed) < len(report.tables):
        con.print()
        names = [
            (
                os.path.relpath(c.table.path, report.path)
                if os.path.isdir(report.path)
                else os.path.basename(c.table.path)
            )
            + (f": {c.table.section}" if c.table.section else "")
            for c in skipped
        ]
        say(
            con,
            f"not checked, {_n(len(skipped), 'file or table', 'files or tables')} (not matmul tile tables, or not "
            f"modelled; --all says why for each): " + ", ".join(names[:12]) + (" ..." if len(names) > 12 else ""),
            "yellow",
        )
    if shown < len(listed):
        con.print()
        say(
            con,
            f"{_n(len(listed) - shown, 'more table')} (every entry fits every target, or not checked) not "
            "listed; --all lists them, --json gives every entry",
        )

    if report.target_tables and not any(tt.families for tt in report.target_tables):
        con.print()
        say(con, "which table each target loads: no table here has a name a runtime looks up", "dim")
    elif report.target_tables:
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
                label = fam["family"]["label"]
                if fam["found"]:
                    say(con, f"{label}: loads {', '.join(os.path.basename(p) for p in fam['found'])}", indent="    ")
                    continue
                fitting = [os.path.basename(p) for p in fam["fitting"]]
                text = f"{label}: none, wants {fam['wanted']}; " + (
                    f"fits entirely: {', '.join(fitting[:3])}"
                    + (f" and {len(fitting) - 3} more" if len(fitting) > 3 else "")
                    if fitting
                    else "no NVIDIA-tuned table of this shape here fits entirely"
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
    checked = totals["checked_tables"]
    for t in report.targets:
        if not checked:
            break
        p = totals["per_target"][t.label]
        parts = [f"{p['tables_all_fit']} of {_n(checked, 'checked table')} fit entirely"]
        parts += [
            f"{_n(p[k], 'entry')} {STATUS_WORD[s]}"
            for s in (tr.DOES_NOT_FIT, tr.CANNOT_LAUNCH, tr.CANNOT_RUN, tr.INVALID)
            if (k := s.replace("-", "_")) and p[k]
        ]
        say(con, f"{t.label}: " + ", ".join(parts), "green" if p["tables_all_fit"] == checked else "red", indent="")
    unchecked = [
        _n(totals[k], w, pl)
        for k, w, pl in (
            ("not_tile_tables", "file that is not a matmul tile table", "files that are not matmul tile tables"),
            (
                "not_modelled",
                "table of a dtype gpudiag does not model or no runtime loads",
                "tables of a dtype gpudiag does not model or no runtime loads",
            ),
        )
        if totals[k]
    ]
    if unchecked:
        say(con, "not checked (no effect on the exit code): " + ", ".join(unchecked), "yellow")
    if not checked:
        say(con, "no table here was checked: nothing in it is a matmul tile table gpudiag models", "yellow")
    if totals["exit_reasons"]:
        say(con, "exit 1: " + "; ".join(totals["exit_reasons"]), "red")
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
