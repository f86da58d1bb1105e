"""One bake-off child process: set up, load the script, measure one row, write a ``ChildReport``.

``python -m gpudiag.bakeoff.child REQUEST.json`` (a fresh interpreter) or ``run_to_file(request)`` in a
process forked from the zygote (torch imported, CUDA untouched). Either way the process:

1. gets inductor's and Triton's on-disk state fresh (``isolation``), before anything compiles;
2. loads the user's script (seeded) once; the first child of a run writes the list of workloads the
   script defines before it measures anything;
3. keeps the one workload it measures, and hands it to ``measure`` (the steps), which hands the
   outputs to ``judge`` (the status);
4. turns whatever escaped into a status and a one-line reason, writes its report as JSON and exits.
   The harness reads the file; nothing is printed.

The phase it is in goes to ``phase_path`` so that the parent can show live progress.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from gpudiag.bakeoff import environ, isolation, loader, observe
from gpudiag.bakeoff.judge import one_line
from gpudiag.bakeoff.measure import measure
from gpudiag.bakeoff.request import Request, phase_words
from gpudiag.bakeoff.results import ChildProcess, ChildReport, ModeResult, ScriptListing, WorkloadInfo
from gpudiag.bakeoff.tensors import describe_args, input_bytes
from gpudiag.files import write_json_atomic


class _Phase:
    """The phase file the parent polls: the phase, and which workload, since when."""

    def __init__(self, path: str | None, workload: str | None) -> None:
        self.path, self.workload = path, workload
        self.name = "loading"
        self.t0 = time.perf_counter()
        self.durations: dict[str, float] = {}

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.durations[self.name] = now - self.t0
        self.name, self.t0 = name, now
        if self.path:
            try:
                write_json_atomic(self.path, {"phase": name, "workload": self.workload, "since": time.time()})
            except OSError:
                pass


def classify(exc: BaseException, phase: str, mode: str) -> str:
    """A status for an exception: oom, compile_error, harness_error or error."""
    text = f"{type(exc).__name__} {exc}".lower()
    if "outofmemoryerror" in text or "out of memory" in text:
        return "oom"
    if "overwritten by a subsequent run" in text:
        return "harness_error"  # CUDA graph output reuse: ours to avoid, never the user's fault
    module = type(exc).__module__ or ""
    if mode != "eager" and (phase == "compiling" or module.startswith(("torch._dynamo", "torch._inductor"))):
        return "compile_error"
    return "error"


def run(request: Request, on_listing: Any = None) -> ChildReport:
    """Measure the request's row; with ``list_workloads``, list the script's workloads first (handed to
    ``on_listing`` as soon as they are known) and, with no workload named, measure the first one."""
    phase = _Phase(request.phase_path, request.workload)
    report = ChildReport()
    row = ModeResult(
        request.workload or "",
        request.mode,
        "error",
        knobs=list(request.knobs),
        child=ChildProcess(pid=os.getpid(), phase_s=phase.durations),
    )
    collector = observe.LogCollector()
    t_process = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            phase("loading")
            import torch

            row.child.import_torch_s = time.perf_counter() - t_process  # ~0 when forked from the zygote
            observe.install_logging(torch, collector)
            if request.device == "cuda" and not torch.cuda.is_available():
                row.reason = "torch sees no CUDA device (torch.cuda.is_available() is False)"
                report.row = row
                return report
            t_load = time.perf_counter()
            # this process runs the script: its argv is the script's, at import (the loader) and after
            sys.argv = [request.script, *request.script_args]
            workloads = loader.load(request.script, request.entry, request.inputs, request.seed, request.script_args)
            row.child.load_s = time.perf_counter() - t_load
            if request.list_workloads:
                report.listing = ScriptListing(
                    "listed",
                    [
                        WorkloadInfo(
                            w.name, w.form, describe_args(torch, w.args, w.kwargs), input_bytes(torch, w.args, w.kwargs)
                        )
                        for w in workloads
                    ],
                )
                if on_listing is not None:
                    on_listing(report)
            name = request.workload or workloads[0].name
            row.workload = phase.workload = name
            report.row = row
            chosen = next((w for w in workloads if w.name == name), None)
            if chosen is None:
                row.reason = f"the script no longer defines workload {name!r}"
                return report
            del workloads
            gc.collect()
            row.environment = environ.describe(torch, request.device)
            measure(torch, request, chosen, row, phase)
        except loader.ScriptError as exc:
            if request.list_workloads and report.listing is None:
                report.listing = ScriptListing("script_error", reason=exc.message, user_traceback=exc.user_traceback)
                return report
            row.status, row.reason, row.user_traceback = "error", exc.message, exc.user_traceback
        except SystemExit as exc:
            row.status, row.reason = "error", f"the workload called sys.exit({exc.code!r})"
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                row.status = "interrupted"
                row.reason = f"the measurement itself received SIGINT while {phase_words(phase.name)}"
            else:
                row.status, row.reason = classify(exc, phase.name, request.mode), one_line(exc)
                row.child.failed_phase = phase.name
                if row.status == "harness_error":
                    row.reason = (
                        "gpudiag read a CUDA-graph output after the next replay overwrote it; "
                        "this is a gpudiag bug, not your workload's: " + one_line(exc)
                    )
                row.user_traceback = loader.user_frames(exc, Path(request.script)) or None
        finally:
            row.observed = observe.observations(caught, request.script, collector)
            row.child.child_wall_s = time.perf_counter() - t_process
    if request.list_workloads and report.listing is None:
        report.listing = ScriptListing("error", reason=row.reason)
    else:
        report.row = row
    return report


def run_to_file(request: Request) -> int:
    """Run and write the report where the harness expects it; the exit code says whether it was written.

    The listing is written as soon as it is known, so a measurement that then crashes still leaves it.
    """
    rebased = isolation.enter(request.state_dir) if request.state_dir else []

    def write(report: ChildReport) -> None:
        write_json_atomic(request.result_path, report.to_dict())

    report = run(request, on_listing=write)
    if report.row is not None:
        report.row.child.rebased_paths = rebased
    try:
        write(report)
    except OSError:
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    request = Request.from_dict(json.loads(Path(argv[0]).read_text(encoding="utf-8")))
    code = run_to_file(request)
    sys.stdout.flush()
    sys.stderr.flush()
    # The result is on disk: skip interpreter shutdown, whose atexit hooks wait for inductor's
    # compile workers (measured: ~10 s per mode on the H100 for a fresh interpreter).
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
