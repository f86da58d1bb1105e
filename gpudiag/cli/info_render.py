"""``gpudiag info`` rendered for a terminal: panels of values, each naming its source."""

from __future__ import annotations

from rich import box
from rich.cells import cell_len
from rich.columns import Columns
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gpudiag.cli.output import console, fmt, fmt_bytes, fmt_bytes_exact, wrapped
from gpudiag.device.facts import DeviceFacts
from gpudiag.info import report as core

ANSWER_STYLE = {"yes": "green", "no": "red", "unknown": "yellow"}


def render_any(report) -> None:
    """The renderer for whichever report ``info`` built."""
    if isinstance(report, core.GpuListing):
        listing(report.rows)
    elif isinstance(report, core.InfoReport):
        render(report)
    else:
        from gpudiag.cli import info_compare_render

        info_compare_render.render(report)


def listing(rows: list[dict]) -> None:
    con = console()
    con.print(_listing(rows) if con.width >= 120 else _listing_stacked(rows))


def _listing(rows: list[dict]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title=f"{len(rows)} catalogue GPUs", title_justify="left")
    for col in ("name", "arch", "SMs", "memory", "also called"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["name"], r["sm"], fmt(r["sm_count"]), fmt(r["memory_gib"], "GiB"), ", ".join(r["aliases"]))
    return table


def _listing_stacked(rows: list[dict]) -> Group:
    """The catalogue one GPU per entry, for terminals too narrow for the table's five columns."""
    lines = [Text(f"{len(rows)} catalogue GPUs", style="bold")]
    for r in rows:
        line = Text.assemble(
            (r["name"], "bold"), f" · {r['sm']} · {fmt(r['sm_count'])} SMs · {fmt(r['memory_gib'], 'GiB')}"
        )
        if r["aliases"]:
            line.append(f" · also called {', '.join(r['aliases'])}", style="dim")
        lines.append(line)
    return Group(*lines)


def _val(facts: DeviceFacts, name: str, text: str) -> Text:
    """A value and where it came from: nothing for a live read, else the kind of source and its number."""
    out = Text(text)
    src = facts.sources.get(name, "")
    ev = facts.evidence.get(name)
    if ev is not None:
        where = f"{ev['kind']} [{ev['source'] + 1}]"
        out.append(f" ({'catalogue, ' if facts.is_live else ''}{where})", style="dim")
    elif src == "derived":
        out.append(" (derived)", style="dim")
    elif facts.is_live and src.startswith("catalogue"):
        out.append(" (catalogue)", style="dim")
    elif text == "n/a" and name in facts.unavailable:
        out = Text(f"n/a: {facts.unavailable[name]}", style="dim")
    return out


def _grid() -> Table:
    t = Table.grid(padding=(0, 1))
    t.add_column(style="bold cyan", no_wrap=True)
    t.add_column(overflow="fold")
    return t


def _grid_of(rows: list[tuple[str, str | Text]]) -> Table:
    t = _grid()
    for label, value in rows:
        t.add_row(label, value)
    return t


def _panel(title: str, rows: list[tuple[str, str | Text]]) -> Panel:
    # The width rich would measure, given up front: laying out the side-by-side panels then measures
    # nothing, which halves the time of a live `info`'s rendering (bench/startup/trace.py).
    # tests/test_info_render.py checks it against rich's own measurement.
    return Panel(_grid_of(rows), title=title, box=box.ROUNDED, expand=False, width=_natural_width(title, rows))


def _natural_width(title: str, rows: list[tuple[str, str | Text]]) -> int:
    """A panel's width with every value on one line: label, a column gap of 1, value; or the title
    with a space on either side; plus the border and padding (4)."""

    def widest(value: str | Text) -> int:
        plain = value.plain if isinstance(value, Text) else value
        return max(cell_len(line) for line in plain.split("\n"))

    labels = max((widest(label) for label, _ in rows), default=0)
    values = max((widest(value) for _, value in rows), default=0)
    return max(labels + 1 + values, cell_len(title) + 2) + 4


def _identity(f: DeviceFacts) -> Panel:
    rows: list[tuple[str, str | Text]] = [("name", f.name)]
    if f.is_live:
        rows += [
            ("CUDA index", f"{f.index} (NVML {fmt(f.nvml_index)})"),
            ("UUID", _val(f, "uuid", fmt(f.uuid))),
            ("PCI bus id", _val(f, "pci_bus_id", fmt(f.pci_bus_id))),
            ("board part", _val(f, "board_part_number", fmt(f.board_part_number))),
        ]
    rows += [
        ("compute cap.", _val(f, "compute_capability", f"{f.sm} ({f.cc})")),
        ("architecture", _val(f, "arch_name", fmt(f.arch_name))),
        ("SMs", _val(f, "sm_count", fmt(f.sm_count))),
        ("CUDA cores", _val(f, "cuda_cores", fmt(f.cuda_cores))),
        ("warp size", _val(f, "warp_size", fmt(f.warp_size))),
    ]
    return _panel("identity & architecture", rows)


