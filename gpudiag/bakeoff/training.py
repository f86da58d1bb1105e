"""``--grad``: one training step's worth of work for an ``nn.Module`` workload, forward and backward.

A module is what users compile for training (``torch.compile(model)``, then ``loss.backward()``
outside it), so the step wraps the compiled (or eager) module rather than being compiled itself:
dynamo would break the graph at ``backward()`` anyway. The loss is the sum of every floating output
that autograd recorded, which reaches every parameter the forward used. Gradients are cleared before
each call and returned beside the output, so a compiled backward is checked against eager's like any
output. A function workload is not wrapped: it runs as written, its own ``backward()`` included.

Runs inside a bake-off child; torch is handed in, never imported here.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def _step_class(torch: Any) -> type:
    class TrainStep(torch.nn.Module):
        """``model``'s forward, then backward of the sum of its outputs; returns (output, gradients)."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            for p in self.model.parameters():
                p.grad = None
            out = self.model(*args, **kwargs)
            recorded = [t for t in _tensors(torch, out) if t.requires_grad and t.is_floating_point()]
            if not recorded:
                raise RuntimeError(
                    "--grad: no floating output of the module is recorded by autograd (no parameter or input "
                    "that requires grad reaches it), so there is no backward to run"
                )
            sum(t.float().sum() for t in recorded).backward()
            grads = {name: p.grad for name, p in _named_parameters(self.model) if p.grad is not None}
            return out, grads

    return TrainStep


def _named_parameters(model: Any) -> Any:
    # a compiled module (OptimizedModule) names its parameters under `_orig_mod.`: report the user's names
    original = getattr(model, "_orig_mod", model)
    return original.named_parameters()


def _tensors(torch: Any, value: Any) -> list:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(torch, v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(torch, v)]
    return []


def train_step(torch: Any, model: Any) -> Any:
    """``model`` as one training step (an ``nn.Module`` itself, so an fp64 copy can be made of it)."""
    return _step_class(torch)(model)
