"""``gpudiag check-tiles``: will these tile configs fit this GPU's shared memory, by how much, how
well they occupy it. Parses options, calls the core (gpudiag.tiles.check) and renders its report."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from gpudiag.cli.app import app
from gpudiag.cli.grid import Cell, Column, grid
from gpudiag.cli.output import console, finish, fmt_bytes

if TYPE_CHECKING:
    from gpudiag.tiles.report import CheckReport, TileVerdict

# Declaring the command imports no core (`check-tiles --help` stays as fast as Typer itself), so the
# words it needs from gpudiag.tiles are written here; tests/test_cli_help.py keeps them equal.
INDUCTOR_SETS = ("mm", "scaled_mm", "persistent_mm", "extra_mm", "exhaustive", "int8_mm")  # tiles.inductor.SETS
# gpudiag.tiles.report's verdicts
CANNOT_COMPILE, DOES_NOT_FIT, CANNOT_LAUNCH, UNKNOWN, FITS = (
    "cannot-compile",
    "does-not-fit",
    "cannot-launch",
    "unknown",
    "fits",
)

FULL_TABLE_ROWS = 40  # more verdicts than this: a summary (failures, best fits) unless --all
SUMMARY_ROWS = 10
PROGRESS_AFTER_S = 1.0
PLAIN_PROGRESS_EVERY_S = 10.0  # without a terminal: a line at most this often

CHECK_TILES_HELP = (
    "Will these tile configs fit this GPU's shared memory, by how much, and how well will they occupy it, "
    "before anything is launched.\n\n"
    "For each config: the shared memory it needs, the margin to the per-block limit, fits or not, the "
    "largest stage count that fits, and its occupancy: blocks per SM, which limit binds (shared memory, "
    "registers, warps or the block cap), the share of warp slots it fills, and whether it can launch at "
    "all. With --shape: tiles, waves with that occupancy, the persistent grid size, and the one-block-"
    "per-SM figures. Exit code 1 when any config does not fit, cannot launch or cannot compile (a CI "
    "gate), 2 on bad input; a tile given as an argument that no Triton can compile (a block size that is "
    "not a power of two, K below tl.dot's smallest: 32 for 8-bit types, 16 for 16-bit, 8 for 32-bit) is "
    "bad input.\n\n"
    "The estimate (instant, no GPU) models Triton's own allocation for the standard matmul on each "
    "architecture family: sm_80/86/89/120 (mma.sync), sm_90 (wgmma) and sm_100 (tcgen05), from Triton's "
    "pipeliner and layout code; --exact compiles the real Triton matmul for the target on this machine, "
    "and the largest stage count that fits then comes from the compiler too. Registers come from --exact "
    "or --regs; without them, blocks per SM is bounded by shared memory, threads and the accumulator's "
    "registers (at least BM x BN / threads each). fp32 is tl.dot's default, tf32 on the tensor cores "
    "(TRITON_F32_DEFAULT, when set, decides; the report names the precision); fp32-ieee is full "
    "precision on the FMA units. --model cutlass "
    "models CUTLASS 3.x builders (stage bytes + barriers + scale factors, the StageCountAutoCarveout "
    "rule, 1024-byte aligned storage).\n\n"
    "Stages or warps left out are Triton's defaults, 3 stages and 4 warps. --explain prints how each "
    "number is computed and where each rule comes from. The assumptions each model makes are also in the JSON's explain field and in the man page (ASSUMPTIONS)."
)


# The man page's EXAMPLES and EXIT STATUS (gpudiag.manpages); 130, 141, 143 and 129 are worded there.
MAN_EXAMPLES = (
    ("gpudiag check-tiles 128x256x64:3@8 --gpu 'RTX 4090'", "does one config fit a GPU you do not have"),
    ("gpudiag check-tiles 128x128x64:4@4 --dtype fp8 --arch sm_120", "an fp8 config on an architecture"),
    ("gpudiag check-tiles 128x256x64:3@8 --exact --arch sm_90", "the Triton compiler's own answer, on a CPU"),
    ("gpudiag check-tiles --from-inductor --gpu l4", "the matmul candidates the installed inductor would autotune"),
    ("gpudiag check-tiles --file configs.json --json", "a file of configs, as JSON for a script or a CI gate"),
    (
        "gpudiag check-tiles --from-triton-cache --arch sm_80,sm_89 --gpu 'RTX 4090'",
        "every kernel of a Triton cache, recompiled for each target",
    ),
)
MAN_EXIT_STATUS = {
    0: "every config fits (every cache kernel launches on every target).",
    1: "a config does not fit, cannot launch or cannot compile (a CI gate).",
    2: "bad input (a malformed tile, an unknown GPU), a bad option, or no GPU and no target named.",
}
MAN_SIGNALS = (130, 141, 143, 129)


def man_sections() -> dict[str, list[str]]:
    """The man page's sections beyond the help: the assumptions each model makes (from the core)."""
    from gpudiag.tiles import check as core

    return {"ASSUMPTIONS": [*core.TRITON_NOTES, *core.CUTLASS_NOTES]}


