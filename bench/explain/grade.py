"""Grade `gpudiag explain-warning` answers on the graded line sets: correct, vague, wrong or missed.

    python3 -m bench.explain.grade [--root DIR] [--sets heldback,dev,...] [--out FILE.json] [--show]

Every line of tests/data/explain_sets/*.jsonl (README.md there says where each came from and what
the grading fields mean) is explained by a fresh ``python3 -m gpudiag explain-warning --json LINE``
process (two at a time by default), importing gpudiag from ``--root`` (default: this checkout), with
no GPU. The answer text is every text field of the JSON (title, meaning, trigger, fixes' text and
code, verdict, nested fields) except the ones that only echo the input or describe the machine
(``line``, ``patterns``, ``source``, ``device``, ``closest``, a guard's ``failure``, a graph break's
``context``) and any string that is most of the pasted line verbatim, so a regex cannot match the
user's own words played back.

A graded line (it has ``mechanism`` and ``fix``) scores:

- ``correct``: recognised (exit 0), a ``mechanism`` regex AND a ``fix`` regex match the answer,
  and no ``wrong`` regex does;
- ``wrong``: recognised and a ``wrong`` regex matches;
- ``vague``: recognised, neither correct nor wrong;
- ``missed``: not recognised (exit 1, or an error, counted apart too).

A line marked ``ungradable`` (the thread confirms no mechanism, or the line carries none) is
``wrong`` when a ``wrong`` regex matches, else ``ungradable``; it is left out of the percentages.
A negative line (``expect: "unclaimed"``) is ``wrong`` when claimed, ``correct`` otherwise; it is
claimed when the command exits 0 and the JSON does not mark the answer general (``"scope":
"general"``, an answer given without compile evidence). All regexes are case-insensitive.

``--show`` prints per-line details for the development and negative sets only: the held-back sets'
per-line answers go to ``--out`` alone, so that looking at them does not become tuning to them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SETS = ROOT / "tests" / "data" / "explain_sets"
OUTCOMES = ("correct", "vague", "wrong", "missed")
# Keys whose values echo the input or describe the machine, not the explanation.
SKIP_KEYS = frozenset(
    {"schema", "form", "line", "patterns", "source", "device", "closest", "scope", "failure", "context"}
)
# A string that is this share of the pasted line, or more, and occurs in it verbatim is an echo.
ECHO_SHARE = 0.6


def set_names(sets_dir: Path | None = None) -> list[str]:
    """Every set file, held-back first, then development, then negative, each in collection order."""
    names = [p.stem for p in (sets_dir or SETS).glob("*.jsonl")]

    def key(name: str) -> tuple[int, str]:
        kind = 0 if name.startswith("heldback") else 1 if name.startswith("dev") else 2
        return kind, name.rstrip("0123456789").ljust(9) + name[len(name.rstrip("0123456789")) :].rjust(3, "0")

    return sorted(names, key=key)


def is_heldback(name: str) -> bool:
    return name.startswith("heldback")


def is_negative(row: dict, set_name: str = "") -> bool:
    return row.get("expect") == "unclaimed" or set_name.startswith("negative")


def load_set(name: str, sets_dir: Path | None = None) -> list[dict]:
    with ((sets_dir or SETS) / f"{name}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def answer_text(doc: object, line: str) -> str:
    """The answer's prose: every string in the JSON but the skipped keys and echoes of the line."""
    out: list[str] = []

    def walk(node: object, top: bool) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in SKIP_KEYS or (top and k == "text"):  # top-level "text" is the no-match echo
                    continue
                walk(v, False)
        elif isinstance(node, list):
            for v in node:
                walk(v, False)
        elif isinstance(node, str):
            s = node.strip()
            if s and not (len(s) >= ECHO_SHARE * len(line) and s in line):
                out.append(s)

    walk(doc, True)
    return "\n".join(out)


