"""softmax over a 32k vocabulary, prefill size, in the KernelBench format."""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, logits):
        return torch.softmax(logits.float(), dim=-1)


rows, vocab = 2048, 32000


def get_inputs():
    return [torch.randn(rows, vocab, dtype=torch.bfloat16)]


def get_init_inputs():
    return []