def _limits(f: DeviceFacts) -> Panel:
    return _panel(
        "kernel-tuning limits",
        [
            ("smem / block", _val(f, "smem_per_block_bytes", fmt_bytes_exact(f.smem_per_block_bytes))),
            (
                "smem / block opt-in",
                _val(f, "smem_per_block_optin_bytes", fmt_bytes_exact(f.smem_per_block_optin_bytes)),
            ),
            ("smem / SM", _val(f, "smem_per_sm_bytes", fmt_bytes_exact(f.smem_per_sm_bytes))),
            (
                "smem reserved / block",
                _val(f, "smem_reserved_per_block_bytes", fmt_bytes_exact(f.smem_reserved_per_block_bytes)),
            ),
            ("registers / SM", _val(f, "regs_per_sm", fmt(f.regs_per_sm))),
            ("registers / block", _val(f, "regs_per_block", fmt(f.regs_per_block))),
            ("threads / SM", _val(f, "max_threads_per_sm", fmt(f.max_threads_per_sm))),
            ("threads / block", _val(f, "max_threads_per_block", fmt(f.max_threads_per_block))),
            ("blocks / SM", _val(f, "max_blocks_per_sm", fmt(f.max_blocks_per_sm))),
            ("L2 cache", _val(f, "l2_bytes", fmt_bytes(f.l2_bytes))),
        ],
    )


def _memory(f: DeviceFacts) -> Panel:
    rows: list[tuple[str, str | Text]] = [("total", _val(f, "memory_total_bytes", fmt_bytes(f.memory_total_bytes)))]
    if f.is_live:
        rows.append(("used / free", f"{fmt_bytes(f.memory_used_bytes)} / {fmt_bytes(f.memory_free_bytes)}"))
    bw = f.memory_bandwidth_bytes_per_s
    rows += [
        ("bus width", _val(f, "memory_bus_width_bits", fmt(f.memory_bus_width_bits, "bit"))),
        ("memory clock", _val(f, "memory_clock_max_mhz", fmt(f.memory_clock_max_mhz, "MHz"))),
        ("bandwidth (peak)", _val(f, "memory_bandwidth_bytes_per_s", f"{bw / 1e9:,.0f} GB/s" if bw else "n/a")),
        ("bf16 dense", _val(f, "bf16_dense_tflops", fmt(f.bf16_dense_tflops, "TFLOP/s"))),
    ]
    return _panel("memory & throughput", rows)


def _state(f: DeviceFacts) -> Panel | None:
    s = f.state
    if s is None:
        return None
    reasons = s.throttle_reasons
    return _panel(
        "state",
        [
            ("SM clock", f"{fmt(s.sm_clock_mhz)} / {fmt(s.sm_clock_max_mhz, 'MHz')} max"),
            ("mem clock", f"{fmt(s.memory_clock_mhz)} / {fmt(s.memory_clock_max_mhz, 'MHz')} max"),
            ("power", f"{fmt(s.power_draw_w)} / {fmt(s.power_limit_w, 'W')} limit"),
            ("temperature", fmt(s.temperature_c, "°C")),
            ("utilisation", f"GPU {fmt(s.utilization_gpu_pct, '%')}, memory {fmt(s.utilization_memory_pct, '%')}"),
            ("perf state", fmt(s.performance_state)),
            ("clock limits", "n/a" if reasons is None else (", ".join(reasons) or "none")),
            ("ECC / MIG", f"{fmt(s.ecc_enabled)} / {fmt(s.mig_enabled)}"),
            ("persistence", fmt(s.persistence_mode)),
            ("compute mode", fmt(s.compute_mode)),
            (
                "PCIe",
                f"gen {fmt(s.pcie_gen_current)}/{fmt(s.pcie_gen_max)} x{fmt(s.pcie_width_current)}/"
                f"x{fmt(s.pcie_width_max)} (current/max)",
            ),
        ],
    )


def _verdicts(d: core.DeviceReport) -> Group:
    """One verdict per line: the answer, the question and its why, wrapped under the question."""
    t = Table.grid(padding=(0, 1))
    t.add_column(no_wrap=True)
    t.add_column(overflow="fold")
    for v in d.verdicts:
        t.add_row(Text(f"{v.answer:<7}", style=ANSWER_STYLE[v.answer]), Text.assemble((v.question, "bold"), " ", v.why))
    return Group(Text("torch.compile verdicts", style="bold"), t)


