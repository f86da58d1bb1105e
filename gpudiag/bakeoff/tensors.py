"""Helpers on a workload's nested arguments and outputs: tensors inside tuples, lists, dicts, namedtuples.

The child never hands the workload the inputs it keeps: ``Inputs`` holds the pristine arguments as
the script built them, and every call gets a fresh copy (``fresh``), so a workload that writes into
its inputs cannot change what a later call, or the fp64 run, is given.

Pure functions on torch tensors; ``torch`` is passed in (imported inside the bake-off child only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


def map_tree(torch: Any, value: Any, fn: Callable[[Any], Any]) -> Any:
    """``value`` with ``fn`` applied to every tensor in it, containers rebuilt as they were."""
    if isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # namedtuple
        return type(value)(*(map_tree(torch, v, fn) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(map_tree(torch, v, fn) for v in value)
    if isinstance(value, dict):
        return {k: map_tree(torch, v, fn) for k, v in value.items()}
    return value


def leaves(torch: Any, value: Any, where: str) -> Iterator[tuple[str, Any]]:
    """(path, tensor) for every tensor in ``value``: ``args[0]``, ``kwargs['x'][1]``."""
    if isinstance(value, torch.Tensor):
        yield where, value
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from leaves(torch, v, f"{where}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(torch, v, f"{where}[{k!r}]")


def clone_tree(torch: Any, value: Any) -> Any:
    # Copies every tensor: CUDA-graph modes overwrite their outputs on the next replay.
    return map_tree(torch, value, lambda t: t.detach().clone())


def describe(torch: Any, t: Any) -> str:
    return f"{str(t.dtype).replace('torch.', '')}{list(t.shape)}"


def describe_args(torch: Any, args: tuple, kwargs: dict) -> list[str]:
    def one(v: Any) -> str:
        if isinstance(v, torch.Tensor):
            return describe(torch, v)
        if isinstance(v, (list, tuple)):
            return f"{type(v).__name__}({', '.join(one(x) for x in v)})"
        return type(v).__name__

    return [one(a) for a in args] + [f"{k}={one(v)}" for k, v in kwargs.items()]


def input_bytes(torch: Any, args: tuple, kwargs: dict) -> int:
    """Bytes of the tensors a call is given: what a CUDA-graph replay copies into its own buffers first."""
    return sum(t.numel() * t.element_size() for _, t in leaves(torch, (args, kwargs), ""))


def same_values(torch: Any, a: Any, b: Any) -> bool:
    """Exactly equal, NaN equal to NaN: has a tensor been written since ``b`` was copied from it?"""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    b = b.to(a.device)
    if a.is_floating_point() or a.is_complex():
        return bool(torch.equal(torch.nan_to_num(a), torch.nan_to_num(b))) and bool(
            torch.equal(torch.isnan(a), torch.isnan(b))
        )
    return bool(torch.equal(a, b))


@dataclass
class Inputs:
    """A workload's arguments kept pristine, and fresh copies of them on the device for each call."""

    torch: Any
    args: tuple
    kwargs: dict
    device: str

    def fresh(self) -> tuple[tuple, dict]:
        """A copy of every tensor on the device (``requires_grad`` kept, so dynamo's guards match)."""

        def copy(t: Any) -> Any:
            c = t.detach().to(self.device, copy=True)
            return c.requires_grad_(True) if t.requires_grad and c.is_floating_point() else c

        return map_tree(self.torch, self.args, copy), map_tree(self.torch, self.kwargs, copy)

    def written(self, args: tuple, kwargs: dict) -> list[str]:
        """The arguments a call wrote into: ``args``/``kwargs`` (a fresh copy it was given) against the
        pristine ones, each as "path dtype[shape]"."""
        pristine = dict(leaves(self.torch, (self.args, self.kwargs), ""))
        out = []
        for path, t in leaves(self.torch, (args, kwargs), ""):
            before = pristine.get(path)
            if before is not None and not same_values(self.torch, t, before):
                out.append(f"{_name(path)} {describe(self.torch, t)}")
        return out

    def written_leaves(self, args: tuple, kwargs: dict, names: list[str]) -> list[tuple[str, Any]]:
        """(name, tensor) of a call's arguments among ``names`` (what eager wrote), in that order."""
        wanted = {n.split(" ")[0] for n in names}
        return [(_name(p), t) for p, t in leaves(self.torch, (args, kwargs), "") if _name(p) in wanted]

    def widened(self) -> tuple[tuple, dict]:
        """A float64 copy on the device (other dtypes copied as they are): what the fp64 run is given."""

        def widen(t: Any) -> Any:
            c = t.detach().to(self.device, copy=True)
            return c.double() if c.is_floating_point() else c

        return map_tree(self.torch, self.args, widen), map_tree(self.torch, self.kwargs, widen)


def _name(path: str) -> str:
    """``[0][1]`` (args, then index 1) -> ``args[1]``; ``[1]['x']`` -> ``kwargs['x']``."""
    if path.startswith("[0]"):
        return "args" + path[3:]
    if path.startswith("[1]"):
        return "kwargs" + path[3:]
    return path


def state_versions(torch: Any, fn: Any) -> dict[str, int]:
    """The version counter of every parameter and buffer of an nn.Module ({} for a plain callable): an
    in-place write into the module's own state moves its counter."""
    if not isinstance(fn, torch.nn.Module):
        return {}
    out = {}
    for name, t in [*fn.named_parameters(), *fn.named_buffers()]:
        try:
            out[name] = int(t._version)
        except (RuntimeError, AttributeError):  # inference tensors keep no version counter
            pass
    return out
