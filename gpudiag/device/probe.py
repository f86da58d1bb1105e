"""The live probe: NVML plus the CUDA driver, combined into ``DeviceFacts``.

CUDA decides which GPUs exist for the user's programs (it applies CUDA_VISIBLE_DEVICES and
CUDA_DEVICE_ORDER), so devices are enumerated through the driver and each one is matched to its
NVML handle by PCI bus id. Where the driver library is missing but NVML works (containers started
with only the "utility" driver capability), NVML alone is used and CUDA_VISIBLE_DEVICES is applied
here, with a note saying so.
"""

from __future__ import annotations

import os

from gpudiag import __version__
from gpudiag.device import catalog, cudadrv, nvml, prefetch
from gpudiag.device.facts import DeviceFacts, SoftwareStack
from gpudiag.errors import DeviceUnavailable, NoDeviceVisible
from gpudiag.installed import versions

NO_DEVICE_HINT = "use --gpu NAME to describe a catalogue GPU without one"


def software_stack(nvml_session: nvml.Nvml | None = None) -> SoftwareStack:
    """Versions of Python, torch, Triton and the driver; where NVML does not give the driver's CUDA
    version, the probe asks libcuda once it has it (``_driver_version_from``)."""
    s = SoftwareStack(gpudiag_version=__version__, python_version=versions.python_version())
    s.torch_version = versions.torch_version()
    s.torch_cuda_version = versions.torch_cuda_version()
    s.torch_hip_version = versions.torch_hip_version()
    s.triton_version = versions.triton_version()
    if s.torch_version is None:
        s.unavailable["torch_version"] = "torch is not installed"
    if s.triton_version is None:
        s.unavailable["triton_version"] = "triton is not installed"
    if nvml_session is not None:
        s.driver_version = nvml_session.driver_version()
        s.cuda_driver_version = nvml_session.cuda_driver_version()
        s.nvml_version = nvml_session.nvml_version()
    for name in ("driver_version", "cuda_driver_version"):
        if getattr(s, name) is None:
            s.unavailable[name] = "no NVIDIA driver answered"
    return s


def _driver_version_from(driver: cudadrv.CudaDriver, s: SoftwareStack) -> None:
    """The CUDA version the driver supports, from libcuda where NVML did not say it."""
    try:
        s.cuda_driver_version = cudadrv.version_text(driver.driver_version())
    except cudadrv.CudaDriverError:
        return
    s.unavailable.pop("cuda_driver_version", None)


def _open_nvml() -> tuple[nvml.Nvml | None, str | None, bool]:
    """(session, why not, whether this probe owns it): the session gpudiag.device.prefetch opened in
    its thread where one was, else a new one."""
    borrowed = prefetch.nvml_session()
    if borrowed is not None:
        return borrowed[0], borrowed[1], False
    try:
        return nvml.Nvml(), None, True
    except nvml.NvmlUnavailable as exc:
        return None, str(exc), True


def _open_driver() -> tuple[cudadrv.CudaDriver | None, str | None, int]:
    """(driver, why not, device count)."""
    try:
        driver = cudadrv.open_driver()
        return driver, None, driver.device_count()
    except cudadrv.CudaDriverUnavailable as exc:
        return None, str(exc), 0
    except cudadrv.CudaDriverError as exc:
        if exc.code == cudadrv.CUDA_ERROR_NO_DEVICE:
            return None, "no CUDA device is visible", 0
        return None, str(exc), 0


def _visible_env() -> str | None:
    return os.environ.get("CUDA_VISIBLE_DEVICES")


def _no_device_error(
    nvml_count: int | None, why: str, nvml_status: str, driver_status: str, sw: SoftwareStack
) -> NoDeviceVisible:
    cvd = _visible_env()
    if cvd is not None and nvml_count is not None and nvml_count > 0:
        shown = cvd if cvd.strip() else "(empty)"
        message = (
            f"CUDA_VISIBLE_DEVICES={shown} hides every GPU: NVML sees {nvml_count} on this machine "
            f"but CUDA sees none; unset it or name a GPU that exists (0..{nvml_count - 1} or a GPU UUID)"
        )
    elif nvml_count is None:
        message = f"no NVIDIA GPU here ({why}); {NO_DEVICE_HINT}"
    else:
        message = f"no CUDA device is visible ({why}); {NO_DEVICE_HINT}"
    return NoDeviceVisible(message, nvml_status, driver_status, sw)


