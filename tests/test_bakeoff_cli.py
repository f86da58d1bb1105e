"""`gpudiag bakeoff` end to end on the CPU: real child processes, tiny workloads, short budgets.

Only one test compiles (default mode, a few seconds); the failure paths run eager only.
"""

from __future__ import annotations

import json
import textwrap

import pytest

pytest.importorskip("torch")

TINY = """
    import torch

    def f(x, w):
        return torch.relu(x @ w) + 1.0

    def gpudiag_workloads():
        return (f, (torch.randn(8, 16), torch.randn(16, 16)))
"""


def write(tmp_path, body, name="work.py"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(body))
    return p


def bake(cli, *args):
    return cli("bakeoff", "--device", "cpu", "--quick", *map(str, args))  # later options win


@pytest.mark.slow
def test_cpu_bakeoff_compiles_and_reports(cli, tmp_path, no_gpu):
    p = write(tmp_path, TINY)
    out = tmp_path / "result.json"
    r = bake(cli, p, "--modes", "default,reduce-overhead", "--json", "--output", out)
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "gpudiag.bakeoff/1" and doc["complete"] is True
    assert json.loads(out.read_text()) == doc  # --output holds the same document
    rows = {x["mode"]: x for x in doc["rows"]}
    assert set(rows) == {"eager", "default", "reduce-overhead"}
    assert rows["reduce-overhead"]["status"] == "skipped" and "CUDA graphs need a CUDA device" in rows["reduce-overhead"]["reason"]
    for mode in ("eager", "default"):
        x = rows[mode]
        assert x["status"] == "ok", x
        t = x["timing"]
        assert 0 < t["min_ms"] <= t["q1_ms"] <= t["median_ms"] <= t["q3_ms"] and t["reps"] >= 5
        # On the CPU the wall clock per call is the ranking figure, spread included.
        assert (t["per_call_ms"], t["per_call_q1_ms"], t["per_call_q3_ms"]) == (t["median_ms"], t["q1_ms"], t["q3_ms"])
        assert t["per_call_source"] == "wall clock" and t["launch_bound"] is False
        assert x["correctness"]["ok"] and x["correctness"]["dtype"] == "float32"
        assert x["graph_breaks"] == 0
    assert rows["default"]["compile_s"] > 0 and rows["eager"]["compile_s"] is None
    # Each mode had its own process, and a cold inductor cache of its own.
    assert rows["eager"]["child"]["pid"] != rows["default"]["child"]["pid"]
    assert doc["summary"]["workloads"][0]["winner"] in ("eager", "default")
    assert doc["summary"]["workloads"][0]["within_noise"] in (True, False)  # quartiles were compared
    assert doc["summary"]["recommendation"]


def test_human_output_has_table_bars_and_recommendation(cli, tmp_path, no_gpu):
    p = write(tmp_path, TINY)
    r = bake(cli, p, "--modes", "eager")
    assert r.exit_code == 0, r.stderr
    assert "median ms" in r.stdout and "status" in r.stdout and "★ eager" in r.stdout and "█" in r.stdout and "recommendation" in r.stdout
    assert "eager: ok" in r.stderr  # the live progress line for the finished mode


def test_every_mode_failing_exits_1(cli, tmp_path, no_gpu):
    p = write(tmp_path, """
        import torch
        def f(x):
            raise RuntimeError("kernel exploded")
        def gpudiag_workloads():
            return (f, (torch.ones(2),))
    """)
    r = bake(cli, p, "--modes", "default", "--json")
    assert r.exit_code == 1
    rows = {x["mode"]: x for x in json.loads(r.stdout)["rows"]}
    assert rows["eager"]["status"] == "error" and "kernel exploded" in rows["eager"]["reason"]
    assert "work.py" in rows["eager"]["user_traceback"]
    assert rows["default"]["status"] == "not_run" and "eager failed" in rows["default"]["reason"]


