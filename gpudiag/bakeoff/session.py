"""One bake-off from settings to report: the harness measures, the report judges, ``--output`` streams.

``Bakeoff(settings)`` checks everything the user gave (exit 2 before anything runs: options, the
script, ``--output``, ``--baseline``, the device); ``.run()`` measures and returns the
``BakeoffReport``. After every row the whole report is written to ``--output``, so an interrupted run
keeps everything finished so far, and one stopped before any row still gets its document; ``written``
says whether a file was. The harness and the report never import each other: this joins them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from gpudiag.bakeoff import report
from gpudiag.bakeoff.gate import Baseline, load_baseline
from gpudiag.bakeoff.harness import Harness, Progress
from gpudiag.bakeoff.report import BakeoffReport
from gpudiag.bakeoff.results import BakeoffRun
from gpudiag.bakeoff.settings import Settings
from gpudiag.errors import GpudiagError
from gpudiag.files import write_user_file


class Bakeoff:
    def __init__(self, settings: Settings, on_progress: Callable[[Progress], None] | None = None) -> None:
        self.harness = Harness(settings, on_progress, on_change=self._write_output)
        self.settings = self.harness.settings  # the checked record: what the run keeps
        self.written: Path | None = None  # the file --output last wrote, once one was
        self.baseline: Baseline | None = None
        if self.settings.limits.baseline is not None:
            self.baseline = load_baseline(self.settings.limits.baseline)
            self.baseline.check_device(self.harness.run.device)
            self.baseline.check_grad(self.settings.grad)

    def report(self, run: BakeoffRun) -> BakeoffReport:
        return report.build(run, self.settings.limits, self.baseline)

    def _write_output(self, run: BakeoffRun) -> None:
        if not self.settings.output:
            return
        text = json.dumps(self.report(run).to_dict(), indent=2, default=str) + "\n"
        try:
            self.written = write_user_file(self.settings.output, text)
        except OSError as exc:  # a device, a FIFO or a folder by now, a full disk, no permission
            why = f"{self.settings.output}: cannot write it: {exc.strerror}" if exc.strerror else str(exc)
            raise GpudiagError(f"--output {why}") from None

    def run(self) -> BakeoffReport:
        return self.report(self.harness.execute())


def run_bakeoff(settings: Settings, on_progress: Callable[[Progress], None] | None = None) -> BakeoffReport:
    return Bakeoff(settings, on_progress).run()
