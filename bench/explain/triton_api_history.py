"""Which public names each Triton release's modules define: the data behind explain-warning's answers
to ``module 'triton.language' has no attribute 'X'`` and ``cannot import name 'X' from 'triton.Y'``.

    python3 -m bench.explain.triton_api_history WHEELS_DIR [--out gpudiag/explain/data/triton_api.toml]

WHEELS_DIR holds one folder per release, named by its version (``3.4.0/``), each with the ``triton/``
package unpacked from that release's PyPI wheel (only the ``.py`` files are read). To make it:

    for v in 2.0.0 2.1.0 ... 3.9.0; do
      pip download triton==$v --no-deps --only-binary :all: --python-version 3.11 \\
          --platform manylinux2014_x86_64 --platform manylinux_2_27_x86_64 -d /tmp/w$v
      unzip -q /tmp/w$v/*.whl 'triton/*.py' -d WHEELS_DIR/$v     # every .py file, at any depth
    done

Each module file is parsed with ``ast`` (nothing is imported, so any release reads on any machine):
its names are the top-level functions, classes, assignments and imports (not ``__all__``, which can
list names a release no longer defines), and a package's submodules. A name is
written with the releases it is present in, as spans (``"2.1.0..3.8.0"``).
"""

from __future__ import annotations

import argparse
import ast
import datetime
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "gpudiag" / "explain" / "data" / "triton_api.toml"
# module -> its file in the triton package (a tuple: where it moved between releases)
MODULES: dict[str, str | tuple[str, ...]] = {
    "triton": "__init__.py",
    "triton.language": "language/__init__.py",
    "triton.language.math": "language/math.py",
    "triton.language.core": "language/core.py",
    "triton.language.libdevice": "language/libdevice.py",
    "triton.language.extra": "language/extra/__init__.py",
    "triton.language.extra.cuda": ("language/extra/cuda.py", "language/extra/cuda/__init__.py"),
    "triton.language.extra.cuda.libdevice": "language/extra/cuda/libdevice.py",
    "triton.language.extra.libdevice": "language/extra/libdevice.py",
    "triton.compiler": ("compiler/__init__.py", "compiler.py"),  # one file in 2.0
    "triton.compiler.compiler": "compiler/compiler.py",
    "triton.runtime": "runtime/__init__.py",
    "triton.runtime.jit": "runtime/jit.py",
    "triton.runtime.autotuner": "runtime/autotuner.py",
    "triton.runtime.cache": "runtime/cache.py",
    "triton.runtime.driver": "runtime/driver.py",
    "triton.runtime.errors": "runtime/errors.py",
    "triton.testing": "testing.py",
}


def version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split("."))


def module_names(path: Path) -> tuple[set[str], set[str]]:
    """The names a module has at its top level (what ``module.X`` and ``from module import X`` find), and
    those of them it only imports from elsewhere."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    imported: set[str] = set()

    def targets(node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                targets(elt)

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    targets(t)
            elif isinstance(node, ast.AnnAssign):
                targets(node.target)
            elif isinstance(node, ast.Delete):  # a helper removed after use is not there
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        names.discard(t.id)
                        imported.discard(t.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.name != "*":
                        imported.add(alias.asname or alias.name.split(".")[0])
            elif isinstance(node, (ast.If, ast.Try)):  # version switches and optional imports
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
                visit(getattr(node, "finalbody", []))

    visit(tree.body)

    def public(ns: set[str]) -> set[str]:
        return {n for n in ns if not (n.startswith("__") and n.endswith("__"))}

    return public(names | imported), public(imported - names)


def all_modules(package: Path) -> set[str]:
    """Every module a release's ``triton`` package has, dotted (a package by its ``__init__.py``)."""
    out = set()
    for f in package.rglob("*.py"):
        parts = f.relative_to(package.parent).with_suffix("").parts
        out.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def spans(present: list[bool], versions: list[str]) -> str:
    out, start = [], None
    for i, on in enumerate([*present, False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            out.append(f"{versions[start]}..{versions[i - 1]}")
            start = None
    return ",".join(out)


def toml_key(name: str) -> str:
    return name if name.replace("_", "a").isalnum() and name.isascii() else f'"{name}"'


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("wheels", type=Path)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    versions = sorted((p.name for p in args.wheels.iterdir() if (p / "triton").is_dir()), key=version_key)
    if not versions:
        print(f"no <version>/triton folders under {args.wheels}", file=sys.stderr)
        return 2
    lines = [
        "# Public names of Triton's modules, release by release: read by gpudiag/explain/triton_api.py to say",
        "# in which releases a name a user's error says is missing exists, and where it moved.",
        f"# Generated {datetime.date.today().isoformat()} by bench/explain/triton_api_history.py from the PyPI wheels",
        "# (manylinux x86_64) of each release below; each module file parsed with ast, nothing imported.",
        "# [module.M]: each name M has, with the releases it is in, as spans of `releases`; [exists]: the",
        "# releases each module of the package is in; [imported]: names a module only imports (defined in",
        "# another one).",
        "",
        f"releases = [{', '.join(f'{chr(34)}{v}{chr(34)}' for v in versions)}]",
        'source = "triton wheels from pypi.org, module files parsed by bench/explain/triton_api_history.py"',
    ]
    imported = ["", "[imported]"]
    modules_in = {v: all_modules(args.wheels / v / "triton") for v in versions}
    every_module = sorted(set().union(*modules_in.values()))
    exists = ["", "[exists]"] + [
        f'"{m}" = "{spans([m in modules_in[v] for v in versions], versions)}"' for m in every_module
    ]
    for module, rel in MODULES.items():
        per_version: dict[str, tuple[set[str], set[str]] | None] = {}
        for v in versions:
            files = [args.wheels / v / "triton" / r for r in ((rel,) if isinstance(rel, str) else rel)]
            f = next((f for f in files if f.is_file()), None)
            if f is None:
                per_version[v] = None
                continue
            names, only_imported = module_names(f)
            # a package's submodules: `from triton.language.extra import cuda` finds them
            names |= {m.rpartition(".")[2] for m in modules_in[v] if m.rpartition(".")[0] == module}
            per_version[v] = names, only_imported
        found = {v: n for v, n in per_version.items() if n is not None}
        if not found:
            continue
        lines += ["", f'[module."{module}"]']
        all_names = sorted(set().union(*(names for names, _ in found.values())))
        for name in all_names:
            lines.append(
                f'{toml_key(name)} = "{spans([v in found and name in found[v][0] for v in versions], versions)}"'
            )
        # imported-only as of the newest release that has the name
        only_imported = [
            n for n in all_names if n in next(imp for names, imp in reversed(found.values()) if n in names)
        ]
        if only_imported:
            imported.append(f'"{module}" = [{", ".join(f"{chr(34)}{n}{chr(34)}" for n in only_imported)}]')
        print(f"{module}: {len(all_names)} names in {len(found)} releases", file=sys.stderr)
    lines += exists + imported
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