def _nvml_status(session: nvml.Nvml | None, why: str | None, count: int | None) -> str:
    if session is None:
        return f"not usable: {why}"
    return f"driver {session.driver_version() or '?'} answers; {count if count is not None else '?'} GPU(s) on this machine"


def probe(index: int | None = None, nvml_only: bool = False) -> tuple[list[DeviceFacts], SoftwareStack]:
    """Every visible GPU (or just CUDA ordinal ``index``), with the host's software stack.

    ``nvml_only`` skips the CUDA driver where NVML answers: ``cuInit`` costs 0.18 s of a 0.7 s
    command on the H100 host (bench/explain/latency_breakdown.py), and commands that need only the
    name, compute capability, SM count and per-architecture limits do not need it. Raises
    ``DeviceUnavailable`` (exit 2) with one line of what is wrong and what to do.
    """
    session, nvml_why, owned = _open_nvml()
    try:
        skip_driver = nvml_only and session is not None
        sw = software_stack(session)
        # Where the driver is starting in its thread (gpudiag.device.prefetch), the catalogue's name
        # index is built while it does, not after.
        catalog.warm()
        driver, driver_why, count = (None, None, 0) if skip_driver else _open_driver()
        if sw.cuda_driver_version is None and driver is not None:
            _driver_version_from(driver, sw)
        nvml_count = None
        if session is not None:
            try:
                nvml_count = session.device_count()
            except Exception:
                nvml_count = None

        nvml_status = _nvml_status(session, nvml_why, nvml_count)
        driver_status = (
            "not initialised (NVML answers faster)"
            if skip_driver
            else f"not usable: {driver_why}"
            if driver is None
            else f"{count} device(s) visible"
        )
        if session is not None and (skip_driver or (driver is None and driver_why and "not found" in driver_why)):
            devices = _probe_nvml_only(session, nvml_count or 0, driver_skipped=skip_driver, index=index)
        elif driver is None or count == 0:
            why = driver_why or "the CUDA driver reports 0 devices"
            if session is None and driver is None:
                why = f"{driver_why}; NVML: {nvml_why}"
            raise _no_device_error(nvml_count, why, nvml_status, driver_status, sw)
        else:
            ordinals: list[int] = list(range(count))
            if index is not None:
                _check_index(index, count)
                ordinals = [index]
            devices = [_probe_one(driver, session, i) for i in ordinals]
            return devices, sw

        if not devices:
            raise _no_device_error(
                nvml_count, "CUDA_VISIBLE_DEVICES matches no NVML device", nvml_status, driver_status, sw
            )
        return devices, sw
    finally:
        if session is not None and owned:
            session.__exit__(None, None, None)


def _check_index(index: int, count: int) -> None:
    if not 0 <= index < count:
        raise DeviceUnavailable(
            f"--index {index} is out of range: {count} GPU{'s' if count != 1 else ''} visible "
            f"(valid: {'0' if count == 1 else f'0..{count - 1}'})"
        )


