"""The bake-off's results as typed records: what a child process measured and observed, and the run.

A child writes one ``ChildReport`` as JSON: its ``ModeResult`` and, for the first child, the
``ScriptListing`` of the workloads the script defines. The harness reads it back with ``from_dict``
and adds what only the parent knows (the child's wall time, exit code and log tail). ``BakeoffRun``
holds every row of a run, with the run's settings, device, versions and environment as records of
their own. Nothing here measures or judges: ``timing`` measures, ``observe`` watches, ``judge`` and
``report`` judge.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpudiag.bakeoff.compare import Comparison

SCHEMA = "gpudiag.bakeoff/3"
COMPATIBLE_SCHEMAS = ("gpudiag.bakeoff/1", "gpudiag.bakeoff/2", SCHEMA)  # what --baseline reads

# What a row's status means. A timed status carries a timing a ranking can use.
STATUSES = {
    "ok": "timed, and its output matches eager's within the dtype's tolerance",
    "unchecked": "timed, but eager's own output changes from call to call, so correctness was not checked",
    "mismatch": "timed, but its output differs from eager's beyond the tolerance: excluded from the ranking",
    "skipped": "not measured, for the reason given (not applicable on this device)",
    "not_run": "not measured: eager failed for this workload, or the run was interrupted first",
    "timeout": "stopped after --timeout",
    "crashed": "the process died without a result",
    "oom": "out of memory",
    "compile_error": "torch.compile failed",
    "error": "the workload raised",
    "harness_error": "a gpudiag bug, not the workload's",
    "interrupted": "stopped by Ctrl-C, SIGTERM or SIGHUP while it ran",
    "not_compiled": "torch.compile compiled nothing for this row (dynamo disabled, or no graph captured): it ran "
    "eager under another name, so it is not a measurement of its mode and is excluded from the ranking",
    "overridden": "not measured: the environment or the script changes what this mode compiles (such as "
    "TORCHINDUCTOR_MAX_AUTOTUNE=1 under default), so it would not be a measurement of that mode",
}
TIMED = ("ok", "unchecked")
FAILED = ("timeout", "crashed", "oom", "compile_error", "error", "harness_error")
NOT_THE_MODE = ("not_compiled", "overridden")  # ran (or would have) as something other than its label


@dataclass
class Stats:
    """A set of reps, in ms per call."""

    median_ms: float
    min_ms: float
    q1_ms: float
    q3_ms: float
    max_ms: float
    mean_ms: float
    reps: int


@dataclass
class Timing(Stats):
    """How long one call takes (``timing.py`` says how each figure is measured).

    The ``Stats``: do_bench's device time per call on CUDA, the wall clock per call on the CPU.
    ``loop_*``: calls issued back to back, host included (CUDA). ``per_call_*``: the figure that
    ranks the row (the loop for a launch-bound row, else the median). ``floor_ms`` / ``empty_ms``: the
    same timer on one tiny kernel and on no work at all, in the same process (CUDA).
    """

    timer: str
    warmup_ms: float
    rep_ms: float
    per_call_ms: float
    per_call_q1_ms: float
    per_call_q3_ms: float
    per_call_source: str  # do_bench | loop | wall clock
    launch_bound: bool = False
    loop_ms: float | None = None
    loop_q1_ms: float | None = None
    loop_q3_ms: float | None = None
    loop_rounds: int | None = None
    loop_calls_per_round: int | None = None
    loop_budget_ms: float | None = None
    floor_ms: float | None = None
    empty_ms: float | None = None
    crosscheck_median_ms: float | None = None

    @property
    def spread(self) -> float:
        """The ranking figure's interquartile range relative to it: how much this row moves by itself."""
        return (self.per_call_q3_ms - self.per_call_q1_ms) / self.per_call_ms if self.per_call_ms else 0.0


