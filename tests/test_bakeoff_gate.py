"""The CI gate: --baseline/--max-regression, --max-graph-breaks, --max-recompiles, --max-compile-s; a gate
that compared nothing fails, and two identical runs pass."""

from __future__ import annotations

import json

import pytest
from bakeoff_rows import make_run, observed, row

from gpudiag.bakeoff import gate, report
from gpudiag.bakeoff.results import RunDevice
from gpudiag.bakeoff.settings import Limits
from gpudiag.errors import GpudiagError


def baseline_file(tmp_path, rows, device=None, **fields):
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(report.build(make_run(rows, ["w"], device, **fields)).to_dict()))
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


def test_two_identical_gpu_runs_pass_with_launch_bound_rows_gated_beyond_their_spread(tmp_path):
    """Two identical runs of the small MLP on the H200 host moved +9.9% and +31.6% with quartile ranges of
    3-8%: host-timed rows are gated beyond both runs' spread by the launch-bound band, and pass; a GPU-bound
    row that moved 1% passes by the percentage. Every row compared is named."""
    base = [
        row("w", "eager", 0.0146, spread=0.03, loop=0.0376),
        row("w", "default", 0.065, spread=0.05, loop=0.0848),
        row("w", "max-autotune-no-cudagraphs", 2.70),
    ]
    now = make_run(
        [
            row("w", "eager", 0.0146, spread=0.03, loop=0.0376 * 1.099),
            row("w", "default", 0.065, spread=0.05, loop=0.1116),
            row("w", "max-autotune-no-cudagraphs", 2.70 * 1.01),
        ],
        ["w"],
    )
    assert now.rows[0].launch_bound and now.rows[1].launch_bound and not now.rows[2].launch_bound
    rep = gates(now, tmp_path, base)
    (g,) = rep.results
    assert rep.passed and g.checked == 3 and not g.breaches
    assert [(c.label, c.detail) for c in g.compared][1] == ("default", "+31.6% (0.0848 -> 0.1116 ms)")
    assert g.line == (
        "gate max-regression 5%: passed for 3 row(s): eager on w, default on w, max-autotune-no-cudagraphs on w"
    )
    assert "2 launch-bound row(s) gated beyond both runs' quartile ranges by 50%" in g.note
    # the same rows 2.5x slower, beyond their spread: a launch-bound regression still fails by default
    slow = make_run([row("w", "default", 0.065, spread=0.05, loop=0.212)], ["w"])
    (g,) = gates(slow, tmp_path, base).results
    assert not g.passed and "launch-bound: its q1 0.2014 ms is above the baseline's q3 0.08904 ms + 50%" in g.line


def test_two_identical_cpu_runs_pass_the_default_gate(tmp_path):
    """The issue's figures: two identical CPU runs moved +15% and +12% with overlapping quartiles and failed
    the default 5% gate. CPU rows are host-timed (the wall clock per call): gated beyond both runs' spread."""
    cpu = {"kind": "cpu"}
    base = [
        row("w", "eager", 0.56, spread=0.2, source="wall clock"),
        row("w", "default", 17.0, spread=0.3, source="wall clock"),
    ]
    now = make_run(
        [
            row("w", "eager", 0.56 * 1.15, spread=0.2, source="wall clock"),
            row("w", "default", 17.0 * 1.12, spread=0.3, source="wall clock"),
        ],
        ["w"],
        cpu,
    )
    lim = Limits(baseline_file(tmp_path, base, cpu), 5.0)
    rep = gate.evaluate(now, lim, gate.load_baseline(lim.baseline))
    (g,) = rep.results
    assert rep.passed and g.checked == 2, g.line
    assert [c.detail for c in g.compared] == ["+15.0% (0.56 -> 0.644 ms)", "+12.0% (17 -> 19.04 ms)"]
    assert "2 host-timed row(s) (the wall clock per call) gated beyond both runs' quartile ranges" in g.note
    # a real CPU regression, beyond both spreads by more than 5%, still fails
    slower = make_run([row("w", "eager", 0.56 * 2, spread=0.05, source="wall clock")], ["w"], cpu)
    (g,) = gate.evaluate(slower, lim, gate.load_baseline(lim.baseline)).results
    assert not g.passed and "host-timed: its q1 1.064 ms is above the baseline's q3 0.672 ms + 5%" in g.line


