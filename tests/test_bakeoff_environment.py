"""The environment is part of the measurement: recorded, refused when it disables compilation, and checked
in every compiled row's own process (what inductor will compile with, and whether dynamo compiled at all).

On the CPU machine, with TORCHDYNAMO_DISABLE=1 or TORCH_COMPILE_DISABLE=1, every "compiled" row was eager,
reported ok at "compile s 0.00", and the advice was "Use torch.compile()"; with TORCHINDUCTOR_MAX_AUTOTUNE=1
the row labelled default was max-autotune (40 s of compile against 14 s) and nothing said so.
"""

from __future__ import annotations

import json
import textwrap

import pytest
from bakeoff_rows import child_in_process

torch = pytest.importorskip("torch")

from gpudiag.bakeoff import environ, measure, observe  # noqa: E402

TINY = """
    import torch

    def gpudiag_workloads():
        return (lambda x: torch.relu(x) + 1.0, (torch.randn(64),))
"""


def write(tmp_path, body, name="work.py"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(body))
    return p


def bake(cli, *args, env=None):
    return cli("bakeoff", "--device", "cpu", "--quick", "--knobs", "none", *map(str, args), env=env)


def test_the_variables_that_change_behaviour_are_recorded():
    given = {
        "TORCHDYNAMO_DISABLE": "1",
        "TORCH_COMPILE_DEBUG": "1",
        "TORCHINDUCTOR_MAX_AUTOTUNE": "1",
        "TORCHINDUCTOR_CACHE_DIR": "/mine",
        "TRITON_CACHE_DIR": "/mine/triton",
        "TRITON_PRINT_AUTOTUNING": "1",
        "CUDA_LAUNCH_BLOCKING": "1",
        "CUDA_HOME": "/usr/local/cuda",
        "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
        "OMP_NUM_THREADS": "4",
        "HOME": "/root",
        "PATH": "/bin",
    }
    assert list(environ.recorded(given)) == [
        "CUDA_LAUNCH_BLOCKING",
        "OMP_NUM_THREADS",
        "PYTORCH_CUDA_ALLOC_CONF",
        "TORCHDYNAMO_DISABLE",
        "TORCHINDUCTOR_MAX_AUTOTUNE",
        "TORCH_COMPILE_DEBUG",
        "TRITON_PRINT_AUTOTUNING",
    ]  # the cache folders are each measurement's own, unless --warm-cache keeps the user's
    assert environ.recorded(given, warm_cache=True)["TORCHINDUCTOR_CACHE_DIR"] == "/mine"


@pytest.mark.parametrize("variable", ["TORCHDYNAMO_DISABLE", "TORCH_COMPILE_DISABLE"])
def test_compiled_modes_with_compilation_disabled_are_refused_before_anything_runs(
    cli, tmp_path, no_gpu, monkeypatch, variable
):
    monkeypatch.setenv(variable, "1")
    p = write(tmp_path, TINY)
    r = bake(cli, p, "--modes", "default,max-autotune-no-cudagraphs", "--json")
    assert r.exit_code == 2
    (line,) = r.stderr.strip().splitlines()
    assert line == (
        f"gpudiag: {variable}=1 is set: torch.compile returns your code unchanged, so default, "
        "max-autotune-no-cudagraphs would each be eager under another name; unset it, or give --modes eager"
    )
    assert "Use torch.compile" not in r.stdout
    monkeypatch.setenv(variable, "0")  # torch's own test: exactly "1"
    assert environ.compile_disabled({variable: "0"}) is None


