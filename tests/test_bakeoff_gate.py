"""The CI gate: --baseline/--max-regression, --max-graph-breaks, --max-recompiles, --max-compile-s."""

from __future__ import annotations

import json

import pytest
from bakeoff_rows import make_run, observed, row

from gpudiag.bakeoff import gate, report
from gpudiag.bakeoff.settings import Limits
from gpudiag.errors import GpudiagError


def baseline_file(tmp_path, rows, device=None):
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(report.build(make_run(rows, ["w"], device)).to_dict()))
    return str(path)


def gates(run, tmp_path=None, base_rows=None, **limits):
    lim = Limits(baseline_file(tmp_path, base_rows) if base_rows else None, **limits)
    if lim.baseline and lim.max_regression_pct is None:
        lim.max_regression_pct = 5.0
    return gate.evaluate(run, lim, gate.load_baseline(lim.baseline) if lim.baseline else None)


def test_a_gpu_bound_row_fails_beyond_the_percentage(tmp_path):
    base = [row("w", "eager", 1.0), row("w", "default", 0.50)]
    now = make_run([row("w", "eager", 1.01), row("w", "default", 0.56)], ["w"])
    rep = gates(now, tmp_path, base, max_regression_pct=5.0)
    (g,) = rep.results
    assert not rep.passed and not g.passed and g.checked == 2
    assert [b.label for b in g.breaches] == ["default"]
    assert g.line == "gate max-regression 5%: failed for 1 of 2 row(s): default on w: +12.0% (0.5 -> 0.56 ms)"
    assert gates(now, tmp_path, base, max_regression_pct=15.0).passed


def test_launch_bound_rows_are_shown_not_gated_by_default(tmp_path):
    """Two identical runs of the small MLP on the H200 host moved +9.9% and +31.6% with quartile ranges
    of 3-8%: host-timed rows are listed with their change, and the gate does not fail on them."""
    base = [row("w", "eager", 1.0), row("w", "default", 0.065, spread=0.05, loop=0.0848)]
    now = make_run([row("w", "eager", 1.0), row("w", "default", 0.065, spread=0.05, loop=0.1116)], ["w"])
    assert now.rows[1].launch_bound
    rep = gates(now, tmp_path, base, max_regression_pct=3.0)
    (g,) = rep.results
    assert rep.passed and g.checked == 1
    assert [(b.label, b.detail) for b in g.not_gated] == [("default", "+31.6% (0.0848 -> 0.1116 ms")]
    assert "1 launch-bound row(s) shown, not gated" in g.note
    assert rep.to_dict()["gates"][0]["not_gated"][0]["label"] == "default"


def test_a_launch_bound_limit_gates_them_beyond_their_measured_spread(tmp_path):
    """With --max-regression-launch-bound, a move inside both runs' quartile ranges is not a
    regression; one beyond them is."""
    base = [row("w", "default", 0.065, spread=0.25, loop=0.10)]
    within = make_run([row("w", "default", 0.065, spread=0.25, loop=0.13)], ["w"])
    assert within.rows[0].launch_bound
    assert gates(within, tmp_path, base, max_regression_pct=5.0, max_regression_launch_bound_pct=5.0).passed
    beyond = make_run([row("w", "default", 0.065, spread=0.05, loop=0.20)], ["w"])
    (g,) = gates(beyond, tmp_path, base, max_regression_pct=5.0, max_regression_launch_bound_pct=5.0).results
    assert not g.passed and "launch-bound: its q1 0.19 ms is above the baseline's q3 0.125 ms + 5%" in g.line
    assert not g.not_gated


def test_a_row_that_no_longer_runs_fails_and_new_rows_are_ignored(tmp_path):
    base = [row("w", "eager", 1.0), row("w", "max-autotune", 0.4)]
    now = make_run(
        [
            row("w", "eager", 1.0),
            row("w", "max-autotune", None, status="compile_error"),
            row("w", "default", 0.3, knobs=("tf32",)),
        ],
        ["w"],
    )
    (g,) = gates(now, tmp_path, base).results
    assert g.limit == 5.0 and g.checked == 2
    assert [(b.label, b.detail) for b in g.breaches] == [("max-autotune", "compile_error now, 0.4 ms in the baseline")]


