"""``gpudiag explain-warning``: what a torch.compile / Inductor / Triton message means on this GPU."""

from __future__ import annotations

from typing import Optional

import typer

from gpudiag.cli.app import app
from gpudiag.cli.output import console, emit_json
from gpudiag.errors import EXIT_NO, EXIT_USAGE, GpudiagError

SEVERITY_STYLE = {"fatal": "bold red", "wrong-results": "red", "performance": "yellow", "harmless": "green"}
APPLIES_STYLE = {"yes": "bold red", "no": "green", "unknown": "yellow", "n/a": "dim"}


def _device(gpu: Optional[str]):
    from gpudiag.device import live_or_none, resolve_target

    if gpu:
        return resolve_target(gpu=gpu), None
    # NVML answers everything explain's verdicts need (SM count, compute capability, hence the
    # per-architecture limits) without cuInit, a quarter of this command's time on an H100 host.
    return live_or_none(nvml_only=True)


@app.command("explain-warning")
def explain_warning_command(
    text: Optional[str] = typer.Argument(None, metavar="TEXT", help="The warning or error line (with or without "
                                         "its logger prefix), or a catalogue id such as inductor.not-enough-sms."),
    log: Optional[str] = typer.Option(None, "--log", "-l", metavar="FILE", help="Scan a whole log file ('-' for "
                                      "stdin): each known warning once, with count, first line and verdict."),
    list_entries: bool = typer.Option(False, "--list", help="List the catalogue, one line per entry, and exit."),
    gpu: Optional[str] = typer.Option(None, "--gpu", "-g", metavar="NAME", help="Give verdicts for a catalogue GPU "
                                      "('RTX 3070', 'H100') instead of the live one."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document (schema gpudiag.explain-warning/1) "
                                  "and nothing else."),
) -> None:
    """What a torch.compile, Inductor or Triton warning means, whether it applies to your GPU, and the fix.

    Give one message as TEXT, a catalogue id, or a whole log with --log. Exit 1 when nothing is
    recognised (closest entries are shown), 2 for empty, binary or unreadable input.
    """
    from gpudiag.explain import report as core

    if list_entries:
        _list(core, json_out)
        return
    if (text is None) == (log is None):
        raise GpudiagError("give exactly one of TEXT or --log FILE (or --list); see --help", EXIT_USAGE)
    facts, why = _device(gpu)
    ctx = core.Context.create(facts, why)
    device = core.Device.of(facts, why)
    if log is not None:
        rep = core.explain_log(ctx, log)
        if json_out:
            emit_json(core.log_to_dict(rep, device))
        else:
            _render_log(rep, device)
        if not rep.known:
            raise typer.Exit(EXIT_NO)
        return
    assert text is not None
    result = core.explain_id(ctx, text.strip()) if ctx.catalogue.get(text.strip()) else core.explain_text(ctx, text)
    if isinstance(result, core.NoMatch):
        if json_out:
            emit_json({"schema": core.SCHEMA, "form": "no-match", "device": vars(device), "text": result.text,
                       "closest": [{"id": e.id, "title": e.title} for e in result.closest]})
        else:
            con = console()
            con.print("[yellow]No catalogue entry matches this message.[/yellow]")
            if result.closest:
                con.print("Closest entries (explain one with `gpudiag explain-warning ID`):")
                for e in result.closest:
                    con.print(f"  {e.id:38} {e.title}", markup=False)
        raise typer.Exit(EXIT_NO)
    if json_out:
        doc = {"schema": core.SCHEMA, "form": "text" if result.line else "id", "device": vars(device)}
        doc.update(result.to_dict())
        emit_json(doc)
        return
    _render_one(result, device)


def _list(core, json_out: bool) -> None:
    cat = core.load()
    if json_out:
        emit_json({"schema": core.SCHEMA, "form": "list",
                   "entries": [{"id": e.id, "severity": e.severity, "title": e.title} for e in cat.entries]})
        return
    con = console()
    for e in cat.entries:
        con.print(f"[{SEVERITY_STYLE[e.severity]}]{e.severity:13}[/] {e.id:40} ", end="")
        con.print(e.title, markup=False)
    con.print(f"[dim]{len(cat.entries)} entries[/dim]")


def _device_line(device) -> str:
    if device.name is None:
        return f"[yellow]No GPU here and no --gpu: explained without device verdicts ({device.none_reason}).[/yellow]"
    return f"[dim]Verdicts for {device.name} ({device.sm}, {device.sm_count} SMs, {device.origin}).[/dim]"


def _render_one(ex, device) -> None:
    from rich.markup import escape

    con = console()
    e, v = ex.entry, ex.verdict
    con.print(f"[bold]{escape(e.title)}[/bold]  [dim]{e.id}[/dim]  [{SEVERITY_STYLE[e.severity]}]{e.severity}[/]")
    con.print(_device_line(device))
    con.print(f"\n[bold cyan]Your GPU[/bold cyan]  [{APPLIES_STYLE[v.applies]}]{escape(v.summary)}[/]")
    for d in v.details:
        con.print(f"  {escape(d)}")
    for c in v.commands:
        con.print(f"  run: [bold]{escape(c)}[/bold]")
    con.print("\n[bold cyan]What it means[/bold cyan]")
    con.print(e.meaning, markup=False)
    con.print("\n[bold cyan]Why it fired[/bold cyan]")
    con.print(e.trigger, markup=False)
    src = f"{e.source_file} :: {e.source_function}"
    versions = ", ".join(x for x in (f"since {e.since}" if e.since else "", f"removed in {e.removed_in}" if e.removed_in else "") if x)
    con.print(f"[dim]source: {escape(src)}{' (' + versions + ')' if versions else ''}[/dim]")
    if e.changes:
        con.print(f"[dim]changed: {escape(e.changes)}[/dim]")
    con.print("\n[bold cyan]What to do[/bold cyan]")
    for f in e.fixes:
        con.print(f"- {escape(f.text)}")
        for code_line in f.code.splitlines():
            con.print(f"    {code_line}", markup=False, highlight=False)


def _render_log(rep, device) -> None:
    from rich.markup import escape

    con = console()
    con.print(f"[bold]{escape(rep.source)}[/bold]: {rep.lines:,} lines, {rep.bytes_read:,} bytes, "
              f"{len(rep.known)} known warning(s), {len(rep.unknown)} unrecognised group(s)")
    con.print(_device_line(device))
    if not rep.known:
        con.print("[yellow]No catalogued warning found in this log.[/yellow]")
    for it in rep.known:
        e, v = it.explanation.entry, it.explanation.verdict
        con.print(f"\n[{SEVERITY_STYLE[e.severity]}]{e.severity:13}[/] [bold]{e.id}[/bold]  x{it.count}  "
                  f"first at line {it.first_line}")
        con.print(f"  {escape(e.title)}")
        con.print(f"  [{APPLIES_STYLE[v.applies]}]{escape(v.summary)}[/]")
        for c in v.commands:
            con.print(f"  run: {escape(c)}")
    if rep.unknown:
        con.print("\n[bold]Unrecognised warning/error lines[/bold] (numbers collapsed; first occurrence shown):")
        for u in rep.unknown:
            con.print(f"  x{u.count:<5} line {u.first_line:<7} ", end="")
            con.print(u.message[:160], markup=False)
    if rep.unknown_overflow:
        con.print(f"  ... and {rep.unknown_overflow} more unrecognised lines in further groups")
    if rep.known:
        con.print("\n[dim]Explain one in full: gpudiag explain-warning ID[/dim]")