class Record:
    """A record that travels as JSON: ``asdict`` out, ``from_dict`` back in."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)  # type: ignore[call-overload]  # every Record subclass is a dataclass

    @classmethod
    def from_dict(cls, data: dict) -> Any:
        return from_dict(cls, data)


@dataclass
class Numerics:
    """A row's error against an fp64 run of the workload, beside eager's: what a setting costs in accuracy.

    ``rel_rmse`` is ||out - fp64|| / ||fp64|| on the worst floating-point output; a row passes when it
    is within the tolerance (the rtol) of the precision it computes in (``judged_as``).
    """

    rel_rmse: float
    eager_rel_rmse: float
    max_abs_error: float
    judged_as: str
    tolerance: float
    ok: bool

    @property
    def cost(self) -> float | None:
        """How many times eager's own error against fp64 this row's is."""
        return self.rel_rmse / self.eager_rel_rmse if self.eager_rel_rmse > 0 else None


@dataclass
class WarningLine:
    line: str
    count: int = 1
    explained: dict | None = None  # {id, title, severity} from explain-warning's catalogue


@dataclass
class Observations:
    """What the child saw while it compiled and ran, apart from what it timed."""

    warnings: list[WarningLine] = field(default_factory=list)
    graph_breaks: int | None = None
    graph_break_reasons: list[str] = field(default_factory=list)
    unique_graphs: int | None = None
    recompiles: int = 0
    recompile_reasons: list[str] = field(default_factory=list)
    dynamic_symbols: int = 0  # symbolic sizes dynamo created (dynamic shapes in the compiled graph)
    cudagraph_skips: int | None = None
    cudagraph_skip_reasons: list[str] = field(default_factory=list)
    generated_kernels: int | None = None  # kernels inductor generated (Triton on CUDA, C++ on the CPU)
    tf32_warning: bool = False  # inductor warned that TF32 tensor cores were available but off


@dataclass
class OpCensus:
    """One eager call seen op by op (the eager row only): what it runs, and what of it is dead work.

    An op is dead when nothing it writes reaches the call's outputs, a tensor that existed before the
    call, or Python (``.item()``); compiled modes drop such work, so it inflates their speed-up.
    """

    ops: int
    fp32_matmuls: int  # aten.mm/addmm/bmm/baddbmm with float32 results: inductor's TF32 warning's ops
    fp32_convs: int
    parameter_bytes: int  # nn.Parameters the call read
    written_bytes: int
    dead_bytes: int
    op_ms: float  # the ops' own time, each synchronised
    dead_ms: float
    dead_ops: list[str] = field(default_factory=list)  # the largest dead ops, "aten.zero_ 3.0 GiB"

    @property
    def dead_share(self) -> float:
        return self.dead_ms / self.op_ms if self.op_ms > 0 else 0.0


@dataclass
class Environment:
    torch: str | None = None
    triton: str | None = None
    python: str | None = None
    name: str | None = None
    threads: int | None = None
    sm_count: int | None = None
    compute_capability: str | None = None
    cuda: str | None = None
    float32_matmul_precision: str | None = None
    conv_tf32: bool | None = None
    is_big_gpu: bool | None = None
    is_big_gpu_error: str | None = None


@dataclass
class CompileCheck:
    """What a compiled row really compiled with, beside what its mode and knobs alone ask for.

    ``inductor`` holds the settings that tell the modes apart as inductor sees them at compile time
    (the global config, from the environment and anything the script set, patched by the mode's
    own options); ``expected`` what the mode and the knobs give on a clean configuration.
    """

    dynamo_disabled: bool
    inductor: dict[str, bool] = field(default_factory=dict)
    expected: dict[str, bool] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)  # each setting that differs, and what set it


@dataclass
class ChildProcess:
    pid: int | None = None
    returncode: int | None = None
    import_torch_s: float | None = None  # ~0 when forked from the zygote
    load_s: float | None = None
    child_wall_s: float | None = None
    phase_s: dict[str, float] = field(default_factory=dict)
    failed_phase: str | None = None
    rebased_paths: list[str] = field(default_factory=list)  # import-time paths moved into the fresh state


@dataclass
class ModeResult(Record):
    """One row: a workload measured in one mode, with zero or more knobs (or why it was not)."""

    workload: str
    mode: str
    status: str
    reason: str | None = None
    knobs: list[str] = field(default_factory=list)
    compile_s: float | None = None
    first_call_s: float | None = None
    timing: Timing | None = None
    peak_bytes: int | None = None  # compile + first calls (CUDA)
    steady_peak_bytes: int | None = None  # during timing, with do_bench's L2-flush buffer
    resident_bytes: int | None = None
    correctness: Comparison | None = None
    nondeterminism: Comparison | None = None  # eager against eager, when the two runs differ
    numerics: Numerics | None = None
    observed: Observations = field(default_factory=Observations)
    census: OpCensus | None = None
    environment: Environment | None = None
    compile_check: CompileCheck | None = None
    # Arguments the workload writes into ("args[0] float32[1024]"): every compared call gets a fresh copy.
    mutated_inputs: list[str] = field(default_factory=list)
    child: ChildProcess = field(default_factory=ChildProcess)
    wall_s: float | None = None  # the child's whole life, seen from the parent
    user_traceback: str | None = None
    log_tail: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return label(self.mode, self.knobs)

    @property
    def per_call_ms(self) -> float | None:
        return self.timing.per_call_ms if self.timing else None

    @property
    def timed_timing(self) -> Timing:
        """The timing of a row known to be timed (``timed`` is True): never None."""
        assert self.timing is not None, f"{self.label} has no timing"
        return self.timing

    @property
    def timed_ms(self) -> float:
        """``per_call_ms`` of a row known to be timed: a float, never None."""
        return self.timed_timing.per_call_ms

    @property
    def median_ms(self) -> float | None:
        return self.timing.median_ms if self.timing else None

    @property
    def launch_bound(self) -> bool:
        return bool(self.timing and self.timing.launch_bound)

    @property
    def timed(self) -> bool:
        """Rankable: timed, and not shown wrong."""
        return self.status in TIMED and self.timing is not None

    def to_dict(self) -> dict:
        return {"label": self.label, **dataclasses.asdict(self)}


@dataclass
class WorkloadInfo:
    name: str
    form: str  # kernelbench | gpudiag_workloads | entry
    args: list[str] = field(default_factory=list)  # "bfloat16[8, 1, 4096]"
    input_bytes: int = 0  # the call's input tensors: what a CUDA-graph replay copies first


@dataclass
class ScriptListing(Record):
    """The probe's answer: the workloads a script defines, or why it cannot be used."""

    status: str  # listed | script_error | error
    workloads: list[WorkloadInfo] = field(default_factory=list)
    reason: str | None = None
    user_traceback: str | None = None


