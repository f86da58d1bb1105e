"""RMSNorm (LLaMA-style), decode and prefill sizes, for `gpudiag bakeoff`."""

import torch
import torch.nn as nn

HIDDEN = 4096
SIZES = {"decode": (8, 1), "prefill": (4, 2048)}  # (batch, tokens)


class Model(nn.Module):
    def __init__(self, hidden: int = HIDDEN, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(hidden, dtype=torch.bfloat16))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return y.to(x.dtype) * self.weight


def gpudiag_workloads():
    return {name: (Model(), (torch.randn(b, s, HIDDEN, dtype=torch.bfloat16),)) for name, (b, s) in SIZES.items()}
