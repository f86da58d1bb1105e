"""The user's own ``@triton.jit`` kernel, its argument types and its tuning space, for ``--kernel``.

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
import itertools
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpudiag.errors import EXIT_USAGE, GpudiagError

DEFAULT_WARPS = 4  # triton.Config's defaults
DEFAULT_STAGES = 3
BASE_OPTIONS = ("num_warps", "num_stages", "num_ctas", "maxnreg")
MAX_SPACE = 1_000_000  # configs in one space: a product spec beyond this is surely a mistake
# torch dtype name -> Triton's pointer element type
TORCH_TO_TRITON = {
    "float16": "fp16",
    "bfloat16": "bf16",
    "float32": "fp32",
    "float64": "fp64",
    "int8": "i8",
    "int16": "i16",
    "int32": "i32",
    "int64": "i64",
    "uint8": "u8",
    "uint16": "u16",
    "uint32": "u32",
    "uint64": "u64",
    "bool": "i1",
    "float8_e4m3fn": "fp8e4nv",
    "float8_e5m2": "fp8e5",
    "float8_e4m3fnuz": "fp8e4b8",
    "float8_e5m2fnuz": "fp8e5b16",
}


def _bad(message: str) -> GpudiagError:
    return GpudiagError(message, EXIT_USAGE)


@dataclass
class SpaceConfig:
    """One config of the space: as given (what a tuner reads back), and split for the compiler."""

    index: int  # its place in the whole space (shards keep it)
    given: dict[str, Any]  # exactly as in the space, for the surviving-space output
    kwargs: dict[str, Any]  # the kernel's constexpr arguments
    options: dict[str, Any]  # triton.compile options: num_warps, num_stages, ...

    @property
    def warps(self) -> int:
        return int(self.options.get("num_warps", DEFAULT_WARPS))

    @property
    def stages(self) -> int:
        return int(self.options.get("num_stages", DEFAULT_STAGES))

    def label(self) -> str:
        parts = [f"{k}={v}" for k, v in self.kwargs.items()]
        parts += [f"{k}={v}" for k, v in self.options.items()]
        return ", ".join(parts)


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
        spec.signature.update(_signature(value["signature"], what))
    spec.constants.update(_mapping(value.get("constants") or {}, f"{what}['constants']"))
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


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _bad(f"{what}: expected an object of argument names")
    return dict(value)


def _signature(value: Any, what: str) -> dict[str, Any]:
    sig = _mapping(value, f"{what}['signature']")
    for name, t in sig.items():
        if not (isinstance(t, str) and t.strip()) and t != 1 and t is not None:
            raise _bad(
                f"{what}: the type of {name!r} must be a Triton type such as '*bf16' or 'i32', or 1 for a unit "
                f"stride; got {t!r}"
            )
    return sig


# --- example arguments -> Triton's signature ------------------------------------------------------


def _int_type(v: int) -> str:
    if -(2**31) <= v < 2**31:
        return "i32"
    if 2**63 <= v < 2**64:
        return "u64"
    return "i64"


def signature_from_args(fn: Any, args: list, kwargs: dict) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
    """(signature, constants, not divisible by 16) from arguments as the kernel would be launched with.

    As Triton's launcher specialises them: a tensor is a pointer to its element type, aligned if its
    address is a multiple of 16; an integer is i32/i64/u64, the constant 1 when it is 1 (unless the
    kernel says ``do_not_specialize``), divisible when a multiple of 16; a bool is i1; a float fp32;
    None a constant. Constexpr arguments become constants.
    """
    names = list(fn.arg_names)
    values = dict(zip(names, args))
    values.update(kwargs)
    extra = set(values) - set(names)
    if extra:
        raise _bad(f"{fn.__name__} has no argument(s) {', '.join(sorted(extra))}")
    params = {p.name: p for p in fn.params}
    sig: dict[str, Any] = {}
    const: dict[str, Any] = {}
    not_div: set[str] = set()
    for name, v in values.items():
        p = params[name]
        if p.is_constexpr:
            const[name] = v
            continue
        no_spec = bool(getattr(p, "do_not_specialize", False))
        if hasattr(v, "data_ptr") and hasattr(v, "dtype"):
            dt = str(v.dtype).removeprefix("torch.")
            if dt not in TORCH_TO_TRITON:
                raise _bad(f"{fn.__name__}({name}): tensors of {v.dtype} are not supported here")
            sig[name] = "*" + TORCH_TO_TRITON[dt]
            if no_spec or v.data_ptr() % 16:
                not_div.add(name)
        elif isinstance(v, bool):
            sig[name] = "i1"
        elif isinstance(v, int):
            if v == 1 and not no_spec:
                sig[name] = 1
            else:
                sig[name] = _int_type(v)
                if no_spec or v % 16:
                    not_div.add(name)
        elif isinstance(v, float):
            sig[name] = "fp32"
        elif v is None:
            sig[name] = None
        else:
            raise _bad(f"{fn.__name__}({name}): cannot tell the Triton type of a {type(v).__name__}")
    return sig, const, not_div


# --- spaces ---------------------------------------------------------------------------------------


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """A ``triton.Config`` as the plain dict tuners store: its kwargs, then num_warps and num_stages."""
    if isinstance(cfg, dict):
        return dict(cfg)
    out = dict(getattr(cfg, "kwargs", {}) or {})
    for opt in BASE_OPTIONS:
        v = getattr(cfg, opt, None)
        if v is not None and not (opt == "num_ctas" and v == 1):
            out[opt] = v
    return out


def expand_space(value: Any, what: str) -> list[dict[str, Any]]:
    """A list of configs (dicts or ``triton.Config``), or a dict of lists: every combination, in order."""
    if isinstance(value, dict):
        if not value:
            raise _bad(f"{what}: an empty space")
        lists = []
        for k, v in value.items():
            if not isinstance(k, str):
                raise _bad(f"{what}: keys must be names, got {k!r}")
            vals = v if isinstance(v, list) else [v]
            if not vals:
                raise _bad(f"{what}: {k!r} has no values")
            lists.append(vals)
        size = 1
        for vals in lists:
            size *= len(vals)
        if size > MAX_SPACE:
            raise _bad(f"{what}: {size:,} combinations (more than {MAX_SPACE:,})")
        keys = list(value)
        return [dict(zip(keys, combo)) for combo in itertools.product(*lists)]
    if isinstance(value, (list, tuple)):
        out = []
        for i, c in enumerate(value):
            d = config_to_dict(c)
            if not isinstance(d, dict) or not all(isinstance(k, str) for k in d):
                raise _bad(f"{what}[{i}]: a config must be an object of names and values")
            out.append(d)
        if not out:
            raise _bad(f"{what}: no configs")
        return out
    raise _bad(f"{what}: expected a list of configs or an object of lists (every combination)")


def read_json(path: str, what: str) -> Any:
    p = Path(path)
    try:
        text = sys.stdin.read() if path == "-" else p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _bad(f"{what} {path}: no such file") from None
    except IsADirectoryError:
        raise _bad(f"{what} {path}: is a folder, not a JSON file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(f"{what} {path}: cannot be read ({exc})") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _bad(f"{what} {path}: not valid JSON ({str(exc)[:200]})") from None


def apply_space_file(spec: KernelSpec, path: str) -> None:
    """``--configs SPACE.json`` into the spec: its configs, and its signature and constants if it has them."""
    doc = read_json(path, "--configs")
    what = f"--configs {Path(path).name}"
    if isinstance(doc, dict) and "configs" in doc:
        unknown = set(doc) - {"configs", "signature", "constants", "not_divisible", "kernel"}
        if unknown:
            raise _bad(f"{what}: unknown key(s) {', '.join(sorted(unknown))}")
        apply_signature_doc(spec, doc, what)
        doc = doc["configs"]
    spec.raw_configs = expand_space(doc, what)
    spec.space_source = str(path)


def apply_signature_doc(spec: KernelSpec, doc: dict, what: str) -> None:
    if doc.get("signature") is not None:
        spec.signature.update(_signature(doc["signature"], what))
    if doc.get("constants") is not None:
        spec.constants.update(_mapping(doc["constants"], f"{what}['constants']"))
    spec.not_divisible |= set(doc.get("not_divisible") or ())


def apply_signature_file(spec: KernelSpec, path: str) -> None:
    """``--signature SPEC.json``: ``{"signature": {...}, "constants": {...}, "not_divisible": [...]}``."""
    doc = read_json(path, "--signature")
    what = f"--signature {Path(path).name}"
    if not isinstance(doc, dict):
        raise _bad(f"{what}: expected an object with 'signature' (and 'constants')")
    if "signature" not in doc and "constants" not in doc:
        doc = {"signature": doc}  # the bare mapping of argument -> type
    apply_signature_doc(spec, doc, what)


def cuda_options() -> set[str]:
    """The options Triton's CUDA backend takes (``CUDAOptions``), else the common four."""
    try:
        from triton.backends.nvidia.compiler import CUDAOptions

        return set(CUDAOptions.__dataclass_fields__)
    except Exception:
        return set(BASE_OPTIONS)


