"""The report and --help at 80 and 200 columns: every figure is there, nothing is cut with '…'.

Piped or in a standard terminal the table used to cut its headers ("compil…", "median…") and drop
the quartile and graph-break columns entirely.
"""

from __future__ import annotations

import pytest
from bakeoff_rows import census, make_run, numerics, observed, row

from gpudiag.bakeoff import report
from gpudiag.bakeoff.results import VariantDecision, WarningLine
from gpudiag.bakeoff.settings import Limits


def rich_report():
    """A CUDA run with everything a report can show: loops, launch-bound rows, memory, knobs with their
    numerics, a flag, warnings, a gate."""
    eager = row("decode", "eager", 0.0320, loop=0.0746, census=census(fp32_matmuls=2), peak_bytes=2 << 20)
    default = row(
        "decode",
        "default",
        0.0602,
        loop=0.0705,
        peak_bytes=50 << 20,
        observed=observed(
            graph_breaks=1,
            recompiles=2,
            warnings=[
                WarningLine(
                    "UserWarning: TensorFloat32 tensor cores for float32 matrix "
                    "multiplication available but not enabled. Consider setting "
                    "`torch.set_float32_matmul_precision('high')` for better "
                    "performance.",
                    3,
                    {"id": "inductor.tf32-disabled"},
                )
            ],
        ),
    )
    slow = row("decode", "max-autotune-no-cudagraphs", 0.0097, loop=0.0557, compile_s=7.9, peak_bytes=50 << 20)
    tf32 = row(
        "decode",
        "max-autotune-no-cudagraphs",
        0.0051,
        knobs=("tf32", "coordinate_descent_tuning"),
        numerics=numerics(5.1e-4, 3.6e-7),
        peak_bytes=50 << 20,
    )
    gone = row("decode", "reduce-overhead", 0.0005, peak_bytes=50 << 20)
    gone.timing.floor_ms, gone.timing.empty_ms = 0.004, 0.0008
    rows = [eager, default, gone, slow, tf32]
    run = make_run(
        rows,
        ["decode"],
        variants=[
            VariantDecision(
                "decode", "tf32", "max-autotune-no-cudagraphs", True, "2 float32 matmul(s)", "2 float32 matmul(s)"
            )
        ],
        settings_fields={"script": "/x/rmsnorm.py"},
        wall_s=12.0,
    )
    rep = report.build(run, Limits(max_graph_breaks=0), None)
    return rep, rows


def rendered(monkeypatch, capsys, width):
    from gpudiag.cli import bakeoff_render as view

    monkeypatch.setenv("COLUMNS", str(width))
    rep, rows = rich_report()
    view.render(rep)
    return capsys.readouterr().out, rows


@pytest.mark.parametrize("width", [80, 200])
def test_every_figure_is_shown_and_nothing_is_cut(monkeypatch, capsys, width):
    out, rows = rendered(monkeypatch, capsys, width)
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= width
    flat = " ".join(out.split())
    for r in rows:
        t = r.timing
        for figure in (f"{t.median_ms:.4f}", f"{t.q1_ms:.4f}–{t.q3_ms:.4f}", f"{t.min_ms:.4f}"):
            assert figure in flat, (r.label, figure)
        if t.loop_ms:
            assert f"{t.loop_ms:.4f}" in flat
        assert r.label in out
    ws = report.summarize(rich_report()[0].run).workloads[0]
    for label, x in ws.speedup_vs_eager.items():
        assert f"{x:.2f}x" in flat, label
    for text in (
        "50 MiB",
        "2 MiB",
        "1/2",
        "5.1e-04 (1,417x)",
        "149.20x!",
        "knob tf32 on max-autotune-no-cudagraphs",
        "→ explain-warning: inductor.tf32-disabled",
        "below the launch floor",
        "gate max-graph-breaks 0: failed for 1 of 1 row(s): default on decode: 1",
        "recommendation",
    ):
        assert text in flat, text


def test_at_80_columns_the_rows_are_stacked_and_at_200_a_table(monkeypatch, capsys):
    narrow, _ = rendered(monkeypatch, capsys, 80)
    wide, _ = rendered(monkeypatch, capsys, 200)
    assert "compile s" in wide.splitlines()[4] and "status" in wide.splitlines()[4]  # one header line
    assert (
        "★ reduce-overhead\n" in narrow and "  max-autotune-no-cudagraphs +tf32 +coordinate_descent_tuning\n" in narrow
    )
    assert "\n    compile s 1.00 · median ms 0.0051" in narrow  # a record per row, indented under its label


def test_help_fits_80_columns_without_cuts(cli):
    r = cli("bakeoff", "--help", env={"COLUMNS": "80"})
    assert r.exit_code == 0
    assert "…" not in r.stdout and max(len(line) for line in r.stdout.splitlines()) <= 80
    flat = " ".join(r.stdout.split())
    for option in (
        "--knobs",
        "--baseline",
        "--max-regression",
        "--max-graph-breaks",
        "--max-recompiles",
        "--max-compile-s",
        "--timeout",
        "--output",
    ):
        assert option in flat
    # paragraphs flow with the terminal instead of breaking where the source did
    assert (
        "Each workload runs in each mode (eager, default, reduce-overhead, max-autotune, "
        "max-autotune-no-cudagraphs) in a process of its own" in flat
    )


def test_a_long_gpu_name_is_never_cut_at_80_columns(monkeypatch, capsys):
    """The H100's rule read "NVIDIA H100 80GB HBM3 (sm_90, 132 …" at 80 columns."""
    from gpudiag.cli import bakeoff_render as view

    monkeypatch.setenv("COLUMNS", "80")
    rep, _ = rich_report()
    rep.run.device.name = "NVIDIA H100 80GB HBM3"
    rep.run.environment_variables = {"TORCHINDUCTOR_MAX_AUTOTUNE": "1"}
    view.render(rep)
    out = capsys.readouterr().out
    assert "gpudiag bakeoff · rmsnorm.py · NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)" in out and "…" not in out
    assert "environment: TORCHINDUCTOR_MAX_AUTOTUNE=1" in out
