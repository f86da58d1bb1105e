"""SwiGLU MLP, decode size, in the KernelBench format."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self, dim: int, ffn: int):
        super().__init__()
        self.gate = nn.Linear(dim, ffn, bias=False, dtype=torch.bfloat16)
        self.up = nn.Linear(dim, ffn, bias=False, dtype=torch.bfloat16)
        self.down = nn.Linear(ffn, dim, bias=False, dtype=torch.bfloat16)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


batch, tokens, dim, ffn = 8, 1, 2048, 5632


def get_inputs():
    return [torch.randn(batch, tokens, dim, dtype=torch.bfloat16)]


def get_init_inputs():
    return [dim, ffn]