@app.command("check-tiles", help=CHECK_TILES_HELP)
def check_tiles_command(
    tiles: list[str] | None = typer.Argument(
        None,
        metavar="TILE...",
        show_default=False,
        help="Tile configs BMxBNxBK[:STAGES][@WARPS], e.g. 128x256x64:3@8. A K written as 64B means 64 bytes "
        "of K (CUTLASS and TensorRT-LLM tile names). With --from-triton-cache: the cache folder. With "
        "--merge: the JSON documents.",
    ),
    file: list[str] | None = typer.Option(
        None,
        "--file",
        "-f",
        metavar="FILE",
        help="Read configs from a JSON, YAML (needs PyYAML) or CSV file (a CSV saved by Excel too), or - for "
        "standard input; parsed as data, never evaluated.",
    ),
    from_inductor: bool = typer.Option(
        False,
        "--from-inductor",
        help="Check the matmul candidates the installed torch's inductor autotunes (read through its own "
        "heuristics module).",
    ),
    inductor_set: str = typer.Option(
        "mm",
        "--inductor-set",
        metavar="SET",
        help="Which inductor candidate list: " + ", ".join(INDUCTOR_SETS) + ". scaled_mm is checked as fp8 and int8_mm "
        "as int8 unless --dtype says otherwise.",
    ),
    from_script: str | None = typer.Option(
        None,
        "--from-script",
        metavar="SCRIPT",
        help="Check the configs of every @triton.autotune kernel in a Python script (parsed, never run).",
    ),
    dtype: str | None = typer.Option(
        None,
        "--dtype",
        "-d",
        metavar="DTYPE",
        show_default=False,
        help="Element type of A (and B unless --b-dtype): fp32 (as tl.dot multiplies it by default: tf32), "
        "fp32-ieee (full precision, FMA), tf32, fp16, bf16, fp8 (= fp8e4m3), fp8e5m2, int8, fp4. Default: "
        "fp16, or the type an inductor set is for.",
    ),
    b_dtype: str | None = typer.Option(None, "--b-dtype", metavar="DTYPE", help="Element type of B where it differs."),
    a_layout: str | None = typer.Option(
        None, "--a-layout", metavar="row|col", help="Layout of A: row (K contiguous, the default) or col."
    ),
    b_layout: str | None = typer.Option(
        None,
        "--b-layout",
        metavar="row|col",
        help="Layout of B: row (N contiguous) or col (K-major). Default: col for fp8 and fp4 (as "
        "torch._scaled_mm requires), row otherwise.",
    ),
    gpu: str | None = typer.Option(
        None, "--gpu", "-g", metavar="NAME", help="Target a catalogue GPU instead of the live one (no GPU needed)."
    ),
    arch: str | None = typer.Option(
        None,
        "--arch",
        metavar="SM",
        help="Target an architecture, e.g. sm_89 or sm_121: its limits, no SM count (no GPU needed).",
    ),
    index: int | None = typer.Option(None, "--index", "-i", metavar="N", help="The live GPU at this CUDA ordinal."),
    smem_limit: int | None = typer.Option(
        None,
        "--smem-limit",
        metavar="BYTES",
        help="Compare against this per-block shared-memory limit instead of the target's; alone, it names "
        "no architecture.",
    ),
    sms: int | None = typer.Option(
        None, "--sms", metavar="N", help="SM count for --shape where the target gives none (--arch, --smem-limit)."
    ),
    exact: bool = typer.Option(
        False,
        "--exact",
        help="Compile the Triton matmul for the target's architecture and report the compiler's shared "
        "memory, registers and spills, and its largest stage count that fits (no GPU needed).",
    ),
    jobs: int | None = typer.Option(
        None, "--jobs", "-j", metavar="N", help="Parallel compiles for --exact, 1 or more (default: all cores)."
    ),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="--exact: compile afresh and write no cache, neither gpudiag's nor Triton's."
    ),
    regs: int | None = typer.Option(
        None,
        "--regs",
        metavar="N",
        help="Registers per thread (1..255), from ptxas -v, ncu or an earlier --exact, for occupancy "
        "without compiling.",
    ),
    shape: str | None = typer.Option(
        None,
        "--shape",
        metavar="MxNxK",
        help="Also report tiles, waves with the config's occupancy, the persistent grid, and the waves and "
        "fewest SMs at one block per SM.",
    ),
    groups: int = typer.Option(1, "--groups", metavar="G", help="With --shape: the GEMMs in the group."),
    model: str = typer.Option(
        "triton", "--model", metavar="MODEL", help="triton (Triton's allocation) or cutlass (CUTLASS 3.x builders)."
    ),
    grouped: bool = typer.Option(
        False,
        "--grouped",
        help="A grouped (pointer-array) GEMM, whose builder reserves scheduler and tensor-map storage.",
    ),
    epilogue_smem: int | None = typer.Option(
        None,
        "--epilogue-smem",
        metavar="BYTES",
        help="The epilogue's shared storage. Unknown by default: totals are then lower bounds and a config "
        "whose bound fits is reported as '?' (exit 1), never as a fit.",
    ),
    kernel_carveout: int | None = typer.Option(
        None, "--kernel-carveout", metavar="BYTES", help="Override the builder's kernel carveout."
    ),
    block_scaled: bool | None = typer.Option(
        None,
        "--block-scaled/--no-block-scaled",
        show_default=False,
        help="Operands carry block scale factors (default: yes for fp4).",
    ),
    scale_vector: int | None = typer.Option(
        None, "--scale-vector", metavar="N", help="Elements per scale factor (16 for nvfp4, 32 for mx)."
    ),
    show_all: bool = typer.Option(
        False,
        "--all",
        help=f"Print every config's row; over {FULL_TABLE_ROWS} configs the text report otherwise shows the "
        "counts, the failures and the best fits.",
    ),
    json_out: bool = typer.Option(
        False, "--json", help="Print one JSON document (schema gpudiag.check-tiles/2), every config included."
    ),
    from_triton_cache: bool = typer.Option(
        False,
        "--from-triton-cache",
        help="Check every kernel in a Triton "
        "cache: the folder given as the argument, else $TRITON_CACHE_DIR, else "
        "~/.triton/cache. Each is recompiled for every target (--arch and --gpu "
        "take comma lists: --arch sm_80,sm_89 --gpu 'RTX 4090',gb10; no GPU "
        "needed) into a kernel x target table of shared memory, registers, "
        "spills, blocks per SM and fits. Exit 1 if any cell does not launch "
        "or could not be checked. JSON schema gpudiag.check-tiles-cache/1.",
    ),
    kernel: list[str] | None = typer.Option(
        None,
        "--kernel",
        "-k",
        metavar="KERNEL",
        help="--from-triton-cache: "
        "only kernels whose name contains NAME, or matches it as a glob "
        "(triton_mm*). Repeatable. Otherwise MODULE:FUNCTION, your own "
        "@triton.jit kernel (a .py file or an importable module) to compile "
        "for every config of --configs and every target (--arch and --gpu "
        "take comma lists; no GPU needed). JSON schema "
        "gpudiag.check-tiles-space/1.",
    ),
    configs: str | None = typer.Option(
        None,
        "--configs",
        metavar="SPACE.json",
        help="With --kernel: the tuning space, a list of config dicts (constexpr arguments and "
        "num_warps/num_stages) or a dict of lists (every combination). Default: the kernel's "
        "@triton.autotune configs, or gpudiag_kernels() in its module.",
    ),
    signature: str | None = typer.Option(
        None,
        "--signature",
        metavar="SPEC.json",
        help='With --kernel: the argument types as JSON, a "signature" object mapping each argument to its '
        'type ("*bf16", "i32", or 1 for a unit stride) and an optional "constants" object, where the module '
        "has no gpudiag_kernels().",
    ),
    shard: str | None = typer.Option(
        None,
        "--shard",
        metavar="K/N",
        help="With --kernel: screen only the K-th of N even parts of the space (1 <= K <= N), one "
        "shard per machine; --merge joins their --json documents.",
    ),
    merge: bool = typer.Option(
        False,
        "--merge",
        help="Join the --json documents of --kernel shards, given as the arguments (shard-*.json), into one answer.",
    ),
    write_surviving: str | None = typer.Option(
        None,
        "--write-surviving",
        metavar="PATH",
        help="With --kernel: write the configs that launch on every target as a JSON list of config "
        "dicts, as given, for a tuner to read.",
    ),
    write_dropped: str | None = typer.Option(
        None,
        "--write-dropped",
        metavar="PATH",
        help="With --kernel: write the configs dropped, each with its reason per target, as JSON.",
    ),
    explain: bool = typer.Option(
        False,
        "--explain",
        help="After the report, how each number is computed (the model, the rules, their sources); "
        "--json always carries them.",
    ),
    from_config_table: str | None = typer.Option(
        None,
        "--from-config-table",
        metavar="PATH",
        help="Check vLLM's and SGLang's fused-MoE config tables (E=..,N=..,device_name=...json; a file or a "
        "folder), or lists of Triton configs, against each target (--gpu and --arch take comma lists; else "
        "the live GPU): every entry fits, does not fit, cannot launch or cannot run there, its margin and the "
        "largest stage count that fits; which GPU loads which table (device_name). Exit 1 if anything does "
        "not fit. JSON schema gpudiag.check-tiles-table/1.",
    ),
    write_fitted: str | None = typer.Option(
        None,
        "--write-fitted",
        metavar="DIR",
        help="--from-config-table: write each table that does not fit a target to DIR/<target>/, every "
        "entry that does not fit at the largest stage count that does (derived, not tuned; a README.md "
        "says so). Never writes inside PATH.",
    ),
) -> None:
    if from_triton_cache:  # a mode of its own: gpudiag/cli/check_tiles_cache.py
        from gpudiag.cli.check_tiles_cache import run_from_triton_cache

        return run_from_triton_cache(tiles, kernel, arch, gpu, index, jobs, not no_cache, json_out)
    if kernel or configs or signature or shard or merge or write_surviving or write_dropped:
        from gpudiag.cli.check_tiles_space import run_space  # your kernel x a tuning space

        return run_space(
            kernel,
            configs,
            signature,
            shard,
            list(tiles or []) if merge else None,
            write_surviving,
            write_dropped,
            arch,
            gpu,
            index,
            jobs,
            not no_cache,
            json_out,
            show_all,
        )
    if from_config_table is not None or write_fitted is not None:  # gpudiag/cli/check_tiles_table.py
        from gpudiag.cli.check_tiles_table import run_from_config_table

        return run_from_config_table(
            from_config_table,
            tiles,
            arch,
            gpu,
            index,
            exact,
            jobs,
            not no_cache,
            json_out,
            dtype,
            write_fitted,
            show_all,
        )
    from gpudiag.tiles import check as core

    request = core.CheckRequest(
        tiles=list(tiles or []),
        files=list(file or []),
        from_inductor=from_inductor,
        inductor_set=inductor_set,
        from_script=from_script,
        gpu=gpu,
        arch=arch,
        index=index,
        smem_limit=smem_limit,
        sms=sms,
        dtype=dtype,
        b_dtype=b_dtype,
        a_layout=a_layout,
        b_layout=b_layout,
        model=model,
        exact=exact,
        jobs=jobs,
        use_cache=not no_cache,
        regs=regs,
        shape=shape,
        groups=groups,
        grouped=grouped,
        epilogue_smem=epilogue_smem,
        kernel_carveout=kernel_carveout,
        block_scaled=block_scaled,
        scale_vector=scale_vector,
    )
    with _Progress() as progress:
        report = core.check_tiles(request, progress.update)
    finish(report, json_out, lambda r: render(r, show_all, explain))


