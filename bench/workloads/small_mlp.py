"""The small MLP of the bake-off issue: Linear(1024,1024) -> ReLU -> Linear(1024,1024), fp32."""

import torch
import torch.nn as nn

DIM = 1024
SIZES = {"decode": 1, "prefill": 256}  # batch


class Model(nn.Module):
    def __init__(self, dim: int = DIM):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim)
        self.fc2 = nn.Linear(dim, dim)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def gpudiag_workloads():
    return {name: (Model(), (torch.randn(b, DIM),)) for name, b in SIZES.items()}