def _probe_one(driver: cudadrv.CudaDriver, session: nvml.Nvml | None, ordinal: int) -> DeviceFacts:
    attr = {}
    failed: dict[str, str] = {}
    for name, code in cudadrv.ATTR.items():
        try:
            attr[name] = driver.attribute(ordinal, code)
        except cudadrv.CudaDriverError as exc:
            failed[name] = str(exc)
    cc = (attr.get("cc_major", 0), attr.get("cc_minor", 0))
    facts = DeviceFacts(origin="live", name=driver.name(ordinal), compute_capability=cc, index=ordinal)
    facts.sources.update(name="cuda-driver", compute_capability="cuda-driver")
    src = "cuda-driver"
    for name in ("sm_count", *catalog.CC_LIMIT_FIELDS, "l2_bytes", "memory_bus_width_bits"):
        if name in attr:
            facts.set(name, attr[name], src)
        elif name in failed:
            facts.missing(name, failed[name])
    for call, name in (
        (driver.uuid, "uuid"),
        (driver.pci_bus_id, "pci_bus_id"),
        (driver.total_memory, "memory_total_bytes"),
    ):
        try:
            value = call(ordinal)
        except cudadrv.CudaDriverError as exc:
            facts.missing(name, str(exc))
            continue
        facts.set(name, nvml.normalise_bus_id(str(value)) if name == "pci_bus_id" else value, src)

    snap = _nvml_snapshot(session, facts.pci_bus_id)
    if snap is None:
        facts.notes.append("NVML could not be matched to this CUDA device: clocks, power and state are unavailable")
    else:
        _fill_from_nvml(facts, snap)
        if attr.get("memory_clock_khz") and facts.memory_clock_max_mhz is None:
            facts.set("memory_clock_max_mhz", attr["memory_clock_khz"] // 1000, src)
    _finish(facts)
    return facts


def _nvml_snapshot(session: nvml.Nvml | None, pci_bus_id: str | None) -> nvml.NvmlSnapshot | None:
    """NVML's reads of the GPU at CUDA's ``pci_bus_id``: prefetched where the prefetch thread read
    them, else read now."""
    if session is None or not pci_bus_id:
        return None
    snap = prefetch.nvml_snapshot(pci_bus_id)
    if snap is not None:
        return snap
    dev = session.device_by_pci_bus_id(pci_bus_id)
    return dev.snapshot() if dev is not None else None


def _fill_from_nvml(facts: DeviceFacts, snap: nvml.NvmlSnapshot, cuda_side: bool = True) -> None:
    src = "nvml"
    facts.state = snap.state
    # Under MIG, CUDA's device is one GPU instance while the handle found by PCI bus id is the whole
    # GPU: its memory and core counts would be the parent's, so the driver's values are kept.
    mig_slice = cuda_side and bool(facts.state.mig_enabled)
    if facts.uuid is None:
        facts.set("uuid", snap.uuid, src)
    facts.set("nvml_index", snap.index, src)
    facts.set("board_part_number", snap.board_part_number, src)
    mem = None if mig_slice else snap.memory
    if mem is not None:
        total, free, used = mem
        facts.set("memory_total_bytes", total, src)
        facts.set("memory_free_bytes", free, src)
        facts.set("memory_used_bytes", used, src)
    if facts.memory_bus_width_bits is None:
        facts.set("memory_bus_width_bits", snap.memory_bus_width_bits, src)
    facts.set("memory_clock_max_mhz", facts.state.memory_clock_max_mhz, src)  # read once, with the state
    if facts.cuda_cores is None and not mig_slice:
        facts.set("cuda_cores", snap.num_gpu_cores, src)
    if mig_slice:
        for name in ("memory_free_bytes", "memory_used_bytes"):
            facts.missing(name, "MIG: NVML reports the whole GPU, not this instance")
        facts.notes.append(
            "MIG is enabled: SM count, limits and total memory are this CUDA device's (the MIG "
            "instance); clocks, power, temperature and utilisation are the whole GPU's"
        )
    for name, why in snap.unavailable.items():
        if hasattr(facts, name) and name not in ("state",):
            facts.missing(name, why)


def _probe_nvml_only(
    session: nvml.Nvml, count: int, driver_skipped: bool = False, index: int | None = None
) -> list[DeviceFacts]:
    """No libcuda (or not wanted): enumerate NVML and apply CUDA_VISIBLE_DEVICES ourselves.

    Where the driver was skipped to answer faster (``nvml_only``), the caller wants identity and
    architecture, not what the GPU is doing: only the reads those need are made (the live state's
    twenty-odd NVML calls are not), and only for the GPU at ``index`` where one is asked for."""
    handles = [session.device(i) for i in range(count)]
    cvd = _visible_env()
    if cvd is not None:
        chosen = []
        for token in (t.strip() for t in cvd.split(",")):
            if not token:
                break
            if token.isdigit() and int(token) < count:
                chosen.append(handles[int(token)])
            else:
                match = [
                    h
                    for h in handles
                    if (h.uuid() or "").startswith(token if token.startswith("GPU-") else f"GPU-{token}")
                ]
                if not match:
                    break  # CUDA stops at the first invalid entry
                chosen.append(match[0])
        handles = chosen
    ordinals = list(range(len(handles)))
    if index is not None and handles:  # none visible: the caller says CUDA_VISIBLE_DEVICES matched none
        _check_index(index, len(handles))
        ordinals = [index]
    out = []
    for ordinal in ordinals:
        dev = handles[ordinal]
        cc = dev.compute_capability() or (0, 0)
        facts = DeviceFacts(
            origin="live", name=dev.name() or "unknown NVIDIA GPU", compute_capability=cc, index=ordinal
        )
        facts.sources.update(name="nvml", compute_capability="nvml")
        facts.set("pci_bus_id", dev.pci_bus_id(), "nvml")
        if driver_skipped:
            _fill_identity_from_nvml(facts, dev)
        else:
            _fill_from_nvml(facts, dev.snapshot(), cuda_side=False)
        why = (
            "read through NVML only (the CUDA driver was not initialised, to answer faster)"
            if driver_skipped
            else "the CUDA driver library (libcuda) is not loadable here"
        )
        facts.notes.append(
            f"{why}: per-architecture limits come from the catalogue, the SM count from NVML's core "
            "count divided by this architecture's FP32 lanes per SM (or the catalogue row)"
        )
        _sm_count_and_l2_without_driver(facts)
        _finish(facts)
        out.append(facts)
    return out


def _fill_identity_from_nvml(facts: DeviceFacts, dev: nvml.NvmlDevice) -> None:
    """The NVML reads an architecture answer needs: the core count (the SM count is derived from
    it) and the NVML index; the live state (clocks, power, ECC, PCIe) is left unread."""
    src = "nvml"
    facts.set("nvml_index", dev.index(), src)
    facts.set("cuda_cores", dev.num_gpu_cores(), src)
    for name, why in dev.unavailable.items():
        if hasattr(facts, name) and name != "state":
            facts.missing(name, why)


def _sm_count_and_l2_without_driver(facts: DeviceFacts) -> None:
    """NVML has no SM count, but its core count is SMs x FP32 lanes per SM, which the per-cc table has."""
    lanes = getattr(catalog.cc_limits(facts.compute_capability), "fp32_lanes_per_sm", None)
    row = catalog.find_row_for_live_name(facts.name)
    if row is not None:
        catalog.cite_row_field(facts, row, "l2_bytes")
    if facts.cuda_cores and lanes and facts.cuda_cores % lanes == 0:
        facts.set("sm_count", facts.cuda_cores // lanes, "derived")
    elif row is not None and row.data.get("sm_count"):
        catalog.cite_row_field(facts, row, "sm_count")
    else:
        facts.missing("sm_count", "NVML reports no core count and no catalogue row matches this model")


def _finish(facts: DeviceFacts) -> None:
    """Catalogue and derived values a live probe cannot read, each marked as such."""
    catalog.apply_cc_limits(facts)
    if facts.memory_bus_width_bits and facts.memory_clock_max_mhz:
        # Double data rate: bytes/s = bus bytes x memory clock x 2 (NVML reports the DDR clock halved).
        bw = facts.memory_bus_width_bits // 8 * facts.memory_clock_max_mhz * 1_000_000 * 2
        facts.set("memory_bandwidth_bytes_per_s", bw, "derived")
    row = catalog.find_row_for_live_name(facts.name)
    if row is not None:
        facts.catalogue_key = row.key
        catalog.cite_row_field(facts, row, "bf16_dense_tflops")
    else:
        facts.missing("bf16_dense_tflops", "no catalogue row for this model name")
    for name in ("board_part_number",):
        facts.missing(name, "not reported")
