"""``bakeoff --grad``: a module's forward and backward with its gradients checked, a function's own
backward run as written, and what inference-only settings and baselines make of it."""

from __future__ import annotations

import json

import pytest
from bakeoff_rows import child_in_process, make_run, row

torch = pytest.importorskip("torch")

from gpudiag.bakeoff import gate, knobs, report, training  # noqa: E402
from gpudiag.bakeoff.results import OpCensus  # noqa: E402
from gpudiag.errors import GpudiagError  # noqa: E402

MLP = """
    import torch

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.GELU(), torch.nn.Linear(16, 4))

        def forward(self, x):
            return self.net(x)

    def get_inputs():
        return [torch.randn(5, 8)]
"""

OWN_BACKWARD = """
    import torch

    model = torch.nn.Linear(8, 1)

    def step(x):
        loss = model(x).square().mean()
        loss.backward()
        return loss.detach()

    def gpudiag_workloads():
        return (step, (torch.randn(4, 8),))
"""


def test_a_step_returns_the_output_and_fresh_gradients_on_every_call():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    step = training.train_step(torch, model)
    x = torch.randn(4, 3)
    out, grads = step(x)
    assert torch.equal(out, model(x)) and set(grads) == {"weight", "bias"}
    # d(sum(xW^T + b))/db is the batch size for every output: cleared before each call, not accumulated
    assert torch.equal(grads["bias"], torch.full((2,), 4.0))
    _, again = step(x)
    assert torch.equal(again["bias"], torch.full((2,), 4.0))


def test_a_compiled_modules_gradients_keep_the_users_parameter_names():
    model = torch.nn.Linear(3, 2)
    _, grads = training.train_step(torch, torch.compile(model, backend="eager"))(torch.randn(2, 3))
    assert set(grads) == {"weight", "bias"}


def test_a_module_that_autograd_does_not_record_is_a_clear_error():
    with pytest.raises(RuntimeError, match="no floating output of the module is recorded by autograd"):
        training.train_step(torch, torch.nn.ReLU())(torch.randn(3))


def test_eager_under_grad_measures_a_kernelbench_module_and_a_functions_own_backward(tmp_path):
    with child_in_process(tmp_path) as run:
        module_row = run(MLP, mode="eager", grad=True)
        assert module_row.status == "ok" and module_row.timing is not None
        own = run(OWN_BACKWARD, mode="eager", grad=True)
        assert own.status == "ok"
        refused = run(OWN_BACKWARD, mode="eager")
    assert refused.status == "error"
    assert "does not require grad" in refused.reason and "unless given --grad" in refused.reason


@pytest.mark.slow
def test_a_compiled_backward_is_checked_against_eagers(tmp_path):
    with child_in_process(tmp_path) as run:
        r = run(MLP, mode="default", grad=True)
    assert r.status == "ok", r.reason
    # the output (5x4) and every parameter's gradient (16x8 + 16 + 4x16 + 4) were compared with eager's
    assert r.correctness is not None and r.correctness.ok and r.correctness.elements == 20 + 212
    assert r.observed.unique_graphs and r.observed.unique_graphs >= 1


def test_freezing_is_not_applicable_to_training():
    rows = [row("w", "eager", 1.0), row("w", "default", 0.5)]
    rows[0].census = OpCensus(
        ops=3, fp32_matmuls=0, fp32_convs=0, parameter_bytes=4096, written_bytes=0, dead_bytes=0, op_ms=0.1, dead_ms=0.0
    )
    (freezing,) = [d for d in knobs.decide("w", rows, True, [], "cuda", (9, 0), grad=True) if d.knob == "freezing"]
    assert not freezing.measured and "not applicable with --grad" in freezing.why and freezing.signal is None
    (inference,) = [d for d in knobs.decide("w", rows, True, [], "cuda", (9, 0)) if d.knob == "freezing"]
    assert inference.measured


def test_a_baseline_of_the_other_kind_of_run_is_refused(tmp_path):
    path = tmp_path / "base.json"

    path.write_text(json.dumps(report.build(make_run([row("w", "eager", 1.0)], ["w"])).to_dict()))
    base = gate.load_baseline(str(path))
    base.check_grad(False)
    with pytest.raises(GpudiagError, match=r"it measured inference \(no --grad\), this run measures training"):
        base.check_grad(True)
    now = make_run([row("w", "eager", 1.0)], ["w"], settings_fields={"grad": True})
    path.write_text(json.dumps(report.build(now).to_dict()))
    assert gate.load_baseline(str(path)).grad
