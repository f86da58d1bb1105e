"""ViT-B/16 patch embedding: Conv2d(3, 768, 16, stride=16), flattened to tokens."""

import torch
import torch.nn as nn

SIZES = {"decode": 1, "prefill": 64}  # images of 224x224


class Model(nn.Module):
    def __init__(self, channels: int = 3, dim: int = 768, patch: int = 16):
        super().__init__()
        self.proj = nn.Conv2d(channels, dim, kernel_size=patch, stride=patch)

    def forward(self, images):
        return self.proj(images).flatten(2).transpose(1, 2)


def gpudiag_workloads():
    return {
        name: (Model().to(torch.bfloat16), (torch.randn(n, 3, 224, 224, dtype=torch.bfloat16),))
        for name, n in SIZES.items()
    }
