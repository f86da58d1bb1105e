"""Fakes for the native boundary: a pynvml module and a CUDA driver that describe chosen GPUs.

``FakeGpu`` holds what NVML and the driver would report for one card; ``install`` patches
``gpudiag.device.nvml.load_pynvml`` and ``gpudiag.device.cudadrv.open_driver`` so the real probe
code runs against them. The numbers for H100 and RTX 3070 are what those cards report (NVML and
cuDeviceGetAttribute), not what gpudiag's catalogue says, so tests that compare the two mean it.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field

from gpudiag.device import cudadrv


@dataclass
class FakeGpu:
    name: str
    uuid: str
    pci_bus_id_cuda: str  # as cuDeviceGetPCIBusId spells it: "0000:19:00.0"
    attrs: dict[str, int]
    memory_total: int
    memory_used: int = 512 << 20
    board_part_number: str = "692-2G520-0200-000"
    mem_bus_width: int = 5120
    mem_clock_max: int = 2619
    sm_clock: int = 1980
    sm_clock_max: int = 1980
    mem_clock: int = 2619
    power_mw: int = 72_000
    power_limit_mw: int = 700_000
    temperature: int = 31
    util: tuple[int, int] = (0, 0)
    pstate: int = 0
    throttle: int = 0x1
    ecc: tuple[int, int] = (1, 1)
    mig: tuple[int, int] = (0, 0)
    persistence: int = 1
    compute_mode: int = 0
    cuda_cores: int | None = None  # nvmlDeviceGetNumGpuCores: SMs x FP32 lanes per SM; None = not reported
    pcie: tuple[int, int, int, int] = (5, 5, 16, 16)  # gen cur, gen max, width cur, width max
    unsupported: set[str] = field(default_factory=set)  # NVML function names that raise NotSupported

    @property
    def nvml_bus_id(self) -> str:
        domain, rest = self.pci_bus_id_cuda.split(":", 1)
        return f"{int(domain, 16):08X}:{rest.upper()}"


def _attrs(cc, sms, smem_optin, smem_sm, regs_sm=65536, threads_sm=2048, blocks_sm=32, l2=50 << 20, reserved=1024):
    a = {
        "max_threads_per_block": 1024,
        "smem_per_block_bytes": 49152,
        "warp_size": 32,
        "regs_per_block": 65536,
        "sm_count": sms,
        "memory_clock_khz": 2619000,
        "memory_bus_width_bits": 5120,
        "l2_bytes": l2,
        "max_threads_per_sm": threads_sm,
        "cc_major": cc[0],
        "cc_minor": cc[1],
        "smem_per_sm_bytes": smem_sm,
        "regs_per_sm": regs_sm,
        "smem_per_block_optin_bytes": smem_optin,
        "max_blocks_per_sm": blocks_sm,
        "smem_reserved_per_block_bytes": reserved,
    }
    return a


def h100(bus: str = "0000:19:00.0", uuid: str = "GPU-6b4e0f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b") -> FakeGpu:
    return FakeGpu(
        "NVIDIA H100 80GB HBM3", uuid, bus, _attrs((9, 0), 132, 232448, 233472), 85520809984, cuda_cores=132 * 128
    )


def rtx3070(bus: str = "0000:01:00.0", uuid: str = "GPU-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9") -> FakeGpu:
    a = _attrs((8, 6), 46, 101376, 102400, threads_sm=1536, blocks_sm=16, l2=4 << 20)
    a.update(memory_bus_width_bits=256, memory_clock_khz=7001000)
    return FakeGpu(
        "NVIDIA GeForce RTX 3070",
        uuid,
        bus,
        a,
        8589934592,
        board_part_number="",
        mem_bus_width=256,
        mem_clock_max=7001,
        power_limit_mw=220_000,
        pcie=(4, 4, 16, 16),
        cuda_cores=46 * 128,
    )


class NVMLError(Exception):
    def __init__(self, value: int = 3) -> None:
        self.value = value

    def __str__(self) -> str:
        return {3: "Not Supported", 12: "NVML Shared Library Not Found", 9: "Driver Not Loaded"}.get(
            self.value, "Unknown Error"
        )


def fake_pynvml(
    gpus: list[FakeGpu], init_error: int | None = None, driver="580.159.04", cuda=13000
) -> types.ModuleType:
    """A module with pynvml's names, answering for ``gpus`` (in NVML's own order)."""
    m = types.ModuleType("pynvml")
    m.NVMLError = NVMLError
    m.NVML_CLOCK_SM, m.NVML_CLOCK_MEM, m.NVML_TEMPERATURE_GPU = 1, 2, 0

    def nvmlInit():
        if init_error is not None:
            raise NVMLError(init_error)

    m.nvmlInit = nvmlInit
    m.nvmlShutdown = lambda: None
    m.nvmlSystemGetDriverVersion = lambda: driver
    m.nvmlSystemGetCudaDriverVersion_v2 = lambda: cuda
    m.nvmlSystemGetNVMLVersion = lambda: "13.580.159.04"
    m.nvmlDeviceGetCount = lambda: len(gpus)
    m.nvmlDeviceGetHandleByIndex = lambda i: gpus[i]

    def by_bus(bus):
        bus = bus.decode() if isinstance(bus, bytes) else bus
        for g in gpus:
            if g.nvml_bus_id.lower().endswith(bus.lower().split(":", 1)[1]):
                return g
        raise NVMLError(6)

    m.nvmlDeviceGetHandleByPciBusId_v2 = by_bus

    def dev_fn(name, getter):
        def fn(g, *args):
            if name in g.unsupported:
                raise NVMLError(3)
            return getter(g, *args)

        setattr(m, name, fn)

    ns = types.SimpleNamespace
    dev_fn("nvmlDeviceGetName", lambda g: g.name)
    dev_fn("nvmlDeviceGetUUID", lambda g: g.uuid)
    dev_fn("nvmlDeviceGetIndex", lambda g: gpus.index(g))
    dev_fn("nvmlDeviceGetPciInfo", lambda g: ns(busId=g.nvml_bus_id))
    dev_fn("nvmlDeviceGetBoardPartNumber", lambda g: g.board_part_number)
    dev_fn("nvmlDeviceGetCudaComputeCapability", lambda g: (g.attrs["cc_major"], g.attrs["cc_minor"]))
    dev_fn(
        "nvmlDeviceGetMemoryInfo",
        lambda g: ns(total=g.memory_total, used=g.memory_used, free=g.memory_total - g.memory_used),
    )
    dev_fn("nvmlDeviceGetMemoryBusWidth", lambda g: g.mem_bus_width)

    def cores(g):
        if g.cuda_cores is None:
            raise NVMLError(3)
        return g.cuda_cores

    dev_fn("nvmlDeviceGetNumGpuCores", cores)
    dev_fn("nvmlDeviceGetMaxClockInfo", lambda g, t: g.sm_clock_max if t == 1 else g.mem_clock_max)
    dev_fn("nvmlDeviceGetClockInfo", lambda g, t: g.sm_clock if t == 1 else g.mem_clock)
    dev_fn("nvmlDeviceGetPowerUsage", lambda g: g.power_mw)
    dev_fn("nvmlDeviceGetEnforcedPowerLimit", lambda g: g.power_limit_mw)
    dev_fn("nvmlDeviceGetTemperature", lambda g, sensor: g.temperature)
    dev_fn("nvmlDeviceGetUtilizationRates", lambda g: ns(gpu=g.util[0], memory=g.util[1]))
    dev_fn("nvmlDeviceGetPerformanceState", lambda g: g.pstate)
    dev_fn("nvmlDeviceGetCurrentClocksEventReasons", lambda g: g.throttle)
    dev_fn("nvmlDeviceGetEccMode", lambda g: g.ecc)
    dev_fn("nvmlDeviceGetMigMode", lambda g: g.mig)
    dev_fn("nvmlDeviceGetPersistenceMode", lambda g: g.persistence)
    dev_fn("nvmlDeviceGetComputeMode", lambda g: g.compute_mode)
    dev_fn("nvmlDeviceGetCurrPcieLinkGeneration", lambda g: g.pcie[0])
    dev_fn("nvmlDeviceGetGpuMaxPcieLinkGeneration", lambda g: g.pcie[1])
    dev_fn("nvmlDeviceGetCurrPcieLinkWidth", lambda g: g.pcie[2])
    dev_fn("nvmlDeviceGetMaxPcieLinkWidth", lambda g: g.pcie[3])
    return m


class FakeDriver:
    """Implements ``cudadrv.CudaDriver`` for the GPUs CUDA would show, in CUDA's order."""

    def __init__(self, gpus: list[FakeGpu], version: int = 13000) -> None:
        self.gpus, self.version = gpus, version

    def _gpu(self, i: int) -> FakeGpu:
        if not 0 <= i < len(self.gpus):
            raise cudadrv.CudaDriverError("cuDeviceGet", cudadrv.CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE")
        return self.gpus[i]

    def driver_version(self) -> int:
        return self.version

    def device_count(self) -> int:
        return len(self.gpus)

    def name(self, i: int) -> str:
        return self._gpu(i).name

    def uuid(self, i: int) -> str:
        return self._gpu(i).uuid

    def pci_bus_id(self, i: int) -> str:
        return self._gpu(i).pci_bus_id_cuda

    def total_memory(self, i: int) -> int:
        return self._gpu(i).memory_total

    def attribute(self, i: int, attr: int) -> int:
        name = {v: k for k, v in cudadrv.ATTR.items()}[attr]
        return self._gpu(i).attrs[name]


def install(
    monkeypatch,
    nvml_gpus: list[FakeGpu] | None,
    cuda_gpus: list[FakeGpu] | None,
    *,
    nvml_init_error: int | None = None,
    driver_error: Exception | None = None,
) -> None:
    """Patch the boundary. ``None`` for either side means that library is missing."""
    from gpudiag.device import nvml

    if nvml_gpus is None:

        def missing():
            raise nvml.NvmlUnavailable("NVML Shared Library Not Found")

        monkeypatch.setattr(nvml, "load_pynvml", missing)
    else:
        mod = fake_pynvml(nvml_gpus, init_error=nvml_init_error)
        monkeypatch.setattr(nvml, "load_pynvml", lambda: mod)

    def open_driver():
        if driver_error is not None:
            raise driver_error
        if cuda_gpus is None:
            raise cudadrv.CudaDriverUnavailable("libcuda.so.1 not found (no NVIDIA driver installed?)")
        return FakeDriver(cuda_gpus)

    monkeypatch.setattr(cudadrv, "open_driver", open_driver)
