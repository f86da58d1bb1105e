"""``check-tiles --from-script`` for several targets at once:
``--gpu A,B`` and ``--arch sm_80,sm_90`` as comma lists, as ``--from-config-table`` takes them. Which
targets that is comes from the one "which GPU" policy (``gpudiag.device.selection``); each target
gets its own report, in the order named (the architectures, then the GPUs), rendered one after the
other, or with ``--json`` one JSON document per line (JSON Lines). The exit status is the worst
report's."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import Any

from gpudiag.device import selection


def several_targets(gpu: str | None, arch: str | None, index: int | None) -> bool:
    """Whether the options name more than one target (a comma list, or names beside --index)."""
    sel = selection.select(gpu, arch, index, many=True)
    return sel.named + (1 if index is not None else 0) > 1


def per_target_requests(request: Any) -> list[Any]:
    """One request per target of the selection, each naming one GPU (the arguments stay the same)."""
    sel = selection.select(request.gpu, request.arch, request.index, request.smem_limit, many=True)
    out = [dataclasses.replace(request, arch=a, gpu=None, index=None) for a in sel.archs]
    out += [dataclasses.replace(request, gpu=g, arch=None, index=None) for g in sel.gpus]
    if sel.index is not None:
        out.append(dataclasses.replace(request, gpu=None, arch=None))
    return out


def run_each(request: Any, json_out: bool, render: Callable[[Any], None], progress) -> None:
    """Check ``request``'s configs on each of its targets; render or print each report; exit with
    the worst status."""
    import json

    import typer

    from gpudiag.tiles import check as core

    reports = [core.check_tiles(r, progress) for r in per_target_requests(request)]
    for i, report in enumerate(reports):
        if json_out:
            sys.stdout.write(json.dumps(report.to_dict(), separators=(",", ":")) + "\n")
        else:
            if i:
                print()
            render(report)
    worst = max((r.exit_code for r in reports), default=0)
    if worst:
        raise typer.Exit(worst)
