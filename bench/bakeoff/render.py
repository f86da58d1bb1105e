"""Print the report of a saved `gpudiag bakeoff --output` document again, with this checkout's
renderer and summary (for the README and docs/BENCHMARKS.md: a device run re-rendered on the CPU
after a wording change, its measurements untouched).

    COLUMNS=80 python3 -m bench.bakeoff.render RUN.json [--baseline EARLIER.json --max-regression PCT]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gpudiag.bakeoff import gate, report
from gpudiag.bakeoff.results import BakeoffRun, from_dict
from gpudiag.bakeoff.settings import Limits
from gpudiag.cli.bakeoff_render import render


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--baseline")
    ap.add_argument("--max-regression", type=float, default=5.0)
    a = ap.parse_args()
    doc = json.loads(Path(a.run).read_text())
    run = from_dict(BakeoffRun, doc)  # the summary and gates are made again from the rows
    limits = Limits(baseline=a.baseline, max_regression_pct=a.max_regression) if a.baseline else None
    render(report.build(run, limits, gate.load_baseline(a.baseline) if a.baseline else None))


if __name__ == "__main__":
    main()
