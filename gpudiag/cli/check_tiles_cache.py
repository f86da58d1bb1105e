"""``gpudiag check-tiles --from-triton-cache [DIR]``: options in, the kernel x target matrix out.

``check_tiles.py`` declares the options and hands over here; this module rejects the options that do
not apply, hands the request to the core (``gpudiag.tiles.cache_request``: which cache, which
targets) with a progress bar on stderr, and renders the report (nothing cut at 80 columns) or its JSON.
"""

from __future__ import annotations

import textwrap
import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gpudiag.cli.modes import reject_unused_options
from gpudiag.cli.output import console, finish, say
from gpudiag.tiles.cache_report import STATUSES, CacheCheckReport, Cell, KernelRow
from gpudiag.tiles.cache_request import CacheRequest, check_cache_request, named_targets, with_live_gpu

__all__ = ["named_targets", "render", "run_from_triton_cache", "with_live_gpu"]

# The check-tiles parameters that mean something with --from-triton-cache; any other one given is an error.
USED_PARAMS = {"tiles", "from_triton_cache", "kernel", "gpu", "arch", "index", "jobs", "no_cache", "json_out"}
MAX_LISTED_KERNELS = 200  # above this, the text lists only the kernels with a cell that does not launch
PLAIN_PROGRESS_EVERY_S = 10.0


def _reject_unused_options() -> None:
    reject_unused_options(USED_PARAMS, "--from-triton-cache, which checks the kernels as they were compiled")


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