def test_count_and_compile_gates_check_every_compiled_row():
    now = make_run(
        [
            row("w", "eager", 1.0, observed=observed(graph_breaks=9, recompiles=9)),
            row("w", "default", 0.5, compile_s=31.0, observed=observed(graph_breaks=2, recompiles=0)),
            row("w", "max-autotune", 0.4, compile_s=12.0, observed=observed(graph_breaks=0, recompiles=3)),
        ],
        ["w"],
    )
    rep = gate.evaluate(now, Limits(max_graph_breaks=1, max_recompiles=3, max_compile_s=30.0), None)
    by = {g.name: g for g in rep.results}
    assert not by["max-graph-breaks"].passed and by["max-graph-breaks"].checked == 2  # eager is not compiled
    assert by["max-graph-breaks"].line == "gate max-graph-breaks 1: failed for 1 of 2 row(s): default on w: 2"
    assert by["max-recompiles"].passed
    assert by["max-compile-s"].line == "gate max-compile-s 30 s: failed for 1 of 2 row(s): default on w: 31 s"
    assert report.BakeoffReport(now, report.summarize(now), rep).exit_code == 1
    assert rep.to_dict()["gates"][1] == {
        "name": "max-recompiles",
        "limit": 3.0,
        "passed": True,
        "checked": 2,
        "breaches": [],
        "note": None,
        "not_gated": [],
    }


@pytest.mark.parametrize(
    "content, expected",
    [
        ("{", "not JSON"),
        ('{"schema": "gpudiag.info/1"}', "not a gpudiag bakeoff --output document"),
        ('{"schema": "gpudiag.bakeoff/2", "rows": [1]}', "a row is not an object"),
    ],
)
def test_unusable_baselines_are_one_line(tmp_path, content, expected):
    path = tmp_path / "b.json"
    path.write_text(content)
    with pytest.raises(GpudiagError, match=expected):
        gate.load_baseline(str(path))


def test_a_baseline_from_another_device_is_refused_and_another_gpu_noted(tmp_path):
    cpu = gate.load_baseline(baseline_file(tmp_path, [row("w", "eager", 1.0)], {"kind": "cpu"}))
    with pytest.raises(GpudiagError, match="measured on cpu, this run is on cuda"):
        cpu.check_device({"kind": "cuda", "name": "NVIDIA H200"})
    h100 = gate.load_baseline(
        baseline_file(tmp_path, [row("w", "eager", 1.0)], {"kind": "cuda", "name": "NVIDIA H100"})
    )
    assert (
        h100.check_device({"kind": "cuda", "name": "NVIDIA H200"})
        == "the baseline ran on NVIDIA H100, this run on NVIDIA H200"
    )


def test_a_version_1_document_is_a_usable_baseline(tmp_path):
    """Files written by --output before the knobs (schema gpudiag.bakeoff/1) still gate."""
    v1 = {
        "schema": "gpudiag.bakeoff/1",
        "device": {"kind": "cpu"},
        "rows": [
            {
                "workload": "w",
                "mode": "default",
                "status": "ok",
                "timing": {"median_ms": 1.0, "q3_ms": 1.01, "per_call_ms": 1.0, "per_call_q3_ms": 1.01},
            }
        ],
    }
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(v1))
    (b,) = gate.load_baseline(str(path)).rows
    assert (b.label, b.timed, b.per_call_ms, b.launch_bound) == ("default", True, 1.0, False)


def test_cli_exits_1_with_one_line_per_failed_gate_and_json_says_which_passed(cli, monkeypatch, tmp_path, no_gpu):
    from test_bakeoff_harness import fake_children, ok

    script = tmp_path / "s.py"
    script.write_text("def gpudiag_workloads():\n    return {}\n")
    base = baseline_file(tmp_path, [row("a", "eager", 1.0), row("a", "default", 0.4)], {"kind": "cpu"})

    def plan(spec):
        r = ok(spec, 1.0 if spec.mode == "eager" else 0.5)
        r.observed.graph_breaks, r.compile_s = 3, 2.0
        return r

    fake_children(monkeypatch, plan, workloads=("a",))
    r = cli(
        "bakeoff",
        str(script),
        "--device",
        "cpu",
        "--modes",
        "default",
        "--knobs",
        "none",
        "--json",
        "--baseline",
        base,
        "--max-regression",
        "10",
        "--max-graph-breaks",
        "5",
        "--max-compile-s",
        "1",
    )
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["gates"]["passed"] is False
    assert {g["name"]: g["passed"] for g in doc["gates"]["gates"]} == {
        "max-regression": False,
        "max-graph-breaks": True,
        "max-compile-s": False,
    }
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("gpudiag: gate")]
    assert lines == [
        "gpudiag: gate max-regression 10%: failed for 1 of 2 row(s): default on a: +25.0% (0.4 -> 0.5 ms)",
        "gpudiag: gate max-compile-s 1 s: failed for 1 of 1 row(s): default on a: 2 s",
    ]
    human = cli(
        "bakeoff",
        str(script),
        "--device",
        "cpu",
        "--modes",
        "default",
        "--knobs",
        "none",
        "--max-graph-breaks",
        "5",
        env={"COLUMNS": "80"},
    )
    assert human.exit_code == 0 and "✓ gate max-graph-breaks 5: passed" in human.stdout