def test_crash_and_timeout_become_rows(cli, tmp_path, no_gpu):
    p = write(tmp_path, """
        import os, time, torch
        def crash(x):
            os._exit(9)
        def hang(x):
            time.sleep(60)
        def fine(x):
            return x + 1
        def gpudiag_workloads():
            return {"crash": (crash, (torch.ones(2),)), "hang": (hang, (torch.ones(2),)), "fine": (fine, (torch.ones(2),))}
    """)
    r = bake(cli, p, "--modes", "eager", "--timeout", "4", "--json")
    assert r.exit_code == 0, r.stderr  # "fine" ran, so the bake-off ran
    rows = {x["workload"]: x for x in json.loads(r.stdout)["rows"]}
    assert rows["crash"]["status"] == "crashed" and "exited with code 9" in rows["crash"]["reason"]
    assert rows["hang"]["status"] == "timeout" and "4 s --timeout" in rows["hang"]["reason"]
    assert rows["fine"]["status"] == "ok"


@pytest.mark.parametrize("body, expected", [
    ("import sys\nsys.exit(2)\n", "called sys.exit(2)"),
    ("import nonexistent_module_xyz\n", "ModuleNotFoundError: No module named 'nonexistent_module_xyz'"),
    ("x = 1\n", "defines no workload"),
    ("def gpudiag_workloads():\n    return 'x'\n", "must be a (callable, args) pair"),
])
def test_bad_scripts_exit_2_with_one_clear_line(cli, tmp_path, no_gpu, body, expected):
    p = write(tmp_path, body)
    r = bake(cli, p)
    assert r.exit_code == 2
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("gpudiag: ") and expected in last
    assert "gpudiag/bakeoff" not in r.stderr  # no traceback from gpudiag itself


def test_import_error_shows_the_users_trimmed_traceback(cli, tmp_path, no_gpu):
    p = write(tmp_path, "def helper():\n    return 1 / 0\n\nhelper()\n")
    r = bake(cli, p)
    assert r.exit_code == 2
    assert "your frames only" in r.stderr and "work.py" in r.stderr and "ZeroDivisionError" in r.stderr
    assert "importlib" not in r.stderr


@pytest.mark.parametrize("args, expected", [
    (["missing.py"], "no such file"),
    (["{script}", "--modes", "turbo"], "unknown mode 'turbo'"),
    (["{script}", "--device", "tpu"], "--device must be cpu, cuda or auto"),
    (["{script}", "--inputs", "get_inputs"], "give --entry NAME too"),
    (["{script}", "--output", "{script}"], "is the script itself"),
    (["{script}", "--output", "{tmp}"], "is a folder"),
    (["{script}", "--timeout", "0"], "--timeout must be a positive"),
    (["{script}", "--spawn", "thread"], "--spawn must be one of"),
])
def test_bad_options_exit_2(cli, tmp_path, no_gpu, args, expected):
    p = write(tmp_path, TINY)
    before = p.read_text()
    argv = [a.format(script=p, tmp=tmp_path) if a != "missing.py" else str(tmp_path / a) for a in args]
    r = bake(cli, *argv)
    assert r.exit_code == 2 and expected in r.stderr
    assert p.read_text() == before  # nothing the user gave is overwritten


def test_cuda_requested_without_gpu_exits_2(cli, tmp_path, no_gpu):
    p = write(tmp_path, TINY)
    r = cli("bakeoff", str(p), "--device", "cuda")
    assert r.exit_code == 2 and "--device cuda: no usable GPU" in r.stderr


def test_fresh_spawn_and_entry_inputs(cli, tmp_path, no_gpu):
    p = write(tmp_path, """
        import torch
        def scale(x, factor=2.0):
            return x * factor
        def args():
            return {"x": torch.ones(3), "factor": 3.0}
    """)
    r = bake(cli, p, "--entry", "scale", "--inputs", "args", "--modes", "eager", "--spawn", "fresh", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["workloads"] == [{"name": "scale", "form": "entry", "args": ["x=float32[3]", "factor=float"],
                                 "input_bytes": 12}]
    assert doc["rows"][0]["status"] == "ok" and doc["rows"][0]["child"]["import_torch_s"] > 0.05