def run_explain(root: Path, env: dict, line: str) -> dict:
    """One fresh process: exit code and parsed JSON (None when stdout is not JSON)."""
    proc = subprocess.run(
        # "--" ends the options: a pasted line may start with "-" (a Markdown list item, a pytest "- ")
        [sys.executable, "-m", "gpudiag", "explain-warning", "--json", "--", line],
        cwd=str(root),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        doc = None
    return {"exit": proc.returncode, "doc": doc, "stderr": proc.stderr.strip()[-300:] if doc is None else ""}


def _any(patterns: Iterable[str], text: str) -> str | None:
    for p in patterns or ():
        if re.search(p, text, re.IGNORECASE):
            return p
    return None


def score(row: dict, result: dict, set_name: str = "") -> dict:
    """Score one line from its grading fields and the command's result (exit, doc)."""
    doc = result.get("doc")
    exit_code = result.get("exit")
    text = answer_text(doc, row["line"]) if isinstance(doc, dict) and exit_code == 0 else ""
    out: dict = {"exit": exit_code}
    if isinstance(doc, dict):
        match = doc.get("match") or {}
        out["id"] = doc.get("id") or match.get("id")
        out["kind"] = match.get("kind")
        out["scope"] = doc.get("scope")
    if exit_code not in (0, 1):
        out["error"] = True
    if is_negative(row, set_name):
        general = isinstance(doc, dict) and doc.get("scope") == "general"
        claimed = exit_code == 0 and not general
        out["outcome"] = "wrong" if claimed else "correct"
        out["claimed"] = claimed
        return out
    if exit_code != 0:
        out["outcome"] = "missed"
        return out
    wrong = _any(row.get("wrong", ()), text)
    if wrong:
        out["outcome"] = "wrong"
        out["matched_wrong"] = wrong
        return out
    if row.get("ungradable"):
        out["outcome"] = "ungradable"
        return out
    mech = _any(row.get("mechanism", ()), text)
    fix = _any(row.get("fix", ()), text)
    out["matched_mechanism"] = mech
    out["matched_fix"] = fix
    out["outcome"] = "correct" if mech and fix else "vague"
    return out


def tally(scored: list[dict]) -> dict:
    counts = {k: 0 for k in (*OUTCOMES, "ungradable")}
    for s in scored:
        counts[s["outcome"]] += 1
    graded = sum(counts[k] for k in OUTCOMES)
    pct = {k: round(counts[k] / graded, 4) if graded else 0.0 for k in OUTCOMES}
    return {
        "lines": len(scored),
        "graded": graded,
        "errors": sum(bool(s.get("error")) for s in scored),
        **counts,
        "share": pct,
    }


def child_env(root: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "CUDA_VISIBLE_DEVICES")}
    env.update(
        PYTHONPATH=str(root),
        PYTHONPYCACHEPREFIX=tempfile.mkdtemp(prefix="gpudiag-pyc-"),
        CUDA_VISIBLE_DEVICES="",
        COLUMNS="200",
    )
    return env


def measure(
    root: Path, names: list[str], jobs: int = 2, explain: Callable[[Path, dict, str], dict] | None = None
) -> dict:
    run = explain or run_explain
    env = child_env(root)
    out: dict = {}
    for name in names:
        rows = load_set(name)
        with ThreadPoolExecutor(jobs) as pool:
            results = list(pool.map(lambda r: run(root, env, r["line"]), rows))
        scored = [score(r, res, name) for r, res in zip(rows, results)]
        out[name] = {
            **tally(scored),
            "answers": [
                {"url": r["url"], "line": r["line"], **s, "answer": answer_text(res.get("doc"), r["line"])}
                for r, s, res in zip(rows, scored, results)
            ],
        }
    return out


def table(sets: dict) -> str:
    head = (
        f"{'set':11} {'lines':>5} {'graded':>6}  " + "  ".join(f"{k:>13}" for k in OUTCOMES) + f"  {'ungradable':>10}"
    )
    rows = [head, "-" * len(head)]
    for name, s in sets.items():
        cells = "  ".join(f"{s[k]:>4} ({s['share'][k]:>5.1%})" for k in OUTCOMES)
        err = f"  ({s['errors']} errors)" if s["errors"] else ""
        rows.append(f"{name:11} {s['lines']:>5} {s['graded']:>6}  {cells}  {s['ungradable']:>10}{err}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose gpudiag is measured")
    ap.add_argument("--sets", help="comma-separated set names (default: every *.jsonl in tests/data/explain_sets)")
    ap.add_argument("--out", type=Path, help="write every line's result here (JSON)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument(
        "--show",
        action="store_true",
        help="print per-line results of the development and negative sets (never held-back)",
    )
    args = ap.parse_args(argv)
    names = args.sets.split(",") if args.sets else set_names()
    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=str(args.root), capture_output=True, text=True
        ).stdout.strip()
        or None
    )
    sets = measure(args.root.resolve(), names, args.jobs)
    print(table(sets))
    if args.show:
        for name, s in sets.items():
            if is_heldback(name):
                continue
            for a in s["answers"]:
                if a["outcome"] == "correct":
                    continue
                extra = ""
                if a["outcome"] == "wrong" and a.get("matched_wrong"):
                    extra = f" wrong~/{a['matched_wrong']}/"
                elif a["outcome"] == "vague":
                    extra = (
                        f" mech={'y' if a.get('matched_mechanism') else 'n'} fix={'y' if a.get('matched_fix') else 'n'}"
                    )
                print(f"[{name} {a['outcome']}] {a.get('id')}{extra}: {a['line'][:150]}")
    if args.out:
        result = {
            "date": datetime.date.today().isoformat(),
            "host": platform.node(),
            "python": platform.python_version(),
            "root": str(args.root),
            "commit": commit,
            "sets": sets,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
