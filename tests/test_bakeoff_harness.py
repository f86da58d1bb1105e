"""The harness with its child processes faked: streaming output, stops, crash reasons, knobs after the
modes, skips on CPU; and the pieces a child uses (timing, comparison, observation) on their own."""

from __future__ import annotations

import dataclasses
import json
import signal
import textwrap
import time

import pytest
from bakeoff_rows import census, row

from gpudiag.bakeoff import harness as core
from gpudiag.bakeoff import launcher
from gpudiag.bakeoff.results import ModeResult, ScriptListing, WarningLine, WorkloadInfo
from gpudiag.bakeoff.session import Bakeoff, run_bakeoff
from gpudiag.bakeoff.settings import Settings


@pytest.fixture
def script(tmp_path):
    p = tmp_path / "s.py"
    p.write_text(textwrap.dedent("def gpudiag_workloads():\n    return {}\n"))
    return p


def fake_children(monkeypatch, plan, workloads=("a", "b")):
    """plan(request) -> a ModeResult the fake child wrote, or raises (KeyboardInterrupt, Stopped...). The
    first child lists ``workloads`` and measures the first one in eager, as a real first child does."""
    calls = []

    def run_child(self, request, label, tag):
        listing = None
        if request.list_workloads:
            listing = ScriptListing("listed", [WorkloadInfo(w, "gpudiag_workloads") for w in workloads])
            request = dataclasses.replace(request, workload=workloads[0])
        calls.append((request.workload, label))
        written = ModeResult.from_dict(json.loads(json.dumps(plan(request).to_dict())))  # as the file carries it
        return core.Finished(listing, written, 1.0, [])

    monkeypatch.setattr(core.Harness, "_run_child", run_child)
    return calls


def ok(spec, median=None):
    r = row(spec.workload, spec.mode, median or (1.0 if spec.mode == "eager" else 0.5), knobs=spec.knobs)
    r.observed.warnings = [WarningLine("UserWarning: something odd", 2)]
    return r


def test_results_stream_to_output_after_every_row(monkeypatch, script, tmp_path, no_gpu):
    out = tmp_path / "out.json"
    seen_on_disk = []

    def plan(spec):
        if out.exists():  # the document on disk grows as measurements finish
            seen_on_disk.append(len(json.loads(out.read_text())["rows"]))
        return ok(spec)

    calls = fake_children(monkeypatch, plan)
    rep = run_bakeoff(
        Settings(str(script), ["eager", "default", "reduce-overhead"], device="cpu", output=str(out), knobs="none")
    )
    assert rep.run.complete and not rep.run.interrupted
    assert seen_on_disk == [1, 3, 4]  # a: eager (the first child), default, skipped reduce-overhead; then b
    assert ("a", "reduce-overhead") not in calls  # skipped on CPU without starting a process
    doc = json.loads(out.read_text())
    assert [r["status"] for r in doc["rows"]] == ["ok", "ok", "skipped"] * 2
    assert doc["summary"]["wins"]["default"] == 2
    assert doc["rows"][0]["observed"]["warnings"][0]["explained"] is None  # matched against the catalogue
    assert not list(tmp_path.glob(".out.json.*"))  # atomic writes leave no temporary files


@pytest.mark.parametrize(
    "signum, name, code",
    [(signal.SIGINT, "SIGINT", 130), (signal.SIGTERM, "SIGTERM", 143), (signal.SIGHUP, "SIGHUP", 129)],
)
def test_a_stop_keeps_finished_rows_and_marks_the_rest(monkeypatch, script, tmp_path, no_gpu, signum, name, code):
    out = tmp_path / "out.json"

    def plan(spec):
        if (spec.workload, spec.mode) == ("a", "default"):
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            signal.raise_signal(signum)  # the harness's own handler turns it into a stop
        return ok(spec)

    previous = signal.getsignal(signal.SIGTERM)
    fake_children(monkeypatch, plan)
    rep = run_bakeoff(Settings(str(script), ["eager", "default"], device="cpu", output=str(out)))
    assert rep.run.interrupted and not rep.run.complete and rep.run.interrupted_by == name
    assert [(r.workload, r.mode, r.status) for r in rep.run.rows] == [
        ("a", "eager", "ok"),
        ("a", "default", "interrupted"),
        ("b", "eager", "not_run"),
        ("b", "default", "not_run"),
    ]
    assert rep.run.rows[1].reason == f"stopped by {name} while this measurement ran"
    assert rep.exit_code == code
    doc = json.loads(out.read_text())
    assert doc["interrupted"] is True and doc["interrupted_by"] == name
    assert signal.getsignal(signal.SIGTERM) == previous  # the handlers are given back


