"""``--from-script S.py``: the configs of every ``@triton.autotune`` kernel in a user's script.

The script is parsed with ``ast`` and never run: each ``triton.Config({...}, num_stages=, num_warps=)``
is read with ``ast.literal_eval`` on its literal parts. The autotuner is ``@triton.autotune(...)`` on a
kernel, or ``triton.autotune(configs=..., key=...)(kernel)`` applied as a call. ``configs=`` may be a
literal list, a module-level name bound to one, or a module-level function that returns one; anything
computed (comprehensions, loops) is reported as not readable, with its line. Block sizes are read in
any spelling of ``config_keys`` and named in messages as the script writes them.

The element type is not in the configs: the report says which one it assumed. A kernel whose name, or
whose ``tl.dot`` operands' pointer names, say int8 or fp8 gets a ``dtype_hint`` (a note, never a
silent change of dtype).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles import config_keys as ck
from gpudiag.tiles.parse import TileConfig, validate

# Words in a kernel's name or its dot operands' pointer names that say the operands are 8-bit.
_DTYPE_WORDS = (
    (re.compile(r"(?:^|_|\b)(?:w8a8|int8|i8|w8a16|int8int2)(?:_|\b|$)|int8", re.IGNORECASE), "int8"),
    (re.compile(r"fp8|float8|e4m3|e5m2", re.IGNORECASE), "fp8"),
)


@dataclass
class ScriptKernel:
    name: str
    line: int
    configs: list[TileConfig] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "line 12: configs is a list comprehension"
    dtype_hint: str | None = None  # "int8" / "fp8": what its name or its dot operands' names say
    dtype_hint_from: str | None = None  # the name that says it


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _is_autotune(dec: ast.AST) -> bool:
    return isinstance(dec, ast.Call) and _dotted(dec.func).split(".")[-1] == "autotune"


def _module_lists(tree: ast.Module) -> tuple[dict[str, ast.AST], dict[str, ast.AST]]:
    names: dict[str, ast.AST] = {}
    funcs: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    names[t.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            names[node.target.id] = node.value
        elif isinstance(node, ast.FunctionDef):
            rets = [n for n in ast.walk(node) if isinstance(n, ast.Return) and n.value is not None]
            value = rets[0].value if len(rets) == 1 else None
            if value is not None:
                funcs[node.name] = value
    return names, funcs


def _resolve(node: ast.AST, names, funcs, depth: int = 0) -> ast.AST:
    if depth > 5:
        return node
    if isinstance(node, ast.Name) and node.id in names:
        return _resolve(names[node.id], names, funcs, depth + 1)
    if isinstance(node, ast.Call) and not node.args and isinstance(node.func, ast.Name) and node.func.id in funcs:
        return _resolve(funcs[node.func.id], names, funcs, depth + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _resolve(node.left, names, funcs, depth + 1), _resolve(node.right, names, funcs, depth + 1)
        if isinstance(left, ast.List) and isinstance(right, ast.List):
            return ast.List(elts=left.elts + right.elts, ctx=ast.Load())
    return node


def _config(call: ast.AST, path: str, kernel: str, names) -> TileConfig:
    where = f"{path}:{getattr(call, 'lineno', '?')}"
    if not (isinstance(call, ast.Call) and _dotted(call.func).split(".")[-1] == "Config"):
        raise ValueError(f"line {getattr(call, 'lineno', '?')}: not a triton.Config(...) call")
    kwargs_node = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "kwargs"), None)
    if kwargs_node is None:
        raise ValueError(f"line {call.lineno}: triton.Config without a kwargs dict")
    if isinstance(kwargs_node, ast.Name) and kwargs_node.id in names:
        kwargs_node = names[kwargs_node.id]
    try:
        kw = ast.literal_eval(kwargs_node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        raise ValueError(f"line {call.lineno}: the Config's kwargs are computed, not a literal dict") from None
    extra = {}
    for k in call.keywords:
        if k.arg in ("num_stages", "num_warps"):
            try:
                extra[k.arg] = ast.literal_eval(k.value)
            except (ValueError, TypeError, SyntaxError, RecursionError):
                raise ValueError(f"line {call.lineno}: {k.arg} is computed, not a literal") from None
    if not isinstance(kw, dict):
        raise ValueError(f"line {call.lineno}: the Config's kwargs are not a dict")
    got = ck.fields(kw)
    missing = [f for f in ck.BLOCK_FIELDS if f not in got]
    if missing:
        have = ", ".join(map(str, kw)) or "nothing"
        raise ValueError(f"line {call.lineno}: the Config has {have}; {ck.missing_text(missing, list(kw))}")
    bm, bn, bk = (got[f][1] for f in ck.BLOCK_FIELDS)
    st = extra.get("num_stages", got["stages"][1] if "stages" in got else None)
    w = extra.get("num_warps", got["warps"][1] if "warps" in got else None)
    return validate(
        TileConfig(
            int(bm),
            int(bn),
            int(bk),
            int(st) if st is not None else None,
            int(w) if w is not None else None,
            where=where,
            group=kernel,
        )
    )


def _autotuners(tree: ast.Module):
    """(the autotune(...) call, kernel name, line) for each autotuned kernel: a decorator on a
    function, or ``triton.autotune(...)(kernel)`` applied as a call (``kernel`` a name or attribute)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                if isinstance(dec, ast.Call) and _is_autotune(dec):
                    yield dec, node.name, node.lineno
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Call) and _is_autotune(node.func):
            target = node.args[0] if node.args else None
            name = _dotted(target).split(".")[-1] if target is not None else ""
            yield node.func, name or "(unnamed kernel)", node.lineno


