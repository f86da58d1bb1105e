"""Report logic on hand-built rows: winners, geometric means, margins, knobs, flags, and the recommendation."""

from __future__ import annotations

import math

from bakeoff_rows import census, make_run, numerics, observed, row, timing

from gpudiag.bakeoff import recommend, report
from gpudiag.bakeoff.results import Timing, WorkloadInfo
from gpudiag.bakeoff.timing import with_per_call


def test_single_workload_winner_speedup_margin():
    run = make_run(
        [row("w", "eager", 2.0), row("w", "default", 1.0), row("w", "max-autotune-no-cudagraphs", 0.8)], ["w"]
    )
    s = report.summarize(run)
    ws = s.workloads[0]
    assert ws.winner == "max-autotune-no-cudagraphs" and ws.runner_up == "default"
    assert math.isclose(ws.margin, 0.25) and ws.within_noise is False
    assert math.isclose(ws.speedup_vs_eager["max-autotune-no-cudagraphs"], 2.5)
    assert "max-autotune-no-cudagraphs was fastest" in s.recommendation and "2.50x eager" in s.recommendation
    assert 'torch.compile(mode="max-autotune-no-cudagraphs")' in s.recommendation
    assert "GEMM templates were disabled" not in s.recommendation


def test_mismatch_is_excluded_and_flagged():
    run = make_run(
        [row("w", "eager", 2.0), row("w", "default", 1.0), row("w", "max-autotune", 0.1, status="mismatch")], ["w"]
    )
    s = report.summarize(run)
    assert s.workloads[0].winner == "default"
    assert "WARNING: results differ" in s.recommendation and "max-autotune on w" in s.recommendation


def test_multi_workload_wins_geomean_and_average_margin():
    rows = [
        row("a", "eager", 4.0),
        row("a", "default", 2.0),
        row("a", "max-autotune", 1.0),
        row("b", "eager", 1.0),
        row("b", "default", 0.5),
        row("b", "max-autotune", 0.6),
    ]
    s = report.summarize(make_run(rows, ["a", "b"]))
    assert s.wins == {"eager": 0, "default": 1, "max-autotune": 1}
    assert math.isclose(s.geomean_speedup["max-autotune"], math.sqrt(4.0 * (1.0 / 0.6)))
    assert math.isclose(s.geomean_speedup["default"], 2.0)
    assert math.isclose(s.average_win_margin, (1.0 + 0.2) / 2)
    assert "won 1 of 2 workloads" in s.recommendation


def test_cudagraphs_hurt_and_gemm_templates_disabled():
    rows = [
        row("w", "eager", 1.0, big=False),
        row("w", "default", 0.5, big=False),
        row("w", "reduce-overhead", 0.9, big=False),
        row("w", "max-autotune", 0.8, big=False),
        row("w", "max-autotune-no-cudagraphs", 0.45, big=False),
    ]
    run = make_run(rows, ["w"], {"kind": "cuda", "sm_count": 46, "is_big_gpu_min_sms": 68})
    s = report.summarize(run)
    assert s.gemm_templates_disabled is True
    assert "max-autotune's GEMM templates were disabled on this GPU (46 SMs, below the 68" in s.recommendation
    assert any("reduce-overhead was 80% slower than default" in h for h in s.cudagraphs_hurt)
    assert any("max-autotune was 78% slower than max-autotune-no-cudagraphs" in h for h in s.cudagraphs_hurt)
    assert "CUDA graphs hurt here" in s.recommendation


def test_cudagraphs_within_noise_do_not_count_as_hurting():
    rows = [row("w", "eager", 1.0), row("w", "default", 0.5, spread=0.2), row("w", "reduce-overhead", 0.53, spread=0.2)]
    assert report.summarize(make_run(rows, ["w"])).cudagraphs_hurt == []


def test_eager_winning_and_ties_say_keep_eager():
    s = report.summarize(make_run([row("w", "eager", 1.0), row("w", "default", 1.5)], ["w"]))
    assert "keep eager" in s.recommendation and "did not pay off" in s.recommendation
    tie = report.summarize(make_run([row("w", "eager", 1.0, spread=0.1), row("w", "default", 0.99, spread=0.1)], ["w"]))
    assert tie.workloads[0].within_noise and "keep eager" in tie.recommendation


def test_everything_failed():
    s = report.summarize(
        make_run([row("w", "eager", None, status="crashed"), row("w", "default", None, status="timeout")], ["w"])
    )
    assert s.any_ok is False and s.workloads[0].winner is None
    assert "nothing to recommend" in s.recommendation and len(s.failures) == 2


