"""How many of the messages in torch's and Triton's own sources `explain-warning` explains, and how specifically.

    python3 -m bench.explain.source_coverage [--sample N] [--seed S] [--out FILE.json] [--show-misses]

Reads the installed torch (``_dynamo``, ``_inductor`` incl. cudagraph trees, ``export``, ``_export``,
``fx/experimental/symbolic_shapes.py``, ``_subclasses/fake_tensor.py``) and triton (``compiler``,
``runtime``, ``backends``) sources with ``ast``, without importing them, and collects every
user-visible message with literal text:

* ``warnings.warn("...")`` -> shown as ``file.py:LINE: UserWarning: text``;
* ``log.warning/error/critical/exception/info("...", ...)`` -> a glog line ``W1201 10:00:00.000000 1 torch/x.py:LINE] text``;
* ``raise X("...")`` -> ``X: text``, with X qualified as Python's traceback prints it
  (``torch._dynamo.exc.Unsupported: text``; builtins such as ``RuntimeError`` bare).

INFO and DEBUG log lines are left out (progress output, not warnings).

A builtin exception (RuntimeError, AssertionError, ...) raised inside inductor or dynamo does not
reach the user bare: torch/_inductor/compile_fx.py re-raises it as ``InductorError(e, ...)``, whose
text is ``f"{type(e).__name__}: {e}"``, and torch/_dynamo/convert_frame.py as
``InternalTorchDynamoError(f"{type(e).__qualname__}: {str(e)}")``. The line is shown with that
wrapper (``--bare`` shows it unwrapped, as a paste of only the innermost line would read).

f-string parts and %-placeholders are filled with sample values (``42`` for numbers, a name
otherwise), as a log shows them. Messages with fewer than four literal words are left out (they say
too little to be recognised by anyone). A reproducible sample (``--seed``) is explained in process by
the same code as ``gpudiag explain-warning LINE``; each answer is counted as

* specific: a catalogue entry (not a catch-all) or torch's graph-break registry;
* family: only the emitter's family (recognised, not specific);
* none: no answer (exit 1).

The numbers go into docs/BENCHMARKS.md with date, machine and versions.
"""

from __future__ import annotations

import argparse
import ast
import collections
import datetime
import importlib.metadata
import importlib.util
import json
import platform
import random
import re
import sys
from pathlib import Path

TORCH_PARTS = (
    "_dynamo",
    "_inductor",
    "export",
    "_export",
    "fx/experimental/symbolic_shapes.py",
    "_subclasses/fake_tensor.py",
    "_functorch/_aot_autograd",
)
TRITON_PARTS = ("compiler", "runtime", "backends")
LOG_LEVELS = {"warning": "W", "warn": "W", "error": "E", "critical": "C", "exception": "E"}
BUILTIN_EXCEPTIONS = frozenset(n for n in dir(__import__("builtins")) if n[:1].isupper())
PERCENT_RX = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdrifgx]")
MIN_WORDS = 4


