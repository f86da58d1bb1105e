"""An fp32 GEMM with a GELU epilogue, Linear(8192, 8192) -> GELU: the shape of the issue's hidden
KernelBench problem (1024x8192x8192), where TF32 decides the answer on sm_80 and newer."""

import torch
import torch.nn as nn

DIM = 8192
SIZES = {"decode": 8, "prefill": 1024}  # batch


class Model(nn.Module):
    def __init__(self, dim: int = DIM):
        super().__init__()
        self.fc = nn.Linear(dim, dim)

    def forward(self, x):
        return torch.nn.functional.gelu(self.fc(x))


def gpudiag_workloads():
    return {name: (Model(), (torch.randn(b, DIM),)) for name, b in SIZES.items()}