def test_a_gate_that_compared_nothing_fails_unless_allowed(tmp_path, monkeypatch, cli, no_gpu):
    """A --baseline from another script printed "gate max-regression 5%: passed" with checked: 0."""
    from test_bakeoff_harness import fake_children, ok

    other = baseline_file(tmp_path, [row("w", "eager", 1.0), row("w", "default", 0.5)], {"kind": "cpu"})
    script = tmp_path / "renamed.py"
    script.write_text("def gpudiag_workloads():\n    return {}\n")
    fake_children(monkeypatch, ok, workloads=("renamed",))
    args = ("bakeoff", str(script), "--device", "cpu", "--modes", "default", "--knobs", "none", "--baseline", other)
    r = cli(*args, "--json")
    assert r.exit_code == 1
    (line,) = [ln for ln in r.stderr.splitlines() if ln.startswith("gpudiag: gate")]
    assert line == (
        "gpudiag: gate max-regression 5%: failed: it compared no row: no row the baseline timed (eager on w, "
        "default on w) was measured in this run (eager on renamed, default on renamed); --allow-empty-gate "
        "accepts that"
    )
    (g,) = json.loads(r.stdout)["gates"]["gates"]
    assert g["checked"] == 0 and g["passed"] is False and g["compared"] == [] and g["empty"].startswith("no row")
    allowed = cli(*args, "--allow-empty-gate", env={"COLUMNS": "200"})
    assert allowed.exit_code == 0
    assert "✓ gate max-regression 5%: passed with no row compared (--allow-empty-gate)" in allowed.stdout
    # a count gate with no compiled row to count is just as empty
    eager_only = cli(
        "bakeoff", str(script), "--device", "cpu", "--modes", "eager", "--knobs", "none", "--max-graph-breaks", "0"
    )
    assert (
        eager_only.exit_code == 1
        and "gate max-graph-breaks 0: failed: it compared no row: no compiled row ran" in eager_only.stderr
    )


def test_a_baseline_taken_in_another_environment_is_noted(tmp_path):
    """The environment is part of the measurement: a baseline taken with cuBLAS in TF32 is still compared,
    but the gate says which variables differ."""
    base = baseline_file(
        tmp_path, [row("w", "eager", 1.0)], environment_variables={"TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": "1"}
    )
    now = make_run([row("w", "eager", 1.0)], ["w"], environment_variables={"CUDA_VISIBLE_DEVICES": "0"})
    (g,) = gate.evaluate(now, Limits(base, 5.0), gate.load_baseline(base)).results
    assert (
        g.passed
        and (
            "the environment differs from the baseline's: CUDA_VISIBLE_DEVICES unset then, '0' now; "
            "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE '1' then, unset now"
        )
        in g.note
    )


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
        "compared": [
            {"workload": "w", "label": "default", "detail": "0"},
            {"workload": "w", "label": "max-autotune", "detail": "3"},
        ],
        "empty": None,
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
        cpu.check_device(RunDevice("cuda", "NVIDIA H200"))
    h100 = gate.load_baseline(
        baseline_file(tmp_path, [row("w", "eager", 1.0)], {"kind": "cuda", "name": "NVIDIA H100"})
    )
    assert (
        h100.check_device(RunDevice("cuda", "NVIDIA H200"))
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
        "gpudiag: gate max-regression 10%: failed for 1 of 2 row(s): default on a: +25.0% (0.4 -> 0.5 ms); "
        "host-timed: its q1 0.495 ms is above the baseline's q3 0.404 ms + 10%",
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


def test_a_baseline_whose_script_had_other_arguments_is_noted(tmp_path):
    """Rows are matched by name; when the script was given other sizes the gate still compares them,
    and says so."""
    base = baseline_file(tmp_path, [row("w", "eager", 1.0)], settings_fields={"script_args": ["--batch", "8"]})
    now = make_run([row("w", "eager", 1.0)], ["w"], settings_fields={"script_args": ["--batch", "16"]})
    (g,) = gate.evaluate(now, Limits(base, 5.0), gate.load_baseline(base)).results
    assert "the script's arguments differ from the baseline's: --batch 8 then, --batch 16 now" in g.note
    same = make_run([row("w", "eager", 1.0)], ["w"], settings_fields={"script_args": ["--batch", "8"]})
    (g,) = gate.evaluate(same, Limits(base, 5.0), gate.load_baseline(base)).results
    assert g.note is None or "arguments" not in g.note
