"""Inductor's SM-count gate (``is_big_gpu``), read from the installed torch's own source.

max-autotune only offers its Triton/CUTLASS GEMM templates when ``torch._inductor.utils.is_big_gpu``
returns True. The threshold has changed over time, so we parse the function out of the installed
torch instead of hard-coding a number:

* torch <= 2.3: ``if sms < 80:  # V100`` (CUDA only)
* torch 2.4 (pytorch/pytorch#123121, April 2024): ``min_sms = 68  # 3080``
* later: ``min_sms = 16 if device.type == "xpu" else 68  # 3080``; ROCm skips the SM test and
  rejects arch major < 9 or == 10 instead.

The history above is only used when the source cannot be read (torch not installed).
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass, field

from gpudiag.installed import versions

# (first torch version, CUDA threshold, XPU threshold or None, where it comes from)
HISTORY = (
    ((2, 4), 68, None, "torch >= 2.4: min_sms = 68 (RTX 3080), pytorch/pytorch#123121"),
    ((0,), 80, None, "torch <= 2.3: sms < 80 (V100)"),
)


@dataclass(frozen=True)
class SmGate:
    """The ``is_big_gpu`` rule of one torch installation."""

    cuda_min_sms: int | None
    xpu_min_sms: int | None
    rocm_rule: str | None  # e.g. "arch major < 9 or == 10 -> False"; None if absent
    torch_version: str | None
    origin: str  # "source" (parsed from the installed file) or "history" (version table)
    where: str  # file:line or the history entry used
    extra_conditions: list[str] = field(default_factory=list)  # conditions we did not model

    def disables_templates(self, sm_count: int | None) -> bool | None:
        """Whether is_big_gpu() is False for a CUDA GPU with ``sm_count`` SMs; None when either is unknown."""
        if self.cuda_min_sms is None or sm_count is None:
            return None
        return sm_count < self.cuda_min_sms

    def describe(self) -> str:
        if self.cuda_min_sms is None:
            return f"is_big_gpu could not be read ({self.where})"
        parts = [f"CUDA: multi_processor_count >= {self.cuda_min_sms}"]
        if self.xpu_min_sms is not None:
            parts.append(f"XPU: >= {self.xpu_min_sms}")
        if self.rocm_rule:
            parts.append(f"ROCm: {self.rocm_rule}")
        return "; ".join(parts)


def _int_constants(node: ast.AST) -> list[int]:
    return [
        n.value
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, int) and not isinstance(n.value, bool)
    ]


def parse_is_big_gpu(source: str) -> tuple[int | None, int | None, str | None, int | None, list[str]]:
    """Return (cuda_min, xpu_min, rocm_rule, line, extra) from the text of torch/_inductor/utils.py."""
    # Parse only the function: the whole utils.py is ~4000 lines and ast.parse of it alone
    # would cost ~80 ms of every command's start-up.
    m = re.search(r"^def is_big_gpu\b", source, re.M)
    if m is None:
        return None, None, None, None, []
    end = re.compile(r"\n(?=\S)").search(source, m.end())
    first_line = source.count("\n", 0, m.start()) + 1
    tree = ast.parse(source[m.start() : end.start() if end else len(source)])
    fn = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "is_big_gpu"), None)
    if fn is None:
        return None, None, None, None, []
    fn.lineno += first_line - 1
    cuda_min = xpu_min = None
    rocm_rule = None
    extra: list[str] = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "min_sms" for t in node.targets):
            value = node.value
            if isinstance(value, ast.IfExp):
                test = ast.unparse(value.test)
                body, orelse = _int_constants(value.body), _int_constants(value.orelse)
                if "xpu" in test and body and orelse:
                    xpu_min, cuda_min = body[0], orelse[0]
                elif orelse:
                    cuda_min = orelse[0]
                    extra.append(f"min_sms = {ast.unparse(value)}")
            elif isinstance(value, ast.Constant) and isinstance(value.value, int):
                cuda_min = value.value
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Lt):
            left = ast.unparse(node.left)
            right = node.comparators[0]
            if "sms" in left and isinstance(right, ast.Constant) and isinstance(right.value, int) and cuda_min is None:
                cuda_min = right.value  # the torch <= 2.3 form: `if sms < 80:`
        elif isinstance(node, ast.If) and "hip" in ast.unparse(node.test):
            inner = [ast.unparse(n.test) for n in ast.walk(node) if isinstance(n, ast.If) and n is not node]
            rocm_rule = (inner[0] + " -> False") if inner else "SM count not checked"
    return cuda_min, xpu_min, rocm_rule, fn.lineno, extra


@functools.lru_cache(maxsize=1)
def installed_sm_gate() -> SmGate:
    version = versions.torch_version()
    text = versions.source_text("torch", "_inductor/utils.py")
    if text is not None:
        try:
            cuda_min, xpu_min, rocm_rule, line, extra = parse_is_big_gpu(text)
        except SyntaxError:
            cuda_min = None
        else:
            if cuda_min is not None:
                return SmGate(
                    cuda_min,
                    xpu_min,
                    rocm_rule,
                    version,
                    "source",
                    f"torch/_inductor/utils.py:{line} is_big_gpu (torch {version})",
                    extra,
                )
    return history_gate(version)


def history_gate(version: str | None) -> SmGate:
    vt = versions.version_tuple(version)
    for first, cuda_min, xpu_min, where in HISTORY:
        if not vt or vt >= first:
            label = where if vt else f"torch not installed; assuming the current rule ({where})"
            return SmGate(cuda_min, xpu_min, None, version, "history", label)
    raise AssertionError("HISTORY must end with a catch-all row")
