"""ViT-B/16 patch embedding, prefill size, in the KernelBench format."""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, channels: int, dim: int, patch: int):
        super().__init__()
        self.proj = nn.Conv2d(channels, dim, kernel_size=patch, stride=patch, dtype=torch.bfloat16)

    def forward(self, images):
        return self.proj(images).flatten(2).transpose(1, 2)


images, size = 64, 224


def get_inputs():
    return [torch.randn(images, 3, size, size, dtype=torch.bfloat16)]


def get_init_inputs():
    return [3, 768, 16]
