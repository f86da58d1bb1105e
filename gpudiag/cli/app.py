"""The ``gpudiag`` Typer app: subcommand registration and the one place errors become exit codes."""

from __future__ import annotations

import importlib
import os
import sys

import typer
from typer.core import TyperGroup

from gpudiag import __version__
from gpudiag.errors import EXIT_USAGE, GpudiagError


class GpudiagGroup(TyperGroup):
    """Turns ``GpudiagError`` (and anything unexpected) into one line on stderr and an exit code."""

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except GpudiagError as exc:
            typer.echo(f"gpudiag: {exc.message}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("gpudiag: interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:  # a bug in gpudiag: still no traceback unless asked for
            # Typer's (or click's, in older Typer) own exceptions carry usage errors and exits.
            if type(exc).__module__.startswith(("click", "typer")) or os.environ.get("GPUDIAG_DEBUG"):
                raise
            typer.echo(f"gpudiag: internal error: {type(exc).__name__}: {exc} "
                       "(set GPUDIAG_DEBUG=1 to see the traceback)", err=True)
            raise typer.Exit(EXIT_USAGE) from None


app = typer.Typer(
    name="gpudiag",
    cls=GpudiagGroup,
    help="Answers about your NVIDIA GPU for people who tune torch.compile, Triton and CUTLASS kernels.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gpudiag {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the gpudiag version and exit."),
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
    load_subcommands(_requested_subcommand(sys.argv[1:]))
    app(prog_name="gpudiag")


if __name__ == "__main__":
    main()