@dataclass
class ChildReport(Record):
    """What one child writes: its row and, for the first child of a run, the script's workloads.

    The first child lists the workloads and measures the first one in eager, so the script's
    module-level code runs once per measurement process and in no other process. It writes the
    listing before it measures, so a crash in the measurement still leaves it.
    """

    listing: ScriptListing | None = None
    row: ModeResult | None = None


@dataclass
class VariantDecision:
    """Whether a knob was measured for a workload, on which mode, and the signal that decided it."""

    workload: str
    knob: str
    base: str | None  # the mode it was applied to
    measured: bool
    why: str
    signal: str | None = None  # what in the workload's rows called for it, whether or not it could run


@dataclass
class Limits:
    """The CI gate: each limit that is set is checked against the run (``gate.py``)."""

    baseline: str | None = None  # an earlier --output
    max_regression_pct: float | None = None
    max_graph_breaks: int | None = None
    max_recompiles: int | None = None
    max_compile_s: float | None = None
    max_regression_launch_bound_pct: float | None = None  # launch-bound rows' own limit; None: the default band
    allow_empty: bool = False  # --allow-empty-gate: a gate that compared no row passes (with a note)

    @property
    def any(self) -> bool:
        return any(v is not None for k, v in vars(self).items() if k != "allow_empty")


@dataclass
class RunSettings:
    """What the run was asked to do, every option checked and normalised (``Settings.validate``)."""

    script: str  # resolved
    modes: list[str]
    knobs: str | None
    device: str  # cpu or cuda: --device auto resolved
    timeout_s: float
    quick: bool
    warm_cache: bool
    entry: str | None
    inputs: str | None
    spawn: str
    seed: int
    output: str | None
    limits: Limits
    warmup_ms: float
    rep_ms: float
    keep_cache_root: str | None = None  # benchmarks only
    crosscheck: bool = False  # benchmarks only
    script_args: list[str] = field(default_factory=list)  # the script's sys.argv[1:] (after `--`)
    grad: bool = False  # --grad: autograd on, a module's forward and backward; False: inference (no_grad)

    @property
    def script_call(self) -> str:
        """The script as the user named it to run: ``model.py --batch 8``."""
        import shlex

        return shlex.join([Path(self.script).name, *self.script_args])


