"""`gpudiag bakeoff` end to end on the CPU: real child processes, tiny workloads, short budgets.

The tests that compile are marked slow; the rest run eager only, or fake the children.
"""

from __future__ import annotations

import json
import os
import stat
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


def bake(cli, *args, env=None):
    return cli("bakeoff", "--device", "cpu", "--quick", *map(str, args), env=env)  # later options win


@pytest.mark.slow
def test_cpu_bakeoff_compiles_with_fresh_state_and_leaves_nothing_behind(cli, tmp_path, no_gpu, monkeypatch):
    """Each mode gets inductor's on-disk state fresh: the precompiled C++ headers (outside
    TORCHINDUCTOR_CACHE_DIR, under $TMPDIR/torchinductor_<user>) were shared by every mode before, so a
    later mode compiled in less than half the time of the first."""
    import tempfile

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    p = write(tmp_path, TINY)
    out = tmp_path / "result.json"
    r = bake(cli, p, "--modes", "default,reduce-overhead", "--knobs", "none", "--json", "--output", out)
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "gpudiag.bakeoff/3" and doc["complete"] is True
    assert json.loads(out.read_text()) == doc  # --output holds the same document
    rows = {x["label"]: x for x in doc["rows"]}
    assert set(rows) == {"eager", "default", "reduce-overhead"}
    assert (
        rows["reduce-overhead"]["status"] == "skipped"
        and "CUDA graphs need a CUDA device" in rows["reduce-overhead"]["reason"]
    )
    for label in ("eager", "default"):
        x = rows[label]
        assert x["status"] == "ok", x
        t = x["timing"]
        assert 0 < t["min_ms"] <= t["q1_ms"] <= t["median_ms"] <= t["q3_ms"] and t["reps"] >= 5
        assert (t["per_call_ms"], t["per_call_q1_ms"], t["per_call_q3_ms"]) == (t["median_ms"], t["q1_ms"], t["q3_ms"])
        assert t["per_call_source"] == "wall clock" and t["launch_bound"] is False
        assert x["correctness"]["ok"] and x["correctness"]["dtype"] == "float32"
        assert x["observed"]["graph_breaks"] == 0
    assert rows["default"]["compile_s"] > 0 and rows["eager"]["compile_s"] is None
    assert rows["default"]["observed"]["generated_kernels"] >= 1
    assert rows["eager"]["child"]["pid"] != rows["default"]["child"]["pid"]
    assert list(tmp.iterdir()) == []  # no precompiled headers, caches or gpudiag-bakeoff-* folder left
    # The forked child moved the precompiled-header folder the zygote's inductor had computed at import.
    assert "torch._inductor.codecache._HEADER_DIR" in rows["default"]["child"]["rebased_paths"]
    assert "TMPDIR" in doc["isolation"]["fresh_per_measurement"]
    assert doc["summary"]["workloads"][0]["winner"] in ("eager", "default")
    assert doc["summary"]["recommendation"]


