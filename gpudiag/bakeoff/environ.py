"""The environment is part of the measurement: the variables that change what torch.compile, inductor,
Triton and CUDA do, whether they leave compilation on at all, and what a mode really compiled with.

Each measurement's process gets fresh cache folders (``isolation``) but keeps every other variable
the user gave: ``TORCHINDUCTOR_MAX_AUTOTUNE=1`` under ``default`` compiles max-autotune's way (40 s
against 14 s on the CPU machine), and ``TORCHDYNAMO_DISABLE=1`` or ``TORCH_COMPILE_DISABLE=1`` (common
leftovers in CI and debug shells) make every "compiled" row plain eager. So:

* ``recorded``: the variables that change behaviour, as the run was given them, go into the report;
* ``compile_disabled``: a run asked for compiled modes with compilation disabled is refused, before
  anything runs (the parent; the same tests torch applies: eval_frame.py and _dynamo/config.py);
* ``check_compile``: each compiled row's child compares the settings that tell the modes apart, as
  inductor will see them (its global config, from the environment or set by the script, patched by
  the mode's own options, ``torch._inductor.list_mode_options``), with what the mode and the knobs
  alone give. A row whose mode something else changed is not measured (``overridden``); one whose
  dynamo is disabled is not compiled (``not_compiled``). After compiling, a row for which dynamo
  captured no graph is ``not_compiled`` too: what happened, not only what was asked.

``describe`` is the child's own ``Environment``: versions, the device, the float32 precision settings.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from gpudiag.bakeoff.isolation import FRESH
from gpudiag.bakeoff.modes import AUTOTUNE_MODES, CUDAGRAPH_MODES
from gpudiag.bakeoff.results import CompileCheck, Environment

# Variables whose value changes what a compiled mode does, how a kernel is timed, or which device runs.
PREFIXES = (
    "TORCHDYNAMO_",
    "TORCH_COMPILE_",
    "TORCHINDUCTOR_",
    "INDUCTOR_",
    "TRITON_",
    "PYTORCH_",
    "CUDA_",
    "CUBLAS_",
    "CUBLASLT_",
    "CUDNN_",
    "TORCH_CUDNN_",
    "TORCH_BLAS_",
    "TORCH_ALLOW_TF32_",
)
NAMES = ("TORCH_LOGS", "NVIDIA_TF32_OVERRIDE", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "KMP_AFFINITY", "LD_PRELOAD")
NOT_BEHAVIOUR = ("CUDA_HOME", "CUDA_PATH", "CUDA_ROOT", "CUDA_VERSION")  # where a toolkit is, not what it does

# torch 2.4-2.13: eval_frame.optimize() returns a no-op decorator when TORCHDYNAMO_DISABLE is "1", and
# _dynamo/config.py sets ``disable`` when TORCH_COMPILE_DISABLE is "1".
DISABLING = ("TORCHDYNAMO_DISABLE", "TORCH_COMPILE_DISABLE")

# The inductor settings that tell the modes (and the knobs) apart, and the variable that sets each one
# (torch/_inductor/config.py). ``None``: its value is False on a clean configuration.
INDUCTOR_SETTINGS = {
    "max_autotune": "TORCHINDUCTOR_MAX_AUTOTUNE",
    "max_autotune_gemm": "TORCHINDUCTOR_MAX_AUTOTUNE_GEMM",
    "max_autotune_pointwise": "TORCHINDUCTOR_MAX_AUTOTUNE_POINTWISE",
    "coordinate_descent_tuning": "TORCHINDUCTOR_COORDINATE_DESCENT_TUNING",
    "freezing": "TORCHINDUCTOR_FREEZING",
    "triton.cudagraphs": "TORCHINDUCTOR_CUDAGRAPHS",
}
# Inductor ignores these for CPU graphs: CUDA graphs, and the launch-configuration tuning of Triton kernels.
CUDA_ONLY = ("triton.cudagraphs", "coordinate_descent_tuning", "max_autotune_pointwise")
# Implied by max_autotune (torch/_inductor/utils.py use_max_autotune; triton_heuristics.py).
IMPLIED_BY_MAX_AUTOTUNE = ("max_autotune_gemm", "max_autotune_pointwise")


def recorded(environ: Mapping[str, str], warm_cache: bool = False) -> dict[str, str]:
    """The variables that change behaviour, sorted; the cache folders the bake-off replaces for every
    measurement (``isolation.FRESH``) are left out unless ``--warm-cache`` keeps them."""
    out = {}
    for name, value in environ.items():
        if name in NOT_BEHAVIOUR or (name in FRESH and not warm_cache):
            continue
        if name.startswith(PREFIXES) or name in NAMES:
            out[name] = value
    return dict(sorted(out.items()))


def compile_disabled(environ: Mapping[str, str]) -> str | None:
    """``"TORCH_COMPILE_DISABLE=1"`` when the environment turns torch.compile into a no-op, else None."""
    for name in DISABLING:
        if environ.get(name) == "1":
            return f"{name}=1"
    return None


def expected(mode: str, knobs: list[str] | tuple[str, ...], device: str) -> dict[str, bool]:
    """The settings a mode and its knobs give on a clean configuration (``list_mode_options``'s table)."""
    want = {key: False for key in INDUCTOR_SETTINGS}
    want["max_autotune"] = mode in AUTOTUNE_MODES
    want["coordinate_descent_tuning"] = mode in AUTOTUNE_MODES or "coordinate_descent_tuning" in knobs
    want["triton.cudagraphs"] = mode in CUDAGRAPH_MODES
    want["freezing"] = "freezing" in knobs
    return _relevant(want, device)


def _relevant(settings: dict[str, bool], device: str) -> dict[str, bool]:
    return {k: v for k, v in settings.items() if device == "cuda" or k not in CUDA_ONLY}


def _config_value(config: Any, key: str) -> bool:
    target = config
    for part in key.split("."):
        target = getattr(target, part, False)
    return bool(target)


def check_compile(
    torch: Any, mode: str, knobs: list[str] | tuple[str, ...], device: str, environ: Mapping[str, str]
) -> CompileCheck:
    """What ``torch.compile(mode=mode)`` will compile with in this process, against what it should.

    Call it after the knobs are applied (they set inductor's config) and before compiling.
    """
    import torch._dynamo.config as dynamo_config
    import torch._inductor.config as inductor_config

    disabled_by = compile_disabled(environ)
    dynamo_off = bool(getattr(dynamo_config, "disable", False)) or disabled_by is not None
    try:
        from torch._inductor import list_mode_options

        mode_options = dict(list_mode_options(mode) or {})
    except Exception:  # an older or newer torch without it: the mode's table as this module knows it
        mode_options = {k: v for k, v in expected(mode, (), "cuda").items() if v}
    seen = _relevant(
        {key: bool(mode_options.get(key, _config_value(inductor_config, key))) for key in INDUCTOR_SETTINGS}, device
    )
    want = expected(mode, knobs, device)
    overrides = []
    if dynamo_off:
        overrides.append(
            f"{disabled_by} disables torch.compile"
            if disabled_by
            else "torch._dynamo.config.disable is set (by the script or its imports): torch.compile does nothing"
        )
    for key, value in seen.items():
        implied = key in IMPLIED_BY_MAX_AUTOTUNE and seen["max_autotune"] and want["max_autotune"]
        if value == want.get(key) or implied:
            continue
        var = INDUCTOR_SETTINGS[key]
        if var in environ:
            overrides.append(f"{var}={environ[var]} turns {key} {'on' if value else 'off'}")
        else:
            overrides.append(f"torch._inductor.config.{key} is {value} (set by the script or its imports)")
    return CompileCheck(dynamo_disabled=dynamo_off, inductor=seen, expected=want, overrides=overrides)


def override_reason(mode: str, check: CompileCheck) -> str:
    """The row's one-line reason: what changed the mode, and what to do."""
    what = "; ".join(check.overrides)
    if check.dynamo_disabled:
        return f"not compiled: {what}, so this would be eager under the name {mode}; unset it to measure {mode}"
    return f"not a measurement of {mode}: {what}; unset it to measure {mode} as torch.compile(mode=...) gives it"


def describe(torch: Any, device: str) -> Environment:
    """The child's own view: versions, the device, the float32 precision settings."""
    env = Environment(
        torch=torch.__version__,
        python=sys.version.split()[0],
        float32_matmul_precision=torch.get_float32_matmul_precision(),
        conv_tf32=bool(torch.backends.cudnn.allow_tf32),
    )
    try:
        import triton

        env.triton = triton.__version__
    except Exception:  # triton absent (CPU wheels on some platforms) or broken
        pass
    if device == "cuda":
        props = torch.cuda.get_device_properties(torch.cuda.current_device())
        env.name, env.sm_count, env.cuda = props.name, props.multi_processor_count, torch.version.cuda
        env.compute_capability = f"{props.major}.{props.minor}"
        try:
            from torch._inductor.utils import is_big_gpu

            env.is_big_gpu = bool(is_big_gpu(torch.cuda.current_device()))
        except Exception as exc:  # private API: signature and location vary across torch versions
            from gpudiag.bakeoff.judge import one_line

            env.is_big_gpu_error = one_line(exc)
    else:
        env.name, env.threads = "cpu", torch.get_num_threads()
    return env
