"""``gpudiag bakeoff SCRIPT``: which torch.compile mode is fastest for this workload, measured fairly."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Optional

import typer
from rich import box
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gpudiag.bakeoff import harness as core
from gpudiag.bakeoff import report
from gpudiag.bakeoff.loader import ScriptError
from gpudiag.bakeoff.modes import ALL_MODES, parse_modes
from gpudiag.cli.app import app
from gpudiag.cli.output import console, emit_json, fmt_bytes
from gpudiag.errors import EXIT_NO

STATUS_STYLE = {"ok": "green", "mismatch": "bold red", "skipped": "dim", "not_run": "dim", "timeout": "yellow",
                "crashed": "red", "oom": "red", "compile_error": "red", "error": "red", "harness_error": "magenta",
                "interrupted": "yellow"}
BAR_WIDTH = 40


@app.command("bakeoff")
def bakeoff_command(
    script: Path = typer.Argument(..., metavar="SCRIPT", help="Python script defining the workload: KernelBench "
                                  "`class Model` + `get_inputs()` (+ `get_init_inputs()`), or "
                                  "`gpudiag_workloads()`, or any callable named with --entry."),
    modes: Optional[str] = typer.Option(None, "--modes", "-m", metavar="LIST", help="Comma-separated modes to "
                                        f"compare (default: all of {', '.join(ALL_MODES)}). eager always runs: it "
                                        "is the baseline for speedup and correctness."),
    device: str = typer.Option("auto", "--device", "-d", metavar="DEVICE", help="cuda, cpu, or auto (cuda when a "
                               "GPU is visible). On cpu, the CUDA-graph modes are reported as skipped."),
    timeout: float = typer.Option(1200.0, "--timeout", metavar="SECONDS", help="Per-mode limit (compile + "
                                  "check + timing); a mode past it is stopped and reported as a timeout."),
    quick: bool = typer.Option(False, "--quick", help="Short timing budgets (25 ms warm-up, 100 ms of reps "
                               "instead of 100 ms and 1000 ms): a fast, noisier answer."),
    warm_cache: bool = typer.Option(False, "--warm-cache", help="Reuse your inductor and triton caches instead "
                                    "of a fresh empty cache per mode (compile times are then not cold)."),
    entry: Optional[str] = typer.Option(None, "--entry", metavar="NAME", help="Name of the callable in SCRIPT "
                                        "to measure (a function, a module instance, or an nn.Module class)."),
    inputs: Optional[str] = typer.Option(None, "--inputs", metavar="NAME", help="Name of the function in "
                                         "SCRIPT returning --entry's arguments (a tuple/list, or a dict of "
                                         "keyword arguments). Defaults to get_inputs."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", metavar="FILE", help="Write the JSON document "
                                          "here, rewritten atomically after every mode, so an interrupted run "
                                          "keeps everything finished so far."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document (schema gpudiag.bakeoff/1) "
                                  "and nothing else on stdout."),
    spawn: str = typer.Option("fork", "--spawn", metavar="METHOD", help="fork: one process imports torch once "
                              "and forks a clean child per mode before any CUDA call; fresh: a new Python "
                              "interpreter per mode."),
) -> None:
    """Which torch.compile mode is really fastest for this workload on this GPU, measured fairly.

    Each workload runs in each mode (eager, default, reduce-overhead, max-autotune,
    max-autotune-no-cudagraphs) in its own fresh process with its own empty inductor and triton
    caches. Per mode: cold compile time (the first call), steady-state latency with triton's
    do_bench after warm-up (median, min, quartiles) and, on CUDA, the time per call of calls issued
    back to back (host included), peak GPU memory, the largest error against eager (tolerance by
    dtype, an fp64 run arbitrating rounding differences; a mismatch is flagged), graph breaks,
    recompiles, and the warnings the mode logged. A mode whose back-to-back calls take over 1.15x
    its do_bench median is launch-bound (marked *) and ranked by that loop time; the others by the
    median. A mode that crashes, times out, runs out of memory or fails to compile becomes a row
    with its status and reason; the others still run.

    Notes: workloads run under torch.no_grad(). Tensors and nn.Modules returned by the script are
    moved to the device; tensors a function closes over are not. Inputs and weights are built
    with torch.manual_seed(0) in every process, so every mode sees the same numbers.

    Exit codes: 0 the bake-off ran; 1 every mode failed; 2 bad input (missing script, no
    workload found, the script raising or exiting, bad options, --device cuda without a GPU).
    """
    settings = core.Settings(script=str(script), modes=parse_modes(modes), device=device, timeout_s=timeout,
                             quick=quick, warm_cache=warm_cache, entry=entry, inputs=inputs, spawn=spawn,
                             output=str(output) if output else None)
    err = console(sys.stderr)
    progress = _ProgressView(err)
    try:
        harness = core.Harness(settings, progress)
        progress.begin(harness)
        try:
            run = harness.execute()
        finally:
            progress.end()
    except ScriptError as exc:
        if exc.user_traceback:
            typer.echo(exc.user_traceback, err=True)
        raise
    summary = report.summarize(run)
    if json_out:
        emit_json(run.to_dict())
    else:
        render(run, summary)
    if settings.output:
        err.print(f"[dim]results written to {settings.output}[/dim]")
    if run.interrupted:
        typer.echo("gpudiag: interrupted; the table shows the modes that finished", err=True)
        raise typer.Exit(130)
    if not summary.any_ok:
        raise typer.Exit(EXIT_NO)


class _ProgressView:
    """Live progress on stderr: workload, mode, phase and elapsed time; one line per finished mode."""

    def __init__(self, err: Console) -> None:
        self.err = err
        self.status = None
        self.t0 = time.monotonic()

    def begin(self, harness: core.Harness) -> None:
        dev = harness.run.device
        where = dev.get("name") or "CPU"
        self.err.print(f"[bold]bake-off[/bold] {harness.script.name} on {where} · modes {', '.join(harness.modes)}"
                       f" · {harness.settings.warmup_ms:g} ms warm-up, {harness.settings.rep_ms:g} ms reps")
        if dev.get("note"):
            self.err.print(f"[yellow]{dev['note']}[/yellow]")
        self.status = self.err.status("starting")
        self.status.start()

    def end(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None

    def __call__(self, p: core.Progress) -> None:
        if p.phase == "done" and p.row is not None:
            r = p.row
            style = STATUS_STYLE.get(r.status, "")
            detail = (f"compile {_s(r.compile_s)}, median {_ms(r.median_ms)} ms" if r.median_ms is not None
                      else (r.reason or ""))
            if r.timing.get("loop_ms") is not None:
                detail += f", loop {_ms(r.timing['loop_ms'])} ms" + (" (launch-bound)" if r.launch_bound else "")
            self.err.print(f"  {r.workload} · {r.mode}: [{style}]{r.status}[/{style}] {detail}")
            return
        if self.status is None:
            return
        step = f"[{p.index}/{p.total}] " if p.total else ""
        what = f"{p.workload} · {p.mode}" if p.workload else "loading the script"
        self.status.update(f"{step}{what}: {p.phase} {p.elapsed_s:.1f} s (total {time.monotonic() - self.t0:.0f} s)")


def _s(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f} s"


def _ms(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.4f}" if x < 1 else f"{x:.3f}" if x < 100 else f"{x:.1f}"


def _err(c: dict | None) -> str:
    if not c:
        return "—"
    text = f"{c.get('max_abs_error', 0):.1e}"
    return text if c.get("ok") else f"[bold red]{text} ✗[/bold red]"


def _bytes(r: core.ModeResult) -> str:
    return fmt_bytes(r.peak_bytes) if r.peak_bytes is not None else "—"


# Terminal widths below which columns are left out, least needed first (--json keeps every number).
WIDE_TABLE_COLUMNS = 130  # min and peak memory
NARROW_TABLE_COLUMNS = 100  # quartiles and graph-break counts


def workload_table(name: str, rows: list[core.ModeResult], ws: report.WorkloadSummary, width: int = 200) -> Table:
    t = Table(box=box.SIMPLE_HEAD, title=f"[bold]{name}[/bold]", title_justify="left", show_edge=False,
              pad_edge=False)
    looped = any(r.timing.get("loop_ms") is not None for r in rows)
    wide, medium = width >= WIDE_TABLE_COLUMNS, width >= NARROW_TABLE_COLUMNS
    cells: dict[str, Any] = {}  # column -> function of the row

    def column(title: str, fn: Any, show: bool = True) -> None:
        if show:
            cells[title] = fn

    column("compile s", lambda r: _s(r.compile_s).replace(" s", ""))
    column("median ms", lambda r: _ms(r.median_ms))
    column("q1–q3 ms", lambda r: f"{_ms(r.timing.get('q1_ms'))}–{_ms(r.timing.get('q3_ms'))}" if r.timing else "—",
           medium)
    column("min ms", lambda r: _ms(r.timing.get("min_ms")), wide)
    column("loop ms", lambda r: (f"[yellow]{_ms(r.timing['loop_ms'])}*[/yellow]" if r.launch_bound
                                 else _ms(r.timing.get("loop_ms"))), looped)
    column("vs eager", lambda r: f"{ws.speedup_vs_eager[r.mode]:.2f}x" if ws.speedup_vs_eager.get(r.mode) else "—")
    column("peak mem", _bytes, wide)
    column("max err", lambda r: _err(r.correctness))
    column("brk/rcmp", lambda r: "—" if r.graph_breaks is None
           else f"{r.graph_breaks}/{r.recompiles if r.recompiles is not None else '?'}", medium)
    t.add_column("mode", no_wrap=True)
    for title in cells:
        t.add_column(title, justify="right", no_wrap=True)
    t.add_column("status", no_wrap=True)
    for r in rows:
        mode = f"★ {r.mode}" if r.mode == ws.winner else f"  {r.mode}"
        style = STATUS_STYLE.get(r.status, "")
        t.add_row(Text(mode, style="bold green" if r.mode == ws.winner else ""), *(fn(r) for fn in cells.values()),
                  f"[{style}]{r.status}[/{style}]")
    return t


def bar_chart(rows: list[core.ModeResult], winner: str | None) -> Table:
    """Time per call as ranked (core.ModeResult.per_call_ms), one bar per timed mode."""
    timed = [r for r in rows if r.per_call_ms is not None]
    t = Table.grid(padding=(0, 1))
    t.add_column(no_wrap=True)
    t.add_column(no_wrap=True)
    t.add_column(no_wrap=True, justify="right")
    if not timed:
        return t
    top = max(r.per_call_ms for r in timed)
    for r in timed:
        n = max(1, round(BAR_WIDTH * r.per_call_ms / top))
        colour = "green" if r.mode == winner else ("red" if r.status == "mismatch" else "cyan")
        t.add_row(r.mode, f"[{colour}]{'█' * n}[/{colour}]{' ' * (BAR_WIDTH - n)}", f"{_ms(r.per_call_ms)} ms")
    return t


LEGEND = ("median: do_bench's device time per call (L2 flushed before each); loop: time per call of calls issued "
          "back to back, host included. * marks a launch-bound mode (loop > 1.15 x median: the host issues calls "
          "more slowly than the GPU runs them); the ★, 'vs eager' and the bars use its loop time, and the "
          "median elsewhere.")


def _notes(rows: list[core.ModeResult]) -> list[str]:
    out = []
    for r in rows:
        if r.status != "ok" and r.reason:
            out.append(f"[{STATUS_STYLE.get(r.status, '')}]{r.mode}[/]: {r.reason}")
        for note in (r.correctness or {}).get("notes", [])[:2]:
            out.append(f"[dim]{r.mode}: {note}[/dim]")
        for w in r.warnings[:3]:
            ex = w.get("explained")
            tag = f" [cyan]→ explain-warning: {ex['id']}[/cyan]" if ex else ""
            count = f" (×{w['count']})" if w.get("count", 1) > 1 else ""
            out.append(f"[dim]{r.mode} warned: {w['line'][:160]}{count}[/dim]{tag}")
        if len(r.warnings) > 3:
            out.append(f"[dim]{r.mode}: {len(r.warnings) - 3} more warning line(s) in --json[/dim]")
    return out


def render(run: core.BakeoffRun, summary: report.Summary) -> None:
    con = console()
    d = run.device
    where = (f"{d.get('name')} ({d.get('sm')}, {d.get('sm_count')} SMs)" if d.get("kind") == "cuda" else "CPU")
    v = run.versions
    con.rule(f"[bold]gpudiag bakeoff[/bold] · {Path(run.settings['script']).name} · {where}")
    con.print(f"[dim]torch {v.get('torch')} · triton {v.get('triton')} · python {v.get('python')} · "
              f"timing {run.settings['warmup_ms']:g} ms warm-up + {run.settings['rep_ms']:g} ms reps · "
              f"{'warm caches' if run.settings['warm_cache'] else 'cold caches'} · {run.settings['spawn']} · "
              f"wall {run.wall_s or 0:.1f} s[/dim]")
    for ws in summary.workloads:
        rows = [r for r in run.rows if r.workload == ws.workload]
        wl = next((w for w in run.workloads if w["name"] == ws.workload), {})
        con.print()
        con.print(workload_table(ws.workload + (f"  [dim]({', '.join(wl.get('args', []))})[/dim]" if wl else ""),
                                 rows, ws, con.width))
        con.print(bar_chart(rows, ws.winner))
        if any(r.timing.get("loop_ms") is not None for r in rows):
            con.print(f"  [dim]{LEGEND}[/dim]")
        for line in _notes(rows):
            con.print("  " + line)
    if len(summary.workloads) > 1:
        con.print()
        t = Table(box=box.SIMPLE_HEAD, title="[bold]per-workload winners[/bold]", title_justify="left", show_edge=False)
        for col in ("workload", "winner", "ms per call", "vs eager", "runner-up", "margin"):
            t.add_column(col, no_wrap=True)
        for ws in summary.workloads:
            sp = ws.speedup_vs_eager.get(ws.winner or "")
            t.add_row(ws.workload, ws.winner or "—", _ms(ws.winner_ms), f"{sp:.2f}x" if sp else "—",
                      ws.runner_up or "—", f"{ws.margin:.1%}" + (" (noise)" if ws.within_noise else "")
                      if ws.margin is not None else "—")
        con.print(t)
        m = Table(box=box.SIMPLE_HEAD, title="[bold]per mode[/bold]", title_justify="left", show_edge=False)
        for col in ("mode", "wins", "geomean vs eager", "workloads timed"):
            m.add_column(col, no_wrap=True)
        for mode, wins in summary.wins.items():
            g = summary.geomean_speedup.get(mode)
            m.add_row(mode, str(wins), f"{g:.2f}x" if g else "—", str(summary.geomean_workloads.get(mode, 0)))
        con.print(m)
        if summary.average_win_margin is not None:
            con.print(f"average win margin of the two best modes: {summary.average_win_margin:.1%}")
    con.print(Panel(summary.recommendation or "nothing measured", title="recommendation", box=box.ROUNDED))