def test_human_output_has_table_bars_and_recommendation(cli, tmp_path, no_gpu):
    p = write(tmp_path, TINY)
    r = bake(cli, p, "--modes", "eager", env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.stderr
    assert "median ms" in r.stdout and "status" in r.stdout and "★ eager" in r.stdout and "█" in r.stdout
    assert "recommendation" in r.stdout
    assert "eager: ok" in r.stderr  # the live progress line for the finished mode
    # TF32 was called for (a float32 matmul ran) but cannot apply on the CPU: said, not silently skipped.
    assert "knob tf32 on eager: not measured: not applicable on the CPU" in r.stdout


def test_nondeterministic_output_is_unchecked_not_ok(cli, tmp_path, no_gpu):
    """torch.rand_like: 2046 of 2048 elements differed and the row was reported "ok: rounding order"."""
    p = write(
        tmp_path,
        """
        import torch
        def f(x):
            return torch.rand_like(x) + x
        def gpudiag_workloads():
            return (f, (torch.ones(2048),))
    """,
    )
    r = bake(cli, p, "--modes", "eager", "--json")
    assert r.exit_code == 0, r.stderr
    (row,) = json.loads(r.stdout)["rows"]
    assert row["status"] == "unchecked" and row["correctness"] is None
    assert row["reason"].startswith("nondeterministic output: correctness not checked")
    assert row["nondeterminism"]["mismatched"] > 2000


def test_every_mode_failing_exits_1(cli, tmp_path, no_gpu):
    p = write(
        tmp_path,
        """
        import torch
        def f(x):
            raise RuntimeError("kernel [exploded] at [bold]")  # brackets are text, not rich markup
        def gpudiag_workloads():
            return (f, (torch.ones(2),))
    """,
    )
    r = bake(cli, p, "--modes", "default", "--json")
    assert r.exit_code == 1
    rows = {x["mode"]: x for x in json.loads(r.stdout)["rows"]}
    assert rows["eager"]["status"] == "error" and "kernel [exploded] at [bold]" in rows["eager"]["reason"]
    assert "kernel [exploded] at [bold]" in " ".join(r.stderr.split())  # the progress line
    human = bake(cli, p, "--modes", "eager", env={"COLUMNS": "80"})
    assert human.exit_code == 1 and "kernel [exploded] at [bold]" in " ".join(human.stdout.split())
    assert "work.py" in rows["eager"]["user_traceback"]
    assert rows["default"]["status"] == "not_run" and "eager failed" in rows["default"]["reason"]


def test_crash_and_timeout_become_rows(cli, tmp_path, no_gpu):
    p = write(
        tmp_path,
        """
        import os, time, torch
        def crash(x):
            os._exit(9)
        def hang(x):
            time.sleep(60)
        def fine(x):
            return x + 1
        def gpudiag_workloads():
            return {"crash": (crash, (torch.ones(2),)), "hang": (hang, (torch.ones(2),)), "fine": (fine, (torch.ones(2),))}
    """,
    )
    r = bake(cli, p, "--modes", "eager", "--timeout", "4", "--json")
    assert r.exit_code == 0, r.stderr  # "fine" ran, so the bake-off ran
    rows = {x["workload"]: x for x in json.loads(r.stdout)["rows"]}
    assert rows["crash"]["status"] == "crashed" and "exited with code 9" in rows["crash"]["reason"]
    # the phase in words, not its name read as English ("still reference after the 4 s --timeout")
    assert rows["hang"]["status"] == "timeout"
    assert rows["hang"]["reason"] == "stopped after the 4 s --timeout while running eager for the reference output"
    assert rows["fine"]["status"] == "ok"


@pytest.mark.parametrize(
    "body, expected",
    [
        ("import sys\nsys.exit(2)\n", "called sys.exit(2)"),
        ("import nonexistent_module_xyz\n", "ModuleNotFoundError: No module named 'nonexistent_module_xyz'"),
        ("x = 1\n", "defines no workload"),
        ("def gpudiag_workloads():\n    return 'x'\n", "must be a (callable, args) pair"),
    ],
)
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


@pytest.mark.parametrize(
    "args, expected",
    [
        (["missing.py"], "no such file"),
        (["{script}", "--modes", "turbo"], "unknown mode 'turbo'"),
        (["{script}", "--modes", ""], "--modes is empty"),
        (["{script}", "--modes", " , "], "--modes is empty"),
        (["{script}", "--device", "tpu"], "--device must be cpu, cuda or auto"),
        (["{script}", "--inputs", "get_inputs"], "give --entry NAME too"),
        (["{script}", "--output", "{script}"], "is the script itself"),
        (["{script}", "--output", "{tmp}"], "is a folder"),
        (["{script}", "--output", "/dev/full"], "--output /dev/full: is not a regular file"),
        (["{script}", "--output", "{tmp}/no/such/dir/out.json"], "does not exist"),
        (
            ["{script}", "--output", "{tmp}/loop"],
            "--output {tmp}/loop: cannot be resolved: Too many levels of symbolic links",
        ),
        (["{script}", "--output", "/proc/self/status"], "--output /proc/self/status: cannot write a file in /proc/"),
        (["{script}", "--output", "{readonly}/out.json"], "--output {readonly}/out.json: cannot write a file in"),
        (["{script}", "--timeout", "0"], "--timeout must be a finite number of seconds above 0, not 0"),
        (["{script}", "--timeout", "-5"], "not -5"),
        (["{script}", "--timeout", "nan"], "not nan"),
        (["{script}", "--timeout", "inf"], "not inf"),
        (["{script}", "--spawn", "thread"], "--spawn must be one of"),
        (["{script}", "--knobs", ""], "--knobs is empty"),
        (["{script}", "--knobs", "warp-speed"], "unknown knob 'warp-speed'"),
        (["{script}", "--knobs", "none,tf32"], "--knobs none cannot be combined"),
        (["{script}", "--knobs", "dynamic,static"], "contradict each other"),
        (["{script}", "--max-regression", "5"], "give --baseline FILE too"),
        (["{script}", "--baseline", "{script}", "--max-regression", "nan"], "--max-regression must be a percentage"),
        (["{script}", "--baseline", "{script}", "--max-regression", "-1"], "--max-regression must be a percentage"),
        (["{script}", "--max-regression-launch-bound", "20"], "give --baseline FILE too"),
        (
            ["{script}", "--baseline", "{script}", "--max-regression-launch-bound", "inf"],
            "--max-regression-launch-bound must be a percentage",
        ),
        (["{script}", "--baseline", "{tmp}/missing.json"], "--baseline {tmp}/missing.json: no such file"),
        (["{script}", "--baseline", "{script}"], "not JSON"),
        (["{script}", "--max-graph-breaks", "-1"], "--max-graph-breaks must be a count >= 0"),
        (["{script}", "--max-recompiles", "-2"], "--max-recompiles must be a count >= 0"),
        (["{script}", "--max-compile-s", "0"], "--max-compile-s must be a finite number of seconds above 0"),
        (["{script}", "--max-compile-s", "inf"], "--max-compile-s must be a finite number"),
    ],
)
def test_bad_options_exit_2_with_one_line(cli, tmp_path, no_gpu, args, expected):
    """Each refused before anything runs: an unusable --output used to fail only when the first result was
    written, 13-17 s in, losing the eager measurement."""
    p = write(tmp_path, TINY)
    before = p.read_text()
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    readonly = tmp_path / "readonly"
    readonly.mkdir(mode=0o555)
    if os.geteuid() == 0:  # root writes into a mode-0555 folder: take a folder of a pseudo-filesystem
        readonly = "/sys/kernel"
    fields = {"script": p, "tmp": tmp_path, "readonly": readonly}
    argv = [a.format(**fields) if a != "missing.py" else str(tmp_path / a) for a in args]
    r = bake(cli, *argv, "--json")
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpudiag: ") and expected.format(**fields) in lines[0]
    assert "bake-off" not in r.stderr  # refused before the run began
    assert json.loads(r.stdout)["exit_code"] == 2  # the JSON error document
    assert p.read_text() == before  # nothing the user gave is overwritten


def test_output_onto_a_fifo_is_refused_and_left_alone(cli, tmp_path, no_gpu):
    p = write(tmp_path, TINY)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    r = bake(cli, p, "--output", fifo)
    assert r.exit_code == 2 and "is not a regular file" in r.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_output_through_a_symlink_writes_its_target_with_the_umask(cli, tmp_path, no_gpu):
    p = write(tmp_path, TINY)
    target, link = tmp_path / "results" / "run.json", tmp_path / "latest.json"
    target.parent.mkdir()
    link.symlink_to(target)  # dangling: the target is a new path
    old = os.umask(0o027)
    try:
        r = bake(cli, p, "--modes", "eager", "--output", link)
    finally:
        os.umask(old)
    assert r.exit_code == 0, r.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["complete"] is True
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # 0666 less the umask, not mkstemp's 0600
    assert [f.name for f in target.parent.iterdir()] == ["run.json"]  # no temporary file left beside it


def test_write_user_file_keeps_an_existing_files_mode_and_refuses_devices(tmp_path):
    from gpudiag.files import write_user_file

    f = tmp_path / "out.json"
    f.write_text("old")
    f.chmod(0o664)
    assert write_user_file(f, "new") == f
    assert f.read_text() == "new" and stat.S_IMODE(f.stat().st_mode) == 0o664
    with pytest.raises(OSError, match="is a device; give a regular file or a new path"):
        write_user_file("/dev/full", "x")
    with pytest.raises(OSError, match="is a folder"):
        write_user_file(tmp_path, "x")


def test_the_scripts_module_runs_once_per_process_and_leaves_nothing_running(cli, tmp_path, no_gpu):
    """Module-level code ran at least twice (in a loader process and in each measurement), and a
    Popen(..., start_new_session=True) at import left processes behind. Now the first measurement's
    process also lists the workloads: one run of the module per measurement, and what it started is
    ended with it, whatever session it moved to."""
    log = tmp_path / "imports.txt"
    p = write(
        tmp_path,
        f"""
        import os, subprocess, sys, torch
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
        with open({str(log)!r}, "a") as f:
            f.write(f"{{os.getpid()}} {{sleeper.pid}}\\n")
        def gpudiag_workloads():
            return {{"a": (lambda x: x + 1, (torch.ones(4),)), "b": (lambda x: x * 2, (torch.ones(4),))}}
    """,
    )
    r = bake(cli, p, "--modes", "eager", "--knobs", "none", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    lines = [ln.split() for ln in log.read_text().splitlines()]
    measured = sorted(str(x["child"]["pid"]) for x in doc["rows"])
    assert sorted(pid for pid, _ in lines) == measured and len(lines) == 2  # a and b: one import each
    assert str(os.getpid()) not in {pid for pid, _ in lines}  # never in gpudiag's own process
    sleepers = [int(s) for _, s in lines]
    assert not [s for s in sleepers if os.path.exists(f"/proc/{s}") and "Z" not in _state(s)]
    assert doc["harness"]["strays_ended"] == 2


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0]
    except OSError:
        return "Z"


def test_cuda_requested_without_gpu_exits_2(cli, tmp_path, no_gpu):
    p = write(tmp_path, TINY)
    r = cli("bakeoff", str(p), "--device", "cuda")
    assert r.exit_code == 2 and "--device cuda: no usable GPU" in r.stderr


def test_fresh_spawn_and_entry_inputs(cli, tmp_path, no_gpu):
    p = write(
        tmp_path,
        """
        import torch
        def scale(x, factor=2.0):
            return x * factor
        def args():
            return {"x": torch.ones(3), "factor": 3.0}
    """,
    )
    r = bake(cli, p, "--entry", "scale", "--inputs", "args", "--modes", "eager", "--spawn", "fresh", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["workloads"] == [
        {"name": "scale", "form": "entry", "args": ["x=float32[3]", "factor=float"], "input_bytes": 12}
    ]
    assert doc["rows"][0]["status"] == "ok" and doc["rows"][0]["child"]["import_torch_s"] > 0.05


@pytest.mark.parametrize("spawn", ["fork", "fresh"])
def test_arguments_after_double_dash_reach_the_script_in_every_process(cli, tmp_path, no_gpu, spawn):
    """A third-party benchmark that parses its sizes at import runs as `python bench.py --size 5`
    would; the arguments are recorded, and shown beside the script's name."""
    p = write(
        tmp_path,
        """
        import argparse
        import torch
        parser = argparse.ArgumentParser()
        parser.add_argument("--size", type=int, default=2)
        args = parser.parse_args()
        def gpudiag_workloads():
            return (torch.nn.Linear(args.size, 1), (torch.randn(1, args.size),))
    """,
        name="bench.py",
    )
    r = bake(cli, p, "--modes", "eager", "--spawn", spawn, "--json", "--", "--size", "5")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["settings"]["script_args"] == ["--size", "5"]
    assert doc["workloads"][0]["args"] == ["float32[1, 5]"]
    assert "bake-off bench.py --size 5 on" in r.stderr


def test_a_script_whose_argparse_refuses_gpudiags_arguments_is_one_line(cli, tmp_path, no_gpu):
    p = write(
        tmp_path,
        """
        import argparse
        parser = argparse.ArgumentParser()
        parser.add_argument("--size", type=int, required=True)
        parser.parse_args()
    """,
        name="bench.py",
    )
    r = bake(cli, p, "--modes", "eager")
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "gpudiag: bench.py: importing the script: its argparse exited (2) with no arguments (bench.py: error: "
        "the following arguments are required: --size); pass the script's own arguments after --: "
        "gpudiag bakeoff bench.py -- ARGS"
    )
    assert "Traceback" not in r.stderr