def _software(report: core.InfoReport) -> Panel:
    sw = report.software
    cuda = sw.torch_cuda_version or (f"ROCm {sw.torch_hip_version}" if sw.torch_hip_version else "CPU-only")
    if sw.torch_version is None:
        torch = "not installed (only `gpudiag bakeoff` needs it)"
    elif sw.torch_cuda_version:
        torch = f"{sw.torch_version} (built with CUDA {cuda})"
    else:
        torch = f"{sw.torch_version} ({cuda})"
    return _panel(
        "software",
        [
            ("driver", f"{fmt(sw.driver_version)} (CUDA {fmt(sw.cuda_driver_version)})"),
            ("torch", torch),
            (
                "triton",
                fmt(sw.triton_version) if sw.triton_version else "not installed (`check-tiles --exact` needs it)",
            ),
            ("is_big_gpu", Text.assemble(report.sm_gate.describe(), (f" ({report.sm_gate.where})", "dim"))),
            ("python / gpudiag", f"{sw.python_version} / {sw.gpudiag_version}"),
        ],
    )


def _no_device(nd: core.NoDevice) -> Panel:
    return Panel(
        Group(
            Text(nd.reason, style="yellow"),
            _grid_of(
                [
                    ("NVML", nd.nvml),
                    ("CUDA driver", nd.cuda_driver),
                    (
                        "CUDA_VISIBLE_DEVICES",
                        "(not set)" if nd.cuda_visible_devices is None else repr(nd.cuda_visible_devices),
                    ),
                    ("instead", nd.hint),
                ]
            ),
        ),
        title="no GPU visible",
        box=box.ROUNDED,
        expand=False,
    )


def _sources(f: DeviceFacts, width: int) -> Group | None:
    """The catalogue sources behind this report's values, numbered as the values cite them."""
    cited = {ev["source"] for ev in f.evidence.values()}
    shown = [(i, s) for i, s in enumerate(f.catalogue_sources) if not f.is_live or i in cited]
    if not shown:
        return None
    lines = [Text("catalogue sources", style="bold")]
    for i, s in shown:
        lines.append(
            wrapped(
                [
                    (f"[{i + 1}] {s['kind']}", "cyan"),
                    (f" ({s['row']}: {', '.join(s['fields'])})", "dim"),
                    (f" {s['text']}", None),
                ],
                width,
                indent=4,
            )
        )
    return Group(*lines)


def render(report: core.InfoReport) -> None:
    con = console()
    for d in report.devices:
        f = d.facts
        header = f"{'GPU ' + str(f.index) + ' · ' if f.is_live else ''}{f.name} · {f.sm} {f.arch_name or ''} · {fmt(f.sm_count)} SMs"
        con.rule(Text(header, style="bold"))
        if not f.is_live:
            con.print(
                Text(
                    "catalogue data, not measured on this machine: each value names the kind of source "
                    "behind it and its number below",
                    style="yellow",
                )
            )
        panels = [_identity(f), _limits(f), _memory(f)]
        state = _state(f)
        if state is not None:
            panels.append(state)
        con.print(Columns(panels, equal=False, expand=False))
        con.print(_verdicts(d))
        for note in f.notes:
            con.print(wrapped([(f"note: {note}", "dim")], con.width, indent=6))
        sources = _sources(f, con.width)
        if sources is not None:
            con.print(sources)
    if report.no_device is not None:
        con.print(_no_device(report.no_device))
    con.print(_software(report))
    tv = report.torch_check
    if tv is not None:
        for said in tv.import_warnings:
            con.print(Text(f"importing torch said: {said}", style="yellow"))
        if not tv.imported or tv.error:
            con.print(Text(f"torch check: {tv.error}", style="yellow"))
        else:
            con.print(
                Text(
                    f"torch check: torch {tv.version}, cuda available={tv.cuda_available}, "
                    f"{tv.device_count} device(s), arch list {' '.join(tv.arch_list) or 'n/a'}, "
                    f"float32 matmul precision '{tv.float32_matmul_precision}'"
                )
            )
            for dv in tv.devices:
                con.print(
                    Text(
                        f"  GPU {dv.index}: {dv.name}, {dv.sm_count} SMs, cc {dv.compute_capability}, "
                        f"is_big_gpu()={dv.is_big_gpu}" + (f" ({dv.error})" if dv.error else "")
                    )
                )
    for note in report.notes:
        con.print(wrapped([(note, "dim")], con.width))
