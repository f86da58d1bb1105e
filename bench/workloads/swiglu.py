"""SwiGLU MLP (LLaMA-style feed-forward), decode and prefill sizes, for `gpudiag bakeoff`."""

import torch
import torch.nn as nn
import torch.nn.functional as F

DIM, FFN = 2048, 5632
SIZES = {"decode": (8, 1), "prefill": (4, 1024)}


class Model(nn.Module):
    def __init__(self, dim: int = DIM, ffn: int = FFN):
        super().__init__()
        self.gate = nn.Linear(dim, ffn, bias=False)
        self.up = nn.Linear(dim, ffn, bias=False)
        self.down = nn.Linear(ffn, dim, bias=False)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


def gpudiag_workloads():
    return {
        name: (Model().to(torch.bfloat16), (torch.randn(b, s, DIM, dtype=torch.bfloat16),))
        for name, (b, s) in SIZES.items()
    }
