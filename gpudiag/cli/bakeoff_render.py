"""``gpudiag bakeoff`` rendered for a terminal: a table and a bar chart per workload, its knobs and
notes, the winners across workloads, the gates and the recommendation.

Tables that do not fit the terminal are stacked, one record per row, rather than cut: nothing is lost
at 80 columns. Imported only when a report is rendered as text (and by the progress view for a
finished row's cells): ``--help`` and ``--json`` never load it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gpudiag.cli.output import console, fmt_bytes

if TYPE_CHECKING:
    from gpudiag.bakeoff.report import BakeoffReport, WorkloadSummary
    from gpudiag.bakeoff.results import ModeResult

STATUS_STYLE = {
    "ok": "green",
    "unchecked": "yellow",
    "mismatch": "bold red",
    "skipped": "dim",
    "not_run": "dim",
    "timeout": "yellow",
    "crashed": "red",
    "oom": "red",
    "compile_error": "red",
    "error": "red",
    "harness_error": "magenta",
    "interrupted": "yellow",
    "not_compiled": "yellow",
    "overridden": "yellow",
}
BAR_WIDTH = 40


# -- cells ---------------------------------------------------------------------------------------


def fmt_s(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f} s"


def fmt_ms(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.4f}" if x < 1 else f"{x:.3f}" if x < 100 else f"{x:.1f}"


def _err(r: ModeResult) -> str:
    c = r.correctness
    if c is None:
        return "—"
    text = f"{c.max_abs_error:.1e}"
    return text if c.ok else f"[bold red]{text} ✗[/bold red]"


def _vs_fp64(r: ModeResult) -> str:
    n = r.numerics
    if n is None:
        return "—"
    from gpudiag.bakeoff.recommend import times

    cost = f" ({times(n.cost)})" if n.cost is not None else ""
    text = f"{n.rel_rmse:.1e}{cost}"
    return text if n.ok else f"[bold red]{text} ✗[/bold red]"


def _quartiles(r: ModeResult) -> str:
    return f"{fmt_ms(r.timing.q1_ms)}–{fmt_ms(r.timing.q3_ms)}" if r.timing else "—"


def _loop(r: ModeResult) -> str:
    if r.timing is None or r.timing.loop_ms is None:
        return "—"
    return f"[yellow]{fmt_ms(r.timing.loop_ms)}*[/yellow]" if r.launch_bound else fmt_ms(r.timing.loop_ms)


def _counts(r: ModeResult) -> str:
    o = r.observed
    return "—" if o.graph_breaks is None else f"{o.graph_breaks}/{o.recompiles}"


Column = tuple[str, Callable[["ModeResult"], str]]


def _columns(rows: list[ModeResult], ws: WorkloadSummary) -> list[Column]:
    cols: list[Column] = [
        ("compile s", lambda r: fmt_s(r.compile_s).replace(" s", "")),
        ("median ms", lambda r: fmt_ms(r.median_ms)),
        ("q1–q3 ms", _quartiles),
        ("min ms", lambda r: fmt_ms(r.timing.min_ms) if r.timing else "—"),
    ]
    if any(r.timing and r.timing.loop_ms is not None for r in rows):
        cols.append(("loop ms", _loop))
    cols.append(
        (
            "vs eager",
            lambda r: (
                f"{ws.speedup_vs_eager[r.label]:.2f}x" + ("!" if r.label in ws.implausible else "")
                if ws.speedup_vs_eager.get(r.label)
                else "—"
            ),
        )
    )
    if any(r.peak_bytes is not None for r in rows):
        cols.append(("peak mem", lambda r: fmt_bytes(r.peak_bytes) if r.peak_bytes is not None else "—"))
    cols.append(("max err", _err))
    if any(r.numerics is not None for r in rows):
        cols.append(("vs fp64 (x eager)", _vs_fp64))
    cols.append(("brk/rcmp", _counts))
    cols.append(("status", lambda r: f"[{STATUS_STYLE.get(r.status, '')}]{r.status}[/]"))
    return cols


def _fits(con: Console, renderable: Any) -> bool:
    return Measurement.get(con, con.options.update_width(1_000_000), renderable).maximum <= con.width


def table_or_records(
    con: Console,
    title: str,
    header: str,
    labels: list[str],
    columns: list[str],
    cells: list[list[str]],
    label_styles: list[str] | None = None,
) -> None:
    """A table when it fits the terminal; otherwise one record per row ("label", then "column value"
    pairs, wrapped and indented), so that nothing is cut at any width."""
    styles = label_styles or [""] * len(labels)
    t = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", show_edge=False, pad_edge=False)
    t.add_column(header, no_wrap=True)
    for c in columns:
        t.add_column(c, justify="right" if c != "status" else "left", no_wrap=True)
    for label, style, row in zip(labels, styles, cells):
        t.add_row(Text(label, style=style), *row)
    if _fits(con, t):
        con.print(t)
        return
    con.print(Text.from_markup(title))
    for label, style, row in zip(labels, styles, cells):
        con.print(Text(label, style=style or "bold"))
        for line in _pack([Text.from_markup(f"{c} {v}") for c, v in zip(columns, row)], con.width - 4):
            con.print(Padding(line, (0, 0, 0, 4), expand=False))


def _pack(pairs: list[Text], width: int) -> list[Text]:
    """ "name value" pairs joined by " · " into lines of at most ``width`` cells, never splitting a pair."""
    lines: list[Text] = []
    for pair in pairs:
        if lines and lines[-1].cell_len + 3 + pair.cell_len <= width:
            lines[-1].append(" · ")
            lines[-1].append_text(pair)
        else:
            lines.append(pair.copy())
    return lines


def workload_table(con: Console, title: str, rows: list[ModeResult], ws: WorkloadSummary) -> None:
    cols = _columns(rows, ws)
    labels = [("★ " if r.label == ws.winner else "  ") + r.label for r in rows]
    styles = ["bold green" if r.label == ws.winner else "" for r in rows]
    table_or_records(
        con, title, "mode", labels, [c for c, _ in cols], [[fn(r) for _, fn in cols] for r in rows], styles
    )


def bar_chart(con: Console, rows: list[ModeResult], winner: str | None) -> None:
    """Time per call as ranked (ModeResult.per_call_ms), one bar per timed row."""
    timed = [r for r in rows if r.per_call_ms is not None]
    if not timed:
        return
    label_w = max(len(r.label) for r in timed)
    value_w = max(len(fmt_ms(r.per_call_ms)) for r in timed) + 3
    bar_w = min(BAR_WIDTH, con.width - label_w - value_w - 2)
    stacked = bar_w < BAR_WIDTH // 2  # long labels: each on its own line above its bar
    if stacked:
        bar_w = min(BAR_WIDTH, con.width - value_w - 3)
    top = max(r.per_call_ms or 0.0 for r in timed)  # every timed row has one
    t = Table.grid(padding=(0, 1))
    for _ in range(1 if stacked else 2):
        t.add_column(no_wrap=True)
    t.add_column(no_wrap=True, justify="right")
    for r in timed:
        n = max(1, round(bar_w * (r.per_call_ms or 0.0) / top))
        colour = "green" if r.label == winner else ("red" if r.status == "mismatch" else "cyan")
        bar = f"[{colour}]{'█' * n}[/{colour}]{' ' * (bar_w - n)}"
        if stacked:
            t.add_row(r.label, "")
            t.add_row(bar, f"{fmt_ms(r.per_call_ms)} ms")
        else:
            t.add_row(r.label, bar, f"{fmt_ms(r.per_call_ms)} ms")
    con.print(t)


LEGEND = (
    "median: do_bench's device time per call (L2 flushed before each); loop: time per call of calls issued "
    "back to back, host included. * marks a launch-bound row (loop > 1.15 x median, or quartiles over 10% "
    "of the median apart: the host issues calls more slowly than the GPU runs them); the ★, 'vs eager' and "
    "the bars use its loop time, and the median elsewhere."
)
FP64_LEGEND = (
    "vs fp64: the row's relative RMSE against an fp64 run of the workload, and that as a multiple "
    "of eager's own; ✗ beyond the tolerance of the precision the row computes in."
)


def _notes(rows: list[ModeResult], ws: WorkloadSummary) -> list[str]:
    out = []
    writer = next((r for r in rows if r.mutated_inputs), None)
    if writer is not None:
        out.append(
            f"[dim]{escape(ws.workload)} writes into its inputs ({escape(', '.join(writer.mutated_inputs))}): "
            "every compared call got a fresh copy, and what it wrote was compared too; the timed calls reuse one "
            "copy[/dim]"
        )
    for r in rows:
        if r.status != "ok" and r.reason:
            out.append(f"[{STATUS_STYLE.get(r.status, '')}]{r.label}[/]: {escape(r.reason)}")
        for why in ws.implausible.get(r.label, []):
            out.append(f"[yellow]{r.label}: ! {escape(why)}[/yellow]")
        for note in (r.correctness.notes if r.correctness else [])[:2]:
            out.append(f"[dim]{r.label}: {escape(note)}[/dim]")
        for w in r.observed.warnings[:3]:
            tag = f" [cyan]→ explain-warning: {w.explained['id']}[/cyan]" if w.explained else ""
            count = f" (×{w.count})" if w.count > 1 else ""
            out.append(f"[dim]{r.label} warned: {escape(w.line)}{count}[/dim]{tag}")
        if len(r.observed.warnings) > 3:
            out.append(f"[dim]{r.label}: {len(r.observed.warnings) - 3} more warning line(s) in --json[/dim]")
    return out


def _knob_lines(rep: BakeoffReport, workload: str) -> list[str]:
    """The knobs considered for a workload: measured, asked for, or called for but not applicable."""
    out = []
    for d in rep.run.variants:
        if d.workload != workload or not (d.measured or d.signal or d.why.startswith("asked")):
            continue
        on = f" on {d.base}" if d.base else ""
        verdict = "measured" if d.measured else "not measured"
        out.append(
            f"{d.knob}{on}: {verdict}: {escape(d.why)}"
            + (f" ({escape(d.signal)})" if d.signal and d.signal not in d.why else "")
        )
    return out


def render(rep: BakeoffReport) -> None:
    con = console()
    run, summary = rep.run, rep.summary
    v, st = run.versions, run.settings
    title = f"gpudiag bakeoff · {st.script_call} · {_where(run)}"
    if len(title) + 6 <= con.width:
        con.rule(f"[bold]gpudiag bakeoff[/bold] · {escape(st.script_call)} · {escape(_where(run))}")
    else:  # a rule cuts its title with "…": a GPU's name must stay whole
        con.print(Text(title, style="bold"))
        con.rule()
    con.print(
        f"[dim]torch {v.torch} · triton {v.triton} · python {v.python} · "
        f"{'training: forward and backward' if st.grad else 'inference (no_grad)'} · "
        f"timing {st.warmup_ms:g} ms warm-up + {st.rep_ms:g} ms reps · "
        f"{'warm caches' if st.warm_cache else 'fresh on-disk state per measurement'} · "
        f"{st.spawn} · wall {run.wall_s or 0:.1f} s[/dim]"
    )
    if run.environment_variables:
        shown = " · ".join(f"{k}={v}" for k, v in run.environment_variables.items())
        con.print(Text(f"environment: {shown}", style="dim"))
    if run.interrupted and not run.rows:
        con.print(f"[yellow]stopped by {run.interrupted_by} before any measurement finished[/yellow]")
    for ws in summary.workloads:
        rows = run.rows_of(ws.workload)
        wl = next((w for w in run.workloads if w.name == ws.workload), None)
        con.print()
        workload_table(
            con,
            f"[bold]{escape(ws.workload)}[/bold]" + (f"  [dim]({escape(', '.join(wl.args))})[/dim]" if wl else ""),
            rows,
            ws,
        )
        bar_chart(con, rows, ws.winner)
        if any(r.timing and r.timing.loop_ms is not None for r in rows):
            _indented(con, Text(LEGEND, style="dim"))
        if any(r.numerics is not None for r in rows):
            _indented(con, Text(FP64_LEGEND, style="dim"))
        for line in _knob_lines(rep, ws.workload):
            _indented(con, Text.from_markup(f"[cyan]knob[/cyan] {line}"))
        for line in _notes(rows, ws):
            _indented(con, Text.from_markup(line))
    if len(summary.workloads) > 1:
        _overall(con, summary)
    if rep.gates is not None:
        con.print()
        for g in rep.gates.results:
            style = "green" if g.passed else "bold red"
            con.print(
                Text.from_markup(
                    f"[{style}]{'✓' if g.passed else '✗'}[/{style}] {escape(g.line)}"
                    + (f" [dim]({escape(g.note)})[/dim]" if g.note else "")
                )
            )
            for c in g.compared if g.passed and g.name == "max-regression" else []:
                _indented(con, Text(f"{c.label} on {c.workload}: {c.detail}", style="dim"))
    con.print(Panel(Text(summary.recommendation or "nothing measured"), title="recommendation", box=box.ROUNDED))


def _where(run: Any) -> str:
    d = run.device
    return f"{d.name} ({d.sm}, {d.sm_count} SMs)" if d.kind == "cuda" else "CPU"


def _indented(con: Console, text: Text) -> None:
    con.print(Padding(text, (0, 0, 0, 2), expand=False))


def _overall(con: Console, summary: Any) -> None:
    con.print()
    rows, labels = [], []
    for ws in summary.workloads:
        sp = ws.speedup_vs_eager.get(ws.winner or "")
        labels.append(ws.workload)
        rows.append(
            [
                ws.winner or "—",
                fmt_ms(ws.winner_ms),
                f"{sp:.2f}x" if sp else "—",
                ws.runner_up or "—",
                (f"{ws.margin:.1%}" + (" (noise)" if ws.within_noise else "")) if ws.margin is not None else "—",
            ]
        )
    table_or_records(
        con,
        "[bold]per-workload winners[/bold]",
        "workload",
        labels,
        ["winner", "ms per call", "vs eager", "runner-up", "margin"],
        rows,
    )
    modes = list(summary.wins)
    table_or_records(
        con,
        "[bold]per mode[/bold]",
        "mode",
        modes,
        ["wins", "geomean vs eager", "workloads timed"],
        [
            [
                str(summary.wins[m]),
                f"{summary.geomean_speedup[m]:.2f}x" if m in summary.geomean_speedup else "—",
                str(summary.geomean_workloads.get(m, 0)),
            ]
            for m in modes
        ],
    )
    if summary.average_win_margin is not None:
        con.print(f"average win margin of the two best modes: {summary.average_win_margin:.1%}")
