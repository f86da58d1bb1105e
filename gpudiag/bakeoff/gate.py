"""The CI gate: limits a run must keep, and an earlier run (``--baseline``) it must not regress from.

Each gate checks every row it applies to and passes or fails as a whole, with the rows that broke it:

* ``max-regression``: a row (workload, mode and knobs) timed in the baseline must still be timed and
  no slower than the baseline by more than the limit. A GPU-bound row is compared by its ranking
  figure. A launch-bound row (in either run) is timed by the host, whose speed differs between
  processes by far more than a run's own quartiles show: two identical runs on the H200 host moved
  by +9.9% and +31.6% with quartile ranges of 3-8% (docs/BENCHMARKS.md; up to 43% on the H100). So
  launch-bound rows are listed with their change but not gated unless ``--max-regression-launch-bound``
  gives their own limit, which they must then exceed beyond both runs' measured spread (this run's
  lower quartile above the baseline's upper one);
* ``max-graph-breaks``, ``max-recompiles``: per compiled row, dynamo's counts;
* ``max-compile-s``: per compiled row, the cold compile (first call).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

from gpudiag.bakeoff.results import COMPATIBLE_SCHEMAS, BakeoffRun, ModeResult, label
from gpudiag.bakeoff.settings import Limits
from gpudiag.errors import GpudiagError


@dataclass
class Breach:
    workload: str
    label: str
    detail: str


@dataclass
class GateResult:
    name: str
    limit: float
    passed: bool
    checked: int  # rows the gate applied to
    breaches: list[Breach] = field(default_factory=list)
    note: str | None = None
    not_gated: list[Breach] = field(default_factory=list)  # compared, shown, not gated: launch-bound rows

    @property
    def line(self) -> str:
        """One line: the gate, and what broke it."""
        shown = "; ".join(f"{b.label} on {b.workload}: {b.detail}" for b in self.breaches)
        verdict = "passed" if self.passed else f"failed for {len(self.breaches)} of {self.checked} row(s)"
        return f"gate {self.name} {_limit_text(self.name, self.limit)}: {verdict}" + (f": {shown}" if shown else "")


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


@dataclass
class Baseline:
    path: str
    device: dict
    rows: list[BaselineRow]

    def check_device(self, device: dict) -> str | None:
        """Refuse a baseline from another kind of device (exit 2); a note when the GPU differs."""
        if self.device.get("kind") and self.device.get("kind") != device.get("kind"):
            raise GpudiagError(
                f"--baseline {self.path}: measured on {self.device.get('kind')}, this run is on "
                f"{device.get('kind')}; compare runs on the same device"
            )
        if self.device.get("name") != device.get("name"):
            return f"the baseline ran on {self.device.get('name')}, this run on {device.get('name')}"
        return None


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
            )
        )
    return Baseline(path, doc.get("device") or {}, rows)


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
        breaches = [
            Breach(r.workload, r.label, f"{v:.3g} s" if name == "max-compile-s" else str(v))
            for r, v in seen
            if v > limit
        ]
        results.append(GateResult(name, float(limit), not breaches, len(seen), breaches))
    return GateReport(baseline.path if baseline else None, results)


def _regression(run: BakeoffRun, pct: float, baseline: Baseline, launch_bound_pct: float | None) -> GateResult:
    now = {(r.workload, r.label): r for r in run.rows}
    breaches, not_gated, checked = [], [], 0
    for b in baseline.rows:
        current = now.get((b.workload, b.label))
        if not b.timed or current is None or current.status in ("skipped", "not_run", "interrupted"):
            continue
        if current.timed and (b.launch_bound or current.timed_timing.launch_bound) and launch_bound_pct is None:
            not_gated.append(Breach(b.workload, b.label, _change(b, current)))
            continue
        checked += 1
        if not current.timed:
            breaches.append(
                Breach(b.workload, b.label, f"{current.status} now, {b.per_call_ms:.4g} ms in the baseline")
            )
            continue
        why = regressed(b, current, pct, launch_bound_pct)
        if why:
            breaches.append(Breach(b.workload, b.label, why))
    notes = [
        n
        for n in (
            baseline.check_device(run.device),
            f"{len(not_gated)} launch-bound row(s) shown, not gated: host-timed figures move between "
            "processes beyond their quartiles; --max-regression-launch-bound PCT gates them"
            if not_gated
            else None,
        )
        if n
    ]
    return GateResult("max-regression", pct, not breaches, checked, breaches, "; ".join(notes) or None, not_gated)


def _change(base: BaselineRow, row: ModeResult) -> str:
    t = row.timing
    assert t is not None and base.per_call_ms is not None
    return f"{t.per_call_ms / base.per_call_ms - 1.0:+.1%} ({base.per_call_ms:.4g} -> {t.per_call_ms:.4g} ms"


def regressed(base: BaselineRow, row: ModeResult, pct: float, launch_bound_pct: float | None = None) -> str | None:
    """Why ``row`` regressed from ``base`` beyond its limit (None: it did not): ``pct`` percent for a
    GPU-bound row, ``launch_bound_pct`` beyond both runs' quartile ranges for a launch-bound one."""
    t = row.timing
    assert t is not None and base.per_call_ms is not None
    change = t.per_call_ms / base.per_call_ms - 1.0
    shown = _change(base, row)
    if base.launch_bound or t.launch_bound:
        limit = pct if launch_bound_pct is None else launch_bound_pct
        upper = base.per_call_q3_ms if base.per_call_q3_ms is not None else base.per_call_ms
        if t.per_call_q1_ms > upper * (1 + limit / 100) and change > limit / 100:
            return (
                shown + f"; launch-bound: its q1 {t.per_call_q1_ms:.4g} ms is above the baseline's q3 "
                f"{upper:.4g} ms + {limit:g}%)"
            )
        return None
    return shown + ")" if change > pct / 100 and math.isfinite(change) else None