def test_eager_alone_runs_with_compilation_disabled_and_the_variable_is_in_the_report(
    cli, tmp_path, no_gpu, monkeypatch
):
    monkeypatch.setenv("TORCH_COMPILE_DISABLE", "1")
    p = write(tmp_path, TINY)
    r = bake(cli, p, "--modes", "eager", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["environment_variables"]["TORCH_COMPILE_DISABLE"] == "1"
    assert [x["status"] for x in doc["rows"]] == ["ok"]
    assert (
        "torch.compile" in doc["summary"]["recommendation"]
        and "Use torch.compile" not in doc["summary"]["recommendation"]
    )
    human = bake(cli, p, "--modes", "eager", env={"COLUMNS": "200"})
    assert "environment: TORCH_COMPILE_DISABLE=1" in human.stdout


MAX_AUTOTUNE_BY_SCRIPT = """
    import torch
    import torch._inductor.config

    torch._inductor.config.max_autotune = True  # a leftover from the user's own experiments

    def gpudiag_workloads():
        return (lambda x: torch.relu(x) + 1.0, (torch.randn(64),))
"""


@pytest.mark.parametrize("how", ["environment", "script"])
def test_a_mode_something_else_changed_is_not_measured_nor_recommended(cli, tmp_path, no_gpu, monkeypatch, how):
    """TORCHINDUCTOR_MAX_AUTOTUNE=1 under default (the issue), and the same setting made by the script
    itself at import (found in the same spirit): default would be measured as max-autotune. The row is
    not measured (no 40 s compile), says why, and nothing is recommended from it."""
    if how == "environment":
        monkeypatch.setenv("TORCHINDUCTOR_MAX_AUTOTUNE", "1")
        p, cause = write(tmp_path, TINY), "TORCHINDUCTOR_MAX_AUTOTUNE=1 turns max_autotune on"
    else:
        p, cause = (
            write(tmp_path, MAX_AUTOTUNE_BY_SCRIPT),
            "torch._inductor.config.max_autotune is True (set by the script or its imports)",
        )
    r = bake(cli, p, "--modes", "default", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    rows = {x["label"]: x for x in doc["rows"]}
    default = rows["default"]
    assert default["status"] == "overridden" and default["timing"] is None and default["compile_s"] is None
    assert default["reason"] == (
        f"not a measurement of default: {cause}; unset it to measure default as torch.compile(mode=...) gives it"
    )
    check = default["compile_check"]
    assert check["inductor"]["max_autotune"] is True and check["expected"]["max_autotune"] is False
    summary = doc["summary"]
    assert summary["workloads"][0]["winner"] == "eager" and summary["not_the_mode"] == [
        f"default on work: {default['reason']}"
    ]
    assert "Use torch.compile" not in summary["recommendation"]
    assert "Not measurements of their modes, so nothing above is drawn from them" in summary["recommendation"]
    if how == "environment":
        assert doc["environment_variables"] == {"TORCHINDUCTOR_MAX_AUTOTUNE": "1"}


def test_what_a_mode_compiles_with_is_checked_against_what_it_asks(monkeypatch):
    import torch._dynamo.config as dynamo_config
    import torch._inductor.config as inductor_config

    clean = environ.check_compile(torch, "max-autotune-no-cudagraphs", (), "cuda", {})
    assert clean.overrides == [] and clean.inductor["max_autotune"] and clean.inductor["coordinate_descent_tuning"]
    monkeypatch.setattr(inductor_config, "max_autotune", True)
    env = {"TORCHINDUCTOR_MAX_AUTOTUNE": "1"}
    # the autotune modes ask for it themselves; default and reduce-overhead do not
    assert environ.check_compile(torch, "max-autotune", (), "cuda", env).overrides == []
    assert environ.check_compile(torch, "reduce-overhead", (), "cuda", env).overrides == [
        "TORCHINDUCTOR_MAX_AUTOTUNE=1 turns max_autotune on"
    ]
    monkeypatch.setattr(inductor_config, "max_autotune", False)
    monkeypatch.setattr(inductor_config.triton, "cudagraphs", True)
    # CUDA graphs turn default into reduce-overhead on a GPU; inductor ignores them for CPU graphs
    assert environ.check_compile(torch, "default", (), "cuda", {}).overrides == [
        "torch._inductor.config.triton.cudagraphs is True (set by the script or its imports)"
    ]
    assert environ.check_compile(torch, "default", (), "cpu", {}).overrides == []
    monkeypatch.setattr(inductor_config.triton, "cudagraphs", False)
    monkeypatch.setattr(inductor_config, "freezing", True)
    assert environ.check_compile(torch, "default", ("freezing",), "cpu", {}).overrides == []  # the knob asks for it
    monkeypatch.setattr(dynamo_config, "disable", True)
    off = environ.check_compile(torch, "default", ("freezing",), "cpu", {})
    assert off.dynamo_disabled and "torch._dynamo.config.disable is set" in off.overrides[0]
    assert environ.override_reason("default", off).startswith("not compiled: torch._dynamo.config.disable is set")


@pytest.fixture
def in_process(tmp_path):
    with child_in_process(tmp_path) as run:
        yield run


def test_a_compiled_row_for_which_dynamo_captured_no_graph_is_not_compiled(in_process, monkeypatch):
    """What happened, not only what was asked: dynamo compiling nothing (here: it is told to skip the
    function) leaves an eager row under the mode's name, ok at 'compile s 0.00' before."""
    monkeypatch.setattr(measure, "compile_mode", lambda torch, fn, mode, kw: torch._dynamo.disable(fn))
    row = in_process(TINY)
    assert row.status == "not_compiled" and row.timing is not None and not row.timed
    assert row.reason.startswith("torch.compile captured no graph (dynamo compiled nothing")
    assert observe.graphs_captured(torch) == 0
