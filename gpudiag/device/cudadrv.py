"""The CUDA driver API through ctypes: the only module that loads libcuda.

Why the driver and not torch: ``cuDeviceGetAttribute`` answers every per-architecture limit
(shared memory opt-in, registers, blocks per SM, L2) in microseconds, while importing torch costs
seconds. Why ctypes and not cuda-bindings: five entry points do not justify a dependency, and
libcuda ships with every driver. The driver applies CUDA_VISIBLE_DEVICES itself, so ordinals here
are the ones the user's CUDA programs see.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Protocol

# CUdevice_attribute values (cuda.h).
ATTR = {
    "max_threads_per_block": 1,
    "smem_per_block_bytes": 8,
    "warp_size": 10,
    "regs_per_block": 12,
    "sm_count": 16,
    "memory_clock_khz": 36,
    "memory_bus_width_bits": 37,
    "l2_bytes": 38,
    "max_threads_per_sm": 39,
    "cc_major": 75,
    "cc_minor": 76,
    "smem_per_sm_bytes": 81,
    "regs_per_sm": 82,
    "smem_per_block_optin_bytes": 97,
    "max_blocks_per_sm": 106,
    "smem_reserved_per_block_bytes": 111,
}

CUDA_SUCCESS = 0
CUDA_ERROR_NOT_INITIALIZED = 3
CUDA_ERROR_NO_DEVICE = 100
CUDA_ERROR_INVALID_DEVICE = 101


class CudaDriverError(Exception):
    def __init__(self, call: str, code: int, name: str | None = None) -> None:
        self.call, self.code, self.name = call, code, name or f"CUresult {code}"
        super().__init__(f"{call} failed: {self.name}")


class CudaDriverUnavailable(Exception):
    """libcuda cannot be loaded (no NVIDIA driver on this machine)."""


class CudaDriver(Protocol):
    """What the probe needs from the driver; ``LibCuda`` is the real one, tests provide fakes."""

    def driver_version(self) -> int: ...
    def device_count(self) -> int: ...
    def name(self, ordinal: int) -> str: ...
    def uuid(self, ordinal: int) -> str: ...
    def pci_bus_id(self, ordinal: int) -> str: ...
    def total_memory(self, ordinal: int) -> int: ...
    def attribute(self, ordinal: int, attr: int) -> int: ...


class _CUuuid(ctypes.Structure):
    _fields_ = [("bytes", ctypes.c_ubyte * 16)]


class LibCuda:
    """The real driver, loaded with ctypes and initialised with ``cuInit(0)``."""

    def __init__(self, path: str | None = None) -> None:
        candidates = [path] if path else ["libcuda.so.1", "libcuda.so", ctypes.util.find_library("cuda")]
        lib = None
        for cand in filter(None, candidates):
            try:
                lib = ctypes.CDLL(cand)
                break
            except OSError:
                continue
        if lib is None:
            raise CudaDriverUnavailable("libcuda.so.1 not found (no NVIDIA driver installed?)")
        self._lib = lib
        self._check("cuInit", lib.cuInit(0))

    def _error_name(self, code: int) -> str:
        out = ctypes.c_char_p()
        try:
            if self._lib.cuGetErrorName(code, ctypes.byref(out)) == CUDA_SUCCESS and out.value:
                return out.value.decode()
        except AttributeError:
            pass
        return f"CUresult {code}"

    def _check(self, call: str, code: int) -> None:
        if code != CUDA_SUCCESS:
            raise CudaDriverError(call, code, self._error_name(code))

    def driver_version(self) -> int:
        v = ctypes.c_int()
        self._check("cuDriverGetVersion", self._lib.cuDriverGetVersion(ctypes.byref(v)))
        return v.value

    def device_count(self) -> int:
        n = ctypes.c_int()
        self._check("cuDeviceGetCount", self._lib.cuDeviceGetCount(ctypes.byref(n)))
        return n.value

    def _device(self, ordinal: int) -> ctypes.c_int:
        dev = ctypes.c_int()
        self._check("cuDeviceGet", self._lib.cuDeviceGet(ctypes.byref(dev), ordinal))
        return dev

    def name(self, ordinal: int) -> str:
        buf = ctypes.create_string_buffer(256)
        self._check("cuDeviceGetName", self._lib.cuDeviceGetName(buf, 256, self._device(ordinal)))
        return buf.value.decode()

    def uuid(self, ordinal: int) -> str:
        u = _CUuuid()
        fn = getattr(self._lib, "cuDeviceGetUuid_v2", None) or self._lib.cuDeviceGetUuid
        self._check("cuDeviceGetUuid", fn(ctypes.byref(u), self._device(ordinal)))
        h = bytes(u.bytes).hex()
        return f"GPU-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def pci_bus_id(self, ordinal: int) -> str:
        buf = ctypes.create_string_buffer(64)
        self._check("cuDeviceGetPCIBusId", self._lib.cuDeviceGetPCIBusId(buf, 64, self._device(ordinal)))
        return buf.value.decode()

    def total_memory(self, ordinal: int) -> int:
        size = ctypes.c_size_t()
        fn = getattr(self._lib, "cuDeviceTotalMem_v2", None) or self._lib.cuDeviceTotalMem
        self._check("cuDeviceTotalMem", fn(ctypes.byref(size), self._device(ordinal)))
        return size.value

    def attribute(self, ordinal: int, attr: int) -> int:
        v = ctypes.c_int()
        self._check(
            "cuDeviceGetAttribute", self._lib.cuDeviceGetAttribute(ctypes.byref(v), attr, self._device(ordinal))
        )
        return v.value


def initialized_in_this_process() -> bool:
    """Has this process called ``cuInit``? Loads nothing and initialises nothing to find out.

    A process that forks CUDA children must not have initialised the driver ("Cannot re-initialize
    CUDA in forked subprocess"); ``torch.cuda.is_initialized()`` only knows torch's own lazy init.
    Only a driver that is already mapped is asked, with a call that answers
    CUDA_ERROR_NOT_INITIALIZED before ``cuInit``.
    """
    try:
        with open("/proc/self/maps") as f:
            if "libcuda.so" not in f.read():
                return False  # the driver library is not even loaded
        lib = ctypes.CDLL("libcuda.so.1")  # already mapped: this only returns its handle
    except OSError:
        return False
    count = ctypes.c_int(0)
    return lib.cuDeviceGetCount(ctypes.byref(count)) != CUDA_ERROR_NOT_INITIALIZED


def open_driver() -> CudaDriver:
    """The live driver; tests replace this function to fake the native boundary."""
    return LibCuda()


def version_text(version: int) -> str:
    """cuDriverGetVersion's 13000 -> "13.0"."""
    return f"{version // 1000}.{(version % 1000) // 10}"
