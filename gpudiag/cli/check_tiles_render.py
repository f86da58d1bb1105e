"""``gpudiag check-tiles`` rendered for a terminal: the header, the verdict and waves tables, the
problem and CUTLASS lines, and the summary line, in 80 columns (wrapped or stacked, never cut).

Tables are plain aligned text (gpudiag/cli/grid.py), not rich Tables: --all over 10,000 configs
prints in about the time the summary takes (bench/tiles/tiles_render_speed.py). Imported only when a
report is rendered as text: ``--help`` and ``--json`` never load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape

# The verdict words are the command module's copies of gpudiag.tiles.report's (tests/test_cli_help.py
# keeps them equal), and FULL_TABLE_ROWS is the threshold the --all help names.
from gpudiag.cli.check_tiles import CANNOT_COMPILE, CANNOT_LAUNCH, DOES_NOT_FIT, FITS, FULL_TABLE_ROWS, UNKNOWN
from gpudiag.cli.grid import Cell, Column, grid
from gpudiag.cli.output import console, fmt_bytes

if TYPE_CHECKING:
    from gpudiag.tiles.report import CheckReport, TileVerdict

SUMMARY_ROWS = 10  # rows of failures and of best fits in the summary (over FULL_TABLE_ROWS configs)

FITS_TEXT = {
    FITS: ("yes", "green"),
    DOES_NOT_FIT: ("NO", "red"),
    CANNOT_LAUNCH: ("yes", "yellow"),
    UNKNOWN: ("?", "yellow"),
    CANNOT_COMPILE: ("NO", "red"),
}


def _num(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def _dtype(v: TileVerdict) -> str:
    return v.dtype_label


def _blocks(v: TileVerdict) -> str:
    occ = v.occupancy
    if occ is None:
        return "-"
    return str(occ.blocks_per_sm) if occ.registers_known or occ.blocks_per_sm == 0 else f"≤{occ.blocks_per_sm}"


def _limiter(v: TileVerdict) -> tuple[str, str | None]:
    occ = v.occupancy
    if occ is None:
        return "-", None
    if v.status == CANNOT_LAUNCH:
        return "can't launch", "red"
    return ",".join(occ.limiters), None


def verdict_tables(
    report: CheckReport, verdicts: list[TileVerdict], width: int, title: str | None = None, styled: bool = True
) -> list[str]:
    """One table, or one per kernel when the configs come from several (--from-script)."""
    groups = list(dict.fromkeys(v.group for v in verdicts))
    if len(groups) <= 1:
        return [verdict_table(report, verdicts, width, title, styled)]
    return [
        verdict_table(
            report,
            [v for v in verdicts if v.group == g],
            width,
            f"[bold]{escape(g or 'other')}[/bold]" + (f" · {title}" if title else ""),
            styled,
        )
        for g in groups
    ]


def verdict_table(
    report: CheckReport, verdicts: list[TileVerdict], width: int, title: str | None = None, styled: bool = True
) -> str:
    several = len(report.dtype_labels()) > 1
    cols = [Column("config")]
    if several:
        cols.append(Column("dtype", wrap="x"))
    cols += [
        Column("smem B", right=True),
        Column("margin", right=True),
        Column("fits"),
        Column("max st", right=True),
        Column("blk/SM", right=True),
        Column("occ", right=True),
        Column("limit", wrap="commas"),
    ]
    if report.exact:
        cols += [Column("regs", right=True), Column("spill", right=True)]
    rows = []
    for v in verdicts:
        occ = v.occupancy
        row: list[Cell] = [(v.display_spec, None)]
        if several:
            row.append((_dtype(v), None))
        row += [
            (_num(v.needed_bytes), None),
            ("-" if v.margin_bytes is None else f"{v.margin_bytes:+,}", None),
            FITS_TEXT[v.status],
            (_num(v.largest_stages_that_fit), None),
            (_blocks(v), None),
            ("-" if occ is None else f"{100 * occ.occupancy:.0f}%", None),
            _limiter(v),
        ]
        if report.exact:
            e = v.exact
            row += [(_num(e.regs_per_thread) if e else "-", None), (_num(e.spills) if e else "-", None)]
        rows.append(row)
    return grid(cols, rows, width, title, styled)


WAVES_ONE_TABLE_WIDTH = 110  # narrower consoles get the one-block-per-SM figures in a second table


def waves_tables(report: CheckReport, verdicts: list[TileVerdict], width: int, styled: bool = True) -> list[str]:
    s, t = report.shape, report.target
    assert s is not None
    title = f"{s.m}x{s.n}x{s.k}" + (f" x {report.groups} groups" if report.groups > 1 else "") + f" on {t.sm_count} SMs"
    occ_cols = [Column("config")] + [
        Column(c, right=True) for c in ("tiles", "blk/SM", "grid", "waves", "last", "eff.")
    ]
    one_cols = [Column(c, right=True) for c in ("waves 1/SM", "fewest SMs", "K iters")]
    rows = [(v, v.waves) for v in verdicts if v.waves is not None]

    def occ_cells(v: TileVerdict, w) -> list[Cell]:
        occ = w.with_occupancy
        bound = "≤" if w.blocks_per_sm_is_bound else ""
        return [
            (v.display_spec, None),
            (f"{w.tiles:,}", None),
            ("-" if w.blocks_per_sm is None else f"{bound}{w.blocks_per_sm}", None),
            (_num(w.persistent_grid), None),
            ("-" if occ is None else f"{'≥' if bound else ''}{occ.waves:,}", None),
            ("-" if occ is None else f"{100 * occ.last_wave_fill:.0f}%", None),
            ("-" if occ is None else f"{100 * occ.efficiency:.0f}%", None),
        ]

    def one_cells(w) -> list[Cell]:
        return [
            (f"{w.one_block_per_sm.waves:,}", None),
            (f"{w.fewest_sms_same_waves:,}", None),
            (f"{w.k_iterations:,}", None),
        ]

    if width >= WAVES_ONE_TABLE_WIDTH:
        both = [occ_cells(v, w) + one_cells(w) for v, w in rows]
        return [grid(occ_cols + one_cols, both, width, title + ": with occupancy | at one block per SM", styled)]
    first = grid(occ_cols, [occ_cells(v, w) for v, w in rows], width, title + ": waves with occupancy", styled)
    second = grid(
        [Column("config"), *one_cols],
        [[(v.display_spec, None), *one_cells(w)] for v, w in rows],
        width,
        title + ": at one block per SM (DeepGEMM)",
        styled,
    )
    return [first, second]


def _header(report: CheckReport) -> list[str]:
    t = report.target
    where = t.name + (f" ({t.sm}, {t.origin})" if t.sm and t.sm not in t.name else f" ({t.origin})")
    lines = [
        f"[bold]check-tiles[/bold] · {escape(where)} · limit {t.limit_bytes:,} B per block "
        f"[dim]({escape(t.limit_source)})[/dim]"
    ]
    if report.inductor:
        i = report.inductor
        lines.append(
            f"inductor candidates: {i['count']} {i['dtype']} from torch {i['torch_version']} "
            f"({escape(i['source'])}), before inductor scales block sizes down to small problem shapes"
        )
        if i.get("allow_tf32_source"):
            lines.append(f"  inductor's fp32 dots: {escape(i['allow_tf32_source'])}")
        if i.get("prunes_by_smem") is False:
            lines.append(
                "  inductor does not drop the ones that do not fit by itself (torch._inductor.config."
                "max_autotune_prune_choices_based_on_shared_mem is off; TORCHINDUCTOR_MAX_AUTOTUNE_"
                "PRUNE_CHOICES_BASED_ON_SHARED_MEM=1 turns it on): max-autotune compiles them, they fail "
                "with 'out of resource', and it logs 'No valid triton configs'"
            )
    if report.script:
        for k in report.script["kernels"]:
            lines.append(
                f"{escape(report.script['path'])}:{k['line']} kernel {escape(k['name'])}: {k['configs']} config(s)"
            )
            lines.extend(f"  [yellow]skipped {escape(s)}[/yellow]" for s in k["skipped"])
            if k.get("dtype_hint") and report.script.get("dtype_assumed"):
                lines.append(
                    f"  [yellow]{escape(str(k['dtype_hint_from']))} says {k['dtype_hint']} operands, but every "
                    f"kernel here is checked as one assumed dtype; --dtype {k['dtype_hint']} checks it as "
                    f"{k['dtype_hint']}[/yellow]"
                )
    dtypes = report.dtype_labels()
    layouts = sorted({(v.a_layout, v.b_layout) for v in report.verdicts if v.b_layout})
    parts = [f"dtype {dtypes[0]}"] if len(dtypes) == 1 else []
    if parts and report.script and report.script.get("dtype_assumed"):
        parts[0] += " (assumed: the script's configs name no element type; --dtype bf16, fp8, int8, ... to change)"
    precision_lines = []
    for p in report.precisions:
        value = p["input_precision"]
        what = {"ieee": "full fp32 on the FMA units", "tf32": "tf32 on the tensor cores"}.get(value, value)
        hint = "; --dtype fp32-ieee for full precision" if value != "ieee" and "--dtype" not in p["source"] else ""
        precision_lines.append(f"fp32 dot precision: {what} ({escape(p['source'])}{hint})")
    parts += [f"A {a}-major, B {b}-major" + (" (K-major)" if b == "col" else "") for a, b in layouts]
    if t.resources is not None and any(v.occupancy for v in report.verdicts):
        parts.append(
            {"compiler": "registers from the compiler", "unknown": "registers unknown (≤: a bound)"}.get(
                report.registers, f"registers {report.registers}"
            )
        )
    if parts:
        lines.append(" · ".join(parts))
    return lines + precision_lines


def _problem_lines(report: CheckReport, verdicts: list[TileVerdict]) -> list[str]:
    limit = report.target.limit_bytes
    out = []
    for v in verdicts:
        where = f"{escape(v.display_spec)} ({escape(v.where)})"
        if v.status == CANNOT_COMPILE:
            out.append(f"  [red]cannot compile:[/red] {where}: {escape(v.cannot_compile or '')}")
        elif v.status == DOES_NOT_FIT:
            assert v.needed_bytes is not None and v.margin_bytes is not None  # a config that does not fit has both
            out.append(
                f"  [red]does not fit:[/red] {where} needs {v.needed_bytes or 0:,} B, {-(v.margin_bytes or 0):,} B "
                f"over {limit:,}; largest stage count that fits: {v.largest_stages_that_fit}"
            )
        elif v.status == CANNOT_LAUNCH:
            out.append(f"  [red]cannot launch:[/red] {where}: {escape(v.cannot_launch or '')}")
        for p in v.problems:
            out.append(f"  [yellow]{where}:[/yellow] {escape(p)}")
    return out


def _cutlass_lines(report: CheckReport, verdicts: list[TileVerdict]) -> list[str]:
    limit = report.target.limit_bytes
    out = []
    for v in verdicts:
        c = v.cutlass
        if c is None:
            continue
        out.append(
            f"[bold]{escape(v.spec)}[/bold] CUTLASS {c.family}: stage = A {c.a_tile_bytes:,} + "
            f"B {c.b_tile_bytes:,} + SFA {c.sfa_bytes:,} + SFB {c.sfb_bytes:,} + barriers {c.barrier_bytes} "
            f"= {c.stage_bytes:,} B; auto-carveout picks {c.auto_stages} stage(s) from "
            f"{c.family_capacity_bytes:,} - {c.kernel_carveout_bytes:,} (kernel) - "
            f"{c.epilogue_carveout_bytes:,} (epilogue) B"
        )

        def state(r: dict) -> str:
            if r["fits"] is None:
                return f"fits if the epilogue needs <= {r['margin_bytes']:,} B"
            return "fits" if r["fits"] else f"{-r['margin_bytes']:,} B over"

        out.append(
            "  stages -> bytes: " + ", ".join(f"{r['stages']}: {r['bytes']:,} ({state(r)})" for r in c.stage_table)
        )
        fitting = [str(r["stages"]) for r in c.stage_table if r["fits"]]
        maybe = [str(r["stages"]) for r in c.stage_table if r["fits"] is None]
        if maybe:
            out.append(f"  stage counts that fit {limit:,} B, depending on the epilogue: {', '.join(maybe)}")
        else:
            out.append(f"  stage counts that fit {limit:,} B: {', '.join(fitting) or 'none'}")
        if c.auto_stages_fit is False and c.auto_stages_launch_bytes is not None:
            out.append(
                f"  [red]the builder's own pick ({c.auto_stages} stages, {c.auto_stages_launch_bytes:,} B) "
                f"does not fit this device: {c.auto_stages_launch_bytes - limit:,} B over[/red]"
            )
    return out


def render(report: CheckReport, show_all: bool = False, explain: bool = False) -> None:
    con = console()
    # Without colour (a pipe, a file, NO_COLOR) the tables are plain text written as is: rich need not
    # parse 10,000 rows of markup. With colour, markup printed without measuring: the lines already fit.
    styled = con.color_system is not None

    def table(text: str) -> None:
        if styled:
            con.print(text, soft_wrap=True, highlight=False)
        else:
            con.file.write(text + "\n")

    for line in _header(report):
        con.print(line)
    summarise = len(report.verdicts) > FULL_TABLE_ROWS and not show_all
    if summarise:
        failures = report.failures()
        best = report.best_fits(SUMMARY_ROWS)
        if failures:
            table(
                verdict_table(
                    report,
                    failures[:SUMMARY_ROWS],
                    con.width,
                    title=f"{len(failures):,} that do not fit, launch or compile"
                    + (f" (first {SUMMARY_ROWS})" if len(failures) > SUMMARY_ROWS else ""),
                    styled=styled,
                )
            )
        if best:
            table(
                verdict_table(
                    report,
                    best,
                    con.width,
                    title=f"best {len(best)} of {report.fit_count:,} that fit (most output resident per SM)",
                    styled=styled,
                )
            )
        shown = failures[:SUMMARY_ROWS] + best
    else:
        shown = report.verdicts
        for text in verdict_tables(report, shown, con.width, styled=styled):
            table(text)
    if report.shape is not None:
        for text in waves_tables(report, shown, con.width, styled):
            table(text)
    problems = _problem_lines(report, report.failures()[:SUMMARY_ROWS] if summarise else report.verdicts)
    for line in problems[:40]:
        con.print(line)
    if len(problems) > 40:
        con.print(f"  and {len(problems) - 40:,} more (--json lists all)")
    for line in _cutlass_lines(report, shown):
        con.print(line)
    n, m = report.fit_count, len(report.verdicts)
    style = "green" if n == m else "red"
    counts = ", ".join(
        f"{k.replace('_', ' ')}: {v:,}"
        for k, v in report.summary().items()
        if k not in ("total", "all_fit", "fits") and v
    )
    con.print(
        f"[{style}]{n:,} of {m:,} fit[/{style}] {fmt_bytes(report.target.limit_bytes)} per block on "
        f"{escape(report.target.name)}" + (f" ({counts})" if counts else "")
    )
    if summarise:
        con.print(
            f"[dim]{m:,} configs: the failures and the best fits are shown; --all prints every row, "
            "--json lists all[/dim]"
        )
    for note in report.notes:
        con.print(f"[dim]note: {escape(note)}[/dim]")
    if explain:
        for note in report.explain:
            con.print(f"[dim]how: {escape(note)}[/dim]")
        for source in report.sources:
            con.print(f"[dim]source: {escape(source)}[/dim]")
    elif report.explain:
        con.print("[dim]--explain: how each number is computed, and the sources[/dim]")
