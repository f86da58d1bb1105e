"""Run a bake-off: one child process per (workload, mode), timeouts, failures as rows, streamed results.

The harness never imports torch. It probes the script once (in a child: the script may touch CUDA),
then measures every workload in every mode, each in its own process with its own empty caches. A
mode that crashes, hangs past the timeout, runs out of memory or fails to compile becomes a row with
a status and a one-line reason; the rest still run. After every row the whole document is written
atomically to the ``--output`` file, so an interrupted run keeps everything finished so far.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import shutil
import signal
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from gpudiag import __version__
from gpudiag.installed import versions
from gpudiag.bakeoff import launcher
from gpudiag.bakeoff.loader import ScriptError
from gpudiag.bakeoff.modes import parse_modes, skip_reason
from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.files import write_json_atomic

SCHEMA = "gpudiag.bakeoff/1"
OK_STATUSES = ("ok",)
QUICK_BUDGET_MS = (25.0, 100.0)  # triton do_bench's own defaults: a fast, noisier answer
FULL_BUDGET_MS = (100.0, 1000.0)
POLL_S = 0.2


@dataclass
class Settings:
    script: str
    modes: list[str]
    device: str = "auto"  # auto | cpu | cuda
    timeout_s: float = 1200.0
    quick: bool = False
    warm_cache: bool = False
    entry: str | None = None
    inputs: str | None = None
    spawn: str = "fork"
    seed: int = 0
    output: str | None = None
    warmup_ms: float = FULL_BUDGET_MS[0]
    rep_ms: float = FULL_BUDGET_MS[1]
    # Benchmarks only: keep each measurement's cold cache under this folder (named by workload and
    # mode) instead of deleting it, so a script can reuse exactly what that mode compiled.
    keep_cache_root: str | None = None
    # Benchmarks only: after its own timing, each child times the same compiled callable again with a
    # plain do_bench (wall clock on the CPU), so a script can check the harness adds nothing.
    crosscheck: bool = False

    def __post_init__(self) -> None:
        if self.quick:
            self.warmup_ms, self.rep_ms = QUICK_BUDGET_MS


@dataclass
class ModeResult:
    """One row: a workload measured in one mode (or why it was not)."""

    workload: str
    mode: str
    status: str  # ok mismatch skipped not_run timeout crashed oom compile_error error harness_error interrupted
    reason: str | None = None
    compile_s: float | None = None
    first_call_s: float | None = None
    timing: dict = field(default_factory=dict)  # median_ms min_ms q1_ms q3_ms max_ms mean_ms reps timer ...
    peak_bytes: int | None = None
    steady_peak_bytes: int | None = None
    resident_bytes: int | None = None
    correctness: dict | None = None
    graph_breaks: int | None = None
    graph_break_reasons: list[str] = field(default_factory=list)
    unique_graphs: int | None = None
    recompiles: int | None = None
    cudagraph_skips: int | None = None
    warnings: list[dict] = field(default_factory=list)  # {line, count, explained?}
    wall_s: float | None = None  # the child's whole life, seen from the parent
    child: dict = field(default_factory=dict)  # pid, returncode, import_torch_s, load_s, child_wall_s
    environment: dict | None = None
    user_traceback: str | None = None
    log_tail: list[str] = field(default_factory=list)

    @property
    def median_ms(self) -> float | None:
        """do_bench's device-time median (the wall-clock median per call on the CPU)."""
        return self.timing.get("median_ms")

    @property
    def per_call_ms(self) -> float | None:
        """What ranks the mode: the back-to-back loop's time per call when launch-bound, do_bench's
        median otherwise (child.with_per_call says why); the plain median for results without a loop."""
        return self.timing.get("per_call_ms", self.median_ms)

    @property
    def per_call_quartiles(self) -> tuple[float | None, float | None]:
        t = self.timing
        if "per_call_q1_ms" in t or "per_call_q3_ms" in t:
            return t.get("per_call_q1_ms"), t.get("per_call_q3_ms")
        return t.get("q1_ms"), t.get("q3_ms")

    @property
    def launch_bound(self) -> bool:
        return bool(self.timing.get("launch_bound"))

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES and self.per_call_ms is not None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class BakeoffRun:
    settings: dict
    device: dict
    versions: dict
    started_at: str
    workloads: list[dict] = field(default_factory=list)
    rows: list[ModeResult] = field(default_factory=list)
    finished_at: str | None = None
    wall_s: float | None = None
    complete: bool = False
    interrupted: bool = False
    harness: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        from gpudiag.bakeoff import report

        return {"schema": SCHEMA, "settings": self.settings, "device": self.device, "versions": self.versions,
                "started_at": self.started_at, "finished_at": self.finished_at, "wall_s": self.wall_s,
                "complete": self.complete, "interrupted": self.interrupted, "harness": self.harness,
                "workloads": self.workloads, "rows": [r.to_dict() for r in self.rows],
                "summary": report.summarize(self).to_dict()}


