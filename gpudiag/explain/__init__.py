"""explain-warning: a sourced catalogue of torch.compile / Inductor / Triton messages, a streaming log
matcher, and device-aware verdicts. Core modules only: nothing here prints or exits."""
