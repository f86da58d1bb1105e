"""The harness with its child processes faked: streaming output, Ctrl-C, crash reasons, skips on CPU."""

from __future__ import annotations

import json
import statistics
import signal
import textwrap
import time

import pytest

from gpudiag.bakeoff import harness as core


def ok_result(workload, mode, median):
    return {"status": "ok", "workload": workload, "mode": mode, "compile_s": None if mode == "eager" else 2.0,
            "first_call_s": 0.1, "timing": {"median_ms": median, "min_ms": median, "q1_ms": median, "q3_ms": median,
                                             "reps": 10, "warmup_ms": 25.0, "rep_ms": 100.0},
            "correctness": {"ok": True, "max_abs_error": 0.0}, "graph_breaks": 0, "recompiles": 0,
            "warnings": [{"line": "UserWarning: something odd", "count": 2}], "_wall_s": 1.0, "_returncode": 0}


@pytest.fixture
def script(tmp_path):
    p = tmp_path / "s.py"
    p.write_text(textwrap.dedent("def gpudiag_workloads():\n    return {}\n"))
    return p


def fake_children(monkeypatch, plan):
    """plan(workload, mode) -> a child result dict, or raises (KeyboardInterrupt...)."""
    calls = []

    def run_child(self, workload, mode, tag):
        calls.append((workload, mode))
        if workload is None:
            return {"status": "listed", "workloads": [{"name": "a", "form": "gpudiag_workloads", "args": []},
                                                      {"name": "b", "form": "gpudiag_workloads", "args": []}]}, None
        return plan(self, workload, mode), None

    monkeypatch.setattr(core.Harness, "_run_child", run_child)
    return calls


def test_results_stream_to_output_after_every_mode(monkeypatch, script, tmp_path, no_gpu):
    out = tmp_path / "out.json"
    seen_on_disk = []

    def plan(h, w, m):
        if out.exists():  # the document on disk grows as modes finish
            seen_on_disk.append(len(json.loads(out.read_text())["rows"]))
        return ok_result(w, m, 1.0 if m == "eager" else 0.5)

    calls = fake_children(monkeypatch, plan)
    run = core.run_bakeoff(core.Settings(str(script), ["eager", "default", "reduce-overhead"], device="cpu",
                                         output=str(out)))
    assert run.complete and not run.interrupted
    assert seen_on_disk == [0, 1, 3, 4]  # a: eager, default, skipped reduce-overhead; then b
    assert ("a", "reduce-overhead") not in calls  # skipped on CPU without starting a process
    doc = json.loads(out.read_text())
    assert [r["status"] for r in doc["rows"]] == ["ok", "ok", "skipped"] * 2
    assert doc["summary"]["wins"]["default"] == 2
    assert not list(tmp_path.glob(".out.json.*"))  # atomic writes leave no temporary files


def test_ctrl_c_keeps_finished_rows_and_marks_the_rest(monkeypatch, script, tmp_path, no_gpu):
    out = tmp_path / "out.json"

    def plan(h, w, m):
        if (w, m) == ("a", "default"):
            raise KeyboardInterrupt
        return ok_result(w, m, 1.0)

    fake_children(monkeypatch, plan)
    run = core.run_bakeoff(core.Settings(str(script), ["eager", "default"], device="cpu", output=str(out)))
    assert run.interrupted and not run.complete
    assert [(r.workload, r.mode, r.status) for r in run.rows] == [
        ("a", "eager", "ok"), ("a", "default", "interrupted"), ("b", "eager", "not_run"), ("b", "default", "not_run")]
    assert json.loads(out.read_text())["interrupted"] is True


def test_cli_prints_partial_table_and_exits_130_on_ctrl_c(monkeypatch, cli, script, no_gpu):
    def plan(h, w, m):
        if m == "default":
            raise KeyboardInterrupt
        return ok_result(w, m, 1.0)

    fake_children(monkeypatch, plan)
    r = cli("bakeoff", str(script), "--device", "cpu", "--modes", "default")
    assert r.exit_code == 130
    assert "interrupted" in r.stdout and "eager" in r.stdout and "recommendation" in r.stdout
    assert "the table shows the modes that finished" in r.stderr


def test_warnings_are_matched_against_the_catalogue():
    from gpudiag.bakeoff import explain_link

    tf32 = ("UserWarning: TensorFloat32 tensor cores for float32 matrix multiplication available but not "
            "enabled. Consider setting `torch.set_float32_matmul_precision('high')` for better performance.")
    known, unknown = explain_link.explain_lines([tf32, "UserWarning: something odd"])
    assert known["id"] == "inductor.tf32-disabled" and known["severity"] == "performance"
    assert unknown is None


