"""Option values turned into Python values, in gpudiag's words and without pydantic.

Typer 0.22 and later coerce every non-flag option through a pydantic ``TypeAdapter``: importing
pydantic costs a GPU report more than the report itself (80 ms on a 2-core CPU, every command and
every ``SUBCOMMAND --help``), and its errors read "Input should be a valid integer, unable to parse
string as an integer". gpudiag's options are all plain (text, whole numbers, numbers, paths, lists
of text, flags), so each parameter gets the small coercer below instead, installed where Typer
looks for it (``_runtime_param``). A Typer without that hook (older ones convert with click's
types) is left as it is; a parameter of another type keeps Typer's own coercion.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

# annotation -> (converter, what the option takes, in words)
_KINDS: dict[Any, tuple[Any, str]] = {
    str: (str, "text"),
    int: (int, "a whole number"),
    float: (float, "a number"),
    Path: (Path, "a path"),
}


def option_label(param: Any) -> str:
    """How a user names the parameter: its long option (``--jobs``), else its metavar (``SCRIPT``)."""
    opts = [o for o in getattr(param, "opts", ()) if o.startswith("--")] or list(getattr(param, "opts", ()))
    if getattr(param, "param_type_name", "") == "argument" or not opts:
        return param.metavar or (param.name or "").upper()
    return max(opts, key=len)


class WordedBadParameter(typer.BadParameter):
    """A bad value whose message is already a whole gpudiag sentence (the app prints it as it is)."""


class PlainCoercion:
    """Typer's runtime-parameter contract (``coerce(value, param=, ctx=)``) for one plain type."""

    def __init__(self, convert: Any, words: str, lo: float | None, hi: float | None) -> None:
        self.convert, self.words, self.lo, self.hi = convert, words, lo, hi

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        multi = param.multiple or param.nargs == -1
        if value is None:
            return () if multi else None
        if multi:
            return [self._one(v, param) for v in value]
        return self._one(value, param)

    def _one(self, value: Any, param: Any) -> Any:
        if isinstance(value, str):
            try:
                out = self.convert(value.strip() if self.convert in (int, float) else value)
            except ValueError:
                raise WordedBadParameter(f"{option_label(param)} takes {self._range()}, got {value!r}") from None
        else:
            out = value  # a default, already the right type
        if (self.lo is not None and out < self.lo) or (self.hi is not None and out > self.hi):
            raise WordedBadParameter(f"{option_label(param)} takes {self._range()}, got {value!r}")
        return out

    def _range(self) -> str:
        if self.lo is not None and self.hi is not None:
            return f"{self.words} from {self.lo:g} to {self.hi:g}"
        if self.lo is not None:
            return f"{self.words} of {self.lo:g} or more"
        if self.hi is not None:
            return f"{self.words} of at most {self.hi:g}"
        return self.words


class _PassBool:
    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        return value


PASS_BOOL = _PassBool()


def install(command: Any) -> Any:
    """Give each plain parameter of a click command built by Typer gpudiag's coercion, the help
    option click adds when it parses included."""
    if command is None or getattr(command, "_gpudiag_params", False):
        return command
    for param in getattr(command, "params", ()):
        _install(param)
    get_params = command.get_params

    def params_with_coercion(ctx: Any) -> list[Any]:
        found = get_params(ctx)
        for param in found:
            _install(param)
        return found

    command.get_params = params_with_coercion
    command._gpudiag_params = True
    return command


def _argument_words(param: Any) -> None:
    """An argument shown by its metavar only: "TEXT", not "TEXT <str>"; "[TILE...]", not "[TILE...]...";
    "SCRIPT", not "{SCRIPT}" (Typer 0.22+ prints Python's type and braces)."""
    if getattr(param, "param_type_name", "") != "argument" or not hasattr(param, "_usage_display_name"):
        return
    name = param.metavar or (param.name or "").upper()
    if param.nargs != 1 and not name.endswith("..."):
        name += "..."
    usage = name if param.required else f"[{name}]"
    param.display_type_rich = lambda ctx=None, **kw: ""
    param._usage_display_name = lambda: usage
    param._rich_display_name = lambda: name


def _install(param: Any) -> None:
    _argument_words(param)
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or getattr(param, "_runtime_param", "absent") is not None:
        return  # not a Typer parameter with the coercion hook, or already given one
    annotation = descriptor.annotation
    info = descriptor.parameter_info
    if getattr(info, "parser", None) is not None or getattr(descriptor, "file_annotation", None) is not None:
        return
    leaf = annotation
    if getattr(annotation, "__origin__", None) is list:
        (leaf,) = annotation.__args__
    if leaf is bool and leaf is annotation:
        param._runtime_param = PASS_BOOL  # a flag, or a tri-state --x/--no-x whose default is None
        return
    if leaf not in _KINDS:
        return
    convert, words = _KINDS[leaf]
    param._runtime_param = PlainCoercion(convert, words, getattr(info, "min", None), getattr(info, "max", None))


def usage_line(exc: Any) -> str:
    """A click/Typer usage error as one gpudiag sentence, without click's "Usage:" block or Python
    and pydantic words: "no option --frob; did you mean --jobs?"."""
    import re

    kind = type(exc).__name__
    message = str(getattr(exc, "message", "") or exc).strip()
    if isinstance(exc, WordedBadParameter):
        return message
    if kind == "NoSuchOption":
        possible = sorted(getattr(exc, "possibilities", None) or ())
        guess = f"; did you mean {' or '.join(possible[:3])}?" if possible else ""
        return f"no option {exc.option_name}{guess}"
    if kind == "BadOptionUsage" and "requires an argument" in message:
        return f"{exc.option_name} needs a value"
    if kind == "MissingParameter":
        param = getattr(exc, "param", None)
        return f"missing {option_label(param)}" if param is not None else "a required argument is missing"
    if kind == "BadParameter":
        param = getattr(exc, "param", None)
        where = option_label(param) if param is not None else (getattr(exc, "param_hint", None) or "a value")
        return f"bad value for {where}: {message}"
    if m := re.match(r"No such command '(.+?)'\.(?: Did you mean '(.+?)'\?)?", message):
        guess = f"; did you mean {m.group(2)}?" if m.group(2) else ""
        return f"no command {m.group(1)!r}{guess}"
    if m := re.match(r"Got unexpected extra argument(?:s|\(s\))? \((.+)\)", message):
        return f"unexpected argument{'s' if ' ' in m.group(1) else ''} {m.group(1)}"
    first = message.splitlines()[0] if message else kind
    return first[:1].lower() + first[1:].rstrip(".")
