"""``gpudiag info``: what this GPU is and the limits kernel tuning depends on."""

from __future__ import annotations

from typing import Optional

import typer
from rich import box
from rich.columns import Columns
from rich.panel import Panel
from rich.table import Table

from gpudiag.info import report as core
from gpudiag.cli.app import app
from gpudiag.cli.output import console, emit_json, fmt, fmt_bytes, fmt_bytes_exact
from gpudiag.device.facts import DeviceFacts

ANSWER_STYLE = {"yes": "green", "no": "red", "unknown": "yellow"}


@app.command("info")
def info_command(
    index: Optional[int] = typer.Option(None, "--index", "-i", metavar="N", min=0, help="Report only the GPU at this CUDA ordinal "
                                        "(as CUDA_VISIBLE_DEVICES numbers them)."),
    gpu: Optional[str] = typer.Option(None, "--gpu", "-g", metavar="NAME", help="Describe a GPU from the shipped catalogue instead "
                                      "of probing one: a model ('RTX 3070', '3070', 'H100', 'gb10') or an "
                                      "architecture ('sm_121'). Needs no GPU; marked as catalogue data."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document (schema gpudiag.info/1) and "
                                  "nothing else."),
    torch_check: bool = typer.Option(False, "--torch", help="Also import torch and ask it directly (CUDA "
                                     "availability, arch list, inductor's is_big_gpu). Slower: seconds."),
    list_gpus: bool = typer.Option(False, "--list-gpus", help="List the catalogue's GPUs and exit."),
) -> None:
    """What this GPU is and the limits kernel tuning depends on.

    Shows every visible GPU's identity, architecture, kernel-tuning limits, memory, live state and
    verdicts for torch.compile users (will max-autotune use its GEMM templates, bf16, fp8, TMA, TF32).

    Values are read live through NVML and the CUDA driver; the few that no driver reports (FP32
    lanes per SM, published bf16 TFLOP/s) come from the shipped catalogue and are marked as such.
    """
    if list_gpus:
        rows = core.catalogue_listing()
        if json_out:
            emit_json({"schema": "gpudiag.gpus/1", "gpus": rows})
            return
        table = Table(box=box.SIMPLE_HEAD, title=f"{len(rows)} catalogue GPUs")
        for col in ("name", "arch", "SMs", "memory", "aliases"):
            table.add_column(col)
        for r in rows:
            table.add_row(r["name"], r["sm"], fmt(r["sm_count"]), fmt(r["memory_gib"], "GiB"), ", ".join(r["aliases"]))
        console().print(table)
        return
    if gpu is not None and index is not None:
        raise typer.BadParameter("--gpu and --index exclude each other: --gpu needs no live device")
    report = core.catalogue_report(gpu) if gpu is not None else core.live_report(index, torch_check)
    if json_out:
        emit_json(report.to_dict())
        return
    render(report)


def _val(facts: DeviceFacts, name: str, text: str) -> str:
    src = facts.sources.get(name, "")
    if facts.is_live and src.startswith("catalogue"):
        return f"{text} [dim](catalogue)[/dim]"
    if src == "derived":
        return f"{text} [dim](derived)[/dim]"
    if text == "n/a" and name in facts.unavailable:
        return f"[dim]n/a: {facts.unavailable[name]}[/dim]"
    return text


def _grid() -> Table:
    t = Table.grid(padding=(0, 1))
    t.add_column(style="bold cyan", no_wrap=True)
    t.add_column()
    return t


