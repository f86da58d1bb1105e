"""Rotary position embedding applied to q and k, decode and prefill sizes, for `gpudiag bakeoff`."""

import torch
import torch.nn as nn

HEADS, HEAD_DIM = 32, 128
SIZES = {"decode": (8, 1), "prefill": (4, 2048)}


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Model(nn.Module):
    def forward(self, q, k, cos, sin):
        return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


def rope_inputs(batch: int, tokens: int):
    inv_freq = 1.0 / (10000 ** (torch.arange(0, HEAD_DIM, 2, dtype=torch.float32) / HEAD_DIM))
    freqs = torch.outer(torch.arange(tokens, dtype=torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    q = torch.randn(batch, HEADS, tokens, HEAD_DIM, dtype=torch.bfloat16)
    k = torch.randn(batch, HEADS, tokens, HEAD_DIM, dtype=torch.bfloat16)
    return q, k, emb.cos().to(torch.bfloat16), emb.sin().to(torch.bfloat16)


def gpudiag_workloads():
    return {name: (Model(), rope_inputs(b, s)) for name, (b, s) in SIZES.items()}
