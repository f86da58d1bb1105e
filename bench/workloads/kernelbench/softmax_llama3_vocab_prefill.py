"""softmax over Llama 3's 128,256-token vocabulary for 2048 prefill tokens, in the KernelBench format.

512 MiB of bf16 logits in, 1 GiB of fp32 probabilities out: about 0.6 ms per call on an H200 even when
fused (4096 tokens measured 1.20 ms fused, 3.50 ms eager), so every mode is GPU-bound there (host
issue time is tens of microseconds). The honesty checks of bench/bakeoff/checks.py use it as their
GPU-bound workload; 2048 rather than 4096 tokens because making the inputs on the CPU took 16 s per
process at 4096.
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, logits):
        return torch.softmax(logits.float(), dim=-1)


rows, vocab = 2048, 128256


def get_inputs():
    return [torch.randn(rows, vocab, dtype=torch.bfloat16)]


def get_init_inputs():
    return []
