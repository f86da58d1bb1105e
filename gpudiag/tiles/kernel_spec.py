"""The user's own ``@triton.jit`` kernel for ``--kernel`` (``KernelSpec``), loaded from their module,
with its argument types and its tuning space. Argument types are ``kernel_signature.py``'s, the
space's configs ``space_configs.py``'s; this module loads the kernel and puts the three together.

Where they come from:

- ``--kernel MODULE:FUNCTION``: a Python file (``path/to/kernels.py:my_kernel``) or an importable
  module (``mypkg.kernels:my_kernel``). An ``@triton.autotune`` kernel brings its own configs. Without
  ``:FUNCTION`` the module must define ``gpudiag_kernels()``.
- ``gpudiag_kernels()`` in that module, the same convention as the bake-off's ``gpudiag_workloads()``:
  it returns one kernel spec, a list of them, or a dict ``{name: spec}``. A spec is a dict with
  ``kernel`` and either ``signature`` (argument name -> Triton type: ``"*bf16"``, ``"i32"``, or ``1``
  for a unit stride, which Triton's launcher specialises to a constant) or ``args`` (example
  arguments: tensors, ints, floats, as the kernel is launched), and optionally ``constants``
  (constexpr arguments that are not tuned) and ``configs``; or a tuple ``(kernel, args_or_signature,
  configs)``.
- ``--configs SPACE.json``: a list of config dicts (the kernel's constexpr arguments plus
  ``num_warps``/``num_stages``, as vLLM's and SGLang's tuned tables store them), a dict of lists (every
  combination, as MoE tuners write their search spaces), or ``{"configs": ..., "signature": ...,
  "constants": ...}``.
- ``--signature SPEC.json``: ``{"signature": {...}, "constants": {...}}`` when the module has none.

Every pointer and integer argument is taken as 16-byte aligned / divisible by 16, as a launch on
tensors from ``torch.empty`` with sizes that are multiples of 16 specialises it (Triton's pipeliner
needs that to multi-buffer the loads); list the ones that are not under ``"not_divisible"``, or give
example arguments, whose real alignment is used.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles.kernel_signature import check_mapping, check_signature, signature_from_args
from gpudiag.tiles.space_configs import config_to_dict, expand_space


def _bad(message: str) -> GpudiagError:
    return GpudiagError(message, EXIT_USAGE)


@dataclass
class KernelSpec:
    """A kernel with everything needed to compile it for one config, without launching it."""

    name: str
    fn: Any  # the triton JITFunction
    where: str  # "kernels.py:matmul_kernel"
    signature: dict[str, Any] = field(default_factory=dict)  # argument -> Triton type, or a constant value
    constants: dict[str, Any] = field(default_factory=dict)  # constexpr arguments not in the configs
    not_divisible: set[str] = field(default_factory=set)  # arguments not divisible by 16
    raw_configs: list[dict[str, Any]] | None = None
    space_source: str | None = None  # where the configs came from

    @property
    def arg_names(self) -> list[str]:
        return list(self.fn.arg_names)

    def constexpr_names(self) -> set[str]:
        return {p.name for p in self.fn.params if p.is_constexpr}


# --- loading the user's module ---------------------------------------------------------------------


def _import(module_ref: str) -> Any:
    """A .py file by path, or a module by its dotted name (the current folder importable)."""
    path = Path(module_ref)
    with contextlib.redirect_stdout(sys.stderr):  # what the user's module prints must not end up in --json
        try:
            if module_ref.endswith(".py") or path.is_file():
                if not path.is_file():
                    raise _bad(f"--kernel {module_ref}: no such file")
                name = f"__gpudiag_kernel_{abs(hash(str(path.resolve())))}__"
                spec = importlib.util.spec_from_file_location(name, str(path))
                if spec is None or spec.loader is None:
                    raise _bad(f"--kernel {module_ref}: cannot be loaded as a Python module")
                module = importlib.util.module_from_spec(spec)
                folder = str(path.resolve().parent)
                if folder not in sys.path:
                    sys.path.insert(0, folder)  # its sibling imports work, as with `python kernels.py`
                sys.modules[name] = module
                sys.dont_write_bytecode = True  # no __pycache__ left in the user's folder
                spec.loader.exec_module(module)
                return module
            if "" not in sys.path and "." not in sys.path:
                sys.path.insert(0, "")
            return importlib.import_module(module_ref)
        except GpudiagError:
            raise
        except SystemExit as exc:
            raise _bad(f"--kernel {module_ref}: importing it called sys.exit({exc.code!r})") from None
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            raise _bad(f"--kernel {module_ref}: importing it raised {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def split_ref(ref: str) -> tuple[str, str | None]:
    """``path/k.py:fn`` -> (``path/k.py``, ``fn``); a bare module or file has no function."""
    module, sep, func = ref.rpartition(":")
    if not sep or not module or "/" in func or func.endswith(".py"):
        return ref, None
    if not func.isidentifier():
        raise _bad(f"--kernel {ref}: {func!r} is not a Python name (expected MODULE:FUNCTION)")
    return module, func


def unwrap(obj: Any) -> tuple[Any, list | None]:
    """The ``JITFunction`` under ``@triton.autotune``/``@triton.heuristics``, and the autotuner's configs."""
    configs = None
    seen = 0
    while obj is not None and not _is_jit(obj) and hasattr(obj, "fn") and seen < 8:
        if configs is None and isinstance(getattr(obj, "configs", None), list):
            configs = list(obj.configs)
        obj = obj.fn
        seen += 1
    return obj, configs