def test_gemm_gate_unknown_on_cpu():
    s = report.summarize(
        make_run([row("w", "eager", 1.0), row("w", "max-autotune-no-cudagraphs", 0.5)], ["w"], {"kind": "cpu"})
    )
    assert s.gemm_templates_disabled is None


def test_launch_bound_mode_is_ranked_by_its_loop_time():
    # The H100 small-MLP shape: default's do_bench median looks faster than eager, but its calls take
    # twice as long back to back because the host cannot issue them faster.
    run = make_run([row("w", "eager", 0.075, loop=0.070), row("w", "default", 0.065, loop=0.150)], ["w"])
    s = report.summarize(run)
    ws = s.workloads[0]
    assert ws.winner == "eager" and ws.launch_bound == ["default"]
    assert math.isclose(ws.winner_ms, 0.075)  # eager: do_bench's cold-L2 median is the slower of its two
    assert math.isclose(ws.speedup_vs_eager["default"], 0.075 / 0.150)
    assert "Launch-bound: default on w" in s.recommendation


def test_unsteady_device_time_is_launch_bound_even_when_the_loop_is_faster():
    """The decode-size MLP's default mode on the H200 host (2026-12-02): do_bench put it at 0.1064 ms
    with quartiles 0.0624-0.1268 while its calls took 0.0884 ms back to back; host gaps inside the
    device events, which the loop ratio alone misses."""
    t = Timing(
        timer="do_bench",
        warmup_ms=25.0,
        rep_ms=100.0,
        median_ms=0.1064,
        min_ms=0.0487,
        q1_ms=0.0624,
        q3_ms=0.1268,
        max_ms=0.3,
        mean_ms=0.11,
        reps=200,
        per_call_ms=0.1064,
        per_call_q1_ms=0.0624,
        per_call_q3_ms=0.1268,
        per_call_source="do_bench",
        loop_ms=0.0884,
        loop_q1_ms=0.0853,
        loop_q3_ms=0.0913,
    )
    with_per_call(t)
    assert t.launch_bound and t.per_call_source == "loop" and t.per_call_ms == 0.0884
    steady = timing(1.2028, spread=0.025, loop=1.261)  # softmax over 128k on the H200: 4.3% apart, 1.05x
    assert not steady.launch_bound and steady.per_call_source == "do_bench"


def test_loop_faster_than_device_time_keeps_do_bench():
    t = timing(0.5, loop=0.45)  # warm L2 in the loop: not launch-bound
    assert t.per_call_ms == 0.5 and t.per_call_source == "do_bench" and not t.launch_bound
    t = timing(0.5, loop=0.55)  # slower back to back, but within LAUNCH_BOUND_RATIO
    assert t.per_call_ms == 0.5 and not t.launch_bound
    t = timing(0.5, loop=0.6)
    assert t.per_call_ms == 0.6 and t.per_call_source == "loop" and t.launch_bound


def test_cudagraphs_hurt_names_the_input_copy_only_when_gpu_bound_and_large():
    def hurt_for(input_bytes, launch_bound=False):
        rows = [row("w", "eager", 1.0), row("w", "default", 0.17), row("w", "reduce-overhead", 0.30)]
        rows[2].timing.launch_bound = launch_bound
        run = make_run(rows, [], {"kind": "cuda"})
        run.workloads = [WorkloadInfo("w", "entry", [], input_bytes or 0)]
        return report.summarize(run)

    big = hurt_for(2048 * 32000 * 2)  # the bf16[2048, 32000] logits of bench/workloads/softmax_vocab.py
    assert big.cudagraphs_hurt == [
        "reduce-overhead was 76% slower than default on w (GPU-bound, and every "
        "replay first copies the call's 125 MiB of input tensors into the graph's own buffers)"
    ]
    assert "unless it is a parameter, a buffer or the output of an earlier CUDA graph" in big.recommendation
    for s in (hurt_for(8 * 32000 * 2), hurt_for(2048 * 32000 * 2, launch_bound=True), hurt_for(None)):
        assert s.cudagraphs_hurt == ["reduce-overhead was 76% slower than default on w"]
        assert "output of an earlier CUDA graph" not in s.recommendation


