"""``gpudiag bakeoff``: which torch.compile mode is fastest for a workload, each mode measured in a clean process.

loader   reads the user's script (KernelBench ``Model``/``get_inputs``, ``gpudiag_workloads()``, ``--entry``)
child    measures ONE (workload, mode) pair in its own process and writes one JSON result
harness  starts the children (forked from a torch-importing zygote, or fresh interpreters), enforces
         timeouts, streams results to ``--output``
report   winners, speedups, margins and the recommendation, from the rows
"""

from gpudiag.bakeoff.modes import ALL_MODES, CUDAGRAPH_MODES

__all__ = ["ALL_MODES", "CUDAGRAPH_MODES"]