@dataclass
class Progress:
    workload: str | None
    mode: str
    phase: str  # starting loading reference compiling checking timing done
    elapsed_s: float
    index: int  # 1-based measurement number
    total: int
    row: ModeResult | None = None


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds")


def resolve_device(requested: str) -> tuple[str, dict]:
    """``auto`` -> cuda when a GPU is visible, else cpu; ``cuda`` without a GPU is an error (exit 2)."""
    if requested not in ("auto", "cpu", "cuda"):
        raise GpudiagError(f"--device must be cpu, cuda or auto, not {requested!r}")
    if requested == "cpu":
        return "cpu", {"kind": "cpu"}
    from gpudiag.device import live_or_none

    facts, why = live_or_none(0)
    if facts is None:
        if requested == "cuda":
            raise GpudiagError(f"--device cuda: no usable GPU ({why}); use --device cpu", EXIT_USAGE)
        return "cpu", {"kind": "cpu", "note": f"no GPU ({why}); measuring on the CPU"}
    return "cuda", device_summary(facts)


def device_summary(facts: Any) -> dict:
    """The GPU facts a report needs, and whether inductor's is_big_gpu gate turns off GEMM templates."""
    from gpudiag.installed.sm_gate import installed_sm_gate

    gate = installed_sm_gate()
    disabled = gate.disables_templates(facts.sm_count)
    return {"kind": "cuda", "name": facts.name, "sm": facts.sm, "sm_count": facts.sm_count,
            "origin": facts.origin, "memory_total_bytes": getattr(facts, "memory_total_bytes", None),
            "is_big_gpu_min_sms": gate.cuda_min_sms, "is_big_gpu_source": gate.where,
            "gemm_templates_disabled": disabled}


def validate(settings: Settings) -> Path:
    script = Path(settings.script)
    if not script.exists():
        raise GpudiagError(f"{script}: no such file")
    if not script.is_file():
        raise GpudiagError(f"{script}: not a file")
    if script.suffix != ".py":
        raise GpudiagError(f"{script}: expected a Python script (.py)")
    if settings.spawn not in launcher.SPAWN_METHODS:
        raise GpudiagError(f"--spawn must be one of {', '.join(launcher.SPAWN_METHODS)}")
    if settings.timeout_s <= 0:
        raise GpudiagError("--timeout must be a positive number of seconds")
    if settings.inputs and not settings.entry:
        raise GpudiagError("--inputs names the arguments of --entry; give --entry NAME too")
    if settings.output:
        out = Path(settings.output)
        if out.exists() and out.is_dir():
            raise GpudiagError(f"--output {out}: is a folder; give a file name")
        if out.exists() and out.resolve() == script.resolve():
            raise GpudiagError(f"--output {out}: is the script itself; refusing to overwrite it")
        if not out.resolve().parent.is_dir():
            raise GpudiagError(f"--output {out}: folder {out.resolve().parent} does not exist")
    return script


_ERROR_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Interrupt)|Segmentation fault|Killed|Fatal Python error)\b")


def crash_reason(returncode: int | None, tail: list[str]) -> tuple[str, str]:
    """(status, one-line reason) for a child that left no result."""
    text = "\n".join(tail).lower()
    error_lines = [ln.strip() for ln in tail if _ERROR_LINE.match(ln.strip())]
    last = error_lines[-1] if error_lines else (tail[-1].strip() if tail else "")
    if "out of memory" in text or "outofmemoryerror" in text:
        return "oom", last or "out of memory"
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return "crashed", f"killed by {name}" + (f" after: {last}" if last else "")
    return "crashed", f"exited with code {returncode} without a result" + (f": {last}" if last else "")