def test_warnings_stay_raw_without_a_usable_catalogue(monkeypatch):
    from gpudiag.bakeoff import explain_link

    monkeypatch.setattr(explain_link, "_matcher", lambda: None)
    row = core.row_from_child(ok_result("a", "default", 1.0), "a", "default")
    assert row.warnings == [{"line": "UserWarning: something odd", "count": 2}]


@pytest.mark.parametrize("rc, tail, status, text", [
    (-signal.SIGSEGV, ["Fatal Python error: Segmentation fault"], "crashed", "killed by SIGSEGV after: Fatal Python error"),
    (1, ["torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"], "oom", "CUDA out of memory"),
    (3, ["noise", "RuntimeError: bad thing", "more noise"], "crashed", "exited with code 3 without a result: RuntimeError: bad thing"),
    (-9, [], "crashed", "killed by SIGKILL"),
])
def test_crash_reason(rc, tail, status, text):
    s, reason = core.crash_reason(rc, tail)
    assert s == status and text in reason


def test_child_classifies_failures():
    from gpudiag.bakeoff.child import classify

    assert classify(RuntimeError("CUDA out of memory. Tried"), "timing", "default") == "oom"
    assert classify(RuntimeError("Error: accessing tensor output of CUDAGraphs that has been overwritten by a "
                                 "subsequent run."), "checking", "reduce-overhead") == "harness_error"
    assert classify(ValueError("x"), "compiling", "max-autotune") == "compile_error"
    assert classify(ValueError("x"), "timing", "default") == "error"
    assert classify(ValueError("x"), "compiling", "eager") == "error"


def test_compare_tolerances_by_dtype():
    torch = pytest.importorskip("torch")
    from gpudiag.bakeoff.compare import compare

    ref = torch.ones(100)
    assert compare(ref + 5e-5, ref).ok  # fp32 rounding
    bad = compare(ref + 0.01, ref)
    assert not bad.ok and bad.mismatched == 100 and abs(bad.max_abs_error - 0.01) < 1e-6
    assert compare(ref.bfloat16() + 0.0078125, ref.bfloat16()).ok  # one bf16 ulp at 1.0
    assert not compare(ref.half(), ref).ok  # dtype differs
    assert "shape" in compare(torch.ones(3), torch.ones(4)).reason
    nan = torch.tensor([float("nan"), 1.0])
    assert compare(nan.clone(), nan).ok and not compare(torch.tensor([0.0, 1.0]), nan).ok
    assert compare((ref, {"k": ref}), (ref, {"k": ref})).ok
    assert not compare(torch.tensor([1, 2]), torch.tensor([1, 3])).ok  # integers are exact


def test_fp64_run_arbitrates_rounding_but_not_wrong_values():
    """RoPE prefill on the H100: 4 of 67M bf16 elements were 1 ulp (0.031) off eager where q*cos and
    rot(q)*sin cancel. Eager rounds after each op, the fused kernel once; fp64 says which is closer."""
    torch = pytest.importorskip("torch")
    from gpudiag.bakeoff.compare import arbitrate, compare

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(4096, generator=g, dtype=torch.float64) * 4, torch.randn(4096, generator=g, dtype=torch.float64) * 4
    exact = a - b * 0.999
    eager = (a.bfloat16() - (b.bfloat16() * 0.999).bfloat16())  # rounds the product, then the difference
    fused = exact.bfloat16()  # one rounding
    elementwise = compare(fused, eager)
    assert not elementwise.ok and elementwise.values_only and elementwise.mismatched > 0
    judged = arbitrate(elementwise, fused, eager, exact)
    assert judged.ok and judged.judged_by == "fp64 reference"
    assert judged.fp64_rmse <= judged.eager_fp64_rmse and "rounding order" in judged.notes[0]
    assert judged.max_abs_error > 0 and judged.mismatched == elementwise.mismatched  # the numbers stay

    wrong = fused.clone()
    wrong[:100] += 1.0  # a wrong kernel, not rounding
    bad = arbitrate(compare(wrong, eager), wrong, eager, exact)
    assert not bad.ok and "further from an fp64 run" in bad.reason
    nan = fused.clone()
    nan[0] = float("nan")
    assert not arbitrate(compare(nan, eager), nan, eager, exact).ok
    shape = compare(torch.ones(3), torch.ones(4))
    assert not shape.values_only and arbitrate(shape, torch.ones(3), torch.ones(4), torch.ones(4)) is shape


def test_fp64_reference_runs_the_workload_in_float64_or_says_why():
    torch = pytest.importorskip("torch")
    from gpudiag.bakeoff.child import fp64_reference

    lin = torch.nn.Linear(4, 2).bfloat16()
    out = fp64_reference(torch, lin, (torch.ones(3, 4, dtype=torch.bfloat16),), {})
    assert out.dtype == torch.float64 and lin.weight.dtype == torch.bfloat16  # a copy was widened

    def needs_half(x):
        if x.dtype != torch.float16:
            raise TypeError("this kernel only takes float16")
        return x
    assert "only takes float16" in fp64_reference(torch, needs_half, (torch.ones(2, dtype=torch.float16),), {})