def _dtype_hint(name: str, fn: ast.AST | None) -> tuple[str | None, str | None]:
    """What the kernel's name, or the pointer names of its tl.dot operands' loads, say of an 8-bit type."""
    candidates = [name]
    if fn is not None:
        loaded: dict[str, str] = {}  # a = tl.load(a_ptrs ...): a -> a_ptrs
        for n in ast.walk(fn):
            if (
                isinstance(n, ast.Assign)
                and len(n.targets) == 1
                and isinstance(n.targets[0], ast.Name)
                and isinstance(n.value, ast.Call)
                and _dotted(n.value.func).split(".")[-1] == "load"
                and n.value.args
            ):
                loaded[n.targets[0].id] = ast.unparse(n.value.args[0])
        for n in ast.walk(fn):
            if isinstance(n, ast.Call) and _dotted(n.func).split(".")[-1] == "dot":
                for arg in n.args[:2]:
                    if isinstance(arg, ast.Name):
                        candidates += [arg.id, loaded.get(arg.id, "")]
    for text in candidates:
        for pattern, dtype in _DTYPE_WORDS:
            if text and pattern.search(text):
                return dtype, text
    return None, None


def kernels_from_script(path: str) -> list[ScriptKernel]:
    p = Path(path)
    if not p.is_file():
        raise GpudiagError(f"{path}: no such file", EXIT_USAGE)
    try:
        source = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GpudiagError(f"{path}: cannot read: {exc}", EXIT_USAGE) from None
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        raise GpudiagError(f"{path}:{exc.lineno}: syntax error: {exc.msg}", EXIT_USAGE) from None
    names, funcs = _module_lists(tree)
    defs = {n.name: n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    kernels: list[ScriptKernel] = []
    for tuner, name, line in _autotuners(tree):
        k = ScriptKernel(name, line)
        k.dtype_hint, k.dtype_hint_from = _dtype_hint(name, defs.get(name))
        cfg_node = next(
            (kw.value for kw in tuner.keywords if kw.arg == "configs"), tuner.args[0] if tuner.args else None
        )
        if cfg_node is None:
            k.skipped.append(f"line {tuner.lineno}: triton.autotune without configs=")
            kernels.append(k)
            continue
        resolved = _resolve(cfg_node, names, funcs)
        if not isinstance(resolved, (ast.List, ast.Tuple)):
            kind = type(resolved).__name__
            k.skipped.append(
                f"line {getattr(cfg_node, 'lineno', tuner.lineno)}: configs is computed ({kind}), "
                "not a literal list: gpudiag never runs the script"
            )
        else:
            for elt in resolved.elts:
                try:
                    k.configs.append(_config(elt, path, name, names))
                except ValueError as exc:
                    k.skipped.append(str(exc))
        kernels.append(k)
    if not kernels:
        raise GpudiagError(
            f"{path}: no triton.autotune kernels found (neither @triton.autotune(...) on a function nor "
            "triton.autotune(...)(kernel) applied as a call)",
            EXIT_USAGE,
        )
    if not any(k.configs for k in kernels):
        why = "; ".join(s for k in kernels for s in k.skipped[:2])
        raise GpudiagError(f"{path}: no readable autotune configs ({why})", EXIT_USAGE)
    return sorted(kernels, key=lambda k: k.line)
