"""Share of real pasted lines that `gpudiag explain-warning LINE` explains, per line set.

    python3 -m bench.explain.recognition [--root DIR] [--out FILE.json] [--show-misses]

The sets live in tests/data/explain_sets/ (README.md there says where every line came from):
heldback.jsonl (never used to write entries or rules), dev.jsonl (what the catalogue and the
rules were tuned to) and negative.jsonl (lines from other tools, which must stay unrecognised), and
a second, later collection split the same way: heldback2.jsonl, dev2.jsonl, negative2.jsonl, and a
third development-only collection: dev3.jsonl, negative3.jsonl.
Each line is explained by a fresh ``python -m gpudiag explain-warning --json LINE`` process, with
no GPU (verdicts do not change whether a line is recognised), importing gpudiag from ``--root``
(default: this checkout), so an older checkout can be measured the same way, e.g. main's code:

    git archive main | tar -x -C /tmp/gpudiag-main && python3 -m bench.explain.recognition --root /tmp/gpudiag-main

Exit 0 is "explained", 1 "not recognised", anything else an error (counted apart). Where the JSON
says how a line was matched (``match.kind``: catalogue, registry or family), the counts are split
by kind. ``--show-misses`` prints the dev and negative sets' misses; the held-back sets' per-line
answers go only to the JSON file, so that looking at them does not become tuning to them.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import platform
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.explain.grade import child_env

ROOT = Path(__file__).resolve().parents[2]
SETS = ROOT / "tests" / "data" / "explain_sets"
SET_NAMES = ("heldback", "dev", "negative", "heldback2", "dev2", "negative2", "dev3", "negative3")


def load_set(name: str) -> list[dict]:
    with (SETS / f"{name}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def explain(root: Path, env: dict, line: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "gpudiag", "explain-warning", "--json", line],
        cwd=str(root),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    answer: dict = {"exit": proc.returncode}
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        answer["stderr"] = proc.stderr.strip()[-300:]
        return answer
    match = doc.get("match") or {}
    answer["id"] = doc.get("id") or match.get("id")
    answer["kind"] = match.get("kind") or ("catalogue" if doc.get("id") else None)
    return answer


def measure(root: Path, jobs: int) -> dict:
    env = child_env(root)
    out: dict = {}
    for name in SET_NAMES:
        rows = load_set(name)
        with ThreadPoolExecutor(jobs) as pool:
            answers = list(pool.map(lambda r: explain(root, env, r["line"]), rows))
        kinds = collections.Counter(a.get("kind") or "?" for a in answers if a["exit"] == 0)
        explained = sum(a["exit"] == 0 for a in answers)
        errors = sum(a["exit"] not in (0, 1) for a in answers)
        out[name] = {
            "lines": len(rows),
            "explained": explained,
            "share": round(explained / len(rows), 4),
            "by_kind": dict(kinds),
            "errors": errors,
            "answers": [{**r, **a} for r, a in zip(rows, answers)],
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose gpudiag is measured")
    ap.add_argument("--out", type=Path, help="write the full result (every line's answer) here")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument(
        "--show-misses", action="store_true", help="print the dev and negative sets' misses (never the held-back ones)"
    )
    args = ap.parse_args()
    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=str(args.root), capture_output=True, text=True
        ).stdout.strip()
        or None
    )
    result = {
        "date": datetime.date.today().isoformat(),
        "host": platform.node(),
        "python": platform.python_version(),
        "root": str(args.root),
        "commit": commit,
        "sets": measure(args.root.resolve(), args.jobs),
    }
    for name, s in result["sets"].items():
        errors = f", {s['errors']} errors" if s["errors"] else ""
        print(
            f"{name:9} {s['explained']:3}/{s['lines']:<3} explained ({s['share']:.0%}) by kind {s['by_kind']}{errors}"
        )
    if args.show_misses:
        for name, want_exit in (
            ("dev", 0),
            ("negative", 1),
            ("dev2", 0),
            ("negative2", 1),
            ("dev3", 0),
            ("negative3", 1),
        ):
            for a in result["sets"][name]["answers"]:
                if a["exit"] != want_exit:
                    print(f"[{name} miss] exit {a['exit']} {a.get('id')}: {a['line'][:150]}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
