"""Load a user's bake-off script and turn it into named workloads: ``(callable, args, kwargs)``.

Three forms, tried in this order:

1. ``--entry NAME`` (+ ``--inputs NAME``): any callable in the script and a function returning its
   arguments (a tuple/list of positional arguments, a dict of keyword arguments, or one value).
2. ``gpudiag_workloads()`` returning one ``(callable, args)`` pair or a dict ``{name: (callable, args)}``.
3. KernelBench: ``class Model(nn.Module)``, ``get_inputs()`` and optionally ``get_init_inputs()``,
   used unchanged (the model is built with ``Model(*get_init_inputs())``).

Runs inside a bake-off child (it executes the user's code). Every failure of the user's code becomes a
``ScriptError`` (exit 2) whose message names what was expected and whose ``user_traceback`` holds the
user's own frames only.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpudiag.errors import EXIT_USAGE, GpudiagError

EXPECTED = (
    "a KernelBench-style `class Model` with `get_inputs()` (and optionally `get_init_inputs()`), "
    "a `gpudiag_workloads()` function returning (callable, args) or a dict of them, "
    "or a callable named with --entry"
)


class ScriptError(GpudiagError):
    """The user's script is unusable; ``user_traceback`` (maybe empty) is the user's own frames."""

    def __init__(self, message: str, user_traceback: str = "") -> None:
        super().__init__(message, EXIT_USAGE)
        self.user_traceback = user_traceback


@dataclass
class Workload:
    name: str
    fn: Callable[..., Any]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    form: str = "kernelbench"  # kernelbench | gpudiag_workloads | entry


def user_frames(exc: BaseException, script: Path) -> str:
    """The traceback of ``exc`` keeping only frames in files under the script's folder."""
    root = script.resolve().parent
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_user_file(f.filename, root)]
    lines = ["Traceback (most recent call last, your frames only):\n"] if frames else []
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines).rstrip("\n")


