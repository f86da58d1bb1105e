"""``gpudiag explain-warning`` rendered for a terminal: one explanation, the catalogue's list, the
closest entries when nothing matches, and a log's report (its findings, counts, unknown lines and
the recompile and graph-break story per rank). Imported only when a report is rendered as text."""

from __future__ import annotations

from gpudiag.cli.output import console
from gpudiag.explain.catalog import reflow

SEVERITY_STYLE = {
    "fatal": "bold red",
    "wrong-results": "red",
    "performance": "yellow",
    "unknown": "cyan",
    "harmless": "green",
}
APPLIES_STYLE = {"yes": "bold red", "no": "green", "unknown": "yellow", "n/a": "dim"}
KIND_LABEL = {"catalogue": "", "registry": "torch registry", "family": "family, not exact"}


def _markup_free(
    con, text: str, indent: int = 0, style: str | None = None, lead: tuple[str, str] | None = None, **kw
) -> None:
    """Plain text (no markup) wrapped to the console width, wrapped lines indented like the first;
    a word longer than the width (a path) is broken, never cut. `lead` is a styled (text, style)
    printed before the first line; wrapped lines then line up under `text`."""
    import textwrap

    from rich.text import Text

    indent += len(text) - len(text.lstrip(" "))
    first = " " * indent
    if lead is not None:
        first = lead[0] + " " * max(indent - len(lead[0]), 0)
        indent = max(indent, len(lead[0]))
    pad = " " * indent
    wrapped = (
        textwrap.fill(
            text.strip(" "),
            width=max(con.width, indent + 20),
            initial_indent=" " * len(first),
            subsequent_indent=pad,
            break_long_words=True,
            break_on_hyphens=False,
            replace_whitespace=False,
            drop_whitespace=True,
        )
        or pad
    )
    out = Text()
    if lead is not None:
        out.append(first, style=lead[1])
        wrapped = wrapped[len(first) :]
    out.append(wrapped, style=style or "")
    con.print(out, highlight=False, soft_wrap=True, **kw)


def _prose(con, text: str, indent: int = 0) -> None:
    for line in reflow(text).splitlines():
        _markup_free(con, line, indent)


def _render_list(rep) -> None:
    con = console()
    for it in rep.listed:
        _markup_free(
            con,
            f"{it.id}{' (family)' if it.kind == 'family' else ''}  {it.title}",
            lead=(f"{it.severity:13} ", SEVERITY_STYLE[it.severity]),
        )
    families = sum(it.kind == "family" for it in rep.listed)
    tail = (
        f"; graph breaks: {rep.registry_size} types from {rep.registry_label}"
        if rep.registry_label
        else "; no graph-break registry in the installed torch"
    )
    _markup_free(con, f"{len(rep.listed) - families} entries, {families} families{tail}", style="dim")


def _device_line(con, device) -> None:
    if device.name is None:
        _markup_free(
            con, f"No GPU here and no --gpu: explained without device verdicts; {device.none_reason}.", style="yellow"
        )
    else:
        _markup_free(
            con, f"Verdicts for {device.name} ({device.sm}, {device.sm_count} SMs, {device.origin}).", style="dim"
        )


def _heading(con, text: str) -> None:
    con.print()
    _markup_free(con, text, style="bold cyan")


def _render_one(rep) -> None:
    con = console()
    ex = rep.explanation
    v = ex.verdict
    _markup_free(con, ex.title, style="bold")
    _markup_free(con, ex.id, lead=(f"{ex.severity:13} ", SEVERITY_STYLE[ex.severity]), style="dim")
    if ex.summary:
        _markup_free(con, ex.summary, style="bold")
    if ex.kind == "family":
        _markup_free(
            con,
            "Family answer (a last resort): gpudiag knows what emitted this line, not this exact message; "
            "the advice below is for that part of the stack.",
            style="yellow",
        )
    elif ex.scope == "general":
        _markup_free(
            con,
            "General answer: eager PyTorch (and other tools) print this line too, and nothing in it shows "
            "torch.compile, inductor or Triton at work; compile-specific causes are left out.",
            style="cyan",
        )
    _markup_free(con, f"Source of this explanation: {ex.origin}.", style="dim" if ex.exact else "yellow")
    _device_line(con, rep.device)
    _heading(con, {"triton": "Your Triton", "torch": "Your torch"}.get(v.about, "Your GPU"))
    _markup_free(con, v.summary, style=APPLIES_STYLE[v.applies])
    for d in v.details:
        _markup_free(con, d, 2)
    for c in v.commands:
        _markup_free(con, f"run: {c}", 2, style="bold")
    if ex.guard is not None:
        _heading(con, f"The failed guard: {ex.guard.title}")
        _markup_free(con, ex.guard.failure)
        if ex.guard.fix:
            _markup_free(con, f"fix: {ex.guard.fix}", 2)
        if ex.guard.hint:
            _markup_free(con, f"torch's hint: {ex.guard.hint}", 2)
    _heading(con, "What it means")
    _prose(con, ex.meaning)
    _heading(con, "Why it fired")
    _prose(con, ex.trigger)
    src = ex.source
    where = f"{src.file} :: {src.function}" if src.function else src.file
    versions = ", ".join(
        x
        for x in (f"since {src.since}" if src.since else "", f"removed in {src.removed_in}" if src.removed_in else "")
        if x
    )
    _markup_free(con, f"source: {where}{' (' + versions + ')' if versions else ''}", style="dim")
    if src.changes:
        _markup_free(con, f"changed: {src.changes}", style="dim")
    if ex.match.graph_break is not None and ex.kind != "registry":
        gb = ex.match.graph_break
        _markup_free(con, f"torch's graph-break registry: {gb.gb_id} ({ex.registry_label or ''})", style="dim")
    _heading(con, "What to do")
    for f in ex.fixes:
        _markup_free(con, f.text, lead=("- ", ""))
        for code_line in f.code.splitlines():
            _markup_free(con, code_line, 4)
    for r in ex.references:
        _markup_free(con, f"see: {r}", style="dim")