class _Progress:
    """Progress on stderr once the work has taken over a second: a bar on a terminal, elsewhere (a CI
    log, a pipe) a plain line now and then. Never on stdout."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.terminal = sys.stderr.isatty()
        self.bar: Any = None  # a rich Progress once shown (imported then: most runs never show one)
        self.tasks: dict[str, int] = {}
        self.last_line = float("-inf")

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.start < PROGRESS_AFTER_S or (done >= total and self.bar is None):
            return
        if not self.terminal:
            if now - self.last_line >= PLAIN_PROGRESS_EVERY_S:
                self.last_line = now
                print(f"gpudiag: {what} {done:,}/{total:,}", file=sys.stderr, flush=True)
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            # no refresh thread (auto_refresh off): --exact forks compile workers while the bar is up
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=sys.stderr),
                transient=True,
                auto_refresh=False,
            )
            self.bar.start()
        if what not in self.tasks:
            self.tasks[what] = self.bar.add_task(what, total=total)
        self.bar.update(self.tasks[what], completed=done, total=total)
        self.bar.refresh()


# --- text rendering (80 columns: wrap or stack, never cut) ----------------------------------------
# Tables are plain aligned text (gpudiag/cli/grid.py), not rich Tables: --all over 10,000 configs
# prints in about the time the summary takes (bench/tiles/tiles_render_speed.py).

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
    dtypes = report.dtype_labels()
    layouts = sorted({(v.a_layout, v.b_layout) for v in report.verdicts if v.b_layout})
    parts = [f"dtype {dtypes[0]}"] if len(dtypes) == 1 else []
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