def _identity(f: DeviceFacts, sw) -> Panel:
    t = _grid()
    t.add_row("name", f.name)
    if f.is_live:
        t.add_row("CUDA index", f"{f.index} (NVML {fmt(f.nvml_index)})")
        t.add_row("UUID", _val(f, "uuid", fmt(f.uuid)))
        t.add_row("PCI bus id", _val(f, "pci_bus_id", fmt(f.pci_bus_id)))
        t.add_row("board part", _val(f, "board_part_number", fmt(f.board_part_number)))
    t.add_row("compute cap.", f"{f.sm} ({f.cc})")
    t.add_row("architecture", _val(f, "arch_name", fmt(f.arch_name)))
    t.add_row("SMs", _val(f, "sm_count", fmt(f.sm_count)))
    t.add_row("CUDA cores", _val(f, "cuda_cores", fmt(f.cuda_cores)))
    t.add_row("warp size", _val(f, "warp_size", fmt(f.warp_size)))
    return Panel(t, title="identity & architecture", box=box.ROUNDED)


def _limits(f: DeviceFacts) -> Panel:
    t = _grid()
    t.add_row("smem / block", _val(f, "smem_per_block_bytes", fmt_bytes_exact(f.smem_per_block_bytes)))
    t.add_row("smem / block opt-in", _val(f, "smem_per_block_optin_bytes", fmt_bytes_exact(f.smem_per_block_optin_bytes)))
    t.add_row("smem / SM", _val(f, "smem_per_sm_bytes", fmt_bytes_exact(f.smem_per_sm_bytes)))
    t.add_row("smem reserved / block", _val(f, "smem_reserved_per_block_bytes", fmt_bytes_exact(f.smem_reserved_per_block_bytes)))
    t.add_row("registers / SM", _val(f, "regs_per_sm", fmt(f.regs_per_sm)))
    t.add_row("registers / block", _val(f, "regs_per_block", fmt(f.regs_per_block)))
    t.add_row("threads / SM", _val(f, "max_threads_per_sm", fmt(f.max_threads_per_sm)))
    t.add_row("threads / block", _val(f, "max_threads_per_block", fmt(f.max_threads_per_block)))
    t.add_row("blocks / SM", _val(f, "max_blocks_per_sm", fmt(f.max_blocks_per_sm)))
    t.add_row("L2 cache", _val(f, "l2_bytes", fmt_bytes(f.l2_bytes)))
    return Panel(t, title="kernel-tuning limits", box=box.ROUNDED)


def _memory(f: DeviceFacts) -> Panel:
    t = _grid()
    t.add_row("total", _val(f, "memory_total_bytes", fmt_bytes(f.memory_total_bytes)))
    if f.is_live:
        t.add_row("used / free", f"{fmt_bytes(f.memory_used_bytes)} / {fmt_bytes(f.memory_free_bytes)}")
    t.add_row("bus width", _val(f, "memory_bus_width_bits", fmt(f.memory_bus_width_bits, "bit")))
    t.add_row("memory clock", _val(f, "memory_clock_max_mhz", fmt(f.memory_clock_max_mhz, "MHz")))
    bw = f.memory_bandwidth_bytes_per_s
    t.add_row("bandwidth (peak)", _val(f, "memory_bandwidth_bytes_per_s", f"{bw / 1e9:,.0f} GB/s" if bw else "n/a"))
    t.add_row("bf16 dense", _val(f, "bf16_dense_tflops", fmt(f.bf16_dense_tflops, "TFLOP/s")))
    return Panel(t, title="memory & throughput", box=box.ROUNDED)


