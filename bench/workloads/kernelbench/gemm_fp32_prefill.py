"""fp32 GEMM + GELU (Linear(8192, 8192) -> GELU), prefill size, in the KernelBench format."""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.fc = nn.Linear(dim, dim)

    def forward(self, x):
        return torch.nn.functional.gelu(self.fc(x))


batch, dim = 1024, 8192


def get_inputs():
    return [torch.randn(batch, dim)]


def get_init_inputs():
    return [dim]