def split_configs(spec: KernelSpec, raw: list[dict[str, Any]]) -> tuple[list[SpaceConfig], dict[str, int]]:
    """Each config split into the kernel's constexpr arguments and compile options; keys that are
    neither (AMD's ``waves_per_eu``, ``kpack``) are counted and left out of the compile."""
    args = set(spec.arg_names)
    constexpr = spec.constexpr_names()
    options = cuda_options()
    ignored: dict[str, int] = {}
    out = []
    for i, given in enumerate(raw):
        kwargs, opts = {}, {}
        for k, v in given.items():
            if k in args:
                if k not in constexpr:
                    raise _bad(
                        f"config {i}: {k!r} is an argument of {spec.name} but not a tl.constexpr; a config sets "
                        "constexpr arguments and compile options only"
                    )
                kwargs[k] = v
            elif k in options:
                if k in BASE_OPTIONS and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                    raise _bad(f"config {i}: {k} must be a whole number, got {v!r}")
                opts[k] = v
            else:
                ignored[k] = ignored.get(k, 0) + 1
        opts.setdefault("num_warps", DEFAULT_WARPS)
        opts.setdefault("num_stages", DEFAULT_STAGES)
        out.append(SpaceConfig(i, dict(given), kwargs, opts))
    return out, ignored
