"""RoPE apply, prefill size, in the KernelBench format."""

import torch
import torch.nn as nn


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, q, k, cos, sin):
        return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


batch, heads, tokens, head_dim = 4, 32, 2048, 128


def get_inputs():
    inv_freq = 1.0 / (10000 ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    freqs = torch.outer(torch.arange(tokens, dtype=torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    q = torch.randn(batch, heads, tokens, head_dim, dtype=torch.bfloat16)
    k = torch.randn(batch, heads, tokens, head_dim, dtype=torch.bfloat16)
    return [q, k, emb.cos().to(torch.bfloat16), emb.sin().to(torch.bfloat16)]


def get_init_inputs():
    return []