@dataclass
class RunDevice:
    """The device the run measured on, as the parent saw it before any child started."""

    kind: str  # cuda | cpu
    name: str | None = None
    sm: str | None = None
    sm_count: int | None = None
    origin: str | None = None
    memory_total_bytes: int | None = None
    is_big_gpu_min_sms: int | None = None  # inductor's is_big_gpu SM gate, read from the installed torch
    is_big_gpu_source: str | None = None
    gemm_templates_disabled: bool | None = None  # max-autotune's GEMM templates are off below that gate
    note: str | None = None  # why --device auto chose the CPU


@dataclass
class Versions:
    gpudiag: str | None = None
    torch: str | None = None
    triton: str | None = None
    python: str | None = None
    torch_cuda: str | None = None


@dataclass
class Isolation:
    """What each measurement gets fresh, and what stays shared between them (``isolation.py``)."""

    fresh_per_measurement: list[str] = field(default_factory=list)
    shared: list[str] = field(default_factory=list)


@dataclass
class HarnessInfo:
    """How the children were started, and what that cost."""

    spawn: str | None = None  # fork | fresh
    zygote_import_s: float | None = None
    zygote_start_s: float | None = None
    first_child_s: float | None = None  # the first child: listed the workloads and measured the first in eager
    fork_fallback: str | None = None  # why fresh interpreters were used instead of forks
    # Processes a measurement left running outside its process group (a workload that detached one):
    # found by the run's token in their environment and ended after that measurement.
    strays_ended: int = 0


@dataclass
class BakeoffRun:
    settings: RunSettings
    device: RunDevice
    versions: Versions
    started_at: str
    # Variables that change what torch.compile, inductor, Triton or CUDA do, as the run was given them
    # (``environ.py``): part of the measurement, so a baseline can be compared like for like.
    environment_variables: dict[str, str] = field(default_factory=dict)
    workloads: list[WorkloadInfo] = field(default_factory=list)
    rows: list[ModeResult] = field(default_factory=list)
    variants: list[VariantDecision] = field(default_factory=list)
    isolation: Isolation = field(default_factory=Isolation)
    finished_at: str | None = None
    wall_s: float | None = None
    complete: bool = False
    interrupted: bool = False
    interrupted_by: str | None = None  # SIGINT, SIGTERM or SIGHUP
    harness: HarnessInfo = field(default_factory=HarnessInfo)

    def rows_of(self, workload: str) -> list[ModeResult]:
        return [r for r in self.rows if r.workload == workload]

    def to_dict(self) -> dict:
        doc = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name in ("settings", "device", "versions", "isolation", "harness"):
            doc[name] = dataclasses.asdict(doc[name])
        doc["environment_variables"] = dict(self.environment_variables)
        doc["workloads"] = [dataclasses.asdict(w) for w in self.workloads]
        doc["rows"] = [r.to_dict() for r in self.rows]
        doc["variants"] = [dataclasses.asdict(v) for v in self.variants]
        return doc


def label(mode: str, knobs: list[str] | tuple[str, ...]) -> str:
    """``default`` or ``default +tf32 +freezing``: the name a row is shown and ranked under."""
    return " ".join([mode, *(f"+{k}" for k in knobs)])


# -- reading records back from JSON ----------------------------------------------------------------


def from_dict(cls: type, data: Any) -> Any:
    """Build dataclass ``cls`` from its ``asdict`` form, nested records included; unknown keys are
    ignored and missing ones take their defaults, so older documents (a --baseline) still read."""
    hints = _hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _convert(hints[f.name], data[f.name])
    return cls(**kwargs)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(inner[0], value) if len(inner) == 1 else value
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return [_convert(item, v) for v in value]
    if origin is dict:
        _, item = typing.get_args(hint) or (Any, Any)
        return {k: _convert(item, v) for k, v in value.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return from_dict(hint, value)
    return value
