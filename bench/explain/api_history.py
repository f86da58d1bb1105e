"""Which names each release of Triton and torch has in the modules users' errors name: the data
behind explain-warning's answers to ``module 'triton.language' has no attribute 'X'``, ``cannot
import name 'X' from 'torch._inductor.utils'`` and ``No module named 'torch.nn.attention'``.

    python3 -m bench.explain.api_history PACKAGE WHEELS_DIR [--out gpudiag/explain/data/PACKAGE_api.toml]

WHEELS_DIR holds one folder per release, named by its version (``3.4.0/``), each with the package's
``.py`` files as its PyPI wheel has them. For Triton, unpack every ``.py`` file:

    for v in 2.0.0 2.1.0 ... 3.9.0; do
      pip download triton==$v --no-deps --only-binary :all: --python-version 3.11 \\
          --platform manylinux2014_x86_64 --platform manylinux_2_27_x86_64 -d /tmp/w$v
      unzip -q /tmp/w$v/*.whl 'triton/*.py' -d WHEELS_DIR/$v
    done

torch's wheels are 0.6-1 GB each, so bench/explain/remote_wheel.py reads only what is needed with
HTTP range requests: the modules below in full, every other ``.py`` file as an empty placeholder (its
path is all that is used):

    python3 -m bench.explain.remote_wheel torch 2.0.0,2.1.0,... --out WHEELS_DIR \\
        $(python3 -m bench.explain.api_history torch --members)

Each module file is parsed with ``ast`` (nothing is imported, so any release reads on any machine):
its names are the top-level functions, classes, assignments and imports (not ``__all__``, which can
list names a release no longer defines), and a package's submodules. A module with a star import
(``from torch._C import *``) gets names this cannot see; it is listed under [star] so the answer does
not claim such a name is missing. A name is written with the releases it is present in, as spans
(``"2.1.0..3.8.0"``).
"""

from __future__ import annotations

import argparse
import ast
import datetime
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "gpudiag" / "explain" / "data"
# the modules whose names are recorded, per package: those users' errors name (the rest: existence only)
# (their star imports' sources are read too: EXTRA_MEMBERS)
MODULES = {
    "triton": (
        "triton",
        "triton.language",
        "triton.language.math",
        "triton.language.core",
        "triton.language.libdevice",
        "triton.language.extra",
        "triton.language.extra.cuda",
        "triton.language.extra.cuda.libdevice",
        "triton.language.extra.libdevice",
        "triton.compiler",
        "triton.compiler.compiler",
        "triton.runtime",
        "triton.runtime.jit",
        "triton.runtime.autotuner",
        "triton.runtime.cache",
        "triton.runtime.driver",
        "triton.runtime.errors",
        "triton.runtime.build",
        "triton.backends.compiler",
        "triton.backends.nvidia.compiler",
        "triton.backends.nvidia.driver",
        "triton.knobs",
        "triton.testing",
    ),
    "torch": (
        "torch",
        "torch.library",
        "torch.compiler",
        "torch.export",
        "torch.cuda",
        "torch.amp",
        "torch.nn.attention",
        "torch.nn.attention.flex_attention",
        "torch.nn.functional",
        "torch.utils._triton",
        "torch.utils._pytree",
        "torch.utils.checkpoint",
        "torch.fx.experimental.symbolic_shapes",
        "torch._dynamo",
        "torch._dynamo.config",
        "torch._dynamo.utils",
        "torch._dynamo.eval_frame",
        "torch._dynamo.device_interface",
        "torch._inductor.config",
        "torch._functorch.config",
        "torch._inductor.utils",
        "torch._inductor.codecache",
        "torch._inductor.compile_fx",
        "torch._inductor.lowering",
        "torch._inductor.select_algorithm",
        "torch._inductor.runtime.triton_heuristics",
        "torch._inductor.runtime.hints",
        "torch._inductor.runtime.runtime_utils",
        "torch._inductor.kernel.mm_common",
        "torch._inductor.triton_heuristics",
        "torch._subclasses.fake_tensor",
        "torch._higher_order_ops",
        "torch.distributed.tensor",
        "torch.distributed._tensor",
        "torch.distributed.fsdp",
        "torch.distributed.device_mesh",
        "torch.utils.data",
        "torch.optim.lr_scheduler",
        "torch.ao.quantization",
        "torch.fx",
        "torch.sparse",
        "torch.overrides",
        "torch.serialization",
        "torch.backends.cuda",
        "torch._prims_common",
        "torch._functorch.aot_autograd",
        "torch._inductor.ir",
        "torch._inductor.scheduler",
        "torch._inductor.graph",
        "torch._inductor.virtualized",
    ),
}
# files read besides MODULES': the Python sources of their star imports
EXTRA_MEMBERS = {
    "triton": (),
    "torch": (
        "torch/functional.py",
        "torch/cuda/memory.py",
        "torch/cuda/random.py",
    ),
}
# trees of a wheel that are not importable API (tests' helpers, vendored code, headers)
SKIPPED_TREES = ("torch/testing/_internal/", "torch/_vendor/", "torch/include/", "torch/share/", "torchgen/")


