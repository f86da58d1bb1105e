"""``gpudiag info`` as data: the report the CLI renders or serialises."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from gpudiag.device import catalog
from gpudiag.device import probe as device_probe
from gpudiag.device.facts import DeviceFacts, SoftwareStack, Verdict
from gpudiag.device.verdicts import all_verdicts
from gpudiag.errors import EXIT_OK, EXIT_USAGE, GpudiagError, NoDeviceVisible
from gpudiag.installed.sm_gate import SmGate, installed_sm_gate

SCHEMA_ID = "gpudiag.info/1"
LIST_SCHEMA_ID = "gpudiag.gpus/1"


@dataclass
class DeviceReport:
    facts: DeviceFacts
    verdicts: list[Verdict]


@dataclass
class NoDevice:
    """Why no GPU is visible: everything a user needs to fix it, or to use ``--gpu`` instead."""

    reason: str  # the one line the CLI also prints on stderr
    nvml: str
    cuda_driver: str
    cuda_visible_devices: str | None
    hint: str = "gpudiag info --gpu NAME describes a catalogue GPU without one (--list-gpus lists them)"


@dataclass
class InfoReport:
    origin: str  # "live" or "catalogue"
    software: SoftwareStack
    sm_gate: SmGate
    devices: list[DeviceReport]
    torch_check: Any = None  # torch_view.TorchView when --torch was given
    notes: list[str] = field(default_factory=list)
    no_device: NoDevice | None = None

    @property
    def exit_code(self) -> int:
        """2 when there was no GPU to report on: the report still says everything else it knows."""
        return EXIT_USAGE if self.no_device is not None else EXIT_OK

    def stderr_lines(self) -> list[str]:
        """What the CLI also says on stderr: why there was no GPU."""
        return [self.no_device.reason] if self.no_device is not None else []

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_ID,
            "origin": self.origin,
            "software": asdict(self.software),
            "inductor_sm_gate": asdict(self.sm_gate),
            "devices": [{**d.facts.to_dict(), "verdicts": [asdict(v) for v in d.verdicts]} for d in self.devices],
            "torch_check": asdict(self.torch_check) if self.torch_check is not None else None,
            "no_device": asdict(self.no_device) if self.no_device is not None else None,
            "notes": list(self.notes),
        }


def live_report(index: int | None = None, torch_check: bool = False) -> InfoReport:
    """Every visible GPU; with none, a report of what is knowable without one (``no_device`` says why)."""
    # Read before the probe: where the driver is starting in its thread (gpudiag.device.prefetch),
    # reading the installed torch's gate costs nothing then and a few ms after.
    gate = installed_sm_gate()
    try:
        devices, sw = device_probe.probe(index)
    except NoDeviceVisible as exc:
        report = InfoReport(
            "live",
            exc.software or device_probe.software_stack(),
            gate,
            [],
            no_device=NoDevice(exc.message, exc.nvml, exc.cuda_driver, os.environ.get("CUDA_VISIBLE_DEVICES")),
        )
    else:
        report = InfoReport("live", sw, gate, [DeviceReport(f, all_verdicts(f, sw)) for f in devices])
    if torch_check:
        from gpudiag.installed import torch_view

        report.torch_check = torch_view.check(
            [d.facts.index for d in report.devices if d.facts.index is not None] if report.devices else None
        )
    return report


def catalogue_report(facts: DeviceFacts) -> InfoReport:
    """One GPU from the catalogue (``--gpu NAME``) or one architecture (``--arch sm_XY``)."""
    sw = device_probe.software_stack()
    report = InfoReport("catalogue", sw, installed_sm_gate(), [DeviceReport(facts, all_verdicts(facts))])
    report.notes.append("catalogue data from the sources listed, not measured on this machine")
    return report


TORCH_NEEDS_LIVE = (
    "--torch asks the installed torch about this machine's GPUs; it does not apply to --gpu or --arch "
    "(catalogue data): drop one of them"
)


def build(
    gpu: str | None = None, arch: str | None = None, index: int | None = None, torch_check: bool = False
) -> InfoReport | Any:
    """The whole command, by the device policy (gpudiag.device.selection): nothing named, the live
    GPUs (``--index``: one); one name, that GPU from the catalogue; two or more targets (names, or a
    name and ``--index``), a comparison of what differs for kernel tuning (info.compare)."""
    from gpudiag.device import selection

    sel = selection.select(gpu, arch, index, many=True)
    if torch_check and sel.named:
        raise GpudiagError(TORCH_NEEDS_LIVE, EXIT_USAGE)
    if sel.named == 0:
        return live_report(index, torch_check)
    if sel.named == 1 and not sel.wants_live:
        return catalogue_report(selection.resolve_named(sel)[0].facts)
    from gpudiag.info import compare

    targets = selection.resolve(sel)
    if len(targets) < 2:  # --index N and a name that is that very GPU
        return catalogue_report(targets[0].facts)
    return compare.compare(targets)


@dataclass
class GpuListing:
    """``--list-gpus``: the catalogue's GPUs, one row each."""

    rows: list[dict[str, Any]]
    exit_code: int = EXIT_OK

    def stderr_lines(self) -> list[str]:
        return []

    def to_dict(self) -> dict[str, Any]:
        return {"schema": LIST_SCHEMA_ID, "gpus": self.rows}


def listing() -> GpuListing:
    return GpuListing(catalogue_listing())


def catalogue_listing() -> list[dict[str, Any]]:
    out = []
    for row in catalog.gpu_rows():
        cc = row.compute_capability
        out.append(
            {
                "key": row.key,
                "name": row.name,
                "sm": f"sm_{cc[0]}{cc[1]}",
                "sm_count": row.data.get("sm_count"),
                "memory_gib": row.data.get("memory_gib"),
                "aliases": list(row.data.get("aliases", ())),
            }
        )
    return out
