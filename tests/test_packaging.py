"""A fresh set-up pulls only what each command uses: info, explain-warning and check-tiles never
import torch; torch is never a dependency; the YAML path of check-tiles works with the test extra;
the man pages are installed where man finds them."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# Runs a command in a fresh interpreter and reports which heavy modules it imported.
PROBE = """
import atexit, json, sys
atexit.register(lambda: sys.__stderr__.write("\\nIMPORTED " + json.dumps(sorted(
    m for m in ("torch", "triton", "yaml") if m in sys.modules)) + "\\n"))
sys.argv = ["gpudiag", *json.loads(sys.argv[1])]
from gpudiag.cli.app import main
main()
"""


@pytest.mark.parametrize(
    "args",
    [
        ["info"],
        ["info", "--json"],
        ["info", "--gpu", "h100"],
        ["info", "--list-gpus"],
        ["explain-warning", "Not enough SMs to use max_autotune_gemm mode", "--gpu", "rtx 3070"],
        ["explain-warning", "--list"],
        ["check-tiles", "128x128x64:3@4", "--gpu", "h100"],
        ["check-tiles", "128x256x64:4", "--arch", "sm_120", "--json"],
    ],
    ids=lambda a: " ".join(a)[:40],
)
def test_commands_never_import_torch(args):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}
    r = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, env=env, timeout=120
    )
    imported = json.loads(r.stderr.rsplit("IMPORTED ", 1)[1])
    assert "torch" not in imported, (args, r.stderr[-500:])
    assert r.returncode in (0, 1, 2), r.stderr[-500:]


def test_torch_is_never_a_dependency():
    declared = PYPROJECT["project"]["dependencies"] + [
        req for extra in PYPROJECT["project"]["optional-dependencies"].values() for req in extra
    ]
    assert not [r for r in declared if r.replace(" ", "").lower().startswith("torch")], declared


def test_test_extra_has_what_the_tests_import():
    test = " ".join(PYPROJECT["project"]["optional-dependencies"]["test"]).lower()
    for package in ("pytest", "jsonschema", "pyyaml"):
        assert package in test


def test_check_tiles_reads_yaml(cli, no_gpu, tmp_path):
    pytest.importorskip("yaml")
    f = tmp_path / "tiles.yaml"
    f.write_text("configs:\n  - {block_m: 128, block_n: 128, block_k: 64, stages: 3, warps: 4}\n  - 64x64x32:2@4\n")
    r = cli("check-tiles", "--file", str(f), "--gpu", "h100", "--json")
    assert r.exit_code == 0, r.stderr
    assert "128" in r.stdout and "64" in r.stdout and json.loads(r.stdout)
    bad = tmp_path / "bad.yaml"
    bad.write_text("configs: [128x128x64:3\n")
    r = cli("check-tiles", "--file", str(bad), "--gpu", "h100")
    assert r.exit_code == 2 and "bad.yaml" in r.stderr and "YAML" in r.stderr


def test_man_pages_are_installed_with_the_package():
    globs = PYPROJECT["tool"]["setuptools"]["data-files"]["share/man/man1"]
    installed = {Path(p).name for g in globs for p in glob.glob(str(ROOT / g))}
    assert installed == {p.name for p in (ROOT / "man").glob("*.1")} and "gpudiag.1" in installed


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")
@pytest.mark.parametrize("page", sorted(p.name for p in (ROOT / "man").glob("*.1")))
def test_man_renders_each_page(page):
    r = subprocess.run(
        ["man", "-l", str(ROOT / "man" / page)],
        capture_output=True,
        text=True,
        env={**os.environ, "MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"},
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "EXIT STATUS" in r.stdout and "warning" not in r.stderr.lower()
