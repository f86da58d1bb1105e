"""`--help` loads only the Typer skeleton: no torch, no triton, no pydantic and no command's core.

Each check runs gpudiag's real entry point in a fresh interpreter and reads `sys.modules` after it
exits: what matters is what was imported, not how long it took (bench/startup/startup.py times it).
Declaring a command imports no core, so the words its options list are written in the CLI module:
the tests below keep them equal to the core's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gpudiag.cli import app as app_module

ROOT = Path(__file__).resolve().parents[1]

# Allowed under gpudiag: the package, its errors, and the CLI layer itself.
ALLOWED_GPUDIAG = ("gpudiag", "gpudiag.errors", "gpudiag.cli", "gpudiag.cli.")
FORBIDDEN_TOP = ("torch", "triton", "pydantic", "numpy")

# main() ends the process itself (gpudiag.cli.streams.exit_now) after running exit handlers: the
# modules are read in one.
PROBE = """
import atexit, json, sys
sys.argv = ["gpudiag", *json.loads(sys.argv[1])]

def dump():
    with open(OUT, "w") as fh:
        json.dump(sorted(sys.modules), fh)

atexit.register(dump)
from gpudiag.cli.app import main
main()
"""


def _modules_after(args: list[str], tmp_path: Path) -> list[str]:
    out = tmp_path / "modules.json"
    code = PROBE.replace("OUT", repr(str(out)))
    res = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stderr
    assert "Usage: gpudiag" in res.stdout
    return json.loads(out.read_text())


def _loaded_cores(modules: list[str]) -> list[str]:
    bad = [m for m in modules if m.split(".")[0] in FORBIDDEN_TOP]
    bad += [
        m
        for m in modules
        if m.startswith("gpudiag") and not (m in ALLOWED_GPUDIAG or m.startswith(ALLOWED_GPUDIAG[-1]))
    ]
    return bad


@pytest.mark.parametrize("command", [[], *([name] for name in app_module.SUBCOMMANDS)], ids=lambda c: " ".join(c))
def test_help_imports_no_core(command, tmp_path):
    modules = _modules_after([*command, "--help"], tmp_path)
    assert _loaded_cores(modules) == [], f"gpudiag {' '.join(command)} --help imported a core module"


def test_root_help_loads_no_command_module(tmp_path):
    modules = _modules_after(["--help"], tmp_path)
    assert not [m for m in modules if m in app_module.SUBCOMMAND_MODULES.values()]


def test_root_help_summaries_are_each_commands_first_sentence():
    import typer.main

    group = typer.main.get_command(app_module.full_app())
    for name, (_, summary) in app_module.SUBCOMMANDS.items():
        assert group.commands[name].get_short_help_str(limit=10_000) == summary, name


def test_option_words_equal_the_cores():
    from gpudiag.bakeoff import knobs, modes
    from gpudiag.cli import bakeoff, check_tiles
    from gpudiag.tiles import inductor, report

    assert tuple(inductor.SETS) == check_tiles.INDUCTOR_SETS
    assert (
        check_tiles.CANNOT_COMPILE,
        check_tiles.DOES_NOT_FIT,
        check_tiles.CANNOT_LAUNCH,
        check_tiles.UNKNOWN,
        check_tiles.FITS,
    ) == (report.CANNOT_COMPILE, report.DOES_NOT_FIT, report.CANNOT_LAUNCH, report.UNKNOWN, report.FITS)
    assert tuple(modes.ALL_MODES) == bakeoff.ALL_MODES
    assert (bakeoff.AUTO, bakeoff.NONE) == (knobs.AUTO, knobs.NONE)
    assert tuple(knobs.KNOBS) == bakeoff.KNOBS


@pytest.mark.parametrize("command", list(app_module.SUBCOMMANDS))
def test_help_shows_no_python_types(cli, command):
    r = cli(command, "--help", env={"COLUMNS": "100"})
    assert r.exit_code == 0
    for word in ("<str>", "<path>", "<int>", "<list", "{", "...]..."):
        assert word not in r.stdout, (command, word)