def _is_jit(obj: Any) -> bool:
    return hasattr(obj, "arg_names") and hasattr(obj, "params") and hasattr(obj, "src")


def load_kernels(ref: str) -> list[KernelSpec]:
    """The kernel(s) ``--kernel`` names, with whatever the module says about their arguments and configs."""
    module_ref, func = split_ref(ref)
    module = _import(module_ref)
    short = Path(module_ref).name if module_ref.endswith(".py") else module_ref
    specs = _from_gpudiag_kernels(module, short) if hasattr(module, "gpudiag_kernels") else []
    if func is None:
        if not specs:
            raise _bad(
                f"--kernel {ref}: name the kernel (MODULE:FUNCTION), or define gpudiag_kernels() in the module "
                "returning the kernel, its signature or example arguments, and its configs"
            )
        return specs
    named = [s for s in specs if s.name == func]
    if named:  # a name gpudiag_kernels() gives
        return named[:1]
    if not hasattr(module, func):
        known = f" (gpudiag_kernels() names: {', '.join(s.name for s in specs)})" if specs else ""
        raise _bad(f"--kernel {ref}: {short} has no {func!r}{known}")
    fn, autotuned = unwrap(getattr(module, func))
    if not _is_jit(fn):
        raise _bad(f"--kernel {ref}: {func!r} is not a @triton.jit function")
    match = [s for s in specs if s.fn is fn]
    spec = match[0] if match else KernelSpec(name=func, fn=fn, where=f"{short}:{func}")
    if spec.raw_configs is None and autotuned:
        spec.raw_configs = [config_to_dict(c) for c in autotuned]
        spec.space_source = f"the @triton.autotune configs of {short}:{func}"
    return [spec]


def _from_gpudiag_kernels(module: Any, short: str) -> list[KernelSpec]:
    fn = module.gpudiag_kernels
    if not callable(fn):
        raise _bad(f"{short}: gpudiag_kernels must be a function")
    with contextlib.redirect_stdout(sys.stderr):
        try:
            value = fn()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            raise _bad(f"{short}: gpudiag_kernels() raised {_one_line(exc)}") from None
    if isinstance(value, dict) and "kernel" not in value:
        items = list(value.items())
    elif isinstance(value, list):
        items = [(None, v) for v in value]
    else:
        items = [(None, value)]
    if not items:
        raise _bad(f"{short}: gpudiag_kernels() returned nothing")
    return [_spec(name, v, short) for name, v in items]


def _spec(name: str | None, value: Any, short: str) -> KernelSpec:
    what = f"{short}: gpudiag_kernels()" + (f"[{name!r}]" if name else "")
    if isinstance(value, tuple):
        if len(value) not in (2, 3):
            raise _bad(f"{what}: a tuple must be (kernel, args or signature[, configs])")
        kernel, how, *rest = value
        value = {"kernel": kernel, "configs": rest[0] if rest else None}
        value["signature" if isinstance(how, dict) and _looks_like_signature(how) else "args"] = how
    if not isinstance(value, dict) or "kernel" not in value:
        raise _bad(f"{what}: expected a dict with 'kernel' (and 'signature' or 'args', 'constants', 'configs')")
    unknown = set(value) - {"kernel", "signature", "args", "constants", "configs", "not_divisible", "name"}
    if unknown:
        raise _bad(f"{what}: unknown key(s) {', '.join(sorted(unknown))}")
    fn, autotuned = unwrap(value["kernel"])
    if not _is_jit(fn):
        raise _bad(f"{what}: 'kernel' is not a @triton.jit function")
    kname = str(value.get("name") or name or fn.__name__)
    spec = KernelSpec(name=kname, fn=fn, where=f"{short}:{fn.__name__}")
    if value.get("args") is not None:
        args = value["args"]
        a, k = (args, {}) if isinstance(args, (list, tuple)) else ((), dict(args))
        sig, const, not_div = signature_from_args(fn, list(a), k)
        spec.signature, spec.not_divisible = sig, not_div
        spec.constants.update(const)
    if value.get("signature") is not None:
        spec.signature.update(check_signature(value["signature"], what))
    spec.constants.update(check_mapping(value.get("constants") or {}, f"{what}['constants']"))
    spec.not_divisible |= set(value.get("not_divisible") or ())
    configs = value.get("configs")
    if configs is None and autotuned:
        configs = autotuned
    if configs is not None:
        spec.raw_configs = expand_space(configs, f"{what}['configs']")
        spec.space_source = f"gpudiag_kernels() in {short}"
    return spec


def _looks_like_signature(d: dict) -> bool:
    return all(isinstance(v, str) or (isinstance(v, int) and v == 1) or v is None for v in d.values())
