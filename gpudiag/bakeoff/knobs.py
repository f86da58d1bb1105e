"""Settings beyond the mode that change the answer, and which of them a workload's own signals call for.

Each knob is measured like a mode, in a clean process of its own, on top of a mode that already ran
(the fastest one it applies to). Which knobs run comes from what the measured rows observed (the
eager call's op census, the compiled rows' logs and counters) or from ``--knobs``:

* ``tf32``: float32 matmuls ran (the ops of inductor's own TF32 warning), or convolutions with TF32
  off, or inductor warned, on sm_80 or newer; acts on cuBLAS and cuDNN, so on eager too;
* ``coordinate_descent_tuning``: the mode runs generated Triton kernels and is not launch-bound;
  tunes their launch configurations;
* ``freezing``: parameters were read under inference (the bake-off runs under torch.no_grad unless
  ``--grad``); inductor folds them into the graph as constants;
* ``dynamic``: recompiles were seen; ``static``: dynamic shapes were (symbolic sizes created).

Pure policy: nothing here imports torch (``apply`` receives it) or runs anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpudiag.bakeoff.results import ModeResult, VariantDecision
from gpudiag.errors import GpudiagError


@dataclass(frozen=True)
class Knob:
    name: str
    setting: str  # what the user writes to get it
    compiled_only: bool  # meaningless without torch.compile
    # The dtype whose tolerance judges its output when it lowers float32's precision: TF32 keeps 10
    # mantissa bits, float16's (torch.set_float32_matmul_precision's documentation).
    lowers_fp32_to: str | None = None


KNOBS = {
    k.name: k
    for k in (
        Knob(
            "tf32",
            "torch.set_float32_matmul_precision('high'); torch.backends.cudnn.allow_tf32 = True",
            compiled_only=False,
            lowers_fp32_to="float16",
        ),
        Knob("coordinate_descent_tuning", "torch._inductor.config.coordinate_descent_tuning = True", True),
        Knob("freezing", "torch._inductor.config.freezing = True", True),
        Knob("dynamic", "torch.compile(..., dynamic=True)", True),
        Knob("static", "torch.compile(..., dynamic=False)", True),
    )
}
ALIASES = {
    "coordinate-descent-tuning": "coordinate_descent_tuning",
    "coordinate-descent": "coordinate_descent_tuning",
    "dynamic=true": "dynamic",
    "dynamic=false": "static",
}
AUTO = "auto"
NONE = "none"
TF32_MIN_CC = (8, 0)  # compile_fx._warn_tf32_disabled: get_device_capability() >= (8, 0)

NOT_ON_CPU = {
    "tf32": "not applicable on the CPU: TF32 is a tensor-core format of NVIDIA GPUs from sm_80 on; "
    "the CPU computes float32 matmuls in float32",
    "coordinate_descent_tuning": "not applicable on the CPU: it tunes the launch configurations of Triton "
    "kernels, and inductor's CPU kernels are C++ (its decompositions skip it there too)",
}


def parse(text: str | None) -> tuple[bool, list[str]]:
    """``--knobs``: (whether the workload's signals choose too, the knobs asked for by name)."""
    if text is None:
        return True, []
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if not names:
        raise GpudiagError(f"--knobs is empty; give {AUTO}, {NONE} or names from {', '.join(KNOBS)}")
    auto, chosen = False, []
    for n in names:
        if n == AUTO:
            auto = True
        elif n == NONE:
            if len(names) > 1:
                raise GpudiagError(f"--knobs {NONE} cannot be combined with other names")
        elif ALIASES.get(n, n) in KNOBS:
            chosen.append(ALIASES.get(n, n))
        else:
            raise GpudiagError(f"unknown knob {n!r} in --knobs; choose from {AUTO}, {NONE}, {', '.join(KNOBS)}")
    if {"dynamic", "static"} <= set(chosen):
        raise GpudiagError("--knobs dynamic and static contradict each other; give one")
    return auto, list(dict.fromkeys(chosen))


def apply(torch: Any, knobs: list[str]) -> dict:
    """Set the knobs in this (child) process; the keyword arguments they add to torch.compile."""
    compile_kwargs: dict = {}
    for name in knobs:
        if name == "tf32":
            torch.set_float32_matmul_precision("high")
            torch.backends.cudnn.allow_tf32 = True
        elif name in ("coordinate_descent_tuning", "freezing"):
            import torch._inductor.config as inductor_config

            setattr(inductor_config, name, True)
        elif name in ("dynamic", "static"):
            compile_kwargs["dynamic"] = name == "dynamic"
    return compile_kwargs


def size(n: int) -> str:
    """Bytes as a person reads them: 80 B, 4.0 KiB, 8.0 MiB (never "0.0 MiB")."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def lowered_precision(knobs: list[str]) -> str | None:
    return next((KNOBS[k].lowers_fp32_to for k in knobs if KNOBS[k].lowers_fp32_to), None)


# -- which knobs a workload calls for ----------------------------------------------------------------


def _fastest(rows: list[ModeResult], compiled: bool) -> ModeResult | None:
    timed = [r for r in rows if r.timed and not r.knobs and (r.mode != "eager" or not compiled)]
    return min(timed, key=lambda r: r.timed_ms) if timed else None


def _signal(name: str, rows: list[ModeResult], base: ModeResult, device: str, grad: bool = False) -> str | None:
    """What in the workload's own rows calls for ``name``, in words (None: nothing does)."""
    eager = next((r for r in rows if r.mode == "eager" and not r.knobs and r.census), None)
    census = eager.census if eager else None
    compiled = [r for r in rows if r.mode != "eager" and not r.knobs and r.status not in ("skipped", "not_run")]
    if name == "tf32":
        env = base.environment
        warned = [r.label for r in compiled if r.observed.tf32_warning]
        matmuls = census.fp32_matmuls if census else 0
        convs = census.fp32_convs if census and env and env.conv_tf32 is False else 0
        seen = [
            f"{n} float32 {what}" for n, what in ((matmuls, "matmul(s)"), (convs, "convolution(s) with TF32 off")) if n
        ]
        seen += [f"inductor warned that TF32 tensor cores are off ({', '.join(warned)})"] if warned else []
        return "; ".join(seen) or None
    if name == "coordinate_descent_tuning":
        kernels = base.observed.generated_kernels
        if device != "cuda" or kernels == 0:
            return None
        return (
            f"{base.label} runs {kernels} generated Triton kernel(s)"
            if kernels
            else f"{base.label} runs generated Triton kernels"
        )
    if name == "freezing":
        if not census or not census.parameter_bytes or grad:
            return None
        return (
            f"inference (the bake-off runs under torch.no_grad) reading {size(census.parameter_bytes)} "
            "of parameters, which freezing folds into the graph as constants"
        )
    if name == "dynamic":
        n = sum(r.observed.recompiles for r in compiled)
        reasons = [reason for r in compiled for reason in r.observed.recompile_reasons]
        return f"{n} recompile(s) seen" + (f" ({reasons[0]})" if reasons else "") if n else None
    if name == "static":
        n = max((r.observed.dynamic_symbols for r in compiled), default=0)
        return f"dynamo compiled with {n} symbolic size(s) (dynamic shapes)" if n else None
    raise KeyError(name)


def _not_applicable(
    name: str, base: ModeResult, device: str, cc: tuple[int, int] | None, grad: bool = False
) -> str | None:
    if device == "cpu" and name in NOT_ON_CPU:
        return NOT_ON_CPU[name]
    if name == "freezing" and grad:
        # compile_fx: `if config.freezing and not torch.is_grad_enabled()`: never with autograd on
        return "not applicable with --grad: inductor freezes parameters only when autograd is off (inference)"
    if name == "tf32":
        if cc is not None and cc < TF32_MIN_CC:
            return f"not applicable on sm_{cc[0]}{cc[1]}: TF32 tensor cores start at sm_80"
        env = base.environment
        if env and env.float32_matmul_precision in ("high", "medium"):
            return f"already on: float32_matmul_precision is {env.float32_matmul_precision!r}"
    if name == "coordinate_descent_tuning" and base.launch_bound:
        return f"{base.label} is launch-bound: tuning its kernels cannot help a call whose host issue time is the limit"
    return None


def decide(
    workload: str,
    rows: list[ModeResult],
    auto: bool,
    asked: list[str],
    device: str,
    cc: tuple[int, int] | None,
    grad: bool = False,
) -> list[VariantDecision]:
    """For one workload whose modes have run: which knobs to measure, on which mode, and why (or why not)."""
    decisions = []
    for name in KNOBS:
        if not auto and name not in asked:
            continue
        if (name == "static" and "dynamic" in asked) or (name == "dynamic" and "static" in asked):
            continue
        base = _fastest(rows, KNOBS[name].compiled_only)
        if base is None:
            decisions.append(
                VariantDecision(
                    workload,
                    name,
                    None,
                    False,
                    "no "
                    + ("compiled " if KNOBS[name].compiled_only else "")
                    + "mode gave a timed result to apply it to",
                    None,
                )
            )
            continue
        signal = _signal(name, rows, base, device, grad)
        blocked = _not_applicable(name, base, device, cc, grad)
        if blocked:
            decisions.append(VariantDecision(workload, name, base.label, False, blocked, signal))
        elif signal or name in asked:
            why = "; ".join(filter(None, [signal, "asked for with --knobs" if name in asked else None]))
            decisions.append(VariantDecision(workload, name, base.label, True, why, signal))
        else:
            decisions.append(VariantDecision(workload, name, base.label, False, ABSENT[name], None))
    return decisions


ABSENT = {
    "tf32": "no float32 matmul or convolution ran",
    "coordinate_descent_tuning": "no generated Triton kernel to tune",
    "freezing": "no nn.Parameter was read",
    "dynamic": "no recompiles",
    "static": "no dynamic shapes",
}


def has_mechanism(workload: str, knob: str, variants: list[VariantDecision]) -> bool:
    """Whether the workload gave ``knob`` something to act on (its signal: parameters for freezing, a
    float32 matmul for tf32, ...). A knob asked for by name without one cannot change the workload's
    time: a difference it shows is measurement noise, never an effect. ``dynamic`` always has one: it
    makes inductor generate kernels for symbolic sizes whatever the workload does. Without a decision
    for it (a run from before they were recorded), it is given the benefit of the doubt."""
    decided = [d for d in variants if d.workload == workload and d.knob == knob]
    return knob == "dynamic" or not decided or any(d.signal for d in decided)


def combination(
    workload: str, rows: list[ModeResult], variants: list[VariantDecision] | None = None
) -> VariantDecision | None:
    """The knobs that each beat the mode they were applied to beyond its spread, together on the fastest
    compiled mode, when there are two or more: what the recommendation would name. Only knobs with
    something to act on count (``has_mechanism``)."""
    plain = {r.label: r for r in rows if r.timed and not r.knobs}
    won = []
    for r in rows:
        base = plain.get(r.mode)
        if variants is not None and r.knobs and not has_mechanism(workload, r.knobs[0], variants):
            continue
        if len(r.knobs) == 1 and r.timed and base and r.timed_timing.per_call_q3_ms < base.timed_timing.per_call_q1_ms:
            won.append(r.knobs[0])
    target = _fastest(rows, any(KNOBS[k].compiled_only for k in won))
    if len(won) < 2 or target is None:
        return None
    return VariantDecision(
        workload,
        "+".join(won),
        target.label,
        True,
        f"each of {', '.join(won)} beat its mode beyond the spread on its own",
        None,
    )
