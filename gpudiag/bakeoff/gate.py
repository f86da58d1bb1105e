"""The CI gate: limits a run must keep, and an earlier run (``--baseline``) it must not regress from.

Each gate checks every row it applies to, names them, and passes or fails as a whole, with the rows
that broke it. A gate that compared no row fails (a renamed workload, a baseline from another
script): it would otherwise pass for good while checking nothing; ``--allow-empty-gate`` accepts it.

* ``max-regression``: a row (workload, mode and knobs) timed in the baseline must still be timed and
  no slower than the baseline by more than the limit, by its ranking figure:

  - a GPU-bound row (do_bench's device time, which repeats within 0.2-3% between bake-offs) by the
    percentage alone;
  - a host-timed row, whose figure includes the host's speed, only beyond both runs' measured spread
    (this run's lower quartile above the baseline's upper one, by more than the limit). On the CPU
    (the wall clock per call) the limit is the percentage: two identical runs on the CPU machine moved
    +15% and +12% with overlapping quartiles. A launch-bound GPU row (its back-to-back loop time) gets
    ``LAUNCH_BOUND_NOISE_PCT`` unless ``--max-regression-launch-bound`` sets its own: the loop's
    quartiles come from one process, and the host's speed moves between processes beyond them (two
    identical runs of a decode-size MLP on the H200 host: +9.9% and +31.6% with quartile ranges of
    3-8%, and in another session this run's lower quartile 46% above the baseline's upper one);
* ``max-graph-breaks``, ``max-recompiles``: per compiled row, dynamo's counts;
* ``max-compile-s``: per compiled row, the cold compile (first call).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

from gpudiag.bakeoff.results import COMPATIBLE_SCHEMAS, BakeoffRun, Limits, ModeResult, RunDevice, from_dict, label
from gpudiag.errors import GpudiagError

# The limit for launch-bound GPU rows beyond both runs' quartile ranges, unless
# --max-regression-launch-bound gives one: above the largest move measured between two identical
# runs (46% beyond the quartiles, H200 host, bench/results/2026-12-02-h200-final-1).
LAUNCH_BOUND_NOISE_PCT = 50.0


@dataclass
class GatedRow:
    """A row a gate checked: its figure, and for a breach what broke the limit."""

    workload: str
    label: str
    detail: str


Breach = GatedRow


@dataclass
class GateResult:
    name: str
    limit: float
    passed: bool
    checked: int  # rows the gate applied to
    breaches: list[GatedRow] = field(default_factory=list)
    note: str | None = None
    compared: list[GatedRow] = field(default_factory=list)  # every row checked, with its figure
    empty: str | None = None  # why no row could be checked, when none was

    @property
    def line(self) -> str:
        """One line: the gate, and what broke it (or which rows it passed)."""
        head = f"gate {self.name} {_limit_text(self.name, self.limit)}"
        if self.empty:
            if self.passed:
                return f"{head}: passed with no row compared (--allow-empty-gate): {self.empty}"
            return f"{head}: failed: it compared no row: {self.empty}; --allow-empty-gate accepts that"
        if self.passed:
            return f"{head}: passed for {self.checked} row(s): " + ", ".join(
                f"{c.label} on {c.workload}" for c in self.compared
            )
        shown = "; ".join(f"{b.label} on {b.workload}: {b.detail}" for b in self.breaches)
        return f"{head}: failed for {len(self.breaches)} of {self.checked} row(s): {shown}"


@dataclass
class GateReport:
    baseline: str | None
    results: list[GateResult]

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.results)

    def to_dict(self) -> dict:
        return {"baseline": self.baseline, "passed": self.passed, "gates": [asdict(g) for g in self.results]}


def _limit_text(name: str, limit: float) -> str:
    return {"max-regression": f"{limit:g}%", "max-compile-s": f"{limit:g} s"}.get(name, f"{limit:g}")


@dataclass
class BaselineRow:
    workload: str
    label: str
    timed: bool
    per_call_ms: float | None
    per_call_q3_ms: float | None
    launch_bound: bool
    host_timed: bool = False  # the wall clock per call (a CPU run): gated beyond its spread too


@dataclass
class Baseline:
    path: str
    device: RunDevice
    rows: list[BaselineRow]
    environment_variables: dict[str, str] | None = None  # None: a document from before they were recorded
    script_args: list[str] = field(default_factory=list)  # what its script was given after `--`
    grad: bool = False  # it measured training (--grad)

    def check_device(self, device: RunDevice) -> str | None:
        """Refuse a baseline from another kind of device (exit 2); a note when the GPU differs."""
        if self.device.kind and self.device.kind != device.kind:
            raise GpudiagError(
                f"--baseline {self.path}: measured on {self.device.kind}, this run is on "
                f"{device.kind}; compare runs on the same device"
            )
        if self.device.name != device.name:
            return f"the baseline ran on {self.device.name}, this run on {device.name}"
        return None

    def check_grad(self, grad: bool) -> None:
        """Training and inference are different workloads under the same names: refused (exit 2)."""
        if self.grad != grad:

            def what(g: bool) -> str:
                return "training (--grad)" if g else "inference (no --grad)"

            raise GpudiagError(
                f"--baseline {self.path}: it measured {what(self.grad)}, this run measures {what(grad)}; "
                "compare like with like"
            )

    def script_args_note(self, now: list[str]) -> str | None:
        """The baseline's script was run with other arguments (other sizes, most often): its rows are
        compared by name all the same, and the note says why they may differ."""
        if self.script_args == now:
            return None
        import shlex

        def shown(args: list[str]) -> str:
            return shlex.join(args) if args else "none"

        return f"the script's arguments differ from the baseline's: {shown(self.script_args)} then, {shown(now)} now"

    def environment_note(self, now: dict[str, str]) -> str | None:
        """Which variables that change behaviour differ between the baseline's run and this one."""
        if self.environment_variables is None:
            return None
        then = self.environment_variables
        changed = [
            _env_change(k, then.get(k), now.get(k)) for k in sorted(set(then) | set(now)) if then.get(k) != now.get(k)
        ]
        return "the environment differs from the baseline's: " + "; ".join(changed) if changed else None


