"""The ``gpudiag`` Typer app: subcommand registration and the one place errors become exit codes."""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys

import typer
from typer.core import TyperGroup

from gpudiag import __version__
from gpudiag.cli.streams import EXIT_BROKEN_PIPE, flush_stdout, make_streams_safe, silence_stdout
from gpudiag.errors import EXIT_USAGE, GpudiagError, stop_signal, stop_status

ERROR_SCHEMA_ID = "gpudiag.error/1"


def _usage_error_types() -> tuple[type, ...]:
    """click's UsageError, and the copy newer Typer vendors as ``typer._click``."""
    types: list[type] = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            types.append(importlib.import_module(module).UsageError)
        except (ImportError, AttributeError):
            pass
    return tuple(types)


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

    def format_commands(self, ctx, formatter) -> None:
        """Each command's whole first sentence, wrapped to the terminal, never cut with '...'."""
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        args = _subcommand_args(ctx)
        command = args[0] if args else None
        wants_json = "--json" in args[1:]

        def fail(message: str, code: int, *, to_stderr: bool = True) -> typer.Exit:
            if to_stderr:
                typer.echo(f"gpudiag: {message}", err=True)
            if wants_json:
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
        except USAGE_ERRORS as exc:  # a bad option: click prints the usage and the message
            fail(exc.format_message(), exc.exit_code, to_stderr=False)
            raise
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
    for name in ("typer._click._textwrap", "click._textwrap"):  # Typer's vendored click, then click
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        base = module.TextWrapper
        if getattr(base, "keeps_hyphenated_words", False):
            continue

        class TextWrapper(base):  # type: ignore[misc, valid-type]
            keeps_hyphenated_words = True

            def __init__(self, *args, **kwargs):
                kwargs["break_on_hyphens"] = False
                super().__init__(*args, **kwargs)

        module.TextWrapper = TextWrapper


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


# Each subcommand is one module that registers itself on ``app`` when imported. Importing only
# the one being run keeps start-up short (explaining one warning line must not pay for bakeoff's
# or check-tiles' imports); --help, man pages and tests load them all.
SUBCOMMAND_MODULES = {
    "info": "gpudiag.cli.info",
    "explain-warning": "gpudiag.cli.explain_warning",
    "check-tiles": "gpudiag.cli.check_tiles",
    "bakeoff": "gpudiag.cli.bakeoff",
}


def load_subcommands(names: list[str] | None = None) -> typer.Typer:
    for name in names if names is not None else SUBCOMMAND_MODULES:
        importlib.import_module(SUBCOMMAND_MODULES[name])
    return app


def full_app() -> typer.Typer:
    """The app with every subcommand registered."""
    return load_subcommands()


def _requested_subcommand(argv: list[str]) -> list[str] | None:
    for arg in argv:
        if arg.startswith("-"):
            return None  # an option before the subcommand (--help, --version): load everything
        return [arg] if arg in SUBCOMMAND_MODULES else None
    return None


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
    sys.exit(code)


if __name__ == "__main__":
    main()