def _render_no_match(rep) -> None:
    con = console()
    con.print("[yellow]No catalogue entry, torch graph-break type or family matches this message.[/yellow]")
    if rep.closest:
        con.print("Closest entries (explain one with `gpudiag explain-warning ID`):")
        for e in rep.closest:
            _markup_free(con, f"{e.id}  {e.title}", 2)


UNKNOWN_OTHER_SHOWN = 10  # groups of "other" unknown lines the text report lists (JSON has them all)


def _counts_line(log) -> str:
    """What happened to every line: read (explained, unknown, in records) and skipped, with why."""
    parts = [f"{log.explained_lines:,} explained", f"{log.unknown_lines:,} unknown"]
    if log.record_lines:
        parts.append(f"{log.record_lines:,} in records (continuation lines, traceback frames)")
    text = f"read {log.read:,}: {', '.join(parts)}"
    skipped = sum(log.skipped.values())
    if skipped:
        why = "; ".join(f"{n:,} {reason}" for reason, n in log.skipped.items())
        text += f"; skipped {skipped:,} ({why})"
    return text


def _render_log(rep) -> None:
    con = console()
    log = rep.log
    enc = f" ({log.encoding})" if log.encoding != "utf-8" else ""
    packed = f", {log.compression}-compressed" if log.compression else ""
    findings = [it for it in log.known if not it.informational]
    normal = [it for it in log.known if it.informational]
    warnings = [u for u in log.unknown if u.kind == "warning"]
    others = [u for u in log.unknown if u.kind != "warning"]
    _markup_free(
        con,
        f"{log.source}: {log.lines:,} lines, {log.bytes_read:,} bytes{enc}{packed}, "
        f"{len(findings)} explained, {len(warnings)} unrecognised warning/error group(s)",
        style="bold",
    )
    _markup_free(con, _counts_line(log), style="dim")
    if log.broken:
        _markup_free(con, f"Read only part of the log: {log.broken}.", style="yellow")
    _device_line(con, rep.device)
    if not findings:
        con.print("[yellow]No warning or error in this log is explained by gpudiag.[/yellow]")
    for it in findings:
        ex, v = it.explanation, it.explanation.verdict
        label = KIND_LABEL[ex.kind]
        con.print()
        _markup_free(
            con,
            f"{ex.id}  x{it.count}  first at line {it.first_line}{f'  ({label})' if label else ''}",
            lead=(f"{ex.severity:13} ", SEVERITY_STYLE[ex.severity]),
            style="bold",
        )
        _markup_free(con, ex.title, 2)
        _markup_free(con, v.summary, 2, style=APPLIES_STYLE[v.applies])
        for c in v.commands:
            _markup_free(con, f"run: {c}", 2)
    if normal:
        _heading(con, "Normal output of the compile stack (INFO/DEBUG lines; nothing to fix on their own)")
        for it in normal:
            _markup_free(con, f"x{it.count} {it.explanation.id} (family): {it.explanation.title}", 2, style="dim")
    if len(log.stories) > 1:
        for rank, story in sorted(log.stories.items(), key=lambda kv: _rank_key(kv[0])):
            if not story.empty:
                _render_story(con, story, rank or "lines without a rank")
        if log.divergence:
            _heading(con, "Where the ranks diverge")
            for d in log.divergence:
                _markup_free(con, d, 2)
        elif any(not s.empty for s in log.stories.values()):
            _heading(con, "The ranks agree: the same recompiles and graph breaks on each")
    else:
        _render_story(con, log.story)
    if warnings:
        _heading(con, "Unrecognised warning/error lines")
        con.print("[dim](numbers collapsed; first occurrence shown)[/dim]")
        for u in warnings:
            _markup_free(con, f"x{u.count} at line {u.first_line}: {u.message}", 2)
    if log.unknown_overflow:
        con.print(f"  ... and {log.unknown_overflow} more unrecognised lines in further groups")
    if others:
        _heading(con, "Other lines naming the compile stack, not recognised (not warnings)")
        for u in others[:UNKNOWN_OTHER_SHOWN]:
            _markup_free(con, f"x{u.count} at line {u.first_line}: {u.message}", 2, style="dim")
        if len(others) > UNKNOWN_OTHER_SHOWN:
            _markup_free(
                con, f"... and {len(others) - UNKNOWN_OTHER_SHOWN} more group(s) (--json lists them)", 2, style="dim"
            )
    if findings:
        con.print("\n[dim]Explain one in full: gpudiag explain-warning ID[/dim]")


