"""``--from-triton-cache`` with the real compiler: cached Triton IR recompiled for other targets on a CPU.

The CPU cache (``tests/data/triton_cache_cpu_t39``) was written by Triton 3.9 and is checked
against that version; the H200 cache (Triton 3.6) is checked on whichever Triton is installed:
with 3.6 every kernel must reproduce what the H200 recorded, with any other version the kernels
whose IR it cannot read must say so.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from gpudiag.device import resolve_target
from gpudiag.tiles import cache_report
from gpudiag.tiles import compile_engine as engine
from gpudiag.tiles import recompile as rc
from gpudiag.tiles.triton_cache import read_cache

pytest.importorskip("triton")
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("module_result_cache")]

DATA = Path(__file__).parent / "data"
CPU_CACHE = DATA / "triton_cache_cpu_t39"
H200_CACHE = DATA / "triton_cache_h200"
INSTALLED = rc.triton_version() or ""
needs_39 = pytest.mark.skipif(
    not INSTALLED.startswith("3.9"), reason=f"the CPU cache was written by Triton 3.9; this is {INSTALLED}"
)


def _manifest(name: str) -> dict[str, dict]:
    return {k["dir"]: k for k in json.loads((DATA / f"{name}_manifest.json").read_text())["kernels"]}


def _target(arch: str) -> cache_report.CacheTarget:
    return cache_report.CacheTarget.of(arch, resolve_target(arch=arch))


def _tree(path: Path) -> dict[str, float]:
    return {str(p.relative_to(path)): p.stat().st_mtime for p in path.rglob("*")}


def _cells(cache, archs):
    report = cache_report.check_cache(cache, [_target(a) for a in archs], parallel=2)
    return {(r.kernel.name, r.kernel.folder, c.target): c for g in report.groups for r in g.rows for c in r.cells}


@needs_39
def test_each_target_gets_what_its_compiler_builds_or_refuses(capfd, monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the children's folders are made
    before = _tree(CPU_CACHE)
    cache = read_cache(CPU_CACHE, ["fp8_quantize", "tma_matmul", "row_softmax"])
    cells = _cells(cache, ["sm_80", "sm_89"])
    by = {(name, target): c for (name, _, target), c in cells.items()}

    fp8 = by["fp8_quantize", "sm_80"]
    assert fp8.status == "cannot-compile"
    assert fp8.reason == "cannot run there: ptxas: Feature 'cvt with .e4m3x2/.e5m2x2' requires .target sm_89 or higher"
    assert "ptxas fatal" in fp8.compiled.compiler_output  # kept whole
    assert by["fp8_quantize", "sm_89"].status == "launches" and by["fp8_quantize", "sm_89"].compiled.shared_bytes == 0
    # Below sm_90 the ttir stage rewrites tensor descriptors to plain loads; skipping it would fail to lower.
    tma = by["tma_matmul", "sm_80"]
    assert tma.status == "launches" and tma.compiled.shared_bytes == 65536 and tma.compiled.regs_per_thread > 0
    softmax = by["row_softmax", "sm_80"]  # the cache's own target: what the capture recorded
    row = next(r for r in _manifest("triton_cache_cpu_t39").values() if r["name"] == "row_softmax")
    assert softmax.matches_recorded and softmax.compiled.regs_per_thread == row["n_regs"]

    out, err = capfd.readouterr()
    assert out == "" and err == ""  # the compiler's printing stays in the children
    assert _tree(CPU_CACHE) == before  # the user's cache is only read
    assert list(tmp_path.iterdir()) == []  # ptxas's temporaries and the children's Triton caches are gone


@needs_39
def test_a_config_ptxas_refuses_on_hopper_is_answered_per_cell():
    cache = read_cache(CPU_CACHE, ["matmul_bias_relu"])
    kernel = next(k for k in cache.kernels if k.options.get("maxnreg"))
    cache.kernels = [kernel]
    cells = _cells(cache, ["sm_80", "sm_90"])
    sm80, sm90 = (cells[kernel.name, kernel.folder, t] for t in ("sm_80", "sm_90"))
    assert sm80.matches_recorded and sm80.compiled.spills > 0 and sm80.status == "launches"
    assert sm90.status == "cannot-compile" and "ptxas: (C7602) Insufficient registers (80)" in sm90.reason


@needs_39
def test_second_run_compiles_nothing(monkeypatch):
    def no_children(todo, parallel, triton_cache=None):
        raise AssertionError(f"compiled again: {todo}")
        yield  # pragma: no cover

    monkeypatch.setattr(engine, "run_children", no_children)
    cache = read_cache(CPU_CACHE, ["fp8_quantize", "tma_matmul", "row_softmax"])
    report = cache_report.check_cache(cache, [_target("sm_80"), _target("sm_89")])
    assert report.compiled == 0 and report.cached == 6


def test_unreadable_ir_is_unknown_with_the_line(tmp_path):
    entry = next(p for p in CPU_CACHE.iterdir() if (p / "row_softmax.ttir").exists())
    shutil.copytree(entry, tmp_path / entry.name)
    ttir = tmp_path / entry.name / "row_softmax.ttir"
    lines = ttir.read_text().splitlines()
    at = next(i for i, ln in enumerate(lines) if "tt.get_program_id" in ln)
    lines.insert(at, "    %bogus = tt.not_an_op : i32")
    ttir.write_text("\n".join(lines) + "\n")
    cell = next(iter(_cells(read_cache(tmp_path), ["sm_90"]).values()))
    assert cell.status == "unknown" and cell.compiled.failure == "parse"
    assert f"line {at + 1}:" in cell.reason and "cannot read this kernel's IR" in cell.reason


def test_the_h200_cache_on_its_own_target():
    cache = read_cache(H200_CACHE, ["scaled_mm_relu", "triton_tem_fused_flex_attention_0"])
    cache.kernels = [k for k in cache.kernels if k.num_stages in (2, 3)]  # the quicker ones: 3 + 2 kernels
    manifest = _manifest("triton_cache_h200")
    cells = _cells(cache, ["sm_90"])
    for (name, folder, _), cell in cells.items():
        if INSTALLED.startswith("3.6"):  # the cache's own Triton: what the driver loaded on the H200
            assert cell.matches_recorded, (name, folder)
            assert cell.compiled.regs_per_thread == manifest[folder]["n_regs"], (name, folder)
        elif name == "scaled_mm_relu":
            assert cell.matches_recorded, (name, folder)
        else:  # Triton 3.9 cannot parse 3.6's printing of tt.load's evictionPolicy
            assert cell.status == "unknown" and "written by Triton 3.6.0" in cell.reason, cell.reason


@needs_39
def test_cli_on_a_cpu_made_cache(cli, no_gpu):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(
        (Path(__file__).resolve().parents[1] / "docs/schemas/check-tiles-cache.schema.json").read_text()
    )
    r = cli(
        "check-tiles", "--from-triton-cache", str(CPU_CACHE), "-k", "fp8_quantize", "--arch", "sm_80,sm_89", "--json"
    )
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, schema)
    assert [c["status"] for c in doc["groups"][0]["configs"][0]["cells"]] == ["cannot-compile", "launches"]


@pytest.mark.parametrize(
    "behaviour, failure, words",
    [
        ("print-then-die", "environment", "the compiler's process died (signal 9, SIGKILL)"),
        ("print-then-succeed", None, None),
    ],
)
def test_a_childs_output_and_death_stay_in_the_child(monkeypatch, capfd, behaviour, failure, words):
    def compile_now(task):
        os.write(1, b"PTX dump on stdout\n")
        os.write(2, b"warning on stderr\n")
        if behaviour == "print-then-die":
            os.kill(os.getpid(), signal.SIGKILL)
        return rc.CompiledResources(shared_bytes=0, num_warps=4)

    monkeypatch.setattr(engine, "compile_now", compile_now)
    cache = read_cache(CPU_CACHE, ["row_softmax"])
    [res] = rc.recompile([cache_report._job(cache.kernels[0], _target("sm_75"))], use_cache=False)
    assert res.failure == failure
    if words:
        assert res.reason.startswith(words) and "PTX dump on stdout" in res.compiler_output
    out, err = capfd.readouterr()
    assert "PTX dump" not in out + err and "warning on stderr" not in out + err
