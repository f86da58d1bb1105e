"""``--from-script S.py``: the configs of every ``@triton.autotune`` kernel in a user's script.

The script is parsed with ``ast`` and never run: each ``triton.Config({...}, num_stages=, num_warps=)``
is read with ``ast.literal_eval`` on its literal parts. ``configs=`` may be a literal list, a
module-level name bound to one, or a module-level function that returns one; anything computed
(comprehensions, loops) is reported as not readable, with its line.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles.parse import TileConfig, validate

_M = ("BLOCK_M", "BLOCK_SIZE_M", "BM", "TILE_M", "BLOCK_SIZE_Q")
_N = ("BLOCK_N", "BLOCK_SIZE_N", "BN", "TILE_N", "BLOCK_SIZE_KV")
_K = ("BLOCK_K", "BLOCK_SIZE_K", "BK", "TILE_K")


@dataclass
class ScriptKernel:
    name: str
    line: int
    configs: list[TileConfig] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "line 12: configs is a list comprehension"


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
    except ValueError:
        raise ValueError(f"line {call.lineno}: the Config's kwargs are computed, not a literal dict") from None
    extra = {}
    for k in call.keywords:
        if k.arg in ("num_stages", "num_warps"):
            try:
                extra[k.arg] = ast.literal_eval(k.value)
            except ValueError:
                raise ValueError(f"line {call.lineno}: {k.arg} is computed, not a literal") from None
    upper = {str(k).upper(): v for k, v in kw.items()}

    def pick(keys):
        return next((upper[k] for k in keys if k in upper), None)

    bm, bn, bk = pick(_M), pick(_N), pick(_K)
    if None in (bm, bn, bk):
        have = ", ".join(sorted(upper)) or "nothing"
        raise ValueError(f"line {call.lineno}: no BLOCK_M/BLOCK_N/BLOCK_K (or BLOCK_SIZE_*) in the Config (has {have})")
    st = extra.get("num_stages", upper.get("NUM_STAGES"))
    w = extra.get("num_warps", upper.get("NUM_WARPS"))
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
    kernels: list[ScriptKernel] = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for dec in node.decorator_list:
            if not isinstance(dec, ast.Call) or not _is_autotune(dec):
                continue
            k = ScriptKernel(node.name, node.lineno)
            cfg_node = next((kw.value for kw in dec.keywords if kw.arg == "configs"), dec.args[0] if dec.args else None)
            if cfg_node is None:
                k.skipped.append(f"line {dec.lineno}: @triton.autotune without configs=")
                kernels.append(k)
                continue
            resolved = _resolve(cfg_node, names, funcs)
            if not isinstance(resolved, (ast.List, ast.Tuple)):
                kind = type(resolved).__name__
                k.skipped.append(
                    f"line {getattr(cfg_node, 'lineno', dec.lineno)}: configs is computed ({kind}), "
                    "not a literal list: gpudiag never runs the script"
                )
            else:
                for elt in resolved.elts:
                    try:
                        k.configs.append(_config(elt, path, node.name, names))
                    except ValueError as exc:
                        k.skipped.append(str(exc))
            kernels.append(k)
    if not kernels:
        raise GpudiagError(f"{path}: no @triton.autotune kernels found", EXIT_USAGE)
    if not any(k.configs for k in kernels):
        why = "; ".join(s for k in kernels for s in k.skipped[:2])
        raise GpudiagError(f"{path}: no readable autotune configs ({why})", EXIT_USAGE)
    return sorted(kernels, key=lambda k: k.line)
