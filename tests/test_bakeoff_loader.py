"""The bake-off loader: the three script forms, and a clear ScriptError for every way a script fails."""

from __future__ import annotations

import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")

from gpudiag.bakeoff import loader  # noqa: E402
from gpudiag.errors import EXIT_USAGE  # noqa: E402


def script(tmp_path, body: str, name: str = "user_script.py"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(body))
    return p


KERNELBENCH = """
    import torch
    import torch.nn as nn

    class Model(nn.Module):
        def __init__(self, scale):
            super().__init__()
            self.scale = scale
            self.w = nn.Parameter(torch.randn(4))

        def forward(self, x):
            return x * self.w * self.scale

    def get_inputs():
        return [torch.randn(2, 4)]

    def get_init_inputs():
        return [3.0]
"""


def test_kernelbench_format_unchanged(tmp_path):
    p = script(tmp_path, KERNELBENCH)
    (w,) = loader.load(p)
    assert w.form == "kernelbench" and w.name == "user_script"
    assert isinstance(w.fn, torch.nn.Module) and w.fn.scale == 3.0
    assert w.args[0].shape == (2, 4)
    # Seeded: every process builds the same weights and inputs.
    (again,) = loader.load(p)
    assert torch.equal(w.fn.w, again.fn.w) and torch.equal(w.args[0], again.args[0])


def test_kernelbench_without_init_inputs(tmp_path):
    p = script(
        tmp_path,
        """
        import torch
        class Model(torch.nn.Module):
            def forward(self, x):
                return x + 1
        def get_inputs():
            return (torch.ones(3),)
    """,
    )
    (w,) = loader.load(p)
    assert w.fn(*w.args).tolist() == [2.0, 2.0, 2.0]


def test_gpudiag_workloads_single_and_dict(tmp_path):
    single = script(
        tmp_path,
        """
        import torch
        def f(x, y):
            return x + y
        def gpudiag_workloads():
            return (f, (torch.ones(2), torch.ones(2)))
    """,
        "single.py",
    )
    (w,) = loader.load(single)
    assert w.name == "single" and w.form == "gpudiag_workloads" and len(w.args) == 2
    many = script(
        tmp_path,
        """
        import torch
        def f(x, scale=1.0):
            return x * scale
        def gpudiag_workloads():
            return {"decode": (f, [torch.ones(1, 8)]), "prefill": (f, {"x": torch.ones(64, 8), "scale": 2.0})}
    """,
        "many.py",
    )
    ws = loader.load(many)
    assert [w.name for w in ws] == ["decode", "prefill"]
    assert ws[1].args == () and set(ws[1].kwargs) == {"x", "scale"}


def test_entry_and_inputs(tmp_path):
    p = script(
        tmp_path,
        """
        import torch
        def gelu_tanh(x):
            return torch.nn.functional.gelu(x, approximate="tanh")
        def my_inputs():
            return torch.randn(4, 4)
    """,
    )
    (w,) = loader.load(p, entry="gelu_tanh", inputs="my_inputs")
    assert w.name == "gelu_tanh" and w.form == "entry" and w.args[0].shape == (4, 4)


def test_entry_naming_a_class_builds_it(tmp_path):
    p = script(tmp_path, KERNELBENCH)
    (w,) = loader.load(p, entry="Model")
    assert isinstance(w.fn, torch.nn.Module) and w.fn.scale == 3.0


@pytest.mark.parametrize(
    "body, entry, inputs, expected",
    [
        ("x = 1\n", None, None, "defines no workload; expected a KernelBench-style `class Model`"),
        (
            "import torch\nclass Model(torch.nn.Module):\n    pass\n",
            None,
            None,
            "it has class Model but no get_inputs()",
        ),
        ("def f(x):\n    return x\n", "g", "f", "has no 'g' (named by --entry)"),
        ("f = 3\ndef i():\n    return [1]\n", "f", "i", "is a int, not a callable"),
        ("def f(x):\n    return x\n", "f", None, "--entry f needs --inputs NAME"),
        ("def f(x):\n    return x\n", "f", "nope", "has no function 'nope'"),
        ("def f(x):\n    return x\n", None, "f", "give --entry NAME too"),
        ("def gpudiag_workloads():\n    return 42\n", None, None, "must be a (callable, args) pair, got a int"),
        ("def gpudiag_workloads():\n    return (3, [1])\n", None, None, "the first item must be callable"),
        ("def gpudiag_workloads():\n    return {}\n", None, None, "returned an empty dict"),
        ("def gpudiag_workloads():\n    return (print, None)\n", None, None, "returned None; expected the arguments"),
        (
            "import torch\nclass Model(torch.nn.Module):\n    pass\ndef get_inputs():\n    return 5\n",
            None,
            None,
            "get_inputs() must return a list or tuple of inputs, got a int",
        ),
    ],
)
def test_wrong_shapes_of_script_are_named(tmp_path, body, entry, inputs, expected):
    p = script(tmp_path, body)
    with pytest.raises(loader.ScriptError) as ei:
        loader.load(p, entry=entry, inputs=inputs)
    assert expected in ei.value.message
    assert ei.value.exit_code == EXIT_USAGE


