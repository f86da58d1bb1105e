"""Report logic on hand-built rows: winners, geometric means, margins, and the recommendation's claims."""

from __future__ import annotations

import math

from gpudiag.bakeoff import report
from gpudiag.bakeoff.harness import BakeoffRun, ModeResult


def row(wl, mode, median, status="ok", spread=0.01, compile_s=1.0, big=True, cg_skips=0):
    timing = {} if median is None else {"median_ms": median, "q1_ms": median * (1 - spread),
                                        "q3_ms": median * (1 + spread), "min_ms": median * 0.9}
    return ModeResult(wl, mode, status, None if status == "ok" else "why", compile_s=None if mode == "eager" else compile_s,
                      timing=timing, environment={"is_big_gpu": big},
                      cudagraph_skips=cg_skips)


def make_run(rows, workloads, device=None):
    return BakeoffRun(settings={}, device=device or {"kind": "cuda", "sm_count": 132, "is_big_gpu_min_sms": 68},
                      versions={}, started_at="", workloads=[{"name": w} for w in workloads], rows=rows)


def test_single_workload_winner_speedup_margin():
    run = make_run([row("w", "eager", 2.0), row("w", "default", 1.0), row("w", "max-autotune-no-cudagraphs", 0.8)], ["w"])
    s = report.summarize(run)
    ws = s.workloads[0]
    assert ws.winner == "max-autotune-no-cudagraphs" and ws.runner_up == "default"
    assert math.isclose(ws.margin, 0.25) and ws.within_noise is False
    assert math.isclose(ws.speedup_vs_eager["max-autotune-no-cudagraphs"], 2.5)
    assert "max-autotune-no-cudagraphs was fastest" in s.recommendation and "2.50x eager" in s.recommendation
    assert "GEMM templates were disabled" not in s.recommendation


def test_mismatch_is_excluded_and_flagged():
    run = make_run([row("w", "eager", 2.0), row("w", "default", 1.0),
                    row("w", "max-autotune", 0.1, status="mismatch")], ["w"])
    s = report.summarize(run)
    assert s.workloads[0].winner == "default"
    assert "WARNING: results differ from eager" in s.recommendation and "max-autotune on w" in s.recommendation


def test_multi_workload_wins_geomean_and_average_margin():
    rows = [row("a", "eager", 4.0), row("a", "default", 2.0), row("a", "max-autotune", 1.0),
            row("b", "eager", 1.0), row("b", "default", 0.5), row("b", "max-autotune", 0.6)]
    s = report.summarize(make_run(rows, ["a", "b"]))
    assert s.wins == {"eager": 0, "default": 1, "max-autotune": 1}
    assert math.isclose(s.geomean_speedup["max-autotune"], math.sqrt(4.0 * (1.0 / 0.6)))
    assert math.isclose(s.geomean_speedup["default"], 2.0)
    assert math.isclose(s.average_win_margin, (1.0 + 0.2) / 2)
    assert "won 1 of 2 workloads" in s.recommendation


def test_cudagraphs_hurt_and_gemm_templates_disabled():
    rows = [row("w", "eager", 1.0, big=False), row("w", "default", 0.5, big=False),
            row("w", "reduce-overhead", 0.9, big=False), row("w", "max-autotune", 0.8, big=False),
            row("w", "max-autotune-no-cudagraphs", 0.45, big=False)]
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
    s = report.summarize(make_run([row("w", "eager", None, status="crashed"), row("w", "default", None, status="timeout")], ["w"]))
    assert s.any_ok is False and s.workloads[0].winner is None
    assert "nothing to recommend" in s.recommendation and len(s.failures) == 2


def test_gemm_gate_unknown_on_cpu():
    s = report.summarize(make_run([row("w", "eager", 1.0), row("w", "max-autotune-no-cudagraphs", 0.5)], ["w"],
                                  {"kind": "cpu"}))
    assert s.gemm_templates_disabled is None


def looped(wl, mode, device_ms, loop_ms, spread=0.01):
    """A CUDA row as child.time_cuda leaves it: do_bench's median plus the back-to-back loop."""
    from gpudiag.bakeoff.child import with_per_call

    timing = with_per_call({"median_ms": device_ms, "q1_ms": device_ms * (1 - spread), "q3_ms": device_ms * (1 + spread),
                            "loop_ms": loop_ms, "loop_q1_ms": loop_ms * (1 - spread), "loop_q3_ms": loop_ms * (1 + spread)})
    return ModeResult(wl, mode, "ok", compile_s=None if mode == "eager" else 2.0, timing=timing,
                      environment={"is_big_gpu": True})


def test_launch_bound_mode_is_ranked_by_its_loop_time():
    # The H100 small-MLP shape: default's do_bench median looks faster than eager, but its calls take
    # twice as long back to back because the host cannot issue them faster.
    run = make_run([looped("w", "eager", 0.075, 0.070), looped("w", "default", 0.065, 0.150)], ["w"])
    s = report.summarize(run)
    ws = s.workloads[0]
    assert ws.winner == "eager" and ws.launch_bound == ["default"]
    assert math.isclose(ws.winner_ms, 0.075)  # eager: do_bench's cold-L2 median is the slower of its two
    assert math.isclose(ws.speedup_vs_eager["default"], 0.075 / 0.150)
    assert "Launch-bound: default on w" in s.recommendation


def test_loop_faster_than_device_time_keeps_do_bench():
    r = looped("w", "default", 0.5, 0.45)  # warm L2 in the loop: not launch-bound
    assert r.per_call_ms == 0.5 and r.timing["per_call_source"] == "do_bench" and not r.launch_bound
    r = looped("w", "default", 0.5, 0.55)  # slower back to back, but within LAUNCH_BOUND_RATIO
    assert r.per_call_ms == 0.5 and r.timing["per_call_source"] == "do_bench" and not r.launch_bound
    r = looped("w", "default", 0.5, 0.6)
    assert r.per_call_ms == 0.6 and r.timing["per_call_source"] == "loop" and r.launch_bound


def test_cudagraphs_hurt_names_the_input_copy_only_when_gpu_bound_and_large():
    def hurt_for(input_bytes, launch_bound=False):
        rows = [row("w", "eager", 1.0), row("w", "default", 0.17), row("w", "reduce-overhead", 0.30)]
        rows[2].timing["launch_bound"] = launch_bound
        run = BakeoffRun(settings={}, device={"kind": "cuda"}, versions={}, started_at="",
                         workloads=[{"name": "w", "input_bytes": input_bytes}], rows=rows)
        return report.summarize(run)

    big = hurt_for(2048 * 32000 * 2)  # the bf16[2048, 32000] logits of bench/workloads/softmax_vocab.py
    assert big.cudagraphs_hurt == ["reduce-overhead was 76% slower than default on w (GPU-bound, and every "
                                   "replay first copies the call's 125 MiB of input tensors into the graph's own buffers)"]
    assert "unless it is a parameter, a buffer or the output of an earlier CUDA graph" in big.recommendation
    for s in (hurt_for(8 * 32000 * 2), hurt_for(2048 * 32000 * 2, launch_bound=True), hurt_for(None)):
        assert s.cudagraphs_hurt == ["reduce-overhead was 76% slower than default on w"]
        assert "output of an earlier CUDA graph" not in s.recommendation
