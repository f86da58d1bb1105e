"""``gpudiag bakeoff SCRIPT``: parse the options, show progress, render the report (rich or JSON).

Every decision is the core's (gpudiag.bakeoff): this module only turns options into ``Settings``
and a ``BakeoffReport`` into text. Tables that do not fit the terminal are stacked, one record per
row, rather than cut: nothing is lost at 80 columns.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gpudiag.cli.app import app
from gpudiag.cli.output import console, emit_json, fmt_bytes

if TYPE_CHECKING:
    from gpudiag.bakeoff.harness import Progress
    from gpudiag.bakeoff.report import BakeoffReport, WorkloadSummary
    from gpudiag.bakeoff.results import ModeResult
    from gpudiag.bakeoff.session import Bakeoff

# Declaring the command imports no core (`bakeoff --help` stays as fast as Typer itself), so the words
# its options list are written here; tests/test_cli_help.py keeps them equal to gpudiag.bakeoff's.
ALL_MODES = ("eager", "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")  # modes.ALL_MODES
AUTO, NONE = "auto", "none"  # knobs.AUTO, knobs.NONE
KNOBS = ("tf32", "coordinate_descent_tuning", "freezing", "dynamic", "static")  # knobs.KNOBS

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


def _paragraphs(text: str) -> str:
    """Help text whose paragraphs are single lines, so the terminal (not the source) decides the wrap."""
    import inspect

    return "\n\n".join(" ".join(p.split()) for p in inspect.cleandoc(text).split("\n\n"))


HELP = _paragraphs("""
    Which torch.compile mode, and which settings beyond it, is really fastest for this workload on
    this GPU, measured fairly.

    Each workload runs in each mode (eager, default, reduce-overhead, max-autotune,
    max-autotune-no-cudagraphs) in a process of its own with inductor's and Triton's on-disk state
    fresh (caches, precompiled headers, temporary files; removed afterwards). Per mode: cold compile
    time (the first call), steady-state latency with triton's do_bench (median, min, quartiles)
    and, on CUDA, the time per call of calls issued back to back (host included), peak GPU memory,
    the largest error against eager (tolerance by dtype, an fp64 run arbitrating rounding
    differences; a mismatch is flagged), graph breaks, recompiles, and the warnings the mode
    logged. A mode whose back-to-back calls take over 1.15x its do_bench median, or whose do_bench
    quartiles lie more than 10% of the median apart (host gaps inside the device events), is
    launch-bound (marked *) and ranked by that loop time; the others by the median.

    Then the knobs the workload's own signals call for are measured the same way, each on the
    fastest mode it applies to: tf32 (float32 matmuls on sm_80+), coordinate_descent_tuning
    (generated Triton kernels), freezing (parameters under inference), dynamic or static
    (recompiles, dynamic shapes). Each is judged against an fp64 run, and its accuracy cost is
    shown beside its speed-up.

    A measurement that crashes, times out, runs out of memory or fails to compile becomes a row
    with its status and reason; the others still run. Every compared call gets a fresh copy of
    the inputs, so a workload that writes into them is checked like any other. Eager output that
    changes between two calls marks every row 'unchecked'; a row whose output changes from call
    to call is a mismatch; a figure below the launch floor, or a speed-up that eager's dead work
    explains, is flagged.

    The environment is part of the measurement: the variables that change what torch.compile,
    inductor, Triton or CUDA do are recorded. TORCHDYNAMO_DISABLE=1 or TORCH_COMPILE_DISABLE=1
    with compiled modes is refused (exit 2); a mode whose settings the environment or the script
    changes (TORCHINDUCTOR_MAX_AUTOTUNE=1 under default) is not measured, and a compiled row for
    which dynamo captured no graph is marked not_compiled: neither is ranked or recommended.

    Notes: workloads run under torch.no_grad(). Tensors and nn.Modules returned by the script are
    moved to the device; tensors a function closes over are not. Inputs and weights are built with
    torch.manual_seed(0) in every process, so every mode sees the same numbers. The script's
    module-level code runs once in each measurement's process (the first one also lists the
    workloads), never in gpudiag's own.

    Exit codes: 0 the bake-off ran and every gate passed; 1 every mode failed, or a gate failed or
    compared no row (one line per failed gate); 2 bad input (missing script, no workload found,
    the script raising or exiting, bad options, compilation disabled by the environment, --device
    cuda without a GPU, an unusable --output or --baseline); 130, 143 or 129 stopped by Ctrl-C,
    SIGTERM or SIGHUP (the partial report is kept; a signal ignored at start, as under nohup,
    stays ignored).
    """)


# The man page's EXAMPLES and EXIT STATUS (gpudiag.manpages); 130, 141, 143 and 129 are worded there.
MAN_EXAMPLES = (
    (
        "gpudiag bakeoff model.py",
        "every torch.compile mode, then the knobs the workload calls for, each in a clean process",
    ),
    ("gpudiag bakeoff model.py --modes default,max-autotune --quick", "two modes with short timing budgets"),
    ("gpudiag bakeoff model.py --output run.json", "the JSON document, rewritten after every measurement"),
    (
        "gpudiag bakeoff model.py --baseline run.json --max-regression 5",
        "a CI gate: fail when a row is over 5% slower than an earlier run",
    ),
    (
        "timeout 3600 gpudiag bakeoff model.py --output run.json",
        "stopped by SIGTERM: exit 143, the partial report kept",
    ),
    (
        "nohup gpudiag bakeoff model.py --output run.json &",
        "survives an ssh logout: a SIGHUP ignored at start stays ignored",
    ),
)
MAN_EXIT_STATUS = {
    0: "the bake-off ran and every gate passed.",
    1: "every mode failed, or a gate failed or compared no row (one line per failed gate).",
    2: "bad input: a missing script, no workload found, the script raising or exiting, bad options, "
    "compiled modes with TORCHDYNAMO_DISABLE=1 or TORCH_COMPILE_DISABLE=1, --device cuda without a GPU, "
    "an unusable --output or --baseline.",
}
MAN_SIGNALS = (130, 141, 143, 129)


@app.command("bakeoff", help=HELP)
def bakeoff_command(
    script: Path = typer.Argument(
        ...,
        metavar="SCRIPT",
        help="Python script defining the workload: KernelBench "
        "`class Model` + `get_inputs()` (+ `get_init_inputs()`), or "
        "`gpudiag_workloads()`, or any callable named with --entry.",
    ),
    modes: str | None = typer.Option(
        None,
        "--modes",
        "-m",
        metavar="LIST",
        help="Comma-separated modes to "
        f"compare (default: all of {', '.join(ALL_MODES)}). eager always runs: it "
        "is the baseline for speedup and correctness.",
    ),
    knobs: str | None = typer.Option(
        None,
        "--knobs",
        metavar="LIST",
        help=f"Settings beyond the mode: "
        f"{AUTO} (the default: those the workload's signals call for), {NONE}, or "
        f"names from {', '.join(KNOBS)} (add {AUTO} to keep the automatic ones).",
    ),
    device: str = typer.Option(
        "auto",
        "--device",
        "-d",
        metavar="DEVICE",
        help="cuda, cpu, or auto (cuda when a GPU is visible). On cpu, the CUDA-graph modes are reported as skipped.",
    ),
    timeout: float = typer.Option(
        1200.0,
        "--timeout",
        metavar="SECONDS",
        help="Per-measurement limit (compile + check + timing); one past it is stopped and reported as a timeout.",
    ),
    quick: bool = typer.Option(
        False,
        "--quick",
        help="Short timing budgets (25 ms warm-up, 100 ms of reps "
        "instead of 100 ms and 1000 ms): a fast, noisier answer.",
    ),
    warm_cache: bool = typer.Option(
        False,
        "--warm-cache",
        help="Reuse your inductor and triton caches instead "
        "of fresh on-disk state per measurement (compile times are then not cold).",
    ),
    entry: str | None = typer.Option(
        None,
        "--entry",
        metavar="NAME",
        help="Name of the callable in SCRIPT to measure (a function, a module instance, or an nn.Module class).",
    ),
    inputs: str | None = typer.Option(
        None,
        "--inputs",
        metavar="NAME",
        help="Name of the function in "
        "SCRIPT returning --entry's arguments (a tuple/list, or a dict of "
        "keyword arguments). Defaults to get_inputs.",
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        metavar="FILE",
        help="Write the JSON document "
        "here (a regular file or a new path; through a symlink to its target), "
        "rewritten atomically after every measurement, so an interrupted run "
        "keeps everything finished so far. Checked before anything runs: the path must "
        "resolve and its folder must take a new file.",
    ),
    json_out: bool = typer.Option(
        False, "--json", help="Print one JSON document (schema gpudiag.bakeoff/3) and nothing else on stdout."
    ),
    spawn: str = typer.Option(
        "fork",
        "--spawn",
        metavar="METHOD",
        help="fork: one process imports torch once "
        "and forks a clean child per measurement before any CUDA call; fresh: a new "
        "Python interpreter per measurement.",
    ),
    baseline: Path | None = typer.Option(
        None,
        "--baseline",
        metavar="FILE",
        help="An earlier --output: "
        "fail (exit 1) when a row it timed is now slower by more than "
        "--max-regression, or no longer runs.",
    ),
    max_regression: float | None = typer.Option(
        None,
        "--max-regression",
        metavar="PCT",
        help="Allowed "
        "slow-down against --baseline, in percent (default 5). GPU-bound rows are compared by "
        "their median; host-timed rows (the CPU's wall clock, launch-bound loops) must be slower "
        "beyond both runs' quartile ranges.",
    ),
    max_regression_launch_bound: float | None = typer.Option(
        None,
        "--max-regression-launch-bound",
        metavar="PCT",
        help="The limit for launch-bound rows, beyond both runs' quartile ranges "
        "(default 50, or --max-regression if larger: host time moves between processes).",
    ),
    allow_empty_gate: bool = typer.Option(
        False,
        "--allow-empty-gate",
        help="Let a gate that compared no row pass (a renamed workload, "
        "a baseline of another script); by default it fails.",
    ),
    max_graph_breaks: int | None = typer.Option(
        None, "--max-graph-breaks", metavar="N", help="Fail when a compiled row has more graph breaks."
    ),
    max_recompiles: int | None = typer.Option(
        None, "--max-recompiles", metavar="N", help="Fail when a compiled row recompiles more often."
    ),
    max_compile_s: float | None = typer.Option(
        None, "--max-compile-s", metavar="SECONDS", help="Fail when a compiled row's cold compile takes longer."
    ),
) -> None:
    from gpudiag.bakeoff.loader import ScriptError
    from gpudiag.bakeoff.session import Bakeoff
    from gpudiag.bakeoff.settings import Limits, Settings

    settings = Settings(
        script=str(script),
        modes=modes,
        device=device,
        timeout_s=timeout,
        quick=quick,
        warm_cache=warm_cache,
        entry=entry,
        inputs=inputs,
        spawn=spawn,
        output=str(output) if output else None,
        knobs=knobs,
        limits=Limits(
            str(baseline) if baseline else None,
            max_regression,
            max_graph_breaks,
            max_recompiles,
            max_compile_s,
            max_regression_launch_bound,
            allow_empty_gate,
        ),
    )
    err = console(sys.stderr)
    progress = _ProgressView(err)
    bake = Bakeoff(settings, progress)
    try:
        progress.begin(bake)
        try:
            rep = bake.run()
        finally:
            progress.end()
    except ScriptError as exc:
        if exc.user_traceback:
            typer.echo(exc.user_traceback, err=True)
        raise
    try:
        if json_out:
            emit_json(rep.to_dict())
        else:
            render(rep)
        if bake.written is not None:
            err.print(f"[dim]results written to {_escape(str(settings.output))}[/dim]")
        for gate in rep.gates.results if rep.gates else []:
            if not gate.passed:
                typer.echo(f"gpudiag: {gate.line}", err=True)
        if rep.run.interrupted:
            typer.echo(f"gpudiag: stopped by {rep.run.interrupted_by}; the report shows what finished", err=True)
    except OSError:
        if not rep.run.interrupted:  # after SIGHUP the terminal may be gone: the exit code still tells
            raise
    raise typer.Exit(rep.exit_code)


class _ProgressView:
    """Live progress on stderr: workload, row, phase and elapsed time; one line per finished row."""

    def __init__(self, err: Console) -> None:
        self.err = err
        self.status: Any = None  # rich's Status while a bake-off runs
        self.t0 = time.monotonic()

    def begin(self, bake: Bakeoff) -> None:
        h = bake.harness
        dev = h.run.device
        self.err.print(
            f"[bold]bake-off[/bold] {_escape(h.script.name)} on {_escape(dev.name or 'CPU')} · modes "
            f"{', '.join(h.modes)} · {h.settings.warmup_ms:g} ms warm-up, {h.settings.rep_ms:g} ms reps"
        )
        if dev.note:
            self.err.print(f"[yellow]{_escape(dev.note)}[/yellow]")
        self.status = self.err.status("starting")
        self.status.start()

    def end(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None

    def __call__(self, p: Progress) -> None:
        if p.phase == "done" and p.row is not None:
            r = p.row
            style = STATUS_STYLE.get(r.status, "")
            if r.timing is not None:
                detail = f" · compile {_s(r.compile_s)}, median {_ms(r.median_ms)} ms"
                if r.timing.loop_ms is not None:
                    detail += f", loop {_ms(r.timing.loop_ms)} ms" + (" (launch-bound)" if r.launch_bound else "")
                if r.status not in ("ok",) and r.reason:
                    detail += f": {_escape(r.reason)}"
            else:
                detail = f": {_escape(r.reason)}" if r.reason else ""
            self.err.print(f"  {_escape(r.workload)} · {r.label}: [{style}]{r.status}[/{style}]{detail}")
            return
        if self.status is None:
            return
        step = f"[{p.index}/{p.total}] " if p.total else ""
        what = f"{_escape(p.workload)} · {p.label}" if p.workload else "loading the script"
        self.status.update(f"{step}{what}: {p.phase} {p.elapsed_s:.1f} s (total {time.monotonic() - self.t0:.0f} s)")


# -- cells ---------------------------------------------------------------------------------------


def _s(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f} s"


def _ms(x: float | None) -> str:
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
    return f"{_ms(r.timing.q1_ms)}–{_ms(r.timing.q3_ms)}" if r.timing else "—"


def _loop(r: ModeResult) -> str:
    if r.timing is None or r.timing.loop_ms is None:
        return "—"
    return f"[yellow]{_ms(r.timing.loop_ms)}*[/yellow]" if r.launch_bound else _ms(r.timing.loop_ms)


def _counts(r: ModeResult) -> str:
    o = r.observed
    return "—" if o.graph_breaks is None else f"{o.graph_breaks}/{o.recompiles}"


Column = tuple[str, Callable[["ModeResult"], str]]


def _columns(rows: list[ModeResult], ws: WorkloadSummary) -> list[Column]:
    cols: list[Column] = [
        ("compile s", lambda r: _s(r.compile_s).replace(" s", "")),
        ("median ms", lambda r: _ms(r.median_ms)),
        ("q1–q3 ms", _quartiles),
        ("min ms", lambda r: _ms(r.timing.min_ms) if r.timing else "—"),
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
    value_w = max(len(_ms(r.per_call_ms)) for r in timed) + 3
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
            t.add_row(bar, f"{_ms(r.per_call_ms)} ms")
        else:
            t.add_row(r.label, bar, f"{_ms(r.per_call_ms)} ms")
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
            f"[dim]{_escape(ws.workload)} writes into its inputs ({_escape(', '.join(writer.mutated_inputs))}): "
            "every compared call got a fresh copy, and what it wrote was compared too; the timed calls reuse one "
            "copy[/dim]"
        )
    for r in rows:
        if r.status != "ok" and r.reason:
            out.append(f"[{STATUS_STYLE.get(r.status, '')}]{r.label}[/]: {_escape(r.reason)}")
        for why in ws.implausible.get(r.label, []):
            out.append(f"[yellow]{r.label}: ! {_escape(why)}[/yellow]")
        for note in (r.correctness.notes if r.correctness else [])[:2]:
            out.append(f"[dim]{r.label}: {_escape(note)}[/dim]")
        for w in r.observed.warnings[:3]:
            tag = f" [cyan]→ explain-warning: {w.explained['id']}[/cyan]" if w.explained else ""
            count = f" (×{w.count})" if w.count > 1 else ""
            out.append(f"[dim]{r.label} warned: {_escape(w.line)}{count}[/dim]{tag}")
        if len(r.observed.warnings) > 3:
            out.append(f"[dim]{r.label}: {len(r.observed.warnings) - 3} more warning line(s) in --json[/dim]")
    return out


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _knob_lines(rep: BakeoffReport, workload: str) -> list[str]:
    """The knobs considered for a workload: measured, asked for, or called for but not applicable."""
    out = []
    for d in rep.run.variants:
        if d.workload != workload or not (d.measured or d.signal or d.why.startswith("asked")):
            continue
        on = f" on {d.base}" if d.base else ""
        verdict = "measured" if d.measured else "not measured"
        out.append(
            f"{d.knob}{on}: {verdict}: {_escape(d.why)}"
            + (f" ({_escape(d.signal)})" if d.signal and d.signal not in d.why else "")
        )
    return out


def render(rep: BakeoffReport) -> None:
    con = console()
    run, summary = rep.run, rep.summary
    v, st = run.versions, run.settings
    title = f"gpudiag bakeoff · {Path(st.script).name} · {_where(run)}"
    if len(title) + 6 <= con.width:
        con.rule(f"[bold]gpudiag bakeoff[/bold] · {_escape(Path(st.script).name)} · {_escape(_where(run))}")
    else:  # a rule cuts its title with "…": a GPU's name must stay whole
        con.print(Text(title, style="bold"))
        con.rule()
    con.print(
        f"[dim]torch {v.torch} · triton {v.triton} · python {v.python} · "
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
            f"[bold]{_escape(ws.workload)}[/bold]" + (f"  [dim]({_escape(', '.join(wl.args))})[/dim]" if wl else ""),
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
                    f"[{style}]{'✓' if g.passed else '✗'}[/{style}] {_escape(g.line)}"
                    + (f" [dim]({_escape(g.note)})[/dim]" if g.note else "")
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
                _ms(ws.winner_ms),
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
