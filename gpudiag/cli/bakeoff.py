"""``gpudiag bakeoff SCRIPT``: parse the options, show progress, hand the report to JSON or to the
text renderer (gpudiag/cli/bakeoff_render.py).

Every decision is the core's (gpudiag.bakeoff): this module only turns options into ``Settings``,
runs the ``Bakeoff`` with a live progress view on stderr, and passes its ``BakeoffReport`` on.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from gpudiag.cli.app import app
from gpudiag.cli.output import console, emit_json

if TYPE_CHECKING:
    from rich.console import Console

    from gpudiag.bakeoff.harness import Progress
    from gpudiag.bakeoff.session import Bakeoff

# Declaring the command imports no core (`bakeoff --help` stays as fast as Typer itself), so the words
# its options list are written here; tests/test_cli_help.py keeps them equal to gpudiag.bakeoff's.
ALL_MODES = ("eager", "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")  # modes.ALL_MODES
AUTO, NONE = "auto", "none"  # knobs.AUTO, knobs.NONE
KNOBS = ("tf32", "coordinate_descent_tuning", "freezing", "dynamic", "static")  # knobs.KNOBS


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

    Notes: workloads run under torch.no_grad() (--grad: forward and backward). Tensors and nn.Modules returned by the script are
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
    script_args: list[str] | None = typer.Argument(
        None,
        metavar="-- ARGS",
        show_default=False,
        help="Arguments for the script, after --: its sys.argv[1:] in every measurement, as with "
        "`python SCRIPT ARGS` (for a script that parses them at import).",
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
    grad: bool = typer.Option(
        False,
        "--grad",
        help="Measure training instead of inference: autograd on, an nn.Module in train() mode run "
        "forward and backward (of the sum of its outputs) with its gradients checked against eager's; "
        "a function runs as written, its own backward() included. Without it, workloads run under "
        "torch.no_grad().",
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
        script_args=tuple(script_args or ()),
        grad=grad,
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
            from gpudiag.cli.bakeoff_render import render  # loaded only for a text report

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
            f"[bold]bake-off[/bold] {_escape(h.settings.script_call)} on {_escape(dev.name or 'CPU')} · modes "
            f"{', '.join(h.modes)}{' · training (--grad)' if h.settings.grad else ''} · "
            f"{h.settings.warmup_ms:g} ms warm-up, {h.settings.rep_ms:g} ms reps"
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
            # a finished row's status and figures, styled and formatted as its table will show them
            from gpudiag.cli.bakeoff_render import STATUS_STYLE, fmt_ms, fmt_s

            r = p.row
            style = STATUS_STYLE.get(r.status, "")
            if r.timing is not None:
                detail = f" · compile {fmt_s(r.compile_s)}, median {fmt_ms(r.median_ms)} ms"
                if r.timing.loop_ms is not None:
                    detail += f", loop {fmt_ms(r.timing.loop_ms)} ms" + (" (launch-bound)" if r.launch_bound else "")
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


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
