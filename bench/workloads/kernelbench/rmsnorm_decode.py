"""RMSNorm, decode size, in the KernelBench format."""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, hidden: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(hidden, dtype=torch.bfloat16))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return y.to(x.dtype) * self.weight


batch, tokens, hidden = 8, 1, 4096


def get_inputs():
    return [torch.randn(batch, tokens, hidden, dtype=torch.bfloat16)]


def get_init_inputs():
    return [hidden]