class Harness:
    def __init__(self, settings: Settings, on_progress: Callable[[Progress], None] | None = None) -> None:
        self.settings = settings
        self.on_progress = on_progress or (lambda p: None)
        self.modes = parse_modes(",".join(settings.modes)) if settings.modes else parse_modes(None)
        self.script = validate(settings)
        self.device, device_info = resolve_device(settings.device)
        self.run = BakeoffRun(
            settings={**asdict(settings), "script": str(self.script.resolve()), "modes": self.modes,
                      "device": self.device},
            device=device_info,
            versions={"gpudiag": __version__, "torch": versions.torch_version(), "triton": versions.triton_version(),
                      "python": versions.python_version(), "torch_cuda": versions.torch_cuda_version()},
            started_at=_now())
        self.workdir: Path | None = None
        self.zygote: launcher.Zygote | None = None
        self._count = 0
        self._total = 0

    # -- output ---------------------------------------------------------------------------------
    def _flush(self) -> None:
        if self.settings.output:
            write_json_atomic(self.settings.output, self.run.to_dict())

    # -- one child ------------------------------------------------------------------------------
    def _spec(self, workload: str | None, mode: str, tag: str) -> dict:
        assert self.workdir is not None
        return {"script": str(self.script.resolve()), "entry": self.settings.entry, "inputs": self.settings.inputs,
                "workload": workload, "mode": mode, "device": self.device, "seed": self.settings.seed,
                "warmup_ms": self.settings.warmup_ms, "rep_ms": self.settings.rep_ms,
                "crosscheck": self.settings.crosscheck,
                "warm_cache": self.settings.warm_cache, "cache_dir": self._cache_dir(workload, mode, tag),
                "result_path": str(self.workdir / f"{tag}.result.json"),
                "phase_path": str(self.workdir / f"{tag}.phase.json")}

    def _cache_dir(self, workload: str | None, mode: str, tag: str) -> str:
        if self.settings.keep_cache_root and workload is not None:
            return str(Path(self.settings.keep_cache_root) / f"{_slug(workload)}-{mode}")
        return str(self.workdir / "cache" / tag)  # type: ignore[operator]

    def _start(self, spec: dict, tag: str) -> Any:
        assert self.workdir is not None
        log = self.workdir / f"{tag}.log"
        if self.settings.spawn == "fork" and not self.run.harness.get("fork_fallback"):
            if self.zygote is None:
                try:
                    self.zygote = launcher.Zygote(self.workdir / "zygote.log")
                except launcher.ZygoteUnusable as exc:
                    self.run.harness["fork_fallback"] = f"{exc.message}; used fresh interpreters"
                    return launcher.FreshChild(spec, self.workdir / f"{tag}.spec.json", log)
                self.run.harness.update(zygote_import_s=self.zygote.import_s, zygote_start_s=self.zygote.start_s)
            return self.zygote.start(spec, log)
        return launcher.FreshChild(spec, self.workdir / f"{tag}.spec.json", log)

    def _run_child(self, workload: str | None, mode: str, tag: str) -> tuple[dict | None, ModeResult | None]:
        """Run one child to its end; (the child's result dict, or a failure row built here)."""
        spec = self._spec(workload, mode, tag)
        t0 = time.monotonic()
        child = self._start(spec, tag)
        phase_path = Path(spec["phase_path"])
        returncode = None
        timed_out = False
        try:
            while True:
                returncode = child.poll(POLL_S)
                if returncode is not None:
                    break
                elapsed = time.monotonic() - t0
                self.on_progress(Progress(workload, mode, _read_phase(phase_path), elapsed, self._count, self._total))
                if elapsed > self.settings.timeout_s:
                    timed_out = True
                    child.kill()
                    break
        except KeyboardInterrupt:
            child.kill()
            raise
        wall = time.monotonic() - t0
        launcher.kill_group(child.pid)  # stragglers it started (compile workers) must not load the next mode
        log_path = self.workdir / f"{tag}.log"  # type: ignore[operator]
        tail = launcher.log_tail(log_path)
        if not self.settings.warm_cache and not self.settings.keep_cache_root:
            shutil.rmtree(spec["cache_dir"], ignore_errors=True)
        result_path = Path(spec["result_path"])
        if timed_out:
            phase = _read_phase(phase_path)
            return None, ModeResult(workload or "", mode, "timeout",
                                    f"still {phase} after the {self.settings.timeout_s:g} s --timeout; stopped",
                                    wall_s=wall, child={"pid": child.pid}, log_tail=tail)
        if result_path.is_file():
            try:
                result = json.loads(result_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                result = None
            if result is not None:
                result["_wall_s"], result["_returncode"], result["_log_tail"] = wall, returncode, tail
                return result, None
        status, reason = crash_reason(returncode, tail)
        return None, ModeResult(workload or "", mode, status, reason, wall_s=wall,
                                child={"pid": child.pid, "returncode": returncode}, log_tail=tail)

    # -- the whole bake-off ---------------------------------------------------------------------
    def _probe(self) -> list[dict]:
        t0 = time.monotonic()
        result, failure = self._run_child(None, "eager", "probe")
        self.run.harness["probe_s"] = time.monotonic() - t0
        if result is not None and result.get("status") == "listed":
            return result["workloads"]
        if result is not None and result.get("status") == "script_error":
            raise ScriptError(result["reason"], result.get("user_traceback") or "")
        why = (result or {}).get("reason") or (failure.reason if failure else "unknown failure")
        raise GpudiagError(f"{self.script.name}: could not be loaded: {why}")

    def execute(self) -> BakeoffRun:
        t0 = time.monotonic()
        self.workdir = Path(tempfile.mkdtemp(prefix="gpudiag-bakeoff-"))
        self.run.harness.update(spawn=self.settings.spawn)
        pending: list[ModeResult] = []
        try:
            self.on_progress(Progress(None, "probe", "loading", 0.0, 0, 0))
            self.run.workloads = self._probe()
            plan = [(w["name"], m) for w in self.run.workloads for m in self.modes]
            self._total = sum(1 for _, m in plan if not skip_reason(m, self.device))
            pending = [ModeResult(w, m, "not_run", "the bake-off was interrupted before this mode ran")
                       for w, m in plan]
            self._flush()
            for w, m in plan:
                row = self._measure(w, m)
                pending.pop(0)
                self.run.rows.append(row)
                self._flush()
                self.on_progress(Progress(w, m, "done", row.wall_s or 0.0, self._count, self._total, row))
            self.run.complete = True
        except KeyboardInterrupt:
            self.run.interrupted = True
            if pending:
                w, m = pending[0].workload, pending[0].mode
                pending[0] = ModeResult(w, m, "interrupted", "stopped by Ctrl-C while this mode ran")
            self.run.rows.extend(pending)
        finally:
            if self.zygote is not None:
                self.zygote.close()
            self.run.finished_at = _now()
            self.run.wall_s = time.monotonic() - t0
            if self.run.workloads:
                self._flush()
            shutil.rmtree(self.workdir, ignore_errors=True)
        return self.run

    def _measure(self, workload: str, mode: str) -> ModeResult:
        why = skip_reason(mode, self.device)
        if why:
            return ModeResult(workload, mode, "skipped", why)
        eager = next((r for r in self.run.rows if r.workload == workload and r.mode == "eager"), None)
        if eager is not None and not eager.ok:
            self._count += 1
            return ModeResult(workload, mode, "not_run", f"eager failed for this workload ({eager.status})")
        self._count += 1
        tag = f"{len(self.run.rows):03d}-{_slug(workload)}-{mode}"
        result, failure = self._run_child(workload, mode, tag)
        if failure is not None:
            return failure
        assert result is not None
        if result.get("status") == "script_error":
            return ModeResult(workload, mode, "error", result.get("reason"),
                              user_traceback=result.get("user_traceback"), wall_s=result.get("_wall_s"))
        return row_from_child(result, workload, mode)


def row_from_child(result: dict, workload: str, mode: str) -> ModeResult:
    from gpudiag.bakeoff.explain_link import explain_lines

    warnings = result.get("warnings") or []
    explained = explain_lines([w["line"] for w in warnings])
    for w, e in zip(warnings, explained):
        if e:
            w["explained"] = e
    return ModeResult(
        workload=workload, mode=mode, status=result.get("status", "error"), reason=result.get("reason"),
        compile_s=result.get("compile_s"), first_call_s=result.get("first_call_s"), timing=result.get("timing") or {},
        peak_bytes=result.get("peak_bytes"), steady_peak_bytes=result.get("steady_peak_bytes"),
        resident_bytes=result.get("resident_bytes"), correctness=result.get("correctness"),
        graph_breaks=result.get("graph_breaks"), graph_break_reasons=result.get("graph_break_reasons") or [],
        unique_graphs=result.get("unique_graphs"), recompiles=result.get("recompiles"),
        cudagraph_skips=result.get("cudagraph_skips"), warnings=warnings, wall_s=result.get("_wall_s"),
        child={k: result.get(k) for k in ("pid", "import_torch_s", "load_s", "child_wall_s", "phase_s", "failed_phase")}
        | {"returncode": result.get("_returncode")},
        environment=result.get("environment"), user_traceback=result.get("user_traceback") or None,
        log_tail=result.get("_log_tail") if result.get("status") not in OK_STATUSES else [])


def _read_phase(path: Path) -> str:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("phase", "starting")
    except (OSError, ValueError):
        return "starting"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:40] or "workload"


def run_bakeoff(settings: Settings, on_progress: Callable[[Progress], None] | None = None) -> BakeoffRun:
    return Harness(settings, on_progress).execute()
