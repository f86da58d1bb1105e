"""The ``gpudiag`` Typer app: subcommand registration and the one place errors become exit codes."""

from __future__ import annotations

import importlib
import os
import signal
import sys

import typer
from typer.core import TyperGroup

from gpudiag import __version__
from gpudiag.cli import params
from gpudiag.cli.streams import EXIT_BROKEN_PIPE, exit_now, flush_stdout, make_streams_safe, silence_stdout
from gpudiag.errors import EXIT_USAGE, GpudiagError, stop_signal, stop_status

ERROR_SCHEMA_ID = "gpudiag.error/1"


# The click this Typer uses: its own vendored copy (``typer._click``, Typer 0.22 and later) or click.
CLICK = typer.BadParameter.__module__.rsplit(".", 1)[0]


def _usage_error_types() -> tuple[type[Exception], ...]:
    """click's UsageError, from the click this Typer uses (never importing the other one)."""
    return tuple(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


USAGE_ERRORS = _usage_error_types()


def _subcommand_args(ctx: typer.Context) -> list[str]:
    protected = getattr(ctx, "_protected_args", None)  # click >= 8.2; the public name is deprecated
    if protected is None:
        protected = getattr(ctx, "protected_args", [])
    args = [*protected, *ctx.args]
    return args[: args.index("--")] if "--" in args else args


def error_document(command: str | None, message: str, exit_code: int) -> dict:
    """What ``--json`` prints on stdout when a command fails, so a script reading stdout gets JSON."""
    return {"schema": ERROR_SCHEMA_ID, "command": command, "error": message, "exit_code": exit_code}


class GpudiagGroup(TyperGroup):
    """Turns ``GpudiagError`` (and anything unexpected) into one line on stderr and an exit code.

    With ``--json`` the same failure is also printed on stdout as an error document
    (``gpudiag.error/1``): a script that parses stdout always gets JSON.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        params.install(self)

    def make_context(self, info_name, args, parent=None, **extra):
        """The root's own options parsed: a mistake there (``gpudiag --frob``) is one line too."""
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except USAGE_ERRORS as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # no arguments: the help, as asked
                raise
            typer.echo(f"gpudiag: {params.usage_line(exc)} (gpudiag --help)", err=True)
            raise typer.Exit(EXIT_USAGE) from None

    def get_command(self, ctx, cmd_name):
        return params.install(super().get_command(ctx, cmd_name))

    def list_commands(self, ctx) -> list[str]:
        return list(SUBCOMMANDS)

    def format_commands(self, ctx, formatter) -> None:
        """Each command's whole first sentence, wrapped to the terminal, never cut with '...'. Written
        in SUBCOMMANDS, so that ``gpudiag --help`` loads no command (tests/test_cli_help.py keeps each
        equal to its command's own first sentence)."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, summary) in SUBCOMMANDS.items()])

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        args = _subcommand_args(ctx)
        command = args[0] if args else None
        wants_json = "--json" in args[1:]

        def fail(message: str, code: int, *, prefix: str = "gpudiag") -> typer.Exit:
            typer.echo(f"{prefix}: {message}", err=True)
            if wants_json:
                import json

                try:
                    sys.stdout.write(json.dumps(error_document(command, message, code), indent=2) + "\n")
                except BrokenPipeError:
                    silence_stdout()
            return typer.Exit(code)

        try:
            return super().invoke(ctx)
        except GpudiagError as exc:
            raise fail(exc.message, exc.exit_code) from None
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP raised as gpudiag.errors.Stopped
            signum = stop_signal(exc)
            message = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
            raise fail(message, stop_status(exc)) from None
        except BrokenPipeError:  # the reader closed stdout early (| head): stop quietly
            silence_stdout()
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
        except USAGE_ERRORS as exc:  # a bad option or value: one line in gpudiag's words, exit 2
            name = f"gpudiag {command}" if command in SUBCOMMANDS else "gpudiag"
            raise fail(f"{params.usage_line(exc)} ({name} --help)", EXIT_USAGE, prefix=name) from None
        except Exception as exc:  # a bug in gpudiag: still no traceback unless asked for
            # Typer's (or click's, in older Typer) own exceptions carry usage errors and exits.
            if type(exc).__module__.startswith(("click", "typer")) or os.environ.get("GPUDIAG_DEBUG"):
                raise
            raise fail(
                f"internal error: {type(exc).__name__}: {exc} (set GPUDIAG_DEBUG=1 to see the traceback)", EXIT_USAGE
            ) from None


def _keep_hyphenated_words_whole() -> None:
    """Help text wraps between words only: "max-autotune" or "--max-regression" split at a hyphen
    cannot be copied back. click's wrap_text builds its TextWrapper from ``_textwrap`` at each call
    and offers no switch, so the class it finds there gets ``break_on_hyphens=False``."""
    for name in (f"{CLICK}._textwrap",):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        base = getattr(module, "TextWrapper")  # noqa: B009 - a module attribute mypy cannot see
        if getattr(base, "keeps_hyphenated_words", False):
            continue

        class TextWrapper(base):  # type: ignore[misc, valid-type]
            keeps_hyphenated_words = True

            def __init__(self, *args, **kwargs):
                kwargs["break_on_hyphens"] = False
                super().__init__(*args, **kwargs)

        setattr(module, "TextWrapper", TextWrapper)  # noqa: B010


_keep_hyphenated_words_whole()

app = typer.Typer(
    name="gpudiag",
    cls=GpudiagGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's own help: wrapped to the terminal (at most 80 columns), never cut with "…"
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gpudiag {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the gpudiag version and exit."
    ),
) -> None:
    """Answers about your NVIDIA GPU for people who tune torch.compile, Triton and CUTLASS kernels.

    Exit codes: 0 success; 1 the answer is no (does not fit, nothing recognised, every mode
    failed); 2 usage error, bad input, or an environment that cannot answer.
    """


# Each subcommand is one module that registers itself on ``app`` when imported, with the first
# sentence of its help. Importing only the one being run keeps start-up short (explaining one warning
# line must not pay for bakeoff's or check-tiles' imports); ``gpudiag --help`` imports none of them,
# and a command's module imports its core only when the command runs. Man pages and tests load all.
SUBCOMMANDS = {
    "info": ("gpudiag.cli.info", "What this GPU is and the limits kernel tuning depends on."),
    "explain-warning": (
        "gpudiag.cli.explain_warning",
        "What a torch.compile, Inductor or Triton warning means, whether it applies to your GPU, and the fix.",
    ),
    "check-tiles": (
        "gpudiag.cli.check_tiles",
        "Will these tile configs fit this GPU's shared memory, by how much, and how well will they occupy it, "
        "before anything is launched.",
    ),
    "bakeoff": (
        "gpudiag.cli.bakeoff",
        "Which torch.compile mode, and which settings beyond it, is really fastest for this workload on this "
        "GPU, measured fairly.",
    ),
}
SUBCOMMAND_MODULES = {name: module for name, (module, _) in SUBCOMMANDS.items()}


def load_subcommands(names: list[str] | None = None) -> typer.Typer:
    for name in names if names is not None else SUBCOMMAND_MODULES:
        importlib.import_module(SUBCOMMAND_MODULES[name])
    return app


def full_app() -> typer.Typer:
    """The app with every subcommand registered."""
    return load_subcommands()


def _requested_subcommand(argv: list[str]) -> list[str] | None:
    """The subcommand modules a command line needs: none for the root's own options (--help,
    --version) or no arguments, the one named, or all of them for a name that is no command (the
    error then suggests one)."""
    for arg in argv:
        if arg.startswith("-"):
            continue  # the root's options take no value
        return [arg] if arg in SUBCOMMAND_MODULES else None
    return []


def main() -> None:
    make_streams_safe()
    load_subcommands(_requested_subcommand(sys.argv[1:]))
    try:
        app(prog_name="gpudiag")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    # Output still buffered for a pipe is written here; a reader that left early is not an error.
    if not flush_stdout():
        code = EXIT_BROKEN_PIPE
    exit_now(code)


if __name__ == "__main__":
    main()
