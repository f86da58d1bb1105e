"""Is a mode's compile time cold whatever ran before it? (issue 13: inductor's precompiled headers.)

On the CPU, inductor precompiles its C++ headers (~150 MB) into
``$TMPDIR/torchinductor_<user>/precompiled_headers``, outside ``TORCHINDUCTOR_CACHE_DIR``. A harness
that only empties the cache folder lets the first compiled mode build them and every later one reuse
them. This runs max-autotune-no-cudagraphs alone, then after default, each run with an empty TMPDIR
of its own, and reports its compile time both ways and what was left in TMPDIR.

    python3 -m bench.bakeoff.diag_cold_compile --tree . --out F.json [--script S.py]

``--tree`` picks the gpudiag checkout to measure (another worktree gives the "before").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "workloads" / "kernelbench" / "small_mlp_decode.py"
MODE = "max-autotune-no-cudagraphs"


def bake(tree: Path, script: Path, modes: str) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="cold-compile-"))
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(tree.resolve())}
    # cwd=tree: `python -m` puts the working folder first on sys.path, ahead of PYTHONPATH
    help_text = subprocess.run(
        [sys.executable, "-m", "gpudiag", "bakeoff", "--help"], env=env, cwd=tree, capture_output=True, text=True
    ).stdout
    extra = ["--knobs", "none"] if "--knobs" in help_text else []
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "gpudiag",
            "bakeoff",
            str(script),
            "--device",
            "cpu",
            "--quick",
            "--modes",
            modes,
            "--json",
            *extra,
        ],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
    )
    doc = json.loads(r.stdout)
    left = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_dir() and len(p.relative_to(tmp).parts) <= 2)
    shutil.rmtree(tmp, ignore_errors=True)
    return {
        "modes": modes,
        "compile_s": {x.get("label", x["mode"]): x["compile_s"] for x in doc["rows"]},
        "left_in_tmpdir": left,
        "wall_s": doc["wall_s"],
        "versions": doc["versions"],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree", default=".")
    ap.add_argument("--script", default=str(SCRIPT))
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    tree = Path(a.tree)
    commit = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    script = Path(a.script).resolve()
    alone = bake(tree, script, MODE)
    after = bake(tree, script, f"default,{MODE}")
    result = {
        "tree": str(tree.resolve()),
        "commit": commit,
        "script": a.script,
        "alone": alone,
        "after_default": after,
        f"{MODE}_compile_s": {"alone": alone["compile_s"].get(MODE), "after default": after["compile_s"].get(MODE)},
    }
    Path(a.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result[f"{MODE}_compile_s"]))


if __name__ == "__main__":
    main()