def _rank_key(rank: str | None) -> tuple:
    from gpudiag.explain.story import rank_order

    return rank_order(rank)


def _render_story(con, story, rank: str | None = None) -> None:
    on = f" on {rank}" if rank else ""
    if story.functions:
        _heading(con, f"Recompiles{on}, per compiled function")
        for f in story.ranked_functions():
            _markup_free(con, f"{f.name} at {f.location}", 2)
            state = []
            if f.limit is not None:
                state.append(f"{f.limit_kind} {f.limit} ({'from the log' if f.limit_from == 'log' else f.limit_from})")
            if f.hit_limit and f.failed_recompile:
                state.append("LIMIT HIT: the call raised FailOnRecompileLimitHit instead of running eagerly")
            elif f.hit_limit:
                state.append("LIMIT HIT: later calls of this function run eagerly")
            elif f.limit is not None:
                state.append(f"{max(f.limit - f.recompiles, 0)} recompiles left")
            if f.failed_recompile and not f.hit_limit:
                state.append("a recompile raised (the fail_on_recompile stance)")
            count = (
                f"recompiled {f.recompiles} time(s)"
                if f.recompiles
                else "its recompiles are not in this log (TORCH_LOGS=recompiles logs each)"
            )
            _markup_free(con, "; ".join([count, *state]), 4)
            for g in f.ranked_guards():
                _markup_free(con, f"{g.finding.title}: in {g.count} recompile(s), e.g. {g.finding.failure}", 4)
                if g.finding.fix:
                    _markup_free(con, f"fix: {g.finding.fix}", 6)
                if g.finding.hint:
                    _markup_free(con, f"torch's hint: {g.finding.hint}", 6)
    if story.graph_breaks:
        _heading(con, f"Graph breaks{on}, by reason")
        for g in story.ranked_breaks():
            gb = f" [{g.gb_id}]" if g.gb_id else ""
            _markup_free(con, f"x{g.count} {g.reason}{gb}", 2)
            _markup_free(con, "at " + ", ".join(f"{fr} (x{n})" for fr, n in g.frames.most_common()), 4)
        _heading(con, f"Graph breaks{on}, by user frame")
        for frame, n, reasons in story.breaks_by_frame():
            _markup_free(con, f"x{n} {frame}: {'; '.join(reasons)}", 2)
    if story.partitions_created or story.cudagraph_skips:
        _heading(con, f"CUDA graphs{on}")
        if story.partitions_created:
            _markup_free(
                con,
                f"{story.partitions_created} graph partition(s), "
                f"{story.partitions_non_cudagraphable} not cudagraphable",
                2,
            )
        for p in story.partition_findings.values():
            ops = f" ({', '.join(p.ops)})" if p.ops else ""
            _markup_free(con, f"x{p.count} reason={p.reason}{ops}: {p.finding}", 2, style="dim" if p.benign else None)
        for reason, n in story.cudagraph_skips.most_common():
            _markup_free(con, f"x{n} skipped: {reason}", 2)
    if story.overflow:
        _markup_free(
            con,
            f"... and {story.overflow} more recompile/graph-break records beyond what the story "
            "keeps (500 functions, 200 reasons)",
            0,
            style="dim",
        )


RENDERERS = {
    "list": _render_list,
    "text": _render_one,
    "id": _render_one,
    "no-match": _render_no_match,
    "log": _render_log,
}


def render(rep) -> None:
    """The renderer for whichever form of report explain-warning built."""
    RENDERERS[rep.form](rep)
