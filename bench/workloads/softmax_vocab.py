"""Softmax over a 32000-token vocabulary (the sampling step), decode and prefill sizes."""

import torch
import torch.nn as nn

VOCAB = 32000
SIZES = {"decode": 8, "prefill": 2048}  # rows of logits


class Model(nn.Module):
    def forward(self, logits):
        return torch.softmax(logits.float(), dim=-1)


def gpudiag_workloads():
    return {name: (Model(), (torch.randn(rows, VOCAB, dtype=torch.bfloat16),)) for name, rows in SIZES.items()}