def module_files(module: str) -> tuple[str, str]:
    """The two files a module can be in its wheel: ``a/b/c.py`` or ``a/b/c/__init__.py``."""
    path = module.replace(".", "/")
    return f"{path}.py", f"{path}/__init__.py"


def version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split("."))


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def config_class_names(tree: ast.Module) -> set[str]:
    """A config module's nested options (``class triton: cudagraph_trees = True`` in
    torch/_inductor/config.py), as ``triton.cudagraph_trees``: what ``config.triton.X`` finds. A class
    that subclasses another of the module (``class cuda(cutlass)``) has its options too."""
    own: dict[str, set[str]] = {}
    bases: dict[str, list[str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        attrs: set[str] = set()
        for item in node.body:
            if isinstance(item, ast.Assign):
                attrs |= {t.id for t in item.targets if isinstance(t, ast.Name)}
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                attrs.add(item.target.id)
        own[node.name] = attrs
        bases[node.name] = [b.id for b in node.bases if isinstance(b, ast.Name)]

    def options(cls: str, seen: frozenset[str] = frozenset()) -> set[str]:
        out = set(own.get(cls, ()))
        for base in bases.get(cls, ()):
            if base in own and base not in seen:
                out |= options(base, seen | {cls})
        return out

    return {f"{cls}.{attr}" for cls in own for attr in options(cls)}


def module_names(path: Path, module: str = "") -> tuple[set[str], set[str], list[str], set[str]]:
    """The names a module has at its top level (what ``module.X`` and ``from module import X`` find),
    those of them it only imports from elsewhere, the modules it star-imports (absolute names; their
    names are added by the caller), and the names it binds only under an ``if`` or in an ``except``
    (there in some configurations only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    imported: set[str] = set()
    sure: set[str] = set()
    star: list[str] = []
    package = module if path.name.startswith("__init__") else module.rpartition(".")[0]

    def bind(name: str, into: set[str], conditional: bool) -> None:
        into.add(name)
        if not conditional:
            sure.add(name)

    def targets(node: ast.expr, conditional: bool) -> None:
        if isinstance(node, ast.Name):
            bind(node.id, names, conditional)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                targets(elt, conditional)

    def visit(body: list[ast.stmt], conditional: bool) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bind(node.name, names, conditional)
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    targets(t, conditional)
            elif isinstance(node, ast.AnnAssign):
                targets(node.target, conditional)
            elif isinstance(node, ast.Delete):  # a helper removed after use is not there
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        names.discard(t.id)
                        imported.discard(t.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.name == "*" and isinstance(node, ast.ImportFrom):
                        base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                        star.append(".".join([*base, *([node.module] if node.module else [])]))
                    else:
                        bind(alias.asname or alias.name.split(".")[0], imported, conditional)
            elif isinstance(node, ast.If) and _type_checking(node.test):  # never runs: names for type checkers
                visit(node.orelse, conditional)
            elif isinstance(node, ast.If):  # version and platform switches, environment variables
                visit(node.body, True)
                visit(node.orelse, True)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                visit(node.body, conditional)
            elif isinstance(node, (ast.For, ast.While)):  # a loop may bind on no iteration
                visit(node.body, True)
            elif isinstance(node, ast.Try):  # optional imports: the body runs, a handler may
                visit(node.body, conditional)
                visit(node.orelse, conditional)
                for handler in node.handlers:
                    if not (handler.body and isinstance(handler.body[-1], ast.Raise)):  # re-raises: binds nothing
                        visit(handler.body, True)
                visit(node.finalbody, conditional)

    visit(tree.body, False)

    def public(ns: set[str]) -> set[str]:
        return {n for n in ns if not (n.startswith("__") and n.endswith("__"))}

    everything = public(names | imported)
    if path.stem == "config":  # torch's config modules: options nested in classes are looked up too
        everything |= config_class_names(tree)
        sure |= config_class_names(tree)
    return everything, public(imported - names), star, everything - sure


def _literal_all(tree: ast.Module) -> set[str] | None:
    for node in tree.body:
        if not isinstance(node, ast.Assign) or not isinstance(node.value, (ast.List, ast.Tuple)):
            continue
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return {e.value for e in node.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return None


def exported_names(wheel: Path, module: str) -> set[str] | None:
    """What ``from module import *`` binds: the module's ``__all__`` if it has a literal one, else its
    public names; read from the release's ``.py`` file, or, for a module outside the package
    (``typing``), from this Python. None: not readable, such as a C extension module (torch._C: its
    ``.pyi`` stubs both lag it and list classes it does not export, so they cannot stand in for it)."""
    for rel in module_files(module):
        f = wheel / rel
        if f.is_file() and f.stat().st_size:
            listed = _literal_all(ast.parse(f.read_text(encoding="utf-8")))
            if listed is None:
                names, _, _, _ = module_names(f, module)
                listed = {n for n in names if not n.startswith("_")}
            return listed
    if module.partition(".")[0] in MODULES:
        return None  # a module of the package this release does not let us read
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    listed = getattr(mod, "__all__", None)
    return set(listed) if listed is not None else {n for n in dir(mod) if not n.startswith("_")}


def all_modules(package: Path) -> set[str]:
    """Every module a release's package has, dotted (a package by its ``__init__.py``)."""
    out = set()
    for f in package.rglob("*.py"):
        rel = f.relative_to(package.parent)
        if any(rel.as_posix().startswith(t) for t in SKIPPED_TREES):
            continue
        parts = rel.with_suffix("").parts
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


def toml_list(key: str, names: list[str]) -> str:
    return f'"{key}" = [{", ".join(f"{chr(34)}{n}{chr(34)}" for n in names)}]'


def toml_key(name: str) -> str:
    return name if name.replace("_", "a").isalnum() and name.isascii() else f'"{name}"'


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("package", choices=sorted(MODULES))
    ap.add_argument("wheels", type=Path, nargs="?")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--members", action="store_true", help="print remote_wheel's --member options and stop")
    args = ap.parse_args(argv)
    package = args.package
    if args.members:
        files = [f for m in MODULES[package] for f in module_files(m)] + list(EXTRA_MEMBERS[package])
        print(" ".join(f"--member {f}" for f in files))
        return 0
    if args.wheels is None:
        ap.error("WHEELS_DIR is required")
    out_path = args.out or DATA / f"{package}_api.toml"
    versions = sorted((p.name for p in args.wheels.iterdir() if (p / package).is_dir()), key=version_key)
    if not versions:
        print(f"no <version>/{package} folders under {args.wheels}", file=sys.stderr)
        return 2
    lines = [
        f"# Names of {package}'s modules, release by release: read by gpudiag/explain/api_history.py to say in",
        "# which releases a name or module a user's error says is missing exists, and where it moved.",
        f"# Generated {datetime.date.today().isoformat()} by bench/explain/api_history.py from the PyPI wheels",
        "# (CPython 3.11, manylinux x86_64) of each release below; module files parsed with ast, nothing imported.",
        "# [module.M]: each name M has, with the releases it is in, as spans of `releases`; [exists]: the",
        "# releases each module of the package is in; [imported]: names a module only imports (defined in",
        "# another one); [conditional]: names bound only under an `if` or in an `except` (some configurations);",
        "# [star]: modules with a star import whose source cannot be read (torch._C): a missing name is not ruled out.",
        "",
        f"releases = [{', '.join(f'{chr(34)}{v}{chr(34)}' for v in versions)}]",
        f'source = "{package} wheels from pypi.org, module files parsed by bench/explain/api_history.py"',
    ]
    imported, star, conditional = ["", "[imported]"], ["", "[star]"], ["", "[conditional]"]
    modules_in = {v: all_modules(args.wheels / v / package) for v in versions}
    every_module = sorted(set().union(*modules_in.values()))
    exists = ["", "[exists]"] + [
        f'"{m}" = "{spans([m in modules_in[v] for v in versions], versions)}"' for m in every_module
    ]
    for module in MODULES[package]:
        per_version: dict[str, tuple[set[str], set[str], bool, set[str]]] = {}  # names, imported, unresolved star, if
        for v in versions:
            f = next((args.wheels / v / r for r in module_files(module) if (args.wheels / v / r).is_file()), None)
            if f is None:
                continue
            names, only_imported, stars, cond = module_names(f, module)
            # a package's submodules: `from triton.language.extra import cuda` finds them
            names |= {m.rpartition(".")[2] for m in modules_in[v] if m.rpartition(".")[0] == module}
            unresolved = False  # some names may be missing here: a source that cannot be read
            for source in stars:  # `from torch.functional import *`: its names
                got = exported_names(args.wheels / v, source)
                unresolved |= got is None
                names |= got or set()
            per_version[v] = names, only_imported, unresolved, cond
        if not per_version:
            continue
        lines += ["", f'[module."{module}"]']
        all_names = sorted(set().union(*(names for names, _, _, _ in per_version.values())))
        for name in all_names:
            present = [v in per_version and name in per_version[v][0] for v in versions]
            lines.append(f'{toml_key(name)} = "{spans(present, versions)}"')
        # imported-only as of the newest release that has the name
        newest = list(reversed(per_version.values()))
        imported_here = [n for n in all_names if n in next(imp for names, imp, _, _ in newest if n in names)]
        if imported_here:
            imported.append(toml_list(module, imported_here))
        only_if = [n for n in all_names if n in next(c for names, _, _, c in newest if n in names)]
        if only_if:
            conditional.append(toml_list(module, only_if))
        if any(has_star for _, _, has_star, _ in per_version.values()):
            star.append(f'"{module}" = true')
        print(f"{module}: {len(all_names)} names in {len(per_version)} releases", file=sys.stderr)
    lines += exists + imported + (conditional if len(conditional) > 2 else []) + (star if len(star) > 2 else [])
    out_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {out_path} ({out_path.stat().st_size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
