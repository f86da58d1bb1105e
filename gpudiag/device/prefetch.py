"""NVML and the CUDA driver started ahead of the probe, while Python imports the CLI and the report.

The driver's first ``cuInit`` is most of a live report's time (0.19 s on the H100 host,
bench/startup/trace.py). ctypes releases the GIL while it runs, so it gets a thread of its own,
started before the subcommand's modules are imported. A second thread opens NVML and reads every
GPU's NVML side (identity, memory, clocks, state) meanwhile; the probe borrows that session and
those reads instead of calling ``nvmlInit`` again, which on that host waits for ``cuInit`` to
finish (0.14 s in the trace) where the first call did not.

What fails here is the probe's to find and report: nothing is raised, a failed open is kept as
its reason. Nothing from gpudiag is imported until a thread runs, so the threads start within
milliseconds of the interpreter.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gpudiag.device.nvml import Nvml, NvmlSnapshot

# How long the probe waits for a prefetch thread before doing the work itself: far above what
# either takes on a healthy host (0.2 s), low enough that a hung driver call costs seconds, not a hang.
WAIT_S = 10.0


class NvmlPrefetch:
    """One NVML session opened in a thread, and each GPU's NVML reads keyed by PCI bus id."""

    def __init__(self, read_devices: bool) -> None:
        self.read_devices = read_devices
        self.session: Nvml | None = None
        self.why_not: str | None = None
        self.snapshots: dict[str, NvmlSnapshot] = {}
        self.opened = threading.Event()
        self.read = threading.Event()

    def run(self) -> None:
        try:
            from gpudiag.device import nvml

            try:
                self.session = nvml.Nvml()
            except nvml.NvmlUnavailable as exc:
                self.why_not = str(exc)
            self.opened.set()
            if self.session is not None and self.read_devices:
                for index in range(self.session.device_count()):
                    snap = self.session.device(index).snapshot()
                    if snap.pci_bus_id:
                        self.snapshots[snap.pci_bus_id] = snap
        except Exception:
            pass  # the probe reads for itself what is missing here
        finally:
            self.opened.set()
            self.read.set()


_nvml: NvmlPrefetch | None = None


def start(nvml_only: bool = False) -> None:
    """Start the CUDA driver (unless ``nvml_only``) and NVML in daemon threads; return at once."""
    global _nvml
    if not nvml_only:
        threading.Thread(target=_start_driver, name="gpudiag-start-driver", daemon=True).start()
    _nvml = NvmlPrefetch(read_devices=not nvml_only)
    threading.Thread(target=_nvml.run, name="gpudiag-start-nvml", daemon=True).start()


def _start_driver() -> None:
    try:
        from gpudiag.device import cudadrv

        cudadrv.open_driver()
    except Exception:
        pass


def nvml_session() -> tuple[Nvml | None, str | None] | None:
    """The prefetched NVML session, or (None, why) where it could not open; None where no prefetch
    ran (or it hung), so the caller opens its own. The session stays open: the process owns it."""
    if _nvml is None or not _nvml.opened.wait(WAIT_S):
        return None
    if _nvml.session is None and _nvml.why_not is None:
        return None  # the thread failed before NVML answered: let the caller try and say why
    return _nvml.session, _nvml.why_not


def nvml_snapshot(pci_bus_id: str) -> NvmlSnapshot | None:
    """The prefetched NVML reads of the GPU at ``pci_bus_id`` (normalised), once: a second probe in
    the same process reads the GPU again rather than report a state from its start. None where
    there is none."""
    if _nvml is None or not _nvml.read_devices or not _nvml.read.wait(WAIT_S):
        return None
    return _nvml.snapshots.pop(pci_bus_id, None)


def forget() -> None:
    """Drop what was prefetched (tests; a long-lived process re-probing later)."""
    global _nvml
    _nvml = None
