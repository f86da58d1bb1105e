"""``gpudiag info --gpu A,B`` rendered: the rows that differ, side by side, then what they mean."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from gpudiag.cli.output import console, fmt_bytes_exact, wrapped
from gpudiag.info.compare import CompareReport, Row


def _value(row: Row, value: Any, gate: int | None) -> str:
    if value is None:
        return "n/a"
    if row.kind == "bytes":
        return fmt_bytes_exact(value)
    if row.kind == "bandwidth":
        return f"{value / 1e9:,.0f} GB/s"
    if row.kind == "feature":
        return "yes" if value else "no"
    if row.kind == "gate":
        if gate is None:
            return f"{value:,}"
        return f"{value:,}: templates {'on' if value >= gate else 'off'}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _label(row: Row, report: CompareReport) -> str:
    gate = report.sm_gate.cuda_min_sms
    if row.kind == "gate" and gate is not None:
        return f"SMs (is_big_gpu: >= {gate})"
    return row.label


def render(report: CompareReport) -> None:
    con = console()
    gate = report.sm_gate.cuda_min_sms
    names = " vs ".join(
        f"{t.label} ({t.facts.sm + ', ' if t.label != t.facts.sm else ''}{'live' if t.facts.is_live else 'catalogue'})"
        for t in report.targets
    )
    con.print(Text(f"What differs for kernel tuning: {names}", style="bold"))
    rows = report.differing
    if not rows:
        con.print(Text("Nothing that kernel tuning depends on differs.", style="green"))
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("", style="bold cyan", no_wrap=True)
    for t in report.targets:
        table.add_column(t.label, overflow="fold")
    for row in rows:
        table.add_row(_label(row, report), *(_value(row, v, gate) for v in row.values))
    if rows and Measurement.get(con, con.options, table).minimum <= con.width:
        con.print(table)
    else:  # too many GPUs for the terminal's width: one line per value
        for row in rows:
            con.print(Text(_label(row, report), style="bold cyan"))
            for t, v in zip(report.targets, row.values):
                con.print(Text(f"  {t.label}: {_value(row, v, gate)}"))
    if report.same:
        con.print(Text(f"The same on all: {', '.join(_label(r, report) for r in report.same)}.", style="dim"))
    for note in report.notes:
        con.print(wrapped([(f"- {note}", None)], con.width, indent=2))
    con.print(Text("Each value's source (live, datasheet, third-party, derived, cc table): --json.", style="dim"))
