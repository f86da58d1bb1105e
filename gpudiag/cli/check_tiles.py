"""``gpudiag check-tiles``: will these tile configs fit this GPU's shared memory, by how much, how
well they occupy it. Parses options, hands the other modes to their modules (check_tiles_cache,
check_tiles_space, check_tiles_table), calls the core (gpudiag.tiles.check) with a progress view, and
leaves the text report to gpudiag/cli/check_tiles_render.py."""

from __future__ import annotations

import sys
import time
from typing import Any

import typer

from gpudiag.cli.app import app
from gpudiag.cli.output import finish

# Declaring the command imports no core (`check-tiles --help` stays as fast as Typer itself), so the
# words it and its renderer need from gpudiag.tiles are written here; tests/test_cli_help.py keeps
# them equal.
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
        help="Check the configs of every triton.autotune kernel in a Python script (a decorator, or "
        "triton.autotune(...)(kernel) applied as a call; parsed, never run). --gpu and --arch take comma lists "
        "here: a report per target (--json: one document per line). The dtype is assumed (fp16) unless --dtype "
        "gives it.",
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
        help="Check config tables (a file or a folder): vLLM's and SGLang's fused-MoE, block-quantised and "
        "per-token GEMM tables, LightLLM's all_kernel_configs, FlagGems' tune_configs.yaml, or lists of Triton "
        "configs, against each target (--gpu and --arch take comma lists; else the live GPU): every entry fits, "
        "does not fit, cannot launch or cannot run there, its margin and the largest stage count that fits; "
        "which GPU loads which table (device_name). Files that are not matmul tile tables, and dtypes gpudiag "
        "does not model, are reported as not checked. Exit 1 if a checked entry does not fit or a file cannot "
        "be read. JSON schema gpudiag.check-tiles-table/1.",
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
    from gpudiag.cli import check_tiles_targets as targets

    with _Progress() as progress:
        if from_script and targets.several_targets(gpu, arch, index):  # --arch a,b: a report per target
            return targets.run_each(request, json_out, lambda r: _render(r, show_all, explain), progress.update)
        report = core.check_tiles(request, progress.update)
    finish(report, json_out, lambda r: _render(r, show_all, explain))


def _render(report, show_all: bool, explain: bool) -> None:
    from gpudiag.cli.check_tiles_render import render  # loaded only for a text report

    render(report, show_all, explain)


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