def test_cli_prints_partial_table_and_exits_130_on_ctrl_c(monkeypatch, cli, script, no_gpu):
    def plan(spec):
        if spec.mode == "default":
            raise KeyboardInterrupt
        return ok(spec)

    fake_children(monkeypatch, plan)
    r = cli("bakeoff", str(script), "--device", "cpu", "--modes", "default")
    assert r.exit_code == 130
    assert "interrupted" in r.stdout and "eager" in r.stdout and "recommendation" in r.stdout
    assert "stopped by SIGINT; the report shows what finished" in r.stderr


def test_knobs_run_after_the_modes_on_the_fastest_mode_they_apply_to(monkeypatch, script, no_gpu):
    def plan(spec):
        r = ok(spec, {"eager": 2.0, "default": 1.0}.get(spec.mode) if not spec.knobs else 0.5)
        if spec.mode == "eager" and not spec.knobs:
            r.census = census(parameter_bytes=2**20)
        return r

    calls = fake_children(monkeypatch, plan, workloads=("a",))
    rep = run_bakeoff(Settings(str(script), ["default"], device="cpu"))
    assert [label for _, label in calls] == ["eager", "default", "default +freezing"]
    (freezing,) = [d for d in rep.run.variants if d.measured]
    assert freezing.knob == "freezing" and freezing.base == "default" and "1.0 MiB of parameters" in freezing.why
    tf32 = next(d for d in rep.run.variants if d.knob == "tf32")
    assert not tf32.measured and tf32.signal is None and tf32.why.startswith("not applicable on the CPU")
    assert rep.summary.workloads[0].winner == "default +freezing"


def test_knobs_asked_for_run_or_say_why_not(monkeypatch, script, no_gpu):
    calls = fake_children(monkeypatch, ok, workloads=("a",))
    rep = run_bakeoff(Settings(str(script), ["default"], device="cpu", knobs="static,tf32"))
    assert [label for _, label in calls] == ["eager", "default", "default +static"]
    (skipped,) = [r for r in rep.run.rows if r.knobs == ["tf32"]]
    assert skipped.label == "default +tf32" and skipped.status == "skipped"
    assert skipped.reason.startswith("not applicable on the CPU: TF32 is a tensor-core format")
    assert [d.knob for d in rep.run.variants] == ["tf32", "static"]  # only what was asked: no auto


def test_knobs_that_each_win_are_measured_together(monkeypatch, script, no_gpu):
    def plan(spec):
        r = ok(
            spec,
            {(): 1.0, ("dynamic",): 0.8, ("freezing",): 0.7}.get(tuple(spec.knobs), 0.5)
            if spec.mode != "eager"
            else 2.0,
        )
        if spec.mode == "eager":
            r.census = census(parameter_bytes=80)  # a tiny parameter: something for freezing to fold
        return r

    calls = fake_children(monkeypatch, plan, workloads=("a",))
    rep = run_bakeoff(Settings(str(script), ["default"], device="cpu", knobs="freezing,dynamic"))
    assert [label for _, label in calls][-1] == "default +freezing +dynamic"
    assert rep.run.variants[-1].knob == "freezing+dynamic"
    assert rep.summary.workloads[0].winner == "default +freezing +dynamic"
    freezing = next(d for d in rep.run.variants if d.knob == "freezing")
    assert "reading 80 B of parameters" in freezing.why  # not "0.0 MiB"


def test_a_knob_with_nothing_to_act_on_is_never_called_an_effect(monkeypatch, script, no_gpu):
    """Freezing asked for on a model with no parameters: its row came out 1.56x faster than default, beyond
    the (CPU) quartiles. Freezing folds parameters, so that can only be noise: never an effect, never
    combined with another knob, never the recommendation."""

    def plan(spec):
        r = ok(spec, {"eager": 2.0, "default": 1.0}[spec.mode] if not spec.knobs else 1.0 / 1.56)
        if spec.mode == "eager":
            r.census = census(parameter_bytes=0)
        return r

    fake_children(monkeypatch, plan, workloads=("a",))
    rep = run_bakeoff(Settings(str(script), ["default"], device="cpu", knobs="freezing"))
    (freezing,) = [d for d in rep.run.variants if d.knob == "freezing"]
    assert freezing.measured and freezing.signal is None and "MiB" not in freezing.why
    (effect,) = rep.summary.workloads[0].knob_effects
    assert effect.mechanism is False and effect.beyond_spread
    text = rep.summary.recommendation
    assert "freezing had nothing to act on here (no nn.Parameter was read)" in text
    assert "measurement noise, not an effect" in text
    assert "use torch.compile()." in text and "freezing = True" not in text