def _env_change(name: str, then: str | None, now: str | None) -> str:
    return f"{name} {'unset' if then is None else repr(then)} then, {'unset' if now is None else repr(now)} now"


def load_baseline(path: str) -> Baseline:
    """An earlier ``--output`` document; anything else is one line, exit 2."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, UnicodeDecodeError) as exc:
        raise GpudiagError(f"--baseline {path}: cannot read it: {exc}") from None
    except ValueError as exc:
        raise GpudiagError(f"--baseline {path}: not JSON ({exc})") from None
    if (
        not isinstance(doc, dict)
        or doc.get("schema") not in COMPATIBLE_SCHEMAS
        or not isinstance(doc.get("rows"), list)
    ):
        raise GpudiagError(
            f"--baseline {path}: not a gpudiag bakeoff --output document (schema {' or '.join(COMPATIBLE_SCHEMAS)})"
        )
    device: dict = doc["device"] if isinstance(doc.get("device"), dict) else {}
    on_cpu = device.get("kind") == "cpu"
    rows = []
    for r in doc["rows"]:
        if not isinstance(r, dict):
            raise GpudiagError(f"--baseline {path}: a row is not an object")
        t = r.get("timing") or {}
        per_call = t.get("per_call_ms", t.get("median_ms"))
        rows.append(
            BaselineRow(
                str(r.get("workload")),
                r.get("label") or label(str(r.get("mode")), r.get("knobs") or []),
                r.get("status") in ("ok", "unchecked") and per_call is not None,
                per_call,
                t.get("per_call_q3_ms", t.get("q3_ms")),
                bool(t.get("launch_bound")),
                on_cpu or t.get("per_call_source") == "wall clock",
            )
        )
    env = doc.get("environment_variables")
    settings: dict = doc["settings"] if isinstance(doc.get("settings"), dict) else {}
    args = settings.get("script_args") or []  # absent before gpudiag passed any: the script had none
    return Baseline(
        path,
        from_dict(RunDevice, {"kind": "", **device}),
        rows,
        {str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else None,
        [str(a) for a in args] if isinstance(args, list) else [],
        settings.get("grad") is True,
    )


def evaluate(run: BakeoffRun, limits: Limits, baseline: Baseline | None) -> GateReport | None:
    if not limits.any:
        return None
    results = []
    compiled = [r for r in run.rows if r.mode != "eager" and r.status not in ("skipped", "not_run")]
    if baseline is not None:
        results.append(
            _regression(run, float(limits.max_regression_pct or 0.0), baseline, limits.max_regression_launch_bound_pct)
        )
    for name, limit, value in (
        ("max-graph-breaks", limits.max_graph_breaks, lambda r: r.observed.graph_breaks),
        ("max-recompiles", limits.max_recompiles, lambda r: r.observed.recompiles),
        ("max-compile-s", limits.max_compile_s, lambda r: r.compile_s),
    ):
        if limit is None:
            continue
        seen = [(r, value(r)) for r in compiled if value(r) is not None]
        shown = [GatedRow(r.workload, r.label, f"{v:.3g} s" if name == "max-compile-s" else str(v)) for r, v in seen]
        breaches = [g for g, (_, v) in zip(shown, seen) if v > limit]
        empty = None if seen else "no compiled row ran" + (f" ({len(compiled)} stopped early)" if compiled else "")
        results.append(GateResult(name, float(limit), not breaches, len(seen), breaches, None, shown, empty))
    for g in results:
        if g.empty and not limits.allow_empty:
            g.passed = False
    return GateReport(baseline.path if baseline else None, results)


def _names(rows: list[tuple[str, str]], limit: int = 4) -> str:
    shown = [f"{lab} on {w}" for w, lab in rows[:limit]]
    return ", ".join(shown) + (f" and {len(rows) - limit} more" if len(rows) > limit else "") if rows else "none"


def _regression(run: BakeoffRun, pct: float, baseline: Baseline, launch_bound_pct: float | None) -> GateResult:
    now = {(r.workload, r.label): r for r in run.rows}
    breaches, compared = [], []
    host_timed = launch_bound = 0
    for b in baseline.rows:
        current = now.get((b.workload, b.label))
        if not b.timed or current is None or current.status in ("skipped", "not_run", "interrupted"):
            continue
        if not current.timed:
            detail = f"{current.status} now, {b.per_call_ms:.4g} ms in the baseline"
            compared.append(GatedRow(b.workload, b.label, detail))
            breaches.append(GatedRow(b.workload, b.label, detail))
            continue
        t = current.timing
        assert t is not None
        launch_bound += b.launch_bound or t.launch_bound
        host_timed += not (b.launch_bound or t.launch_bound) and (b.host_timed or t.per_call_source == "wall clock")
        compared.append(GatedRow(b.workload, b.label, _change(b, current)))
        why = regressed(b, current, pct, launch_bound_pct)
        if why:
            breaches.append(GatedRow(b.workload, b.label, why))
    empty = None
    if not compared:
        timed_then = [(b.workload, b.label) for b in baseline.rows if b.timed]
        timed_now = [(r.workload, r.label) for r in run.rows if r.timed]
        empty = (
            f"no row the baseline timed ({_names(timed_then)}) was measured in this run ({_names(timed_now)})"
            if timed_then
            else f"the baseline {baseline.path} timed no row"
        )
    lb_limit = launch_bound_pct if launch_bound_pct is not None else max(pct, LAUNCH_BOUND_NOISE_PCT)
    notes = [
        n
        for n in (
            baseline.check_device(run.device),
            baseline.environment_note(run.environment_variables),
            baseline.script_args_note(run.settings.script_args),
            f"{launch_bound} launch-bound row(s) gated beyond both runs' quartile ranges by {lb_limit:g}%: host "
            "time moves between processes beyond one run's quartiles"
            + ("; --max-regression-launch-bound PCT sets that limit" if launch_bound_pct is None else "")
            if launch_bound
            else None,
            f"{host_timed} host-timed row(s) (the wall clock per call) gated beyond both runs' quartile ranges"
            if host_timed
            else None,
        )
        if n
    ]
    return GateResult(
        "max-regression", pct, not breaches, len(compared), breaches, "; ".join(notes) or None, compared, empty
    )


def _change(base: BaselineRow, row: ModeResult) -> str:
    t = row.timing
    assert t is not None and base.per_call_ms is not None
    return f"{t.per_call_ms / base.per_call_ms - 1.0:+.1%} ({base.per_call_ms:.4g} -> {t.per_call_ms:.4g} ms)"


def regressed(base: BaselineRow, row: ModeResult, pct: float, launch_bound_pct: float | None = None) -> str | None:
    """Why ``row`` regressed from ``base`` beyond its limit (None: it did not): ``pct`` percent for a
    GPU-bound row; beyond both runs' quartile ranges for a host-timed one, by ``pct`` on the CPU and by
    ``launch_bound_pct`` (else the larger of ``pct`` and ``LAUNCH_BOUND_NOISE_PCT``) when launch-bound."""
    t = row.timing
    assert t is not None and base.per_call_ms is not None
    change = t.per_call_ms / base.per_call_ms - 1.0
    shown = _change(base, row)
    launch_bound = base.launch_bound or t.launch_bound
    if launch_bound or base.host_timed or t.per_call_source == "wall clock":
        if launch_bound:
            limit = launch_bound_pct if launch_bound_pct is not None else max(pct, LAUNCH_BOUND_NOISE_PCT)
        else:
            limit = pct
        upper = base.per_call_q3_ms if base.per_call_q3_ms is not None else base.per_call_ms
        if t.per_call_q1_ms > upper * (1 + limit / 100) and change > limit / 100:
            kind = "launch-bound" if launch_bound else "host-timed"
            return f"{shown}; {kind}: its q1 {t.per_call_q1_ms:.4g} ms is above the baseline's q3 {upper:.4g} ms + {limit:g}%"
        return None
    return shown if change > pct / 100 and math.isfinite(change) else None
