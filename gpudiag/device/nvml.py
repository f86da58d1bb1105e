"""NVML through nvidia-ml-py: the only module that imports ``pynvml``.

NVML enumerates every GPU on the host and ignores CUDA_VISIBLE_DEVICES; ``probe`` matches its
devices to CUDA's by PCI bus id. Every per-device read goes through ``NvmlDevice.read`` so that a
call the GPU or driver does not support becomes a recorded "unavailable" reason instead of an
exception: one unsupported counter must never cost the rest of the report.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from gpudiag.device.facts import DeviceState

# nvmlClocksEventReasons / nvmlClocksThrottleReasons bit -> name (nvml.h).
THROTTLE_REASON_BITS = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}

COMPUTE_MODES = {0: "Default", 1: "Exclusive_Thread", 2: "Prohibited", 3: "Exclusive_Process"}


class NvmlUnavailable(Exception):
    """NVML cannot be used at all here (library missing, no driver)."""


def load_pynvml() -> ModuleType:
    """Import pynvml; tests replace this function to fake the native boundary."""
    try:
        return importlib.import_module("pynvml")
    except ImportError as exc:  # nvidia-ml-py not installed
        raise NvmlUnavailable("the nvidia-ml-py package is not installed") from exc


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _error_text(lib: ModuleType, exc: Exception) -> str:
    if isinstance(exc, getattr(lib, "NVMLError", ())):
        try:
            return _text(exc)
        except Exception:  # pynvml's __str__ itself calls into NVML
            return f"NVML error {getattr(exc, 'value', '?')}"
    return f"{type(exc).__name__}: {exc}"


class Nvml:
    """An initialised NVML session. Use as a context manager."""

    def __init__(self, lib: ModuleType | None = None) -> None:
        self.lib = lib if lib is not None else load_pynvml()
        try:
            self.lib.nvmlInit()
        except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
            raise NvmlUnavailable(_error_text(self.lib, exc)) from exc

    def __enter__(self) -> Nvml:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.lib.nvmlShutdown()
        except Exception:
            pass

    def _system(self, fn: str) -> Any:
        try:
            return getattr(self.lib, fn)()
        except Exception:
            return None

    def driver_version(self) -> str | None:
        v = self._system("nvmlSystemGetDriverVersion")
        return _text(v) if v is not None else None

    def cuda_driver_version(self) -> str | None:
        """The highest CUDA version this driver supports, as "13.0"."""
        v = self._system("nvmlSystemGetCudaDriverVersion_v2") or self._system("nvmlSystemGetCudaDriverVersion")
        return f"{v // 1000}.{(v % 1000) // 10}" if v else None

    def nvml_version(self) -> str | None:
        v = self._system("nvmlSystemGetNVMLVersion")
        return _text(v) if v is not None else None

    def device_count(self) -> int:
        return int(self.lib.nvmlDeviceGetCount())

    def device(self, index: int) -> NvmlDevice:
        return NvmlDevice(self.lib, self.lib.nvmlDeviceGetHandleByIndex(index))

    def device_by_pci_bus_id(self, bus_id: str) -> NvmlDevice | None:
        getter = getattr(self.lib, "nvmlDeviceGetHandleByPciBusId_v2", None) or self.lib.nvmlDeviceGetHandleByPciBusId
        try:
            return NvmlDevice(self.lib, getter(bus_id.encode() if isinstance(bus_id, str) else bus_id))
        except Exception:
            return None


@dataclass
class NvmlSnapshot:
    """Everything a live report reads from NVML about one GPU, read at one moment (possibly in the
    prefetch thread, gpudiag.device.prefetch); ``unavailable`` says why each missing value is."""

    pci_bus_id: str | None
    uuid: str | None
    index: int | None
    board_part_number: str | None
    memory: tuple[int, int, int] | None
    memory_bus_width_bits: int | None
    num_gpu_cores: int | None
    state: DeviceState
    unavailable: dict[str, str] = field(default_factory=dict)


class NvmlDevice:
    """One NVML device handle; reads that fail are collected in ``unavailable``."""

    def __init__(self, lib: ModuleType, handle: Any) -> None:
        self.lib = lib
        self.handle = handle
        self.unavailable: dict[str, str] = {}

    def read(
        self, field: str, fn_names: str | tuple[str, ...], *args: Any, convert: Callable[[Any], Any] | None = None
    ) -> Any:
        """Call the first NVML function that exists; on failure note why under ``field``."""
        names = (fn_names,) if isinstance(fn_names, str) else fn_names
        last = "not provided by this nvidia-ml-py"
        for name in names:
            fn = getattr(self.lib, name, None)
            if fn is None:
                continue
            try:
                value = fn(self.handle, *args)
            except Exception as exc:
                last = _error_text(self.lib, exc)
                continue
            self.unavailable.pop(field, None)
            return convert(value) if convert else value
        self.unavailable[field] = last
        return None

    # identity -------------------------------------------------------------
    def name(self) -> str | None:
        return self.read("name", "nvmlDeviceGetName", convert=_text)

    def uuid(self) -> str | None:
        return self.read("uuid", "nvmlDeviceGetUUID", convert=_text)

    def index(self) -> int | None:
        return self.read("nvml_index", "nvmlDeviceGetIndex", convert=int)

    def pci_bus_id(self) -> str | None:
        info = self.read("pci_bus_id", ("nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo"))
        return normalise_bus_id(_text(info.busId)) if info is not None else None

    def board_part_number(self) -> str | None:
        return self.read(
            "board_part_number", "nvmlDeviceGetBoardPartNumber", convert=lambda v: _text(v).strip() or None
        )

    def compute_capability(self) -> tuple[int, int] | None:
        return self.read(
            "compute_capability", "nvmlDeviceGetCudaComputeCapability", convert=lambda v: (int(v[0]), int(v[1]))
        )

    def num_gpu_cores(self) -> int | None:
        return self.read("cuda_cores", "nvmlDeviceGetNumGpuCores", convert=int)

    # memory ---------------------------------------------------------------
    def memory(self) -> tuple[int, int, int] | None:
        info = self.read("memory", ("nvmlDeviceGetMemoryInfo",))
        return (int(info.total), int(info.free), int(info.used)) if info is not None else None

    def memory_bus_width_bits(self) -> int | None:
        return self.read("memory_bus_width_bits", "nvmlDeviceGetMemoryBusWidth", convert=int)

    def snapshot(self) -> NvmlSnapshot:
        """Every read a live report makes (under MIG the caller ignores memory and cores: they are
        the whole GPU's)."""
        snap = NvmlSnapshot(
            pci_bus_id=self.pci_bus_id(),
            uuid=self.uuid(),
            index=self.index(),
            board_part_number=self.board_part_number(),
            memory=self.memory(),
            memory_bus_width_bits=self.memory_bus_width_bits(),
            num_gpu_cores=self.num_gpu_cores(),
            state=self.state(),
        )
        snap.unavailable = dict(self.unavailable)
        return snap

    # state ----------------------------------------------------------------
    def state(self) -> DeviceState:
        lib = self.lib
        st = DeviceState()
        st.sm_clock_mhz = self.read("sm_clock_mhz", "nvmlDeviceGetClockInfo", lib.NVML_CLOCK_SM, convert=int)
        st.sm_clock_max_mhz = self.read("sm_clock_max_mhz", "nvmlDeviceGetMaxClockInfo", lib.NVML_CLOCK_SM, convert=int)
        st.memory_clock_mhz = self.read("memory_clock_mhz", "nvmlDeviceGetClockInfo", lib.NVML_CLOCK_MEM, convert=int)
        st.memory_clock_max_mhz = self.read(
            "memory_clock_max_mhz", "nvmlDeviceGetMaxClockInfo", lib.NVML_CLOCK_MEM, convert=int
        )
        st.power_draw_w = self.read("power_draw_w", "nvmlDeviceGetPowerUsage", convert=lambda mw: round(mw / 1000.0, 1))
        st.power_limit_w = self.read(
            "power_limit_w",
            ("nvmlDeviceGetEnforcedPowerLimit", "nvmlDeviceGetPowerManagementLimit"),
            convert=lambda mw: round(mw / 1000.0, 1),
        )
        st.temperature_c = self.read("temperature_c", "nvmlDeviceGetTemperature", lib.NVML_TEMPERATURE_GPU, convert=int)
        util = self.read("utilization", "nvmlDeviceGetUtilizationRates")
        if util is not None:
            st.utilization_gpu_pct, st.utilization_memory_pct = int(util.gpu), int(util.memory)
        st.performance_state = self.read(
            "performance_state", "nvmlDeviceGetPerformanceState", convert=lambda p: f"P{int(p)}"
        )
        st.throttle_reasons = self.read(
            "throttle_reasons",
            ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"),
            convert=decode_throttle_reasons,
        )
        st.ecc_enabled = self.read("ecc_enabled", "nvmlDeviceGetEccMode", convert=lambda v: bool(v[0]))
        st.mig_enabled = self.read("mig_enabled", "nvmlDeviceGetMigMode", convert=lambda v: bool(v[0]))
        st.persistence_mode = self.read("persistence_mode", "nvmlDeviceGetPersistenceMode", convert=bool)
        st.compute_mode = self.read(
            "compute_mode", "nvmlDeviceGetComputeMode", convert=lambda m: COMPUTE_MODES.get(int(m), str(m))
        )
        st.pcie_gen_current = self.read("pcie_gen_current", "nvmlDeviceGetCurrPcieLinkGeneration", convert=int)
        st.pcie_gen_max = self.read(
            "pcie_gen_max", ("nvmlDeviceGetGpuMaxPcieLinkGeneration", "nvmlDeviceGetMaxPcieLinkGeneration"), convert=int
        )
        st.pcie_width_current = self.read("pcie_width_current", "nvmlDeviceGetCurrPcieLinkWidth", convert=int)
        st.pcie_width_max = self.read("pcie_width_max", "nvmlDeviceGetMaxPcieLinkWidth", convert=int)
        state_fields = set(st.__dataclass_fields__) | {"utilization"}
        st.unavailable = {k: v for k, v in self.unavailable.items() if k in state_fields}
        return st


def decode_throttle_reasons(mask: int) -> list[str]:
    mask = int(mask)
    return [name for bit, name in THROTTLE_REASON_BITS.items() if mask & bit]


def normalise_bus_id(bus_id: str) -> str:
    """NVML gives "00000000:19:00.0", CUDA "0000:19:00.0": compare as domain:bus:device.function, lower case."""
    s = bus_id.strip().lower()
    parts = s.split(":")
    if len(parts) == 3:
        domain, bus, devfn = parts
        return f"{int(domain, 16):08x}:{bus}:{devfn}"
    return s
