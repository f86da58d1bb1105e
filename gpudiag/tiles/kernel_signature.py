"""A ``--kernel`` kernel's non-constexpr arguments as Triton's signature: worked out from example
arguments the way Triton's launcher specialises them, or given by hand and checked here.

A signature maps each argument to its Triton type (``"*bf16"``, ``"i32"``), ``1`` for a unit stride
the launcher specialises to a constant, or ``None``. Never prints; ``GpudiagError`` (exit 2) names
what is wrong.
"""

from __future__ import annotations

from typing import Any

from gpudiag.errors import EXIT_USAGE, GpudiagError

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


def check_mapping(value: Any, what: str) -> dict[str, Any]:
    """A given object of argument names (``constants``, a ``signature``), as a dict."""
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _bad(f"{what}: expected an object of argument names")
    return dict(value)


def check_signature(value: Any, what: str) -> dict[str, Any]:
    """A signature given by hand: every type a Triton type, ``1`` or ``None``."""
    sig = check_mapping(value, f"{what}['signature']")
    for name, t in sig.items():
        if not (isinstance(t, str) and t.strip()) and t != 1 and t is not None:
            raise _bad(
                f"{what}: the type of {name!r} must be a Triton type such as '*bf16' or 'i32', or 1 for a unit "
                f"stride; got {t!r}"
            )
    return sig


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