@pytest.mark.parametrize(
    "rc, tail, status, text",
    [
        (
            -signal.SIGSEGV,
            ["Fatal Python error: Segmentation fault"],
            "crashed",
            "killed by SIGSEGV after: Fatal Python error",
        ),
        (1, ["torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"], "oom", "CUDA out of memory"),
        (
            3,
            ["noise", "RuntimeError: bad thing", "more noise"],
            "crashed",
            "exited with code 3 without a result: RuntimeError: bad thing",
        ),
        (-9, [], "crashed", "killed by SIGKILL"),
    ],
)
def test_crash_reason(rc, tail, status, text):
    s, reason = launcher.crash_reason(rc, tail)
    assert s == status and text in reason


def test_child_classifies_failures():
    from gpudiag.bakeoff.child import classify

    assert classify(RuntimeError("CUDA out of memory. Tried"), "timing", "default") == "oom"
    assert (
        classify(
            RuntimeError("Error: accessing tensor output of CUDAGraphs that has been overwritten by a subsequent run."),
            "checking",
            "reduce-overhead",
        )
        == "harness_error"
    )
    assert classify(ValueError("x"), "compiling", "max-autotune") == "compile_error"
    assert classify(ValueError("x"), "timing", "default") == "error"
    assert classify(ValueError("x"), "compiling", "eager") == "error"


def test_warnings_are_matched_against_the_catalogue():
    from gpudiag.bakeoff import explain_link

    tf32 = (
        "UserWarning: TensorFloat32 tensor cores for float32 matrix multiplication available but not "
        "enabled. Consider setting `torch.set_float32_matmul_precision('high')` for better performance."
    )
    known, unknown = explain_link.explain_lines([tf32, "UserWarning: something odd"])
    assert known["id"] == "inductor.tf32-disabled" and known["severity"] == "performance"
    assert unknown is None


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
    a, b = (
        torch.randn(4096, generator=g, dtype=torch.float64) * 4,
        torch.randn(4096, generator=g, dtype=torch.float64) * 4,
    )
    exact = a - b * 0.999
    eager = a.bfloat16() - (b.bfloat16() * 0.999).bfloat16()  # rounds the product, then the difference
    fused = exact.bfloat16()  # one rounding
    elementwise = compare(fused, eager)
    assert not elementwise.ok and elementwise.values_only and elementwise.mismatched > 0
    judged = arbitrate(elementwise, fused, eager, exact)
    assert judged.ok and judged.judged_by == "fp64 reference"
    assert judged.fp64_rmse <= judged.eager_fp64_rmse and "rounding order" in judged.notes[0]

    wrong = fused.clone()
    wrong[:100] += 1.0  # a wrong kernel, not rounding
    bad = arbitrate(compare(wrong, eager), wrong, eager, exact)
    assert not bad.ok and "further from an fp64 run" in bad.reason
    shape = compare(torch.ones(3), torch.ones(4))
    assert not shape.values_only and arbitrate(shape, torch.ones(3), torch.ones(4), torch.ones(4)) is shape


def test_a_lowered_precision_is_judged_against_fp64_with_that_precisions_tolerance():
    """TF32 keeps float16's 10-bit mantissa: a K=4096 dot product rounded that way is far from eager's
    float32 elementwise, yet within float16's tolerance against fp64; a wrong result is not."""
    torch = pytest.importorskip("torch")
    from gpudiag.bakeoff.judge import numerics

    g = torch.Generator().manual_seed(0)
    a, b = (
        torch.randn(64, 4096, generator=g, dtype=torch.float64),
        torch.randn(4096, 64, generator=g, dtype=torch.float64),
    )
    exact = a @ b
    eager = a.float() @ b.float()
    tf32_like = (a.half().double() @ b.half().double()).float()  # inputs rounded to 10 mantissa bits
    n = numerics(tf32_like, eager, exact, lowered="float16")
    assert n.ok and n.judged_as == "float16" and n.tolerance == 1e-2
    assert n.rel_rmse > 100 * n.eager_rel_rmse and n.cost > 100  # the numerics cost is visible
    wrong = tf32_like.clone()
    wrong[:, :8] = 0
    assert not numerics(wrong, eager, exact, lowered="float16").ok
    assert numerics(eager, eager, exact, lowered=None).judged_as == "float32"


