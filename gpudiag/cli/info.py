"""``gpudiag info``: what this GPU is and the limits kernel tuning depends on."""

from __future__ import annotations

import typer

from gpudiag.cli.app import app


@app.command("info")
def info_command(
    index: int | None = typer.Option(
        None,
        "--index",
        "-i",
        metavar="N",
        min=0,
        help="Report only the GPU at this CUDA ordinal (as CUDA_VISIBLE_DEVICES numbers them).",
    ),
    gpu: str | None = typer.Option(
        None,
        "--gpu",
        "-g",
        metavar="NAME",
        help="Describe a GPU from the shipped "
        "catalogue instead of probing one: a model ('RTX 3070', '3070', 'H100', 'rtx 4090 "
        "laptop') or an architecture ('sm_121'). Needs no GPU; every value shows its "
        "source (live readout, datasheet, third-party, derived).",
    ),
    json_out: bool = typer.Option(
        False, "--json", help="Print one JSON document (schema gpudiag.info/1) and nothing else."
    ),
    torch_check: bool = typer.Option(
        False,
        "--torch",
        help="Also import torch and ask it directly (CUDA "
        "availability, arch list, inductor's is_big_gpu). Slower: seconds.",
    ),
    list_gpus: bool = typer.Option(False, "--list-gpus", help="List the catalogue's GPUs and exit."),
) -> None:
    """What this GPU is and the limits kernel tuning depends on.

    Shows every visible GPU's identity, architecture, kernel-tuning limits, memory, live state and
    verdicts for torch.compile users (will max-autotune use its GEMM templates, bf16, fp8, TMA, TF32).

    Values are read live through NVML and the CUDA driver; the few that no driver reports (FP32 lanes
    per SM, published bf16 TFLOP/s) come from the shipped catalogue and are marked as such, with the
    kind of source behind them. Without a GPU it still reports the software stack and why no GPU is
    visible, and exits 2.
    """
    from gpudiag.cli.output import emit_json
    from gpudiag.info import report as core

    if list_gpus:
        rows = core.catalogue_listing()
        if json_out:
            emit_json({"schema": "gpudiag.gpus/1", "gpus": rows})
            return
        from gpudiag.cli import info_render

        info_render.listing(rows)
        return
    if gpu is not None and index is not None:
        raise typer.BadParameter("--gpu and --index exclude each other: --gpu needs no live device")
    report = core.catalogue_report(gpu) if gpu is not None else core.live_report(index, torch_check)
    if json_out:
        emit_json(report.to_dict())
    else:
        from gpudiag.cli import info_render

        info_render.render(report)
    if report.no_device is not None:
        typer.echo(f"gpudiag: {report.no_device.reason}", err=True)
        raise typer.Exit(report.exit_code)