def _state(f: DeviceFacts) -> Panel | None:
    s = f.state
    if s is None:
        return None
    t = _grid()
    t.add_row("SM clock", f"{fmt(s.sm_clock_mhz)} / {fmt(s.sm_clock_max_mhz, 'MHz')} max")
    t.add_row("mem clock", f"{fmt(s.memory_clock_mhz)} / {fmt(s.memory_clock_max_mhz, 'MHz')} max")
    t.add_row("power", f"{fmt(s.power_draw_w)} / {fmt(s.power_limit_w, 'W')} limit")
    t.add_row("temperature", fmt(s.temperature_c, "°C"))
    t.add_row("utilisation", f"GPU {fmt(s.utilization_gpu_pct, '%')}, memory {fmt(s.utilization_memory_pct, '%')}")
    t.add_row("perf state", fmt(s.performance_state))
    reasons = s.throttle_reasons
    t.add_row("clock limits", "n/a" if reasons is None else (", ".join(reasons) or "none"))
    t.add_row("ECC / MIG", f"{fmt(s.ecc_enabled)} / {fmt(s.mig_enabled)}")
    t.add_row("persistence", fmt(s.persistence_mode))
    t.add_row("compute mode", fmt(s.compute_mode))
    t.add_row("PCIe", f"gen {fmt(s.pcie_gen_current)}/{fmt(s.pcie_gen_max)} x{fmt(s.pcie_width_current)}/x{fmt(s.pcie_width_max)}"
              " (current/max)")
    return Panel(t, title="state", box=box.ROUNDED)


def _verdicts(d: core.DeviceReport) -> Table:
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, expand=False)
    t.add_column("torch.compile verdict", style="bold")
    t.add_column("", no_wrap=True)
    t.add_column("why")
    for v in d.verdicts:
        t.add_row(v.question, f"[{ANSWER_STYLE[v.answer]}]{v.answer}[/]", v.why)
    return t


def _software(report: core.InfoReport) -> Panel:
    sw = report.software
    t = _grid()
    t.add_row("driver", f"{fmt(sw.driver_version)} (CUDA {fmt(sw.cuda_driver_version)})")
    cuda = sw.torch_cuda_version or (f"ROCm {sw.torch_hip_version}" if sw.torch_hip_version else "CPU-only")
    t.add_row("torch", f"{fmt(sw.torch_version)} (built with CUDA {cuda})" if sw.torch_cuda_version else
              f"{fmt(sw.torch_version)} ({cuda})")
    t.add_row("triton", fmt(sw.triton_version))
    t.add_row("is_big_gpu", f"{report.sm_gate.describe()} [dim]({report.sm_gate.where})[/dim]")
    t.add_row("python / gpudiag", f"{sw.python_version} / {sw.gpudiag_version}")
    return Panel(t, title="software", box=box.ROUNDED)


def render(report: core.InfoReport) -> None:
    con = console()
    for d in report.devices:
        f = d.facts
        header = f"[bold]{f.name}[/bold] · {f.sm} {f.arch_name or ''} · {fmt(f.sm_count)} SMs"
        if f.is_live:
            header = f"GPU {f.index} · " + header
        con.rule(header)
        if not f.is_live:
            con.print("[yellow]catalogue data, not measured on a device[/yellow]")
        panels = [_identity(f, report.software), _limits(f), _memory(f)]
        state = _state(f)
        if state is not None:
            panels.append(state)
        con.print(Columns(panels, equal=False, expand=False))
        con.print(_verdicts(d))
        for note in f.notes:
            con.print(f"[dim]note: {note}[/dim]")
        if not f.is_live and f.catalogue_sources:
            con.print("[dim]sources: " + "; ".join(f.catalogue_sources) + "[/dim]")
    con.print(_software(report))
    tv = report.torch_check
    if tv is not None:
        if not tv.imported or tv.error:
            con.print(f"[yellow]torch check: {tv.error}[/yellow]")
        else:
            con.print(f"torch check: torch {tv.version}, cuda available={tv.cuda_available}, "
                      f"{tv.device_count} device(s), arch list {' '.join(tv.arch_list) or 'n/a'}, "
                      f"float32 matmul precision '{tv.float32_matmul_precision}'")
            for dv in tv.devices:
                con.print(f"  GPU {dv.index}: {dv.name}, {dv.sm_count} SMs, cc {dv.compute_capability}, "
                          f"is_big_gpu()={dv.is_big_gpu}" + (f" ({dv.error})" if dv.error else ""))
    for note in report.notes:
        con.print(f"[dim]{note}[/dim]")
