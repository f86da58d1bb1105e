"""Correctness that catches mutation: every compared call on fresh inputs, eager against itself, a row
against itself, what a call writes into its inputs compared too, and the fp64 run on pristine inputs.

For ``forward(x): x.mul_(2); return x`` every row, eager included, was 20.5 off and still ``ok``, "rounding
order, not a wrong kernel": every call after the first got the previous call's output as its input, and
the fp64 arbiter got it too. A genuinely wrong compiled kernel passed the same way.
"""

from __future__ import annotations

import json
import textwrap

import pytest
from bakeoff_rows import child_in_process

torch = pytest.importorskip("torch")

from gpudiag.bakeoff import measure  # noqa: E402

DOUBLES_ITS_INPUT = """
    import torch

    class Model(torch.nn.Module):
        def forward(self, x):
            x.mul_(2)
            return x

    def get_inputs():
        return [torch.randn(64) * 10]
"""


def write(tmp_path, body, name="work.py"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(body))
    return p


def test_a_workload_that_writes_into_its_input_is_compared_on_fresh_copies(cli, tmp_path, no_gpu):
    p = write(tmp_path, DOUBLES_ITS_INPUT)
    r = cli("bakeoff", str(p), "--device", "cpu", "--quick", "--modes", "eager", "--knobs", "none", "--json")
    assert r.exit_code == 0, r.stderr
    (row,) = json.loads(r.stdout)["rows"]
    assert row["status"] == "ok" and row["nondeterminism"] is None
    assert row["correctness"]["max_abs_error"] == 0.0 and row["correctness"]["judged_by"] == "elementwise"
    assert not any("rounding order" in n for n in row["correctness"]["notes"])
    assert row["mutated_inputs"] == ["args[0] float32[64]"]
    human = cli("bakeoff", str(p), "--device", "cpu", "--quick", "--modes", "eager", "--knobs", "none")
    assert "work writes into its inputs (args[0] float32[64]): every compared call got a fresh copy" in " ".join(
        human.stdout.split()
    )


@pytest.fixture
def in_process(tmp_path, monkeypatch):
    """A child's measurement in this process, ``torch.compile`` with dynamo's eager backend: dynamo traces,
    nothing is generated (seconds, not a CPU compile)."""
    monkeypatch.setattr(measure, "compile_mode", lambda torch, fn, mode, kw: torch.compile(fn, backend="eager"))
    with child_in_process(tmp_path) as run:
        yield run


def test_a_mutating_workload_compiled_right_is_ok_with_no_error(in_process):
    row = in_process(DOUBLES_ITS_INPUT)
    assert row.status == "ok", row.reason
    assert row.correctness.max_abs_error == 0.0 and not row.correctness.notes
    assert row.mutated_inputs == ["args[0] float32[64]"]


WRONG_WHEN_COMPILED = """
    import torch

    def doubles(x):
        x.mul_(2)
        return x + (1.0 if torch.compiler.is_compiling() else 0.0)  # a wrong kernel, only when compiled

    def writes_wrong(x):
        x.mul_(3.0 if torch.compiler.is_compiling() else 2.0)  # its output is right; what it writes is not
        return x.sum() * 0

    def gpudiag_workloads():
        return {"doubles": (doubles, (torch.randn(64),)), "writes_wrong": (writes_wrong, (torch.randn(64),))}
"""


def test_a_wrong_compiled_kernel_on_a_mutating_workload_is_a_mismatch(in_process, tmp_path):
    row = in_process(WRONG_WHEN_COMPILED)
    assert row.workload == "doubles" and row.status == "mismatch"
    assert row.reason.startswith("output differs from eager: output: 64 of 64 elements off")
    assert not any("rounding order" in n for n in row.correctness.notes)


def test_a_compiled_call_that_writes_wrong_values_into_its_input_is_a_mismatch(in_process, tmp_path):
    body = WRONG_WHEN_COMPILED.replace('"doubles": (doubles, (torch.randn(64),)), ', "")
    row = in_process(body)
    assert row.workload == "writes_wrong" and row.status == "mismatch"
    assert "args[0], written in place by the call,: 64 of 64 elements off" in row.reason


DRIFTS_WHEN_COMPILED = """
    import torch

    state = torch.zeros(8)

    def f(x):
        if torch.compiler.is_compiling():
            state.add_(1.0)  # a compiled row that keeps state between calls; eager does not
        return x + state

    def gpudiag_workloads():
        return (f, (torch.ones(8),))
"""


def test_a_row_whose_output_drifts_from_call_to_call_is_flagged_never_rounding(in_process):
    row = in_process(DRIFTS_WHEN_COMPILED)
    assert row.status == "mismatch" and row.numerics is None
    assert row.reason.startswith(
        "its output changes from one call to the next on fresh copies of the same inputs, so it changes state "
        "between calls (its inputs, tensors it closes over, its own buffers)"
    )
    assert "rounding" not in row.reason


def test_eager_drifting_on_fresh_inputs_makes_every_row_unchecked(in_process):
    body = DRIFTS_WHEN_COMPILED.replace("if torch.compiler.is_compiling():", "if True:")
    row = in_process(body, mode="eager")
    assert row.status == "unchecked" and row.correctness is None
    assert row.reason.startswith("nondeterministic output: correctness not checked (eager's two calls on fresh copies")