def test_fp64_reference_runs_the_workload_in_float64_on_pristine_copies_or_says_why():
    torch = pytest.importorskip("torch")
    from gpudiag.bakeoff.judge import fp64_reference
    from gpudiag.bakeoff.tensors import Inputs

    lin = torch.nn.Linear(4, 2).bfloat16()
    out = fp64_reference(torch, lin, Inputs(torch, (torch.ones(3, 4, dtype=torch.bfloat16),), {}, "cpu"))
    assert out.dtype == torch.float64 and lin.weight.dtype == torch.bfloat16  # a copy was widened

    def writes(x, idx):  # writes into both of its arguments, one of them not floating-point
        x.mul_(2)
        idx.add_(1)
        return x

    pristine = Inputs(torch, (torch.ones(3), torch.zeros(2, dtype=torch.int64)), {}, "cpu")
    fp64_reference(torch, writes, pristine)
    fp64_reference(torch, writes, pristine)
    assert pristine.args[0].tolist() == [1.0] * 3 and pristine.args[1].tolist() == [0, 0]  # never handed over

    def needs_half(x):
        if x.dtype != torch.float16:
            raise TypeError("this kernel only takes float16")
        return x

    reason = fp64_reference(torch, needs_half, Inputs(torch, (torch.ones(2, dtype=torch.float16),), {}, "cpu"))
    assert "only takes float16" in reason


def test_deprecations_are_kept_only_from_the_users_script(tmp_path):
    import warnings

    from gpudiag.bakeoff.observe import warning_lines

    script = tmp_path / "work.py"
    msgs = [
        warnings.WarningMessage(DeprecationWarning("old api"), DeprecationWarning, str(script), 3),
        warnings.WarningMessage(
            DeprecationWarning("torch.jit.script_method is deprecated"),
            DeprecationWarning,
            "/site-packages/torch/jit/_script.py",
            1,
        ),
        warnings.WarningMessage(UserWarning("TF32 not enabled"), UserWarning, "/site-packages/torch/x.py", 1),
        warnings.WarningMessage(UserWarning("TF32 not enabled"), UserWarning, "/site-packages/torch/x.py", 1),
    ]
    assert warning_lines(msgs, str(script)) == {"DeprecationWarning: old api": 1, "UserWarning: TF32 not enabled": 2}


def test_log_records_of_non_propagating_torch_loggers_are_collected():
    """torch's registered loggers (torch._dynamo, ...) do not propagate to "torch": a collector on the
    root alone never saw a recompile."""
    torch = pytest.importorskip("torch")
    import logging

    from gpudiag.bakeoff.observe import LogCollector, install_logging

    collector = LogCollector()
    install_logging(torch, collector)
    try:
        dynamo = logging.getLogger("torch._dynamo")
        assert dynamo.propagate is False
        dynamo.warning(
            "Recompiling function f in x.py:1\n    triggered by the following guard failure(s):\n"
            "    - 0/0: tensor 'x' size mismatch at index 0. expected 8, actual 9"
        )
        logging.getLogger("torch.fx.experimental.symbolic_shapes").info("create_symbol s0 = 9 for L['x'].size()[0]")
    finally:
        for lg in [logging.getLogger(n) for n in logging.root.manager.loggerDict]:
            if collector in lg.handlers:
                lg.removeHandler(collector)
        torch._logging.set_logs()
    assert collector.recompiles == 1 and collector.dynamic_symbols == 1
    assert collector.recompile_reasons == ["0/0: tensor 'x' size mismatch at index 0. expected 8, actual 9"]


def test_the_census_finds_dead_work_and_what_the_knobs_need():
    torch = pytest.importorskip("torch")
    from gpudiag.bakeoff.observe import census as take_census

    lin = torch.nn.Linear(64, 64)
    x = torch.randn(8, 64)

    def work():
        _junk = torch.zeros(1 << 22)  # 16 MiB nothing reads
        x.mul_(1.0)  # a write into an input outlives the call: live
        return torch.relu(lin(x)).sum(dim=1)

    with torch.no_grad():
        out, c = take_census(torch, work, "cpu")
    assert out.shape == (8,)
    assert c.fp32_matmuls == 1 and c.fp32_convs == 0 and c.parameter_bytes == (64 * 64 + 64) * 4
    assert c.dead_bytes == 4 << 22 and c.dead_ops == ["aten.zeros.default 16.0 MiB"]
    assert 0 < c.dead_ms <= c.op_ms


