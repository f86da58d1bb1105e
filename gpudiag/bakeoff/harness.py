"""Run a bake-off: one child process per measurement, timeouts, failures as rows, signals, streaming.

The harness never imports torch. It probes the script once (in a child: the script may touch CUDA),
then measures every workload in every mode and then in the knobs its rows call for, each in its own
process with its own fresh on-disk state. A measurement that crashes, hangs past the timeout, runs
out of memory or fails to compile becomes a row with a status and a one-line reason; the rest still
run. After every row ``on_change`` receives the run (the session writes ``--output`` from it), so an
interrupted run keeps everything finished so far.

Ctrl-C, SIGTERM and SIGHUP (what ``timeout``, Slurm and CI cancellation send) stop the run the same
way: every child process is ended, the temporary folder is removed, and the run is returned marked
interrupted, with the signal.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gpudiag import __version__
from gpudiag.bakeoff import isolation, launcher
from gpudiag.bakeoff import knobs as knob_table
from gpudiag.bakeoff.child import Spec
from gpudiag.bakeoff.explain_link import explain_lines
from gpudiag.bakeoff.loader import ScriptError
from gpudiag.bakeoff.modes import skip_reason
from gpudiag.bakeoff.results import BakeoffRun, ChildProcess, ModeResult, ScriptListing, label
from gpudiag.bakeoff.settings import Settings
from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.installed import versions

POLL_S = 0.2
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@dataclass
class Progress:
    workload: str | None
    label: str
    phase: str  # starting loading reference compiling checking timing done
    elapsed_s: float
    index: int  # 1-based measurement number
    total: int  # grows when knobs are planned
    row: ModeResult | None = None


@dataclass
class Finished:
    """A child process at its end: what it wrote (a ModeResult or a ScriptListing, as JSON), or the
    failure row the harness built when it wrote nothing."""

    written: dict | None
    failure: ModeResult | None
    wall_s: float
    log_tail: list[str]


class Stopped(BaseException):
    """Ctrl-C, SIGTERM or SIGHUP: stop every child, clean up, keep what finished."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _StopSignals:
    """While a run lasts, SIGTERM and SIGHUP raise ``Stopped`` in the main thread (Ctrl-C already raises
    KeyboardInterrupt); during the clean-up after a stop, further signals are held off. ``restore``
    puts back whatever handlers were there before."""

    WATCHED = (*STOP_SIGNALS, signal.SIGINT)

    def __init__(self) -> None:
        self.active = threading.current_thread() is threading.main_thread()
        self.previous = {sig: signal.getsignal(sig) for sig in self.WATCHED} if self.active else {}
        if self.active:
            for sig in STOP_SIGNALS:
                signal.signal(sig, self._stop)

    @staticmethod
    def _stop(signum: int, _frame: Any) -> None:
        raise Stopped(signum)

    def hold(self) -> None:
        for sig in self.previous:
            signal.signal(sig, signal.SIG_IGN)

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds")


def resolve_device(requested: str) -> tuple[str, dict]:
    """``auto`` -> cuda when a GPU is visible, else cpu; ``cuda`` without a GPU is an error (exit 2)."""
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
    return {
        "kind": "cuda",
        "name": facts.name,
        "sm": facts.sm,
        "sm_count": facts.sm_count,
        "origin": facts.origin,
        "memory_total_bytes": getattr(facts, "memory_total_bytes", None),
        "is_big_gpu_min_sms": gate.cuda_min_sms,
        "is_big_gpu_source": gate.where,
        "gemm_templates_disabled": disabled,
    }


