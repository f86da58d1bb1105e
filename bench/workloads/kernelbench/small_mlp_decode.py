"""small MLP, fp32, decode size, in the KernelBench format."""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim)
        self.fc2 = nn.Linear(dim, dim)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


batch, dim = 1, 1024


def get_inputs():
    return [torch.randn(batch, dim)]


def get_init_inputs():
    return [dim]