def test_cpu_timer_follows_do_bench_and_its_budgets():
    from gpudiag.bakeoff.timing import MIN_CPU_REPS, do_bench_cpu, stats

    calls = []
    times = do_bench_cpu(lambda: calls.append(1), warmup=5, rep=20)
    assert len(times) >= MIN_CPU_REPS and len(calls) > len(times)  # the estimate and warm-up ran first
    slow = do_bench_cpu(lambda: time.sleep(0.002), warmup=1, rep=1)
    assert len(slow) == MIN_CPU_REPS  # a call slower than the budget still gives quartiles
    s = stats([3.0, 1.0, 2.0, 4.0])
    assert s.median_ms == 2.5 and s.min_ms == 1.0 and s.q1_ms == 1.75 and s.q3_ms == 3.25


class HostClock:
    """timing.py's clock, advanced only by the host's work: 0.2 ms per call issued (no timed assertions)."""

    def __init__(self, per_call_s: float = 0.0002) -> None:
        self.now, self.per_call_s, self.calls = 0.0, per_call_s, 0

    def __call__(self) -> float:
        return self.now

    def call(self) -> None:
        self.calls += 1
        self.now += self.per_call_s


def test_loop_timer_counts_host_time_between_syncs(monkeypatch):
    """bench_loop times rounds of back-to-back calls ended by one sync: a host that needs 0.2 ms per
    call shows 0.2 ms per call however fast the (fake) device is."""
    from gpudiag.bakeoff import timing

    clock = HostClock()
    monkeypatch.setattr(timing, "perf_counter", clock)
    syncs = []
    times, per_round = timing.bench_loop(clock.call, lambda: syncs.append(1), budget_ms=30, round_ms=2)
    assert per_round == 10 and 15 <= len(times) <= 16  # 30 ms of 2 ms rounds
    assert len(syncs) == len(times) + 3  # one per round, the estimate's two, one before the rounds
    assert all(abs(t - 0.2) < 1e-9 for t in times)

    # With an estimate given no calls are spent on estimating; one far below the host's cost only
    # makes the rounds longer: the figure stays the host's.
    syncs.clear()
    clock.calls = 0
    times, per_round = timing.bench_loop(
        clock.call, lambda: syncs.append(1), budget_ms=10, round_ms=2, estimate_ms=0.05
    )
    assert per_round == 40 and len(syncs) == len(times) + 1 and clock.calls == 40 * len(times)
    assert all(abs(t - 0.2) < 1e-9 for t in times)


def test_time_cuda_flags_a_launch_bound_call_and_ranks_it_by_the_loop(monkeypatch):
    """time_cuda's wiring, with do_bench and the device faked: a call whose device time do_bench puts
    at 0.01 ms but whose host issue time is 0.2 ms is launch-bound and ranked by its loop time."""
    from gpudiag.bakeoff import timing

    clock = HostClock()
    monkeypatch.setattr(timing, "perf_counter", clock)
    monkeypatch.setattr(timing, "do_bench_cuda", lambda call, w, r: ([0.009, 0.010, 0.011], "fake do_bench"))
    t = timing.time_cuda(clock.call, lambda: None, warmup_ms=1, rep_ms=20)
    assert t.median_ms == 0.010 and t.timer == "fake do_bench" and t.loop_budget_ms == 10
    assert t.launch_bound is True and t.per_call_source == "loop"
    assert t.per_call_ms == t.loop_ms and abs(t.loop_ms - 0.2) < 1e-9
    assert t.per_call_q1_ms <= t.per_call_ms <= t.per_call_q3_ms


def test_crosscheck_times_the_same_callable_again_in_the_child(tmp_path, no_gpu):
    pytest.importorskip("torch")  # a real bake-off on the CPU: the worker imports torch
    script = tmp_path / "tiny.py"
    script.write_text(
        "import torch\ndef gpudiag_workloads():\n    return (lambda x: x * 2 + 1), (torch.randn(64, 64),)\n"
    )
    rep = run_bakeoff(Settings(script=str(script), modes=["eager"], device="cpu", quick=True, crosscheck=True))
    (r,) = [r for r in rep.run.rows if r.mode == "eager"]
    assert r.status == "ok" and r.timing.crosscheck_median_ms > 0 and r.timing.median_ms > 0
    assert r.census is not None and r.census.ops >= 2  # the eager row sees its ops


def test_settings_are_checked_before_anything_runs(script, no_gpu):
    from gpudiag.errors import GpudiagError

    with pytest.raises(GpudiagError, match="--timeout must be a finite number of seconds above 0, not nan"):
        Bakeoff(Settings(str(script), timeout_s=float("nan"), device="cpu"))
    with pytest.raises(GpudiagError, match="--modes is empty"):
        Bakeoff(Settings(str(script), modes=" , ", device="cpu"))
