"""The least a GPU report can do: the floor `gpudiag info` is measured against.

NVML init, the handle of GPU 0 and its name; libcuda loaded through ctypes, cuInit, and five
attributes of device 0 (SM count, compute capability major and minor, shared memory per block
opt-in, L2). Nothing else: no rendering, no catalogue, no error handling beyond an exit status.
Exits 0 and prints one line where a GPU answers; exits 2 where there is none (the CPU machine),
still after paying for the imports and the failed init, as `gpudiag info` does.

    python3 -m bench.startup.probe_minimal
"""

from __future__ import annotations

import ctypes
import sys

ATTRS = (16, 75, 76, 97, 38)  # sm_count, cc_major, cc_minor, smem_per_block_optin, l2_bytes (cuda.h)


def main() -> int:
    try:
        import pynvml

        pynvml.nvmlInit()
        name = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(0))
    except Exception as exc:
        print(f"no GPU: {exc}", file=sys.stderr)
        return 2
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError as exc:
        print(f"no libcuda: {exc}", file=sys.stderr)
        return 2
    if cuda.cuInit(0) != 0:
        return 2
    dev = ctypes.c_int()
    if cuda.cuDeviceGet(ctypes.byref(dev), 0) != 0:
        return 2
    values = []
    for attr in ATTRS:
        v = ctypes.c_int()
        cuda.cuDeviceGetAttribute(ctypes.byref(v), attr, dev)
        values.append(v.value)
    print(name, *values)
    return 0


if __name__ == "__main__":
    sys.exit(main())