def _root(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _files(root: Path, parts: tuple[str, ...]) -> list[Path]:
    out: list[Path] = []
    for part in parts:
        p = root / part
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            out.extend(sorted(q for q in p.rglob("*.py") if "test" not in q.name))
    return out


def _sample_value(expr: str) -> str:
    low = expr.lower()
    if any(k in low for k in ("num", "count", "size", "limit", "len", "idx", "index", "line", "sms", "bytes")):
        return "42"
    return "foo"


def _text(node: ast.AST) -> str | None:
    """A string literal, f-string (parts filled) or concatenation, as the message would read."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        out = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                out.append(str(v.value))
            elif isinstance(v, ast.FormattedValue):
                out.append(_sample_value(ast.unparse(v.value)))
        return "".join(out)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        if left is not None and right is not None:
            return left + right
        return left or right
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _text(node.left)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _text(node.func.value)
    return None


def _literal_words(text: str) -> int:
    return len(re.findall(r"[A-Za-z]{2,}", text.replace("foo", "")))


def _qualifier(tree: ast.Module, module: str) -> dict[str, str]:
    """Exception name -> the module Python's traceback names it by (classes defined or imported here)."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            out[node.name] = module
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                out[a.asname or a.name] = node.module
    return out


WRAPPERS = (
    ("torch/_inductor/", "torch._inductor.exc.InductorError"),
    ("torch/_functorch/", "torch._inductor.exc.InductorError"),
    ("torch/_dynamo/", "torch._dynamo.exc.InternalTorchDynamoError"),
)


def _wrapped(rel: str, name: str, text: str) -> str:
    if name in BUILTIN_EXCEPTIONS:
        for prefix, wrapper in WRAPPERS:
            if rel.startswith(prefix):
                return f"{wrapper}: {name}: {text}"
    return f"{name}: {text}"


def messages(package: str, root: Path, files: list[Path], bare: bool = False) -> list[dict]:
    out: list[dict] = []
    for path in files:
        rel = f"{package}/{path.relative_to(root).as_posix()}"
        module = rel[:-3].replace("/", ".").removesuffix(".__init__")
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except SyntaxError:
            continue
        qualify = _qualifier(tree, module)
        for node in ast.walk(tree):
            kind = line = None
            text = None
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
                func = node.exc.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                text = _text(node.exc.args[0])
                if isinstance(func, ast.Attribute):
                    name = ast.unparse(func)  # exc.Unsupported -> qualified below when imported as a module
                    head = name.split(".", 1)[0]
                    if head in qualify:
                        name = f"{qualify[head]}.{name.split('.', 1)[1]}" if qualify[head].endswith(head) else name
                elif name and name not in BUILTIN_EXCEPTIONS and name in qualify:
                    name = f"{qualify[name]}.{name}"
                if name and text:
                    kind, line = "raise", (f"{name}: {text}" if bare else _wrapped(rel, name, text))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
                attr, owner = node.func.attr, ast.unparse(node.func.value)
                if attr == "warn" and owner == "warnings":
                    text = _text(node.args[0])
                    if text:
                        kind, line = "warnings.warn", f"{rel}:{node.lineno}: UserWarning: {text}"
                elif attr in LOG_LEVELS and ("log" in owner.lower()):
                    text = _text(node.args[0])
                    if text:
                        text = PERCENT_RX.sub(lambda m: "42" if m.group(0)[-1] in "dif" else "foo", text)
                        kind = f"log.{attr}"
                        line = f"{LOG_LEVELS[attr]}1201 10:00:00.000000 1 {rel}:{node.lineno}] {text}"
            if kind and line and text and _literal_words(text) >= MIN_WORDS:
                first = line.splitlines()[0].strip()
                out.append({"kind": kind, "file": rel, "lineno": getattr(node, "lineno", 0), "line": first})
    return out


def collect(bare: bool = False) -> tuple[list[dict], dict[str, str]]:
    found: list[dict] = []
    versions = {}
    for package, parts in (("torch", TORCH_PARTS), ("triton", TRITON_PARTS)):
        root = _root(package)
        if root is None:
            continue
        versions[package] = importlib.metadata.version(package)
        found.extend(messages(package, root, _files(root, parts), bare))
    seen: set[str] = set()
    unique = []
    for m in found:
        if m["line"] not in seen:
            seen.add(m["line"])
            unique.append(m)
    return unique, versions


def classify(ctx, line: str) -> tuple[str, str | None]:
    from gpudiag.explain.report import explain_text

    ex = explain_text(ctx, line)
    if ex is None:
        return "none", None
    generic = ex.kind == "family" or (ex.match.entry is not None and ex.match.entry.generic)
    return ("family" if generic else "specific"), ex.id


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample", type=int, default=300)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--show-misses", action="store_true")
    ap.add_argument("--bare", action="store_true", help="raised builtin exceptions without torch's wrapper")
    args = ap.parse_args(argv)

    from gpudiag.explain.report import Context

    msgs, versions = collect(args.bare)
    if not msgs:
        print("neither torch nor triton is installed", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    sample = sorted(rng.sample(msgs, min(args.sample, len(msgs))), key=lambda m: (m["file"], m["lineno"]))
    ctx = Context.create(None, "bench: no device")
    counts: collections.Counter = collections.Counter()
    by_package: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for m in sample:
        m["answer"], m["id"] = classify(ctx, m["line"])
        counts[m["answer"]] += 1
        by_package[m["file"].split("/", 1)[0]][m["answer"]] += 1
    n = len(sample)
    doc = {
        "date": datetime.date.today().isoformat(),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "messages_found": len(msgs),
        "sample": n,
        "seed": args.seed,
        "bare": args.bare,
        "specific": counts["specific"],
        "family": counts["family"],
        "none": counts["none"],
        "specific_share": round(counts["specific"] / n, 3),
        "recognised_share": round((counts["specific"] + counts["family"]) / n, 3),
        "by_package": {k: dict(v) for k, v in by_package.items()},
        "answers": sample,
    }
    print(
        f"torch {versions.get('torch', '-')}, triton {versions.get('triton', '-')}: {len(msgs)} messages, "
        f"sample {n} (seed {args.seed}): specific {counts['specific']} ({doc['specific_share']:.0%}), "
        f"family only {counts['family']}, none {counts['none']}; recognised {doc['recognised_share']:.0%}"
    )
    for pkg, c in sorted(by_package.items()):
        tot = sum(c.values())
        print(f"  {pkg}: specific {c['specific']}/{tot}, family {c['family']}, none {c['none']}")
    if args.show_misses:
        for m in sample:
            if m["answer"] != "specific":
                print(f"{m['answer']:8} {m['id'] or '-':36} {m['line'][:150]}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