def test_raising_on_import_shows_only_user_frames(tmp_path):
    helper = script(tmp_path, "def boom():\n    raise ValueError('bad shape 3x7')\n", "helper_mod.py")
    assert helper.exists()
    p = script(tmp_path, "import helper_mod\nhelper_mod.boom()\n")
    with pytest.raises(loader.ScriptError) as ei:
        loader.load(p)
    err = ei.value
    assert "importing the script raised ValueError: bad shape 3x7" in err.message
    tb = err.user_traceback
    assert "user_script.py" in tb and "helper_mod.py" in tb and "ValueError: bad shape 3x7" in tb
    assert "gpudiag" not in tb.replace(str(tmp_path), "") and "importlib" not in tb


def test_sys_exit_is_reported_not_obeyed(tmp_path):
    p = script(tmp_path, "import sys\nsys.exit(3)\n")
    with pytest.raises(loader.ScriptError, match=r"called sys.exit\(3\)"):
        loader.load(p)
    q = script(tmp_path, "import sys\ndef gpudiag_workloads():\n    sys.exit('no')\n", "q.py")
    with pytest.raises(loader.ScriptError, match=r"gpudiag_workloads\(\) called sys.exit"):
        loader.load(q)


def test_missing_and_non_python_files(tmp_path):
    with pytest.raises(loader.ScriptError, match="no such file"):
        loader.load(tmp_path / "absent.py")
    txt = tmp_path / "notes.txt"
    txt.write_text("x")
    with pytest.raises(loader.ScriptError, match="expected a Python script"):
        loader.load(txt)


def test_no_bytecode_left_in_the_users_folder(tmp_path):
    p = script(tmp_path, KERNELBENCH)
    loader.load(p)
    assert not (tmp_path / "__pycache__").exists()


def test_every_bench_workload_loads_in_both_forms():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "bench" / "workloads"
    names = ["rmsnorm", "swiglu", "rope", "softmax_vocab", "patch_embed", "small_mlp"]
    for name in names:
        ws = {w.name: w for w in loader.load(root / f"{name}.py")}
        assert set(ws) == {"decode", "prefill"}
        for size in ("decode", "prefill"):
            (kb,) = loader.load(root / "kernelbench" / f"{name}_{size}.py")
            assert kb.form == "kernelbench"
            shapes = [tuple(a.shape) for a in kb.args]
            assert shapes == [tuple(a.shape) for a in ws[size].args], (name, size)
            assert [a.dtype for a in kb.args] == [a.dtype for a in ws[size].args]


ARGPARSE_AT_IMPORT = """
    import argparse
    import sys
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, required=True)
    args = parser.parse_args()
    ARGV0 = sys.argv[0]

    def gpudiag_workloads():
        return (torch.nn.Linear(args.size, 2), (torch.randn(1, args.size),))
"""


def test_the_script_parses_its_own_arguments_at_import(tmp_path):
    """A benchmark script that calls parse_args() at import sees the arguments given after --, and
    argv[0] is the script, as with `python script.py --size 3`; the caller's argv is put back."""
    p = script(tmp_path, ARGPARSE_AT_IMPORT)
    before = list(sys.argv)
    (w,) = loader.load(p, script_args=["--size", "3"])
    assert w.args[0].shape == (1, 3)
    assert str(p) == sys.modules["__gpudiag_script__"].ARGV0
    assert sys.argv == before


def test_an_argparse_exit_names_its_complaint_and_where_arguments_go(tmp_path, capsys):
    p = script(tmp_path, ARGPARSE_AT_IMPORT)
    with pytest.raises(loader.ScriptError) as err:
        loader.load(p)
    assert err.value.exit_code == EXIT_USAGE
    message = err.value.message
    assert "its argparse exited (2) with no arguments" in message
    assert "error: the following arguments are required: --size" in message
    assert "gpudiag bakeoff user_script.py -- ARGS" in message
    assert "the following arguments are required" in capsys.readouterr().err  # still printed, as argparse does
    with pytest.raises(loader.ScriptError) as err:
        loader.load(p, script_args=["--size", "3", "--frob"])
    assert "on the arguments '--size 3 --frob'" in err.value.message
    assert "unrecognized arguments: --frob" in err.value.message


def test_an_exit_outside_argparse_keeps_its_own_words(tmp_path):
    p = script(tmp_path, "import sys\nsys.exit(3)\n")
    with pytest.raises(loader.ScriptError, match=r"importing the script called sys.exit\(3\); a bake-off script"):
        loader.load(p)
