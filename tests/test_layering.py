"""The package's layers, checked by walking every import (ast), so they hold without a reviewer.

    cli (and manpages, __main__)   parses options, calls a command, renders; the only users of typer and rich
    info, explain, tiles, bakeoff  the commands: reports as data, no printing, no exit codes of their own making
    device, installed              what every command shares: the GPU model, the installed torch and triton
    errors, files                  the exceptions and exit codes, file helpers

A command imports another command only through a named link module (LINKS), so that what one
command borrows from another is one file to read.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gpudiag"
CLI_LAYER = ("gpudiag.cli", "gpudiag.manpages", "gpudiag.__main__")
COMMANDS = ("info", "explain", "tiles", "bakeoff")
SHARED = ("device", "installed", "errors", "files")
UI_LIBRARIES = ("typer", "rich", "click")
# module -> the command packages it may import: the one place a command borrows another's work
LINKS = {
    "gpudiag.bakeoff.explain_link": {"explain"},  # a bake-off row's warnings explained by explain's catalogue
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import, relative ones resolved, at any depth (lazy imports too)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            out.append((node.lineno, name))
            out += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
    return out


MODULES = sorted(PACKAGE.rglob("*.py"))


def _layer(module: str) -> str:
    if module.startswith(CLI_LAYER):
        return "cli"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "gpudiag"


def _violations(rule) -> list[str]:
    found = []
    for path in MODULES:
        module = _module_name(path)
        for line, imported in _imports(path):
            why = rule(module, imported)
            if why:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {imported}: {why}")
    return sorted(set(found))


def test_typer_and_rich_only_in_the_cli_layer():
    def rule(module, imported):
        top = imported.split(".")[0]
        if top in UI_LIBRARIES and _layer(module) != "cli":
            return "typer, rich and click belong to gpudiag/cli"
        return None

    assert _violations(rule) == []


def test_no_core_module_imports_the_cli():
    def rule(module, imported):
        if _layer(module) != "cli" and _layer(imported) == "cli" and imported.startswith("gpudiag"):
            return "the core returns data; only gpudiag/cli renders it"
        return None

    assert _violations(rule) == []


def test_shared_packages_import_no_command():
    def rule(module, imported):
        if _layer(module) in SHARED and imported.startswith("gpudiag.") and _layer(imported) in COMMANDS:
            return f"{_layer(module)}/ is shared by every command and may not depend on one"
        return None

    assert _violations(rule) == []


def test_commands_import_each_other_only_through_a_link_module():
    def rule(module, imported):
        mine, theirs = _layer(module), _layer(imported)
        crosses = mine in COMMANDS and imported.startswith("gpudiag.") and theirs in COMMANDS and theirs != mine
        if crosses and theirs not in LINKS.get(module, set()):
            return f"{mine} may use {theirs} only through a module named in tests/test_layering.py LINKS"
        return None

    assert _violations(rule) == []


@pytest.mark.parametrize("module", sorted(LINKS))
def test_every_link_module_exists(module):
    assert (PACKAGE.parent / (module.replace(".", "/") + ".py")).is_file()


def test_the_walk_sees_lazy_and_relative_imports(tmp_path):
    """The checker itself: an import inside a function, and a relative one, are both found."""
    pkg = tmp_path / "gpudiag" / "tiles"
    pkg.mkdir(parents=True)
    f = pkg / "x.py"
    f.write_text("def f():\n    import rich.table\n    from ..cli import app\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "gpudiag"
    try:
        names = [name for _, name in _imports(f)]
    finally:
        PACKAGE = saved
    assert "rich.table" in names and "gpudiag.cli" in names
