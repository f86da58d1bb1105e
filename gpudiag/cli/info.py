"""``gpudiag info``: what this GPU is and the limits kernel tuning depends on."""

from __future__ import annotations

import typer

from gpudiag.cli.app import app

# The man page's EXAMPLES and EXIT STATUS (gpudiag.manpages); 130, 141, 143 and 129 are worded there.
MAN_EXAMPLES = (
    ("gpudiag info", "every visible GPU: identity, kernel-tuning limits, memory, live state, torch.compile verdicts"),
    (
        "gpudiag info --gpu 'RTX 4090'",
        "a GPU from the catalogue, on a machine without one; each value names its source",
    ),
    ("gpudiag info --gpu h100,'rtx 4090'", "only what differs for kernel tuning between two GPUs, side by side"),
    ("gpudiag info --index 0 --gpu h100", "this machine's GPU 0 beside an H100: will configs tuned here carry over?"),
    ("gpudiag info --json | jq '.devices[0].smem_per_block_optin_bytes'", "one limit, for a script"),
    ("gpudiag info --list-gpus", "every GPU the catalogue knows, with the names it answers to"),
)
MAN_EXIT_STATUS = {
    0: "the report was printed.",
    2: "usage error or bad input (an unknown GPU name), or no GPU visible (the report still shows the "
    "software stack and why).",
}
MAN_SIGNALS = (130, 141, 143, 129)


@app.command("info")
def info_command(
    index: int | None = typer.Option(
        None,
        "--index",
        "-i",
        metavar="N",
        min=0,
        help="Report only the live GPU at this CUDA ordinal (as CUDA_VISIBLE_DEVICES numbers them). With "
        "--gpu or --arch, compare it with them.",
    ),
    gpu: str | None = typer.Option(
        None,
        "--gpu",
        "-g",
        metavar="NAME[,NAME...]",
        help="Describe a GPU from the shipped catalogue instead of probing one: a model ('RTX 3070', "
        "'3070', 'H100', 'rtx 4090 laptop') or an architecture ('sm_121'). Needs no GPU; every value shows "
        "its source (live readout, datasheet, third-party, derived). Two or more, comma-separated "
        "(--gpu h100,'rtx 4090'): only what differs for kernel tuning, side by side.",
    ),
    arch: str | None = typer.Option(
        None,
        "--arch",
        metavar="SM[,SM...]",
        help="Describe an architecture (sm_89, sm_120): its limits by compute capability, no SM count. "
        "Two or more, or beside --gpu: compared side by side.",
    ),
    json_out: bool = typer.Option(
        False,
        "--json",
        help="Print one JSON document and nothing else (schema gpudiag.info/1; gpudiag.info-compare/1 "
        "for two or more GPUs; gpudiag.gpus/1 with --list-gpus).",
    ),
    torch_check: bool = typer.Option(
        False,
        "--torch",
        help="Also import torch and ask it directly (CUDA "
        "availability, arch list, inductor's is_big_gpu). Slower: seconds. Live GPUs only.",
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

    Will configs tuned on one GPU carry over to another? --gpu A,B (any catalogue GPUs, no GPU needed)
    shows, side by side, only what differs for kernel tuning: shared memory per block (opt-in) and per
    SM, the SM count against inductor's is_big_gpu gate, registers, L2 and bandwidth, and TMA, wgmma,
    tcgen05, fp8 and fp4, with what each difference means for a tuned config.
    """
    from gpudiag.cli.output import finish
    from gpudiag.info import report as core

    if not json_out:
        # The renderer and rich's layout modules load now, while a live probe's driver is still
        # starting in its thread (most of a live `info`'s time; bench/startup/trace.py), not after.
        from gpudiag.cli import info_render  # noqa: F401

    report = core.listing() if list_gpus else core.build(gpu, arch, index, torch_check)
    finish(report, json_out, _render)


def _render(report) -> None:
    from gpudiag.cli import info_render

    info_render.render_any(report)
