"""Run a bake-off: one child process per measurement, timeouts, failures as rows, signals, streaming.

The harness never imports torch, nor the user's script. Its first child lists the workloads the
script defines and measures the first of them in eager (the script may touch CUDA, and its
module-level code runs once in each process that needs it, never twice in one); then every workload
in every mode and then in the knobs its rows call for, each in its own process with its own fresh
on-disk state. A measurement that crashes, hangs past the timeout, runs out of memory or fails to
compile becomes a row with a status and a one-line reason; the rest still run. After every row
``on_change`` receives the run (the session writes ``--output`` from it), so an interrupted run keeps
everything finished so far; a run interrupted before any row still gets its document, with no rows.

Ctrl-C, SIGTERM and SIGHUP (what ``timeout``, Slurm and CI cancellation send) stop the run the same
way: every child process is ended, the temporary folder is removed, and the run is returned marked
interrupted, with the signal. A signal that was ignored when the run started (``nohup`` ignores
SIGHUP) stays ignored.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gpudiag import __version__
from gpudiag.bakeoff import environ, isolation, launcher
from gpudiag.bakeoff import knobs as knob_table
from gpudiag.bakeoff.explain_link import explain_lines
from gpudiag.bakeoff.loader import ScriptError
from gpudiag.bakeoff.modes import skip_reason
from gpudiag.bakeoff.request import Request, phase_words
from gpudiag.bakeoff.results import BakeoffRun, ChildProcess, ChildReport, ModeResult, ScriptListing, Versions, label
from gpudiag.bakeoff.run_device import resolve_device
from gpudiag.bakeoff.settings import Settings
from gpudiag.bakeoff.stops import StopSignals
from gpudiag.errors import GpudiagError, Stopped
from gpudiag.installed import versions

POLL_S = 0.2


@dataclass
class Progress:
    workload: str | None
    label: str
    phase: str  # starting loading reference compiling checking timing done
    elapsed_s: float
    index: int  # 1-based measurement number
    total: int  # grows when knobs are planned; 0 until the script's workloads are known
    row: ModeResult | None = None


@dataclass
class Finished:
    """A child process at its end: the script's workloads (the first child), and its row: the one it
    wrote, or the one the harness built when it wrote none."""

    listing: ScriptListing | None
    row: ModeResult | None
    wall_s: float
    log_tail: list[str]


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds")


class Harness:
    def __init__(
        self,
        settings: Settings,
        on_progress: Callable[[Progress], None] | None = None,
        on_change: Callable[[BakeoffRun], None] | None = None,
    ) -> None:
        checked = settings.validate()
        self.device, device_info = resolve_device(checked.device)
        self.settings = replace(checked, device=self.device)
        self.script = Path(self.settings.script)
        self.modes: list[str] = list(self.settings.modes)
        assert self.modes[0] == "eager"  # the baseline, and what the first child measures
        self.knobs_auto, self.knobs_asked = knob_table.parse(self.settings.knobs)
        self.on_progress = on_progress or (lambda p: None)
        self.on_change = on_change or (lambda run: None)
        self.run = BakeoffRun(
            settings=self.settings,
            device=device_info,
            versions=Versions(
                gpudiag=__version__,
                torch=versions.torch_version(),
                triton=versions.triton_version(),
                python=versions.python_version(),
                torch_cuda=versions.torch_cuda_version(),
            ),
            started_at=_now(),
            environment_variables=environ.recorded(os.environ, self.settings.warm_cache),
            isolation=isolation.describe(self.settings.warm_cache),
        )
        self.token = launcher.new_run_token()
        self.workdir: Path | None = None
        self.zygote: launcher.Zygote | None = None
        self.current: Any = None  # the child process running now
        self._stopped_row: ModeResult | None = None  # what a stop now would leave of that measurement
        self._first_request: Request | None = None
        self._count = 0
        self._total = 0

    # -- one child ------------------------------------------------------------------------------
    def _request(
        self, workload: str | None, mode: str, knobs: tuple[str, ...], tag: str, first: bool = False
    ) -> Request:
        assert self.workdir is not None
        s = self.settings
        return Request(
            script=s.script,
            script_args=tuple(s.script_args),
            grad=s.grad,
            entry=s.entry,
            inputs=s.inputs,
            workload=workload,
            list_workloads=first,
            mode=mode,
            knobs=knobs,
            device=self.device,
            seed=s.seed,
            warmup_ms=s.warmup_ms,
            rep_ms=s.rep_ms,
            crosscheck=s.crosscheck,
            census=mode == "eager" and not knobs,
            state_dir=None if s.warm_cache else self._state_dir(workload, mode, knobs, tag),
            result_path=str(self.workdir / f"{tag}.result.json"),
            phase_path=str(self.workdir / f"{tag}.phase.json"),
        )

    def _state_dir(self, workload: str | None, mode: str, knobs: tuple[str, ...], tag: str) -> str:
        if self.settings.keep_cache_root and workload is not None:
            return str(Path(self.settings.keep_cache_root) / "-".join([_slug(workload), mode, *knobs]))
        return str(self.workdir / "state" / tag)  # type: ignore[operator]

    def _start(self, request: Request, tag: str) -> Any:
        assert self.workdir is not None
        log = self.workdir / f"{tag}.log"
        fresh_path = self.workdir / f"{tag}.request.json"
        if self.settings.spawn == "fork" and not self.run.harness.fork_fallback:
            if self.zygote is None:
                try:
                    self.zygote = launcher.Zygote(
                        self.workdir / "zygote.log",
                        self.token,
                        None if self.settings.warm_cache else self.workdir / "zygote-state",
                    )
                except launcher.ZygoteUnusable as exc:
                    self.run.harness.fork_fallback = f"{exc.message}; used fresh interpreters"
                    return launcher.FreshChild(request.to_dict(), fresh_path, log, self.token)
                self.run.harness.zygote_import_s = self.zygote.import_s
                self.run.harness.zygote_start_s = self.zygote.start_s
            return self.zygote.start(request.to_dict(), log)
        return launcher.FreshChild(request.to_dict(), fresh_path, log, self.token)

    def _end_strays(self) -> None:
        keep = {self.zygote.proc.pid} if self.zygote is not None else set()
        self.run.harness.strays_ended += len(launcher.end_strays(self.token, keep))

    def _run_child(self, request: Request, label: str, tag: str) -> Finished:
        """Run one child to its end."""
        child = self.current = self._start(request, tag)
        t0 = time.monotonic()  # after the start: the zygote's own import is not the measurement's time
        phase_path = Path(request.phase_path or "")
        returncode = None
        timed_out = False
        while True:
            returncode = child.poll(POLL_S)
            if returncode is not None:
                break
            elapsed = time.monotonic() - t0
            phase, workload = _read_phase(phase_path)
            self.on_progress(
                Progress(request.workload or workload, label, phase, elapsed, max(self._count, 1), self._total)
            )
            if elapsed > self.settings.timeout_s:
                timed_out = True
                child.kill()
                break
        wall = time.monotonic() - t0
        launcher.kill_group(child.pid)  # stragglers it started (compile workers) must not load the next one
        self._end_strays()  # and what it detached from its group
        self.current = None
        tail = launcher.log_tail(self.workdir / f"{tag}.log")  # type: ignore[operator]
        if request.state_dir and not self.settings.keep_cache_root:
            shutil.rmtree(request.state_dir, ignore_errors=True)
        report = _read_report(Path(request.result_path))
        listing, row = (report.listing, report.row) if report else (None, None)
        if row is not None:
            row.child.returncode = returncode
            row.wall_s = wall
            if not row.timed:
                row.log_tail = tail
            return Finished(listing, row, wall, tail)
        workload = request.workload or (listing.workloads[0].name if listing and listing.workloads else "")
        if timed_out:
            phase, _ = _read_phase(phase_path)
            status, reason = (
                "timeout",
                f"stopped after the {self.settings.timeout_s:g} s --timeout while {phase_words(phase)}",
            )
        else:
            status, reason = launcher.crash_reason(returncode, tail)
        failure = ModeResult(
            workload,
            request.mode,
            status,
            reason,
            knobs=list(request.knobs),
            wall_s=wall,
            child=ChildProcess(pid=child.pid, returncode=returncode),
            log_tail=tail,
        )
        return Finished(listing, failure, wall, tail)

    # -- the whole bake-off ---------------------------------------------------------------------
    def _first(self) -> ModeResult:
        """The first child: the script's workloads, and the first workload measured in eager."""
        t0 = time.monotonic()
        self._count = 1
        request = self._first_request = self._request(None, "eager", (), "000-first", first=True)
        done = self._run_child(request, "eager", "000-first")
        self.run.harness.first_child_s = time.monotonic() - t0
        listing = done.listing
        if listing is not None and listing.status == "listed" and listing.workloads and done.row is not None:
            self.run.workloads = listing.workloads
            return self._explained(done.row)
        if listing is not None and listing.status == "script_error":
            raise ScriptError(listing.reason or "", listing.user_traceback or "")
        why = (listing.reason if listing else None) or (done.row.reason if done.row else None) or "unknown failure"
        raise GpudiagError(f"{self.script.name}: could not be loaded: {why}")

    def execute(self) -> BakeoffRun:
        t0 = time.monotonic()
        self.workdir = Path(tempfile.mkdtemp(prefix="gpudiag-bakeoff-"))
        self.run.harness.spawn = self.settings.spawn
        signals = StopSignals()
        pending: list[ModeResult] = []
        report_it = False  # whether the run got far enough to have a document (a refused script has none)
        try:
            try:
                self.on_progress(Progress(None, "eager", "starting", 0.0, 1, 0))
                first: ModeResult | None = self._first()
                report_it = True
                pending = self._plan()
                self.on_change(self.run)
                for w in self.run.workloads:
                    for m in self.modes:
                        pending.pop(0)
                        if first is not None:  # the first workload's eager row: measured by the first child
                            row, first = first, None
                            self._add(row)
                        else:
                            self._add(self._measure(w.name, m, ()))
                    self._measure_knobs(w.name)
                self.run.complete = True
            except Stopped:
                raise
            except KeyboardInterrupt:
                raise Stopped(signal.SIGINT) from None
        except Stopped as stop:
            signals.hold()
            report_it = True
            self._stop_children()
            self.run.interrupted, self.run.interrupted_by = True, signal.Signals(stop.signum).name
            if not self.run.workloads:  # stopped in the first child: after it listed the workloads, if it did
                pending = self._listed_before_the_stop()
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
                if report_it:
                    self.on_change(self.run)
            finally:
                signals.restore()
        return self.run

    def _plan(self) -> list[ModeResult]:
        """Every (workload, mode) of the run as a not_run row, for a stop to leave; counts the measurements."""
        plan = [(w.name, m) for w in self.run.workloads for m in self.modes]
        self._total = sum(1 for _, m in plan if not skip_reason(m, self.device))
        return [ModeResult(w, m, "not_run", "the bake-off was interrupted before this mode ran") for w, m in plan]

    def _listed_before_the_stop(self) -> list[ModeResult]:
        """The first child writes the workloads it found before it measures: a stop during that measurement
        still shows them, with the first one's eager row as the one stopped. Nothing when none were."""
        report = _read_report(Path(self._first_request.result_path)) if self._first_request else None
        listing = report.listing if report else None
        if listing is None or listing.status != "listed" or not listing.workloads:
            return []
        self.run.workloads = listing.workloads
        pending = self._plan()
        first = pending.pop(0)
        self._stopped_row = ModeResult(first.workload, first.mode, "interrupted")
        return pending

    def _stop_children(self) -> None:
        if self.current is not None:
            self.current.kill()
            self.current = None
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None
        self._end_strays()

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
        decisions = knob_table.decide(
            workload, rows, self.knobs_auto, self.knobs_asked, self.device, cc, self.settings.grad
        )
        self.run.variants.extend(decisions)
        self._total += sum(1 for d in decisions if d.measured)
        for d in decisions:
            if d.measured:
                self._add(self._measure(workload, _mode_of(d.base), (d.knob,)))
            elif d.knob in self.knobs_asked:
                self._add(
                    ModeResult(workload, _mode_of(d.base) if d.base else "default", "skipped", d.why, knobs=[d.knob])
                )
        combo = knob_table.combination(workload, self.run.rows_of(workload), self.run.variants)
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
        tag = "-".join([f"{self._count:03d}", _slug(workload), mode, *knobs])
        request = self._request(workload, mode, knobs, tag)
        self._stopped_row = ModeResult(workload, mode, "interrupted", knobs=list(knobs))
        done = self._run_child(request, label(mode, knobs), tag)
        self._stopped_row = None
        assert done.row is not None
        return self._explained(done.row)

    @staticmethod
    def _explained(row: ModeResult) -> ModeResult:
        """The row, its warnings matched against explain-warning's catalogue."""
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


def _read_phase(path: Path) -> tuple[str, str | None]:
    """(phase, workload) from a child's phase file; ("starting", None) before it wrote one."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return str(doc.get("phase", "starting")), doc.get("workload")
    except (OSError, ValueError, AttributeError):
        return "starting", None


def _read_report(path: Path) -> ChildReport | None:
    try:
        return ChildReport.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:40] or "workload"
