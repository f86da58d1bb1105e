"""roff man pages generated from the click command Typer builds, so they cannot drift from the CLI.

``python -m gpudiag.manpages man/`` writes ``gpudiag.1`` and one ``gpudiag-<command>.1`` per
subcommand; ``tests/test_manpages.py`` fails when the committed pages differ from fresh ones.
A subcommand's long help may end with extra sections written as ``Notes:`` / ``Assumptions:``
paragraphs; they are rendered as they are.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

import typer

from gpudiag import __version__
from gpudiag.errors import EXIT_NO, EXIT_OK, EXIT_USAGE

DATE = "2026"  # pages carry no build date, so regeneration is byte-for-byte stable
EXIT_TEXT = {
    EXIT_OK: "success.",
    EXIT_NO: "the answer is no: a config does not fit, nothing was recognised, or every mode failed.",
    EXIT_USAGE: "usage error, bad input, or an environment that cannot answer (no GPU, no driver).",
}
# What a signal makes every command exit with (each command lists the ones that apply: MAN_SIGNALS).
SIGNAL_TEXT = {
    130: "interrupted by Ctrl-C (SIGINT).",
    141: "the reader of stdout went away (a closed pipe, as with | head): the output stops quietly.",
    143: "stopped by SIGTERM (timeout, Slurm, a CI cancellation).",
    129: "stopped by SIGHUP (the terminal closed).",
}
ROOT_EXAMPLES = (
    ("gpudiag info", "this GPU and the limits kernel tuning depends on"),
    ("gpudiag info --gpu h100,'rtx 4090'", "what differs between two GPUs for kernel tuning"),
    ("gpudiag explain-warning --log train.log", "every torch.compile warning of a log, explained"),
    ("gpudiag check-tiles 128x256x64:3@8 --gpu 'RTX 4090'", "will a tile config fit"),
    ("gpudiag bakeoff model.py", "which torch.compile mode is fastest for a workload"),
)


def _esc(text: str) -> str:
    out = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in out.splitlines():
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def _paragraphs(text: str) -> list[str]:
    text = inspect.cleandoc(text or "")
    return [p.strip() for p in text.split("\n\n") if p.strip()]


# Typer >= 0.24 vendors click as typer._click and older Typer uses click itself, so the
# generator duck-types commands and parameters instead of importing click's classes.
def _is_argument(param) -> bool:
    return getattr(param, "param_type_name", "") == "argument"


def _metavar(param) -> str:
    # Commands set metavar explicitly: Typer versions disagree on what they would print.
    if getattr(param, "metavar", None):
        return str(param.metavar)
    ptype = getattr(param, "type", None) or getattr(param, "bare_type", None)
    choices = getattr(ptype, "choices", None)
    if choices:
        return "[" + "|".join(str(c) for c in choices) + "]"
    return "VALUE"


def _option_lines(param) -> tuple[str, str]:
    if _is_argument(param):
        name = param.metavar or param.name.upper()
        if getattr(param, "nargs", 1) == -1 and not name.endswith("..."):
            name += "..."
        return name, getattr(param, "help", None) or ""
    names = ", ".join(param.opts + param.secondary_opts)
    if not param.is_flag and not param.count:
        names += f" {_metavar(param)}"
    help_text = param.help or ""
    if param.show_default and param.default not in (None, False, ()) and not param.is_flag:
        help_text += f" [default: {param.default}]"
    return names, help_text


def _page(cmd, name: str, see_also: list[str], module: str | None = None) -> str:
    help_paras = _paragraphs(cmd.help or "")
    summary = (cmd.short_help or (help_paras[0] if help_paras else name)).rstrip(".")
    out = [
        f'.TH "{name.upper()}" "1" "{DATE}" "gpudiag {__version__}" "User Commands"',
        ".SH NAME",
        f"{_esc(name)} \\- {_esc(summary)}",
        ".SH SYNOPSIS",
    ]
    from gpudiag.cli import params as cli_params

    cli_params.install(cmd)  # arguments shown as the help shows them (SCRIPT, [TILE...])
    usage = " ".join(cmd.collect_usage_pieces(typer.Context(cmd, info_name=name)))
    out.append(f".B {_esc(name.replace('-', ' ', 1) if name != 'gpudiag' else name)}\n{_esc(usage)}")
    out.append(".SH DESCRIPTION")
    for para in help_paras:
        out += [".PP", _esc(para)]
    params = [p for p in cmd.params if not getattr(p, "hidden", False)]
    args = [p for p in params if _is_argument(p)]
    opts = [p for p in params if not _is_argument(p)]
    if args:
        out.append(".SH ARGUMENTS")
        for p in args:
            head, text = _option_lines(p)
            out += [".TP", f".B {_esc(head)}", _esc(text)]
    out.append(".SH OPTIONS")
    for p in opts:
        head, text = _option_lines(p)
        out += [".TP", f".B {_esc(head)}", _esc(text)]
    out += [".TP", ".B \\-h, \\-\\-help", "Show the help and exit."]
    if hasattr(cmd, "commands"):
        out.append(".SH COMMANDS")
        for sub_name, sub in sorted(cmd.commands.items()):
            out += [".TP", f".B {_esc(sub_name)}", _esc(sub.get_short_help_str(limit=200))]
    data = importlib.import_module(module) if module else None
    sections = getattr(data, "man_sections", None)
    for title, paras in (sections() if sections else {}).items():
        out.append(f".SH {title}")
        for para in paras:
            out += [".PP", _esc(para)]
    examples = getattr(data, "MAN_EXAMPLES", ROOT_EXAMPLES if module is None else ())
    if examples:
        out.append(".SH EXAMPLES")
        for line, what in examples:
            out += [
                ".TP",
                f".B {_esc(line)}",
                _esc(what[:1].upper() + what[1:] + ("" if what.endswith((".", "?")) else ".")),
            ]
    statuses = dict(getattr(data, "MAN_EXIT_STATUS", EXIT_TEXT))
    statuses.update({code: SIGNAL_TEXT[code] for code in getattr(data, "MAN_SIGNALS", tuple(SIGNAL_TEXT))})
    out.append(".SH EXIT STATUS")
    for code, text in statuses.items():
        out += [".TP", f".B {code}", _esc(text)]
    out.append(".SH SEE ALSO")
    out.append(", ".join(f"\\fB{_esc(s)}\\fR(1)" for s in see_also))
    return "\n".join(out) + "\n"


def generate() -> dict[str, str]:
    """{file name: page text} for the top-level command and every registered subcommand."""
    from gpudiag.cli.app import SUBCOMMAND_MODULES, full_app

    app = full_app()

    group = typer.main.get_command(app)
    commands = group.commands  # type: ignore[attr-defined]  # a click Group: the app has a callback
    subs = sorted(commands)
    names = ["gpudiag"] + [f"gpudiag-{s}" for s in subs]
    pages = {"gpudiag.1": _page(group, "gpudiag", [n for n in names if n != "gpudiag"])}
    for s in subs:
        page_name = f"gpudiag-{s}"
        pages[f"{page_name}.1"] = _page(
            commands[s], page_name, [n for n in names if n != page_name], SUBCOMMAND_MODULES[s]
        )
    return pages


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, text in generate().items():
        path = directory / file_name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "man")
    for p in write(target):
        print(p)
