"""``gpudiag explain-warning``: parse the options, ask the core for one report, and hand it to JSON or
to the text renderer (gpudiag/cli/explain_warning_render.py)."""

from __future__ import annotations

import typer

from gpudiag.cli.app import app
from gpudiag.cli.output import finish

# The man page's EXAMPLES and EXIT STATUS (gpudiag.manpages); 130, 141, 143 and 129 are worded there.
MAN_EXAMPLES = (
    (
        "gpudiag explain-warning 'Not enough SMs to use max_autotune_gemm mode'",
        "what one pasted line means, whether it applies to this GPU, and the fix",
    ),
    (
        "gpudiag explain-warning --log train.log",
        "every warning of a log once, then the recompile and graph-break story",
    ),
    ("python train.py 2>&1 | gpudiag explain-warning --log -", "the same, read from a pipe"),
    ("gpudiag explain-warning inductor.not-enough-sms --gpu 'RTX 3070'", "one entry by its id, for a catalogue GPU"),
    ("gpudiag explain-warning --list", "every catalogue entry and family, one line each"),
)
MAN_EXIT_STATUS = {
    0: "explained.",
    1: "nothing recognised (the closest entries are shown).",
    2: "empty, binary or unreadable input, an unknown GPU name, or a bad option.",
}
MAN_SIGNALS = (130, 141, 143, 129)


@app.command("explain-warning")
def explain_warning_command(
    text: str | None = typer.Argument(
        None,
        metavar="TEXT",
        help="The warning or error line (any logger "
        "prefix), several pasted lines, or an id: a catalogue id such as "
        "inductor.not-enough-sms, a family id, or torch's GB0059.",
    ),
    log: str | None = typer.Option(
        None,
        "--log",
        "-l",
        metavar="FILE",
        help="Scan a whole log ('-' for stdin; UTF-8, UTF-16 or UTF-32, plain or gzip/bzip2/xz): every line "
        "read with the same matcher as TEXT, after any runner prefix (CI timestamps, [rank3]:, srun, docker "
        "compose, journald); each warning once with count, first line and verdict, the lines read, unknown "
        "and skipped (and why), then the recompile and graph-break story per rank.",
    ),
    list_entries: bool = typer.Option(
        False, "--list", help="List the catalogue and the families, one line each, and exit."
    ),
    gpu: str | None = typer.Option(
        None,
        "--gpu",
        "-g",
        metavar="NAME",
        help="Give verdicts for a catalogue GPU ('RTX 3070', 'H100') instead of the live one.",
    ),
    json_out: bool = typer.Option(
        False, "--json", help="Print one JSON document (schema gpudiag.explain-warning/1) and nothing else."
    ),
) -> None:
    """What a torch.compile, Inductor or Triton warning means, whether it applies to your GPU, and the fix.

    Explanations come from gpudiag's catalogue, from torch's own graph-break registry (installed torch), or, when neither knows the exact message, from the family of what emitted it (said so plainly).

    With --log, the report also tells per compiled function how often it recompiled (against the log's own recompile limit), which guards failed and the change that removes each, and groups graph breaks by reason and by user frame; ranks (or processes) get a story each, and where they diverge is said.

    Exit 0 explained; 1 nothing recognised (closest entries shown; for a log, no warning or error explained); 2 empty, binary or unreadable input, or a bad option.
    """
    from gpudiag.explain import report as core

    rep = core.build(text=text, log=log, list_entries=list_entries, gpu=gpu)
    finish(rep, json_out, _render)


def _render(rep) -> None:
    from gpudiag.cli.explain_warning_render import render  # loaded only for a text report

    render(rep)
