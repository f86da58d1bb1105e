"""What check-tiles' modes (--from-triton-cache, --from-config-table, --kernel) share: the running
click context, and the refusal of an option the mode would silently ignore."""

from __future__ import annotations

import importlib
from typing import Any

from gpudiag.errors import EXIT_USAGE, GpudiagError


def current_context() -> Any:
    """The running command's click context, from the click newer Typer vendors or from click itself."""
    for module in ("typer._click.globals", "click"):
        try:
            ctx = importlib.import_module(module).get_current_context(silent=True)
        except (ImportError, AttributeError):
            continue
        if ctx is not None:
            return ctx
    return None


def reject_unused_options(used: set[str], why: str) -> None:
    """An option given on the command line (or by environment) that this mode does not read is an
    error: ``"{option} does not apply to " + why``."""
    ctx = current_context()
    if ctx is None:
        return
    for param in ctx.command.params:
        if param.name in used or not param.opts:
            continue
        source = ctx.get_parameter_source(param.name)
        if source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT"):
            raise GpudiagError(f"{param.opts[0]} does not apply to {why}", EXIT_USAGE)