def test_the_recommendation_names_the_mode_and_the_settings():
    """The issue's fp32 GEMM: default ties eager, TF32 on default is 6.6x faster at a numerics cost."""
    rows = [
        row("w", "eager", 2.72),
        row("w", "default", 2.70),
        row("w", "default", 0.41, knobs=("tf32",), numerics=numerics(5.1e-4, 3.6e-7)),
        row(
            "w",
            "default",
            2.69,
            spread=0.02,
            knobs=("freezing",),
            numerics=numerics(3.6e-7, 3.6e-7, judged_as="float32"),
        ),
    ]
    s = report.summarize(make_run(rows, ["w"]))
    ws = s.workloads[0]
    assert ws.winner == "default +tf32" and math.isclose(ws.speedup_vs_eager["default +tf32"], 2.72 / 0.41)
    assert "Use torch.compile(); torch.set_float32_matmul_precision('high')" in s.recommendation
    tf32, freezing = ws.knob_effects
    assert tf32.label == "default +tf32" and tf32.base == "default" and tf32.beyond_spread
    assert math.isclose(tf32.speedup, 2.70 / 0.41) and math.isclose(tf32.error_cost, 5.1e-4 / 3.6e-7)
    assert (
        "default +tf32: 6.59x default; its error against an fp64 run is 0.00051, 1,417x eager's "
        "(within the tolerance of float16, the precision it computes in)" in s.recommendation
    )
    assert freezing.beyond_spread is False and "default +freezing: within the spread of default" in s.recommendation


def test_how_to_use_spells_out_each_knob():
    assert recommend.how_to_use("max-autotune +coordinate_descent_tuning +static") == (
        'torch.compile(mode="max-autotune", dynamic=False); torch._inductor.config.coordinate_descent_tuning = True'
    )
    assert recommend.how_to_use("eager +tf32").startswith(
        "eager (no torch.compile), with torch.set_float32_matmul_precision('high')"
    )


def test_a_time_below_the_launch_floor_is_flagged_with_why():
    gone = row("w", "default", 0.0009)
    gone.timing.floor_ms, gone.timing.empty_ms = 0.0040, 0.0008  # one tiny kernel vs nothing at all
    real = row("w", "max-autotune-no-cudagraphs", 0.0041)
    real.timing.floor_ms, real.timing.empty_ms = 0.0040, 0.0008
    s = report.summarize(make_run([row("w", "eager", 1.0), gone, real], ["w"]))
    flags = s.workloads[0].implausible
    assert list(flags) == ["default"]
    assert (
        "below the launch floor" in flags["default"][0] and "0.004 ms for one 1-element kernel" in flags["default"][0]
    )
    assert "Check default on w: " in s.recommendation


def test_a_speedup_that_eager_dead_work_explains_is_flagged():
    """The issue's 3 GiB allocation nothing read: eager spends most of its time on dead work."""
    eager = row(
        "w",
        "eager",
        120.0,
        census=census(op_ms=120.0, dead_ms=119.9, dead_bytes=3 * 2**30, dead_ops=["aten.zeros.default 3.0 GiB"]),
    )
    s = report.summarize(make_run([eager, row("w", "default", 0.003)], ["w"]))
    (why,) = s.workloads[0].implausible["default"]
    assert why.startswith(
        "4e+04x eager is not a kernel speed-up: 100% of eager's op time goes to work whose result "
        "is never used (aten.zeros.default 3.0 GiB)"
    )
    healthy = row("w", "eager", 1.0, census=census(op_ms=1.0, dead_ms=0.1))
    assert report.summarize(make_run([healthy, row("w", "default", 0.1)], ["w"])).workloads[0].implausible == {}


def test_nondeterministic_rows_are_unchecked_not_ok_and_said_so():
    from gpudiag.bakeoff.compare import Comparison

    differs = Comparison(ok=False, reason="output: 2046 of 2048 elements off")
    rows = [
        row("w", "eager", 1.0, status="unchecked", nondeterminism=differs),
        row("w", "default", 0.5, status="unchecked", nondeterminism=differs),
    ]
    s = report.summarize(make_run(rows, ["w"]))
    assert s.any_ok and s.workloads[0].nondeterministic and s.workloads[0].winner == "default"
    assert "no row's correctness could be checked" in s.recommendation and "'unchecked', not 'ok'" in s.recommendation


def test_exit_codes_follow_signals_failures_and_gates():
    ok = make_run([row("w", "eager", 1.0)], ["w"])
    assert report.build(ok).exit_code == 0
    assert report.build(make_run([row("w", "eager", None, status="crashed")], ["w"])).exit_code == 1
    for name, code in (("SIGTERM", 143), ("SIGHUP", 129), ("SIGINT", 130)):
        stopped = make_run([row("w", "eager", 1.0)], ["w"], interrupted=True, interrupted_by=name)
        assert report.build(stopped).exit_code == code


def test_report_owns_its_json():
    rep = report.build(make_run([row("w", "eager", 1.0, observed=observed(recompiles=2))], ["w"]))
    doc = rep.to_dict()
    assert doc["schema"] == "gpudiag.bakeoff/3" and doc["gates"] is None
    assert doc["rows"][0]["label"] == "eager" and doc["rows"][0]["observed"]["recompiles"] == 2
    assert doc["summary"]["workloads"][0]["winner"] == "eager"