def _is_user_file(filename: str, root: Path) -> bool:
    if filename.startswith("<"):
        return False
    try:
        path = Path(filename).resolve()
    except OSError:
        return False
    gpudiag_root = Path(__file__).resolve().parents[1]
    if gpudiag_root in path.parents:
        return False
    return root == path.parent or (root in path.parents and "site-packages" not in path.parts)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _call_user(script: Path, what: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Call the user's ``fn``; any exception or exit becomes a ScriptError naming ``what``."""
    try:
        return fn(*args)
    except SystemExit as exc:
        if _raised_by_argparse(exc):
            # gpudiag's command line is not the script's: say what argparse was given and where its
            # arguments come from, with argparse's own complaint (it went to the child's stderr)
            given = " ".join(sys.argv[1:])
            complaint = _last_stderr_line()
            raise ScriptError(
                f"{script.name}: {what}: its argparse exited ({exc.code!r}) "
                + (f"on the arguments {given!r}" if given else "with no arguments")
                + (f" ({complaint})" if complaint else "")
                + f"; pass the script's own arguments after --: gpudiag bakeoff {script.name} -- ARGS"
            ) from None
        raise ScriptError(
            f"{script.name}: {what} called sys.exit({exc.code!r}); a bake-off script must "
            "return its workloads, not exit"
        ) from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        raise ScriptError(f"{script.name}: {what} raised {_one_line(exc)}", user_frames(exc, script)) from None


class _StderrTail:
    """``sys.stderr`` that also keeps the last line written, for a complaint the user's code printed
    before it exited (argparse's ``error: ...``)."""

    def __init__(self, stream: Any) -> None:
        self.stream, self.tail = stream, ""

    def write(self, text: str) -> int:
        lines = [line for line in text.splitlines() if line.strip()]
        if lines:
            self.tail = lines[-1].strip()
        return self.stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _last_stderr_line() -> str:
    return sys.stderr.tail if isinstance(sys.stderr, _StderrTail) else ""


def _raised_by_argparse(exc: SystemExit) -> bool:
    """Whether the exit came from argparse (``parse_args`` on arguments it cannot take, or ``--help``)."""
    import argparse

    return any(f.filename == argparse.__file__ for f in traceback.extract_tb(exc.__traceback__))


def import_script(path: str | os.PathLike[str], script_args: Sequence[str] = ()) -> Any:
    """Execute the script as a module named ``__gpudiag_script__`` with its folder on sys.path and
    ``sys.argv`` as ``python script.py ARGS`` would set it (a script may parse it at import)."""
    script = Path(path)
    if not script.is_file():
        raise ScriptError(f"{script}: no such file")
    if script.suffix != ".py":
        raise ScriptError(f"{script}: expected a Python script (.py)")
    spec = importlib.util.spec_from_file_location("__gpudiag_script__", str(script))
    if spec is None or spec.loader is None:
        raise ScriptError(f"{script}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.dont_write_bytecode = True  # no __pycache__ left in the user's folder
    folder = str(script.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # so the script's own sibling imports work, as with `python script.py`
    sys.modules[spec.name] = module
    argv, stderr = sys.argv, sys.stderr
    sys.argv, sys.stderr = [str(script), *script_args], _StderrTail(stderr)
    try:
        _call_user(script, "importing the script", spec.loader.exec_module, module)
    finally:
        sys.argv, sys.stderr = argv, stderr
    return module


def _seed(seed: int) -> None:
    # The same seed before every call into the user's code: every child builds identical weights and
    # inputs, as KernelBench's own harness does.
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass


def _as_call_args(value: Any, script: Path, what: str) -> tuple[tuple, dict]:
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ScriptError(f"{script.name}: {what} returned a dict whose keys are not all argument names (str)")
        return (), dict(value)
    if isinstance(value, (list, tuple)):
        return tuple(value), {}
    if value is None:
        raise ScriptError(
            f"{script.name}: {what} returned None; expected the arguments "
            "(a list or tuple of positional arguments, or a dict of keyword arguments)"
        )
    return (value,), {}


def _pair(value: Any, script: Path, what: str) -> tuple[Callable[..., Any], tuple, dict]:
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise ScriptError(f"{script.name}: {what} must be a (callable, args) pair, got {_describe(value)}")
    fn, args = value
    if not callable(fn):
        raise ScriptError(f"{script.name}: {what}: the first item must be callable, got {_describe(fn)}")
    a, k = _as_call_args(args, script, f"{what}'s args")
    return fn, a, k


def _describe(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    return f"a {type(value).__name__}"


def discover(
    module: Any, script: Path, entry: str | None = None, inputs: str | None = None, seed: int = 0
) -> list[Workload]:
    """The workloads the loaded script defines, in the script's order."""
    if inputs and not entry:
        raise ScriptError("--inputs names the arguments of --entry; give --entry NAME too")
    if entry:
        return [_from_entry(module, script, entry, inputs, seed)]
    if hasattr(module, "gpudiag_workloads"):
        fn = module.gpudiag_workloads
        if not callable(fn):
            raise ScriptError(f"{script.name}: gpudiag_workloads must be a function, got {_describe(fn)}")
        _seed(seed)
        value = _call_user(script, "gpudiag_workloads()", fn)
        if isinstance(value, dict):
            if not value:
                raise ScriptError(f"{script.name}: gpudiag_workloads() returned an empty dict")
            out = []
            for name, pair in value.items():
                if not isinstance(name, str) or not name:
                    raise ScriptError(f"{script.name}: gpudiag_workloads() keys must be workload names (str)")
                f, a, k = _pair(pair, script, f"gpudiag_workloads()[{name!r}]")
                out.append(Workload(name, f, a, k, "gpudiag_workloads"))
            return out
        f, a, k = _pair(value, script, "gpudiag_workloads()")
        return [Workload(script.stem, f, a, k, "gpudiag_workloads")]
    if hasattr(module, "Model") and hasattr(module, "get_inputs"):
        return [_from_kernelbench(module, script, seed)]
    missing = "get_inputs()" if hasattr(module, "Model") else "class Model" if hasattr(module, "get_inputs") else None
    hint = (
        f" (it has {'class Model' if missing == 'get_inputs()' else 'get_inputs()'} but no {missing})"
        if missing
        else ""
    )
    raise ScriptError(f"{script.name} defines no workload{hint}; expected {EXPECTED}")


def _from_kernelbench(module: Any, script: Path, seed: int) -> Workload:
    model_cls, get_inputs = module.Model, module.get_inputs
    if not callable(model_cls) or not callable(get_inputs):
        raise ScriptError(f"{script.name}: Model must be a class and get_inputs a function")
    init_args: Any = []
    if hasattr(module, "get_init_inputs"):
        _seed(seed)
        init_args = _call_user(script, "get_init_inputs()", module.get_init_inputs)
        if not isinstance(init_args, (list, tuple)):
            raise ScriptError(
                f"{script.name}: get_init_inputs() must return a list or tuple, got {_describe(init_args)}"
            )
    _seed(seed)
    model = _call_user(script, "Model(*get_init_inputs())", model_cls, *init_args)
    if not callable(model):
        raise ScriptError(f"{script.name}: Model(...) built {_describe(model)}, which is not callable")
    _seed(seed)
    value = _call_user(script, "get_inputs()", get_inputs)
    if not isinstance(value, (list, tuple)):
        raise ScriptError(f"{script.name}: get_inputs() must return a list or tuple of inputs, got {_describe(value)}")
    return Workload(script.stem, model, tuple(value), {}, "kernelbench")


def _from_entry(module: Any, script: Path, entry: str, inputs: str | None, seed: int) -> Workload:
    if not hasattr(module, entry):
        raise ScriptError(f"{script.name} has no {entry!r} (named by --entry)")
    fn = getattr(module, entry)
    if not callable(fn):
        raise ScriptError(f"{script.name}: {entry!r} (named by --entry) is {_describe(fn)}, not a callable")
    if isinstance(fn, type):  # a class: build it, KernelBench-style, so `--entry Model` works
        init_args: Any = []
        if hasattr(module, "get_init_inputs"):
            _seed(seed)
            init_args = _call_user(script, "get_init_inputs()", module.get_init_inputs)
        _seed(seed)
        fn = _call_user(script, f"{entry}()", fn, *(init_args or []))
    inputs_name = inputs or ("get_inputs" if hasattr(module, "get_inputs") else None)
    if inputs_name is None:
        raise ScriptError(f"--entry {entry} needs --inputs NAME: a function in {script.name} returning its arguments")
    if not hasattr(module, inputs_name) or not callable(getattr(module, inputs_name)):
        raise ScriptError(f"{script.name} has no function {inputs_name!r} (named by --inputs)")
    _seed(seed)
    value = _call_user(script, f"{inputs_name}()", getattr(module, inputs_name))
    args, kwargs = _as_call_args(value, script, f"{inputs_name}()")
    return Workload(entry, fn, args, kwargs, "entry")


def load(
    path: str | os.PathLike[str],
    entry: str | None = None,
    inputs: str | None = None,
    seed: int = 0,
    script_args: Sequence[str] = (),
) -> list[Workload]:
    script = Path(path)
    _seed(seed)
    module = import_script(script, script_args)
    workloads = discover(module, script, entry, inputs, seed)
    names = [w.name for w in workloads]
    if len(set(names)) != len(names):
        raise ScriptError(f"{script.name}: workload names repeat: {names}")
    return workloads