def test_deprecations_are_kept_only_from_the_users_script(tmp_path):
    import warnings

    from gpudiag.bakeoff.child import warning_lines

    script = tmp_path / "work.py"
    msgs = [warnings.WarningMessage(DeprecationWarning("old api"), DeprecationWarning, str(script), 3),
            warnings.WarningMessage(DeprecationWarning("torch.jit.script_method is deprecated"), DeprecationWarning,
                                    "/site-packages/torch/jit/_script.py", 1),
            warnings.WarningMessage(UserWarning("TF32 not enabled"), UserWarning, "/site-packages/torch/x.py", 1),
            warnings.WarningMessage(UserWarning("TF32 not enabled"), UserWarning, "/site-packages/torch/x.py", 1)]
    assert warning_lines(msgs, str(script)) == {"DeprecationWarning: old api": 1, "UserWarning: TF32 not enabled": 2}


def test_cpu_timer_uses_the_budgets():
    from gpudiag.bakeoff.child import bench_cpu, summarize

    times = bench_cpu(lambda: None, warmup_ms=5, rep_ms=20)
    assert len(times) >= 5
    s = summarize([3.0, 1.0, 2.0, 4.0])
    assert s["median_ms"] == 2.5 and s["min_ms"] == 1.0 and s["q1_ms"] == 1.75 and s["q3_ms"] == 3.25


def test_crosscheck_times_the_same_callable_again_in_the_child(tmp_path):
    from gpudiag.bakeoff.harness import Settings, run_bakeoff

    script = tmp_path / "tiny.py"
    script.write_text("import torch\n"
                      "def gpudiag_workloads():\n"
                      "    return (lambda x: x * 2 + 1), (torch.randn(64, 64),)\n")
    doc = run_bakeoff(Settings(script=str(script), modes=["eager"], device="cpu", quick=True,
                               crosscheck=True)).to_dict()
    (row,) = [r for r in doc["rows"] if r["mode"] == "eager"]
    assert row["status"] == "ok"
    assert row["timing"]["crosscheck_median_ms"] > 0
    assert row["timing"]["median_ms"] > 0


def test_loop_timer_counts_host_time_between_syncs():
    """bench_loop times rounds of back-to-back calls ended by one sync: a host that needs 0.2 ms per
    call shows 0.2 ms per call however fast the (fake) device is."""
    from gpudiag.bakeoff.child import bench_loop

    syncs = []

    def call():
        end = time.perf_counter() + 0.0002
        while time.perf_counter() < end:
            pass

    times, per_round = bench_loop(call, lambda: syncs.append(1), budget_ms=30, round_ms=2)
    assert len(times) >= 3 and per_round >= 5
    assert len(syncs) == len(times) + 3  # one per round, the estimate's two, one before the rounds
    assert 0.19 < statistics.median(times) < 0.4

    # With an estimate given no calls are spent on estimating; one far below the host's cost only
    # makes the rounds longer: the figure stays the host's.
    syncs.clear()
    times, per_round = bench_loop(call, lambda: syncs.append(1), budget_ms=10, round_ms=2, estimate_ms=0.05)
    assert per_round == 40 and len(syncs) == len(times) + 1 and len(times) >= 3
    assert 0.19 < statistics.median(times) < 0.4


def test_time_cuda_flags_a_launch_bound_mode_and_ranks_it_by_the_loop(monkeypatch):
    """time_cuda's wiring, with do_bench and the device faked: a call whose device time do_bench puts
    at 0.01 ms but whose host issue time is 0.2 ms is launch-bound and ranked by its loop time."""
    import types

    from gpudiag.bakeoff import child

    monkeypatch.setattr(child, "bench_cuda", lambda call, w, r: ([0.009, 0.010, 0.011], "fake do_bench"))
    fake_torch = types.SimpleNamespace(cuda=types.SimpleNamespace(synchronize=lambda: None))

    def call():
        end = time.perf_counter() + 0.0002
        while time.perf_counter() < end:
            pass

    t = child.time_cuda(fake_torch, call, warmup_ms=1, rep_ms=20)
    assert t["median_ms"] == 0.010 and t["timer"] == "fake do_bench" and t["loop_budget_ms"] == 10
    assert t["launch_bound"] is True and t["per_call_source"] == "loop"
    assert t["per_call_ms"] == t["loop_ms"] and 0.19 < t["loop_ms"] < 0.4
    assert t["per_call_q1_ms"] <= t["per_call_ms"] <= t["per_call_q3_ms"]