class _ProgressOnStderr:
    """A progress bar on a terminal; elsewhere a plain line every few seconds. Never on stdout."""

    def __init__(self) -> None:
        self.err = Console(stderr=True, highlight=False)
        self.bar: Progress | None = None
        self.task: Any = None
        self.last_line = 0.0
        self.started = False

    def __call__(self, done: int, total: int) -> None:
        if not self.started:
            if done >= total:
                return  # everything was cached: nothing to show
            self.started = True
            self.last_line = time.monotonic()
            if self.err.is_terminal:
                self.bar = Progress(
                    TextColumn("recompiling"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("kernel x target"),
                    TimeElapsedColumn(),
                    console=self.err,
                    transient=True,
                    auto_refresh=False,
                )  # no refresh thread: children are forked
                self.bar.start()
                self.task = self.bar.add_task("", total=total)
            else:
                self.err.print(f"gpudiag: recompiling {_n(total - done, 'kernel x target cell')} ...")
        if self.bar is not None:
            self.bar.update(self.task, completed=done)
            self.bar.refresh()
        elif time.monotonic() - self.last_line >= PLAIN_PROGRESS_EVERY_S and done < total:
            self.last_line = time.monotonic()
            self.err.print(f"gpudiag: {done}/{total} cells")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run_from_triton_cache(
    folders: list[str] | None,
    kernel: list[str] | None,
    arch: str | None,
    gpu: str | None,
    index: int | None,
    jobs: int | None,
    use_cache: bool,
    json_out: bool,
) -> None:
    _reject_unused_options()
    request = CacheRequest(list(folders or []), kernel, arch, gpu, index, jobs, use_cache)
    progress = _ProgressOnStderr()
    try:
        report = check_cache_request(request, on_progress=progress)
    finally:
        progress.close()
    finish(report, json_out, render)


CellText = tuple[str, str]  # (plain text, the same with rich markup): widths come from the plain one


def _plain(text: str, style: str | None = None) -> CellText:
    return text, (f"[{style}]{escape(text)}[/{style}]" if style and text else escape(text))


def _fits(cell: Cell) -> CellText:
    if cell.status == "cannot-compile":
        return _plain("cannot run", "red")
    if cell.status == "unknown":
        return _plain("?", "yellow")
    margin = f" {cell.margin_bytes:+,}"
    word, style = {"launches": ("yes", "green"), "does-not-fit": ("NO", "red")}.get(cell.status, ("no launch", "red"))
    if cell.status == "cannot-launch":
        return _plain(word, style)
    return word + margin, f"[{style}]{word}[/{style}]{margin}"


def _blocks(cell: Cell) -> str:
    occ = cell.occupancy
    if occ is None or occ.cannot_launch:
        return ""
    limit = "/".join(occ.limiters) if len(occ.limiters) < 3 else "warps"
    return f"{occ.blocks_per_sm} {limit}"


def _num(n: int | None) -> str:
    return "" if n is None else f"{n:,}"


def _uniform_failure(row: KernelRow) -> str | None:
    """The reason every cell of a row shares when none was compiled (unreadable IR): shown once."""
    reasons = {c.reason for c in row.cells}
    if len(reasons) == 1 and all(c.status == "unknown" for c in row.cells):
        return next(iter(reasons))
    return None


COLUMNS = (
    ("config", False),
    ("target", False),
    ("smem B", True),
    ("fits", False),
    ("regs", True),
    ("spills", True),
    ("blk/SM", False),
)
WRAPPED = (0, 1)  # config and target wrap to keep the table inside the width; the numbers never do
GAP = "  "


def _grid(rows: list[list[CellText]], width: int) -> str:
    """The rows as aligned columns (rich markup), config and target wrapped to fit ``width``: nothing cut.

    rich's Table measures every cell of every row (milliseconds a row); a cache checked for every
    GPU in the catalogue has hundreds of rows, and the warm answer must take well under a second.
    """
    widths = [max([len(h)] + [len(r[i][0]) for r in rows]) for i, (h, _) in enumerate(COLUMNS)]
    over = sum(widths) + len(GAP) * (len(widths) - 1) - width
    for i in sorted(WRAPPED, key=lambda i: -widths[i]):
        cut = max(0, min(over, widths[i] - 8))
        widths[i] -= cut
        over -= cut
    header = [_plain(h, "bold") for h, _ in COLUMNS]
    lines = []
    for row in [header, [_plain("─" * w) for w in widths], *rows]:
        pieces = [
            [_plain(t) for t in textwrap.wrap(cell[0], widths[i], break_on_hyphens=False)] or [_plain("")]
            if i in WRAPPED
            else [cell]
            for i, cell in enumerate(row)
        ]
        for k in range(max(len(p) for p in pieces)):
            parts = []
            for i, (piece, (_, right)) in enumerate(zip(pieces, COLUMNS)):
                plain, markup = piece[k] if k < len(piece) else ("", "")
                pad = " " * (widths[i] - len(plain))
                parts.append(pad + markup if right else markup + pad)
            lines.append(GAP.join(parts).rstrip())
    return "\n".join(lines)


def _group_table(rows: list[KernelRow], width: int) -> tuple[str, list[tuple[str, str]]]:
    """The group's table, and one (line, style) per reason a config does not launch, with its targets."""
    table: list[list[CellText]] = []
    problems: dict[tuple[str, str, str], list[str]] = {}  # (config, reason, style) -> targets
    labels = [r.kernel.config_label for r in rows]
    for row in rows:
        config = row.kernel.config_label
        if labels.count(config) > 1:  # configs that differ only in what the label leaves out
            config += f" [{row.kernel.folder[:6]}]"
        uniform = _uniform_failure(row)
        if uniform is not None:
            table.append([_plain(config), _plain("all"), _plain(""), _plain("?", "yellow"), *[_plain("")] * 3])
            problems.setdefault((config, uniform, "yellow"), [])
            continue
        for i, cell in enumerate(row.cells):
            c = cell.compiled
            table.append(
                [
                    _plain(config if i == 0 else ""),
                    _plain(cell.target),
                    _plain(_num(c.shared_bytes)),
                    _fits(cell),
                    _plain(_num(c.regs_per_thread)),
                    _plain(_num(c.spills)),
                    _plain(_blocks(cell)),
                ]
            )
            if cell.status != "launches":
                style = "yellow" if cell.status == "unknown" else "red"
                problems.setdefault((config, cell.reason or "", style), []).append(cell.target)
    lines = [
        (f"{config}{' on ' + ', '.join(targets) if targets else ''}: {reason}", style)
        for (config, reason, style), targets in problems.items()
    ]
    return _grid(table, width), lines


def render(report: CacheCheckReport) -> None:
    con = console()
    cache = report.cache
    found = "" if cache.found_by == "argument" else f" (from {cache.found_by})"
    say(con, f"check-tiles --from-triton-cache {cache.path}{found}", "bold")
    names, n_targets = len(report.groups), len(report.targets)
    filt = f", {cache.filtered_out} left out by --kernel" if cache.filtered_out else ""
    if cache.skipped:
        n = len(cache.skipped)
        filt += f", {n:,} {'entry' if n == 1 else 'entries'} not checked: listed at the end"
    version = f"Triton {report.triton_installed}"
    if report.version_differs:
        version += f" (the cache was written by {', '.join(cache.triton_versions)}: see the notes)"
    say(
        con,
        f"{_n(len(cache.kernels), 'kernel')} ({_n(names, 'name')}{filt}) x {_n(n_targets, 'target')} · {version}",
        "yellow" if report.version_differs else None,
    )
    con.print("targets (shared memory per block, opt-in):")
    for t in report.targets:
        where = "" if t.label == t.facts.sm else f" {t.facts.sm}"
        source = t.facts.sources.get("smem_per_block_optin_bytes", t.facts.origin)
        say(con, f"{t.label}{where}: {t.facts.name}, {t.limit_bytes:,} B ({source})", indent="  ")

    many = len(cache.kernels) > MAX_LISTED_KERNELS  # then only the kernels with a cell that does not launch
    shown = 0
    for group in report.groups:
        rows = [r for r in group.rows if not many or any(c.status != "launches" for c in r.cells)]
        if not rows:
            continue
        shown += sum(len(r.cells) for r in rows)
        recorded = sorted({r.kernel.recorded_target for r in group.rows})
        count = f"{len(group.rows)} configs" if len(group.rows) > 1 else "1 config"
        con.print()
        say(con, f"{group.name} · {count} · in the cache for {', '.join(recorded)}", "bold")
        table, problems = _group_table(rows, con.width)
        con.print(table, soft_wrap=True)  # lines already fit: rich need not measure them again
        for line, style in problems:
            say(con, line, style, indent="  ")
    if shown < len(report.cells):
        con.print()
        say(
            con,
            f"{len(report.cells) - shown} cells that launch are not listed ({len(cache.kernels)} kernels); "
            "--json lists every cell, --kernel NAME shows one kernel",
        )

    con.print()
    con.print("[bold]per target[/bold] (kernels):")
    wording = {
        "launches": "launch",
        "does-not-fit": "do not fit",
        "cannot-launch": "cannot launch",
        "cannot-compile": "cannot run there",
        "unknown": "not checked",
    }
    for s in report.summaries():
        say(
            con,
            f"{s.target}: " + ", ".join(f"{s.counts[k]} {wording[k]}" for k in STATUSES if s.counts.get(k)),
            indent="  ",
        )
    every = sum(all(c.status == "launches" for c in r.cells) for g in report.groups for r in g.rows)
    say(
        con,
        f"launch on every target: {every} of {_n(len(cache.kernels), 'kernel')}",
        "green" if report.all_launch else "red",
    )
    if cache.skipped:
        n = len(cache.skipped)
        say(con, f"not checked: {n:,} cache {'entry' if n == 1 else 'entries'}", "yellow")
    for entry in cache.skipped:
        name = f" {entry.name}" if entry.name else ""
        say(con, f"skipped {entry.folder[:16]}{name}: {entry.reason}", "yellow", indent="  ")
    src = "compiled now" if report.cached == 0 else f"compiled now, {report.cached} from gpudiag's cache"
    say(con, f"{report.compiled} {src}; {report.wall_s:.1f} s with {report.jobs} parallel compiles", "dim")
    for note in report.notes:
        say(con, f"note: {note}", "dim")