_ERROR_LINE = re.compile(
    r"^([A-Za-z_][\w.]*(Error|Exception|Interrupt)|Segmentation fault|Killed|Fatal Python error)\b"
)


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
    def __init__(
        self,
        settings: Settings,
        on_progress: Callable[[Progress], None] | None = None,
        on_change: Callable[[BakeoffRun], None] | None = None,
    ) -> None:
        self.settings = settings
        self.script = settings.validate()
        assert settings.modes is not None  # validate() resolves them
        self.modes: list[str] = list(settings.modes)
        self.knobs_auto, self.knobs_asked = knob_table.parse(settings.knobs)
        self.on_progress = on_progress or (lambda p: None)
        self.on_change = on_change or (lambda run: None)
        self.device, device_info = resolve_device(settings.device)
        self.run = BakeoffRun(
            settings={**asdict(settings), "script": str(self.script.resolve()), "device": self.device},
            device=device_info,
            versions={
                "gpudiag": __version__,
                "torch": versions.torch_version(),
                "triton": versions.triton_version(),
                "python": versions.python_version(),
                "torch_cuda": versions.torch_cuda_version(),
            },
            started_at=_now(),
            isolation=isolation.describe()
            if not settings.warm_cache
            else {"fresh_per_measurement": [], "shared": ["everything: --warm-cache uses your own caches"]},
        )
        self.workdir: Path | None = None
        self.zygote: launcher.Zygote | None = None
        self.current: Any = None  # the child process running now
        self._stopped_row: ModeResult | None = None  # what a stop now would leave of that measurement
        self._count = 0
        self._total = 0

    # -- one child ------------------------------------------------------------------------------
    def _spec(self, workload: str | None, mode: str, knobs: tuple[str, ...], tag: str) -> Spec:
        assert self.workdir is not None
        s = self.settings
        assert s.warmup_ms is not None and s.rep_ms is not None  # validate() resolves them
        return Spec(
            script=str(self.script.resolve()),
            entry=s.entry,
            inputs=s.inputs,
            workload=workload,
            mode=mode,
            knobs=knobs,
            device=self.device,
            seed=s.seed,
            warmup_ms=s.warmup_ms,
            rep_ms=s.rep_ms,
            crosscheck=s.crosscheck,
            census=workload is not None and mode == "eager" and not knobs,
            state_dir=None if s.warm_cache else self._state_dir(workload, mode, knobs, tag),
            result_path=str(self.workdir / f"{tag}.result.json"),
            phase_path=str(self.workdir / f"{tag}.phase.json"),
        )

    def _state_dir(self, workload: str | None, mode: str, knobs: tuple[str, ...], tag: str) -> str:
        if self.settings.keep_cache_root and workload is not None:
            return str(Path(self.settings.keep_cache_root) / "-".join([_slug(workload), mode, *knobs]))
        return str(self.workdir / "state" / tag)  # type: ignore[operator]

    def _start(self, spec: Spec, tag: str) -> Any:
        assert self.workdir is not None
        log = self.workdir / f"{tag}.log"
        if self.settings.spawn == "fork" and not self.run.harness.get("fork_fallback"):
            if self.zygote is None:
                try:
                    self.zygote = launcher.Zygote(
                        self.workdir / "zygote.log", None if self.settings.warm_cache else self.workdir / "zygote-state"
                    )
                except launcher.ZygoteUnusable as exc:
                    self.run.harness["fork_fallback"] = f"{exc.message}; used fresh interpreters"
                    return launcher.FreshChild(spec.to_dict(), self.workdir / f"{tag}.spec.json", log)
                self.run.harness.update(zygote_import_s=self.zygote.import_s, zygote_start_s=self.zygote.start_s)
            return self.zygote.start(spec.to_dict(), log)
        return launcher.FreshChild(spec.to_dict(), self.workdir / f"{tag}.spec.json", log)

    def _run_child(self, spec: Spec, label: str, tag: str) -> Finished:
        """Run one child to its end."""
        child = self.current = self._start(spec, tag)
        t0 = time.monotonic()  # after the start: the zygote's own import is not the measurement's time
        phase_path = Path(spec.phase_path or "")
        returncode = None
        timed_out = False
        while True:
            returncode = child.poll(POLL_S)
            if returncode is not None:
                break
            elapsed = time.monotonic() - t0
            self.on_progress(Progress(spec.workload, label, _read_phase(phase_path), elapsed, self._count, self._total))
            if elapsed > self.settings.timeout_s:
                timed_out = True
                child.kill()
                break
        wall = time.monotonic() - t0
        launcher.kill_group(child.pid)  # stragglers it started (compile workers) must not load the next one
        self.current = None
        tail = launcher.log_tail(self.workdir / f"{tag}.log")  # type: ignore[operator]
        if spec.state_dir and not self.settings.keep_cache_root:
            shutil.rmtree(spec.state_dir, ignore_errors=True)
        process = ChildProcess(pid=child.pid, returncode=returncode)
        if timed_out:
            return Finished(
                None,
                ModeResult(
                    spec.workload or "",
                    spec.mode,
                    "timeout",
                    f"still {_read_phase(phase_path)} after the {self.settings.timeout_s:g} s --timeout; stopped",
                    knobs=list(spec.knobs),
                    wall_s=wall,
                    child=process,
                    log_tail=tail,
                ),
                wall,
                tail,
            )
        try:
            written = json.loads(Path(spec.result_path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            written = None
        if written is not None:
            written.setdefault("child", {}).update(returncode=returncode)
            return Finished(written, None, wall, tail)
        status, reason = crash_reason(returncode, tail)
        return Finished(
            None,
            ModeResult(
                spec.workload or "",
                spec.mode,
                status,
                reason,
                knobs=list(spec.knobs),
                wall_s=wall,
                child=process,
                log_tail=tail,
            ),
            wall,
            tail,
        )

    # -- the whole bake-off ---------------------------------------------------------------------
    def _probe(self) -> None:
        t0 = time.monotonic()
        spec = self._spec(None, "eager", (), "probe")
        done = self._run_child(spec, "probe", "probe")
        self.run.harness["probe_s"] = time.monotonic() - t0
        listing = ScriptListing.from_dict(done.written) if done.written else None
        if listing is not None and listing.status == "listed":
            self.run.workloads = listing.workloads
            return
        if listing is not None and listing.status == "script_error":
            raise ScriptError(listing.reason or "", listing.user_traceback or "")
        why = (listing.reason if listing else None) or (done.failure.reason if done.failure else "unknown failure")
        raise GpudiagError(f"{self.script.name}: could not be loaded: {why}")

    def execute(self) -> BakeoffRun:
        t0 = time.monotonic()
        self.workdir = Path(tempfile.mkdtemp(prefix="gpudiag-bakeoff-"))
        self.run.harness.update(spawn=self.settings.spawn)
        signals = _StopSignals()
        pending: list[ModeResult] = []
        try:
            try:
                self.on_progress(Progress(None, "probe", "loading", 0.0, 0, 0))
                self._probe()
                plan = [(w.name, m) for w in self.run.workloads for m in self.modes]
                self._total = sum(1 for _, m in plan if not skip_reason(m, self.device))
                pending = [
                    ModeResult(w, m, "not_run", "the bake-off was interrupted before this mode ran") for w, m in plan
                ]
                self.on_change(self.run)
                for w in self.run.workloads:
                    for m in self.modes:
                        pending.pop(0)
                        self._add(self._measure(w.name, m, ()))
                    self._measure_knobs(w.name)
                self.run.complete = True
            except KeyboardInterrupt:
                raise Stopped(signal.SIGINT) from None
        except Stopped as stop:
            signals.hold()
            self._stop_children()
            self.run.interrupted, self.run.interrupted_by = True, signal.Signals(stop.signum).name
            if self._stopped_row is not None:
                self._stopped_row.reason = f"stopped by {self.run.interrupted_by} while this measurement ran"
                self.run.rows.append(self._stopped_row)
            self.run.rows.extend(pending)
        finally:
            signals.hold()
            try:
                self._stop_children()
                self.run.finished_at = _now()
                self.run.wall_s = time.monotonic() - t0
                shutil.rmtree(self.workdir, ignore_errors=True)
                if self.run.workloads:
                    self.on_change(self.run)
            finally:
                signals.restore()
        return self.run

    def _stop_children(self) -> None:
        if self.current is not None:
            self.current.kill()
            self.current = None
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None

    def _add(self, row: ModeResult) -> None:
        self.run.rows.append(row)
        self.on_change(self.run)
        self.on_progress(Progress(row.workload, row.label, "done", row.wall_s or 0.0, self._count, self._total, row))

    def _measure_knobs(self, workload: str) -> None:
        rows = self.run.rows_of(workload)
        cc = next(
            (_cc(r.environment.compute_capability) for r in rows if r.environment and r.environment.compute_capability),
            None,
        )
        decisions = knob_table.decide(workload, rows, self.knobs_auto, self.knobs_asked, self.device, cc)
        self.run.variants.extend(decisions)
        self._total += sum(1 for d in decisions if d.measured)
        for d in decisions:
            if d.measured:
                self._add(self._measure(workload, _mode_of(d.base), (d.knob,)))
            elif d.knob in self.knobs_asked:
                self._add(
                    ModeResult(workload, _mode_of(d.base) if d.base else "default", "skipped", d.why, knobs=[d.knob])
                )
        combo = knob_table.combination(workload, self.run.rows_of(workload))
        if combo is not None:
            self.run.variants.append(combo)
            self._total += 1
            self._add(self._measure(workload, _mode_of(combo.base), tuple(combo.knob.split("+"))))

    def _measure(self, workload: str, mode: str, knobs: tuple[str, ...]) -> ModeResult:
        why = skip_reason(mode, self.device)
        if why:
            return ModeResult(workload, mode, "skipped", why, knobs=list(knobs))
        eager = next((r for r in self.run.rows if r.workload == workload and r.mode == "eager" and not r.knobs), None)
        self._count += 1
        if eager is not None and not eager.timed:
            return ModeResult(
                workload, mode, "not_run", f"eager failed for this workload ({eager.status})", knobs=list(knobs)
            )
        tag = "-".join([f"{len(self.run.rows):03d}", _slug(workload), mode, *knobs])
        spec = self._spec(workload, mode, knobs, tag)
        self._stopped_row = ModeResult(workload, mode, "interrupted", knobs=list(knobs))
        done = self._run_child(spec, label(mode, knobs), tag)
        self._stopped_row = None
        if done.written is None:
            assert done.failure is not None
            return done.failure
        row = ModeResult.from_dict(done.written)
        row.wall_s = done.wall_s
        if not row.timed:
            row.log_tail = done.log_tail
        for w, e in zip(row.observed.warnings, explain_lines([w.line for w in row.observed.warnings])):
            w.explained = e
        return row


def _mode_of(label: str | None) -> str:
    return (label or "default").split(" ")[0]


def _cc(text: str) -> tuple[int, int] | None:
    try:
        major, minor = text.split(".")
        return int(major), int(minor)
    except ValueError:
        return None


def _read_phase(path: Path) -> str:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("phase", "starting")
    except (OSError, ValueError):
        return "starting"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:40] or "workload"
