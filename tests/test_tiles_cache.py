"""``check-tiles --from-triton-cache`` with the compiler faked: reading caches, judging cells, the CLI.

The forked compile children are the native boundary here (``compile_engine.run_children``); the fake
answers from each kernel's recorded metadata, so everything above it (the result cache, the
report, rendering, exit codes) runs for real. ``test_tiles_cache_compile.py`` compiles for real.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gpudiag.device import resolve_target
from gpudiag.errors import GpudiagError
from gpudiag.tiles import cache_report
from gpudiag.tiles import compile_engine as engine
from gpudiag.tiles import recompile as rc
from gpudiag.tiles.triton_cache import locate, matches, read_cache

DATA = Path(__file__).parent / "data"
CPU_CACHE = DATA / "triton_cache_cpu_t39"
H200_CACHE = DATA / "triton_cache_h200"
SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs/schemas/check-tiles-cache.schema.json").read_text())
FP8_REASON = "ptxas: Feature 'cvt with .e4m3x2/.e5m2x2' requires .target sm_89 or higher"


def _manifest(name: str) -> dict[str, dict]:
    return {k["dir"]: k for k in json.loads((DATA / f"{name}_manifest.json").read_text())["kernels"]}


def fake_compile(job: rc.RecompileJob) -> rc.CompiledResources:
    """What a compile reports, from the cache's own record: the fp8 quantizer refused before sm_89,
    shared memory 3/4 of the record off the recorded target (one operand buffer fewer at 4 stages)."""
    folder = Path(job.ttir_path).parent.name
    row = {**_manifest("triton_cache_cpu_t39"), **_manifest("triton_cache_h200")}[folder]
    if job.name == "fp8_quantize" and job.capability < 89:
        out = f"ptxas /tmp/x.ptx, line 87; error   : {FP8_REASON.removeprefix('ptxas: ')}"
        return rc.CompiledResources(failure="compile", reason=FP8_REASON, compiler_output=f"PTXASError\n{out}")
    shared = row["shared"] if job.capability == row["target"]["arch"] else row["shared"] * 3 // 4
    return rc.CompiledResources(
        shared_bytes=shared,
        regs_per_thread=row["n_regs"],
        spills=row["n_spills"],
        local_bytes=4 * row["n_spills"],
        num_warps=row["num_warps"],
        tmem_columns=0,
        regs_source="fake",
        compile_s=0.5,
    )


@pytest.fixture(autouse=True)
def isolated_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("GPUDIAG_CACHE_DIR", str(tmp_path / "gpudiag-cache"))
    for var in ("TRITON_CACHE_DIR", "TRITON_HOME"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def fake_children(monkeypatch):
    """Replace the forked compiles; returns the list of jobs each run asked for."""
    calls: list[list[rc.RecompileJob]] = []

    def run(todo, parallel, triton_cache=None):
        calls.append([task.job for task in todo])
        for task in todo:
            yield task, fake_compile(task.job)

    monkeypatch.setattr(engine, "run_children", run)
    monkeypatch.setattr(engine, "triton_version", lambda: "3.9.0")  # the fake compiles as the CPU cache's Triton
    return calls


def _copy_entries(dst: Path, *names: str) -> Path:
    """A cache holding the CPU cache's kernels of these names."""
    dst.mkdir(parents=True, exist_ok=True)
    for folder, row in _manifest("triton_cache_cpu_t39").items():
        if row["name"] in names:
            shutil.copytree(CPU_CACHE / folder, dst / folder)
    return dst


# --- reading a cache ---------------------------------------------------------------------------


def test_reads_the_h200_cache_as_its_manifest_records_it():
    cache = read_cache(H200_CACHE)
    manifest = _manifest("triton_cache_h200")
    assert len(cache.kernels) == len(manifest) == 43 and not cache.skipped
    for k in cache.kernels:
        row = manifest[k.folder]
        assert (k.name, k.num_warps, k.num_stages, k.recorded_shared) == (
            row["name"],
            row["num_warps"],
            row["num_stages"],
            row["shared"],
        )
        assert k.recorded_target == "sm_90" and k.triton_version == "3.6.0"
    assert cache.triton_versions == ["3.6.0"]
    names = [k.name for k in cache.kernels]
    assert names == sorted(names) and names.count("scaled_mm_relu") == 6


def test_autotune_configs_are_told_apart_by_their_dot_tiles():
    cache = read_cache(CPU_CACHE)
    for k in cache.kernels:
        label = _manifest("triton_cache_cpu_t39")[k.folder]["label"]
        if "BLOCK_M:" in label:  # the autotuner's Config, as the capture script printed it
            cfg = dict(part.split(": ") for part in label.split(" ", 1)[1].split(", ") if ": " in part)
            assert k.config_label.startswith(f"{cfg['BLOCK_M']}x{cfg['BLOCK_N']}x{cfg['BLOCK_K']} ")
            assert f"w{cfg['num_warps']} s{cfg['num_stages']}" in k.config_label
    assert [k.config_label for k in cache.kernels if k.name == "fp8_matmul"] == ["128x128x128 w8 s3"]
    assert next(k for k in cache.kernels if k.options.get("maxnreg")).config_label.endswith("maxnreg 80")


def test_dot_shapes_of_flex_attention_name_both_of_its_matmuls():
    k = next(
        k for k in read_cache(H200_CACHE, ["triton_tem_fused_flex_attention_0"]).kernels if k.recorded_shared == 114688
    )
    assert list(dict.fromkeys(d.label for d in k.dots)) == ["128x128x64 bf16", "128x64x128 bf16"]  # QK^T, PV


def test_locate_follows_tritons_own_rule(monkeypatch, tmp_path):
    assert locate(None) == (Path("~/.triton/cache").expanduser(), "default")
    monkeypatch.setenv("TRITON_HOME", str(tmp_path))
    assert locate(None) == (tmp_path / ".triton" / "cache", "TRITON_HOME")
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "c"))
    assert locate(None) == (tmp_path / "c", "TRITON_CACHE_DIR")
    assert locate("x") == (Path("x"), "argument")


def test_name_filter_is_a_glob_or_a_part_of_the_name():
    assert matches("triton_mm", ["mm"]) and matches("triton_mm", ["triton_*"])
    assert not matches("triton_mm", ["mm*"]) and matches("anything", None)


@pytest.mark.parametrize(
    "setup, words",
    [
        (lambda p: p / "missing", "no such folder"),
        (lambda p: (p.mkdir(), (p / "f").write_text("x"))[0] or p / "f", "is a file"),
        (lambda p: p.mkdir() or p, "is empty"),
        (lambda p: (p.mkdir(), (p / "notes.txt").write_text("hi"))[0] or p, "is not a Triton cache"),
    ],
)
def test_folders_that_are_no_cache_are_one_clear_error(tmp_path, setup, words):
    path = setup(tmp_path / "c")
    with pytest.raises(GpudiagError) as err:
        read_cache(path)
    assert words in err.value.message and err.value.exit_code == 2


def test_a_folder_holding_caches_names_them(tmp_path):
    inductor = tmp_path / "torchinductor_me"
    _copy_entries(inductor / "triton" / "0", "row_softmax")
    (inductor / "fx_graph_cache").mkdir()
    with pytest.raises(GpudiagError) as err:
        read_cache(inductor)
    assert f"Triton caches inside it: {inductor / 'triton' / '0'}" in err.value.message


def test_damaged_entries_are_skipped_one_line_each(tmp_path):
    cache = _copy_entries(tmp_path / "c", "matmul_bias_relu", "row_softmax")
    entries = sorted(p for p in cache.iterdir() if (p / "matmul_bias_relu.json").exists())
    (entries[0] / "matmul_bias_relu.json").write_text("{not json")
    (entries[1] / "matmul_bias_relu.ttir").unlink()
    (entries[2] / "matmul_bias_relu.ttir").write_bytes(b"\xff\xfe not utf-8")
    (entries[3] / "matmul_bias_relu.ttir").write_text("module {}\n")
    meta = json.loads((entries[4] / "matmul_bias_relu.json").read_text())
    del meta["num_warps"]
    (entries[4] / "matmul_bias_relu.json").write_text(json.dumps(meta))
    meta = json.loads((entries[5] / "matmul_bias_relu.json").read_text())
    meta["target"] = {"backend": "hip", "arch": "gfx942", "warp_size": 64}
    (entries[5] / "matmul_bias_relu.json").write_text(json.dumps(meta))
    result = read_cache(cache)
    reasons = {s.folder: s.reason for s in result.skipped}
    assert len(result.kernels) == 2 and len(reasons) == 6
    assert reasons[entries[0].name].startswith("unreadable metadata matmul_bias_relu.json: Expecting")
    assert "TRITON_STORE_BINARY_ONLY" in reasons[entries[1].name]
    assert reasons[entries[2].name].startswith("unreadable matmul_bias_relu.ttir")
    assert "defines no tt.func" in reasons[entries[3].name]
    assert "malformed: num_warps" in reasons[entries[4].name]
    assert "compiled for hip (gfx942)" in reasons[entries[5].name]
    assert all("\n" not in r for r in reasons.values())


def _unreadable(monkeypatch, *folders: Path) -> None:
    """Folders that cannot be listed (chmod 000 is no obstacle to root, who runs CI)."""
    real = Path.iterdir

    def iterdir(self):
        if self in folders:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)


def test_an_unreadable_kernel_folder_is_counted_and_listed(tmp_path, monkeypatch):
    cache = _copy_entries(tmp_path / "c", "matmul_bias_relu", "row_softmax")
    entries = sorted(p for p in cache.iterdir() if p.is_dir())
    odd = cache / "not-a-hash-name"
    odd.mkdir()
    _unreadable(monkeypatch, entries[0], odd)
    result = read_cache(cache)
    reasons = {s.folder: s.reason for s in result.skipped}
    assert reasons == {
        entries[0].name: "unreadable folder: Permission denied",
        "not-a-hash-name": "unreadable folder: Permission denied",
    }
    assert len(result.kernels) == len(entries) - 1


def test_the_report_says_how_many_entries_were_not_checked(cli, no_gpu, fake_children, tmp_path, monkeypatch):
    cache = _copy_entries(tmp_path / "c", "row_softmax")
    (cache / ("B" * 52)).mkdir()  # a kernel's folder by its name, unreadable
    _unreadable(monkeypatch, cache / ("B" * 52))
    r = cli("check-tiles", "--from-triton-cache", str(cache), "--arch", "sm_90", env={"COLUMNS": "200"})
    text = " ".join(r.stdout.split())
    assert "1 entry not checked: listed at the end" in text and "not checked: 1 cache entry" in text
    assert f"skipped {'B' * 16}: unreadable folder: Permission denied" in text
    doc = json.loads(cli("check-tiles", "--from-triton-cache", str(cache), "--arch", "sm_90", "--json").stdout)
    assert doc["cache"]["skipped"] == [
        {"folder": "B" * 52, "name": None, "reason": "unreadable folder: Permission denied"}
    ]


def test_a_cache_with_nothing_checkable_or_nothing_matching_is_a_usage_error(tmp_path):
    cache = _copy_entries(tmp_path / "c", "row_softmax")
    with pytest.raises(GpudiagError) as err:
        read_cache(cache, ["flash"])
    assert "no kernel" in err.value.message and "its kernels: row_softmax" in err.value.message
    next(cache.glob("*/row_softmax.ttir")).unlink()
    with pytest.raises(GpudiagError) as err:
        read_cache(cache)
    assert "no kernel in" in err.value.message and "1 skipped" in err.value.message


# --- the compile boundary and its cache ----------------------------------------------------------


def _jobs(cache, caps):
    return [cache_report._job(k, t) for k in cache.kernels for t in caps]


@pytest.fixture
def targets():
    return [cache_report.CacheTarget.of(a, resolve_target(arch=a)) for a in ("sm_80", "sm_89", "sm_90")]


def test_results_are_cached_by_ttir_options_target_and_triton_version(fake_children, targets):
    cache = read_cache(CPU_CACHE, ["fp8_quantize", "row_softmax"])
    first = rc.recompile(_jobs(cache, targets))
    assert len(fake_children[0]) == 6 and not any(r.cached for r in first)
    second = rc.recompile(_jobs(cache, targets))
    assert len(fake_children) == 1 and all(r.cached for r in second)  # nothing compiled again
    assert [r.to_dict() | {"cached": False} for r in second] == [r.to_dict() for r in first]
    job = _jobs(cache, targets)[0]
    assert job.key("3.9.0") != job.key("3.6.0")
    other_target = cache_report._job(cache.kernels[0], targets[1])
    assert job.key("3.9.0") != other_target.key("3.9.0")


def test_failures_outside_the_compiler_are_not_cached(monkeypatch, targets):
    def run(todo, parallel, triton_cache=None):
        for task in todo:
            yield task, rc.CompiledResources(failure="environment", reason="the compiler's process died (signal 9)")

    monkeypatch.setattr(engine, "run_children", run)
    monkeypatch.setattr(engine, "triton_version", lambda: "3.9.0")  # no Triton needed: the children are faked
    cache = read_cache(CPU_CACHE, ["row_softmax"])
    rc.recompile(_jobs(cache, targets))
    assert not rc.cache_dir().exists() or not any(rc.cache_dir().iterdir())


def test_no_cache_compiles_again(fake_children, targets):
    cache = read_cache(CPU_CACHE, ["row_softmax"])
    rc.recompile(_jobs(cache, targets))
    rc.recompile(_jobs(cache, targets), use_cache=False)
    assert len(fake_children) == 2


@pytest.mark.parametrize(
    "reason, output, expected",
    [
        (
            "PTXASError: PTXAS error: Internal Triton PTX codegen error\n`ptxas` stderr:\nptxas /tmp/a.ptx, line 87; "
            "error   : Feature 'cvt with .e4m3x2/.e5m2x2' requires .target sm_89 or higher\nptxas fatal   : Ptx "
            "assembly aborted due to errors",
            "",
            FP8_REASON,
        ),
        (
            "PTXASError: x",
            "ptxas-blackwell fatal   : (C7602) Insufficient registers (80) to compile instruction",
            "ptxas: (C7602) Insufficient registers (80) to compile instruction",
        ),
        (
            "RuntimeError: PassManager::run failed",
            "LLVM ERROR: Conversion from/to f8e4m3nv is only supported on "
            "compute capability >= 89\n/k.py:83:1: error: Failures have been detected while processing an MLIR pass "
            "pipeline",
            "LLVM ERROR: Conversion from/to f8e4m3nv is only supported on compute capability >= 89",
        ),
        (
            "RuntimeError: PassManager::run failed",
            "/k.py:99:14: error: failed to legalize operation "
            "'tt.make_tensor_descriptor' that was explicitly marked illegal: %151 = \"tt.make_tensor_descriptor\"(%2)",
            "line 99: failed to legalize operation 'tt.make_tensor_descriptor' that was explicitly marked illegal",
        ),
        ("Parse MLIR file failed.", "loc(\"/c/k.ttir\":151:43): error: expected ':'", "line 151: expected ':'"),
        (
            "ValueError: num_ctas > 1 requires NVIDIA SM90+ (Hopper).\nmore",
            "",
            "ValueError: num_ctas > 1 requires NVIDIA SM90+ (Hopper).",
        ),
    ],
)
def test_the_reason_is_the_compilers_first_specific_message(reason, output, expected):
    assert rc.summarise(reason, output) == expected


# --- judging cells -------------------------------------------------------------------------------


def _kernel(name="k", warps=4, cap=90, shared=1024):
    cache = read_cache(CPU_CACHE, ["row_softmax"])
    k = cache.kernels[0]
    k.name, k.num_warps, k.recorded_capability, k.recorded_shared = name, warps, cap, shared
    return k


@pytest.mark.parametrize(
    "res, status, words",
    [
        (rc.CompiledResources(shared_bytes=101_376, regs_per_thread=128, num_warps=8), "launches", None),
        (
            rc.CompiledResources(shared_bytes=101_377, regs_per_thread=128, num_warps=8),
            "does-not-fit",
            "needs 101,377 B > 101,376 B per block (1 B over)",
        ),
        (
            rc.CompiledResources(shared_bytes=0, regs_per_thread=255, num_warps=16),
            "cannot-launch",
            "too many resources requested for launch",
        ),
        (
            rc.CompiledResources(shared_bytes=0, regs_per_thread=32, num_warps=64),
            "cannot-launch",
            "2,048 threads per block > 1,024",
        ),
        (
            rc.CompiledResources(shared_bytes=0, regs_per_thread=32, num_warps=4, tmem_columns=1024),
            "cannot-launch",
            "tensor memory, 1024 columns > 512",
        ),
        (
            rc.CompiledResources(failure="compile", reason=FP8_REASON),
            "cannot-compile",
            f"cannot run there: {FP8_REASON}",
        ),
        (
            rc.CompiledResources(failure="parse", reason="line 151: expected ':'"),
            "unknown",
            "Triton 3.9.0 cannot read this kernel's IR (written by Triton 3.6.0): line 151: expected ':'",
        ),
        (
            rc.CompiledResources(failure="environment", reason="the compile did not finish in 900 s"),
            "unknown",
            "not checked: the compile did not finish",
        ),
    ],
)
def test_each_cell_is_judged_by_the_targets_limits(res, status, words):
    target = cache_report.CacheTarget.of("RTX 4090", resolve_target(gpu="RTX 4090"))
    kernel = _kernel()
    kernel.triton_version = "3.6.0"
    cell = cache_report._cell(kernel, target, res, "3.9.0")
    assert cell.status == status
    assert (cell.reason is None) if words is None else (words in cell.reason)
    if status == "launches":
        assert cell.margin_bytes == 0 and cell.occupancy.blocks_per_sm == 1 and cell.occupancy.limiters == ("smem",)


def test_the_caches_own_target_is_compared_with_its_record():
    kernel = _kernel(cap=89, shared=4096)
    target = cache_report.CacheTarget.of("sm_89", resolve_target(arch="sm_89"))
    assert cache_report._cell(
        kernel, target, rc.CompiledResources(shared_bytes=4096, num_warps=4), "x"
    ).matches_recorded
    assert (
        cache_report._cell(kernel, target, rc.CompiledResources(shared_bytes=0, num_warps=4), "x").matches_recorded
        is False
    )
    sm80 = cache_report.CacheTarget.of("sm_80", resolve_target(arch="sm_80"))
    assert (
        cache_report._cell(kernel, sm80, rc.CompiledResources(shared_bytes=0, num_warps=4), "x").matches_recorded
        is None
    )


def test_report_groups_configs_and_counts_per_target(fake_children, targets):
    report = cache_report.check_cache(read_cache(CPU_CACHE), targets, parallel=2)
    assert [g.name for g in report.groups] == [
        "fp8_matmul",
        "fp8_quantize",
        "matmul_bias_relu",
        "row_softmax",
        "tma_matmul",
    ]
    assert len(next(g for g in report.groups if g.name == "matmul_bias_relu").rows) == 7
    by_target = {s.target: s.counts for s in report.summaries()}
    assert by_target["sm_80"]["cannot-compile"] == 1 and "cannot-compile" not in by_target["sm_89"]
    assert sum(by_target["sm_90"].values()) == 11 and not report.all_launch
    assert report.compiled == 33 and report.cached == 0 and not report.version_differs
    assert any("11 of 11 recompiled kernels use the shared memory" in n for n in report.notes)


# --- the CLI -------------------------------------------------------------------------------------

ARCHS = "sm_80,sm_86,sm_89,sm_120"


@pytest.mark.parametrize("width", [80, 200])
def test_text_keeps_everything_at_any_width(cli, no_gpu, fake_children, width):
    r = cli(
        "check-tiles",
        "--from-triton-cache",
        str(CPU_CACHE),
        "--arch",
        ARCHS,
        "--gpu",
        "RTX 4090,gb10",
        env={"COLUMNS": str(width)},
    )
    assert r.exit_code == 1, r.stderr
    out = r.stdout
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= width
    for words in (
        "matmul_bias_relu · 7 configs",
        "128x256x64 w8 s4",
        "RTX 4090 sm_89",
        "DGX Spark (GB10) sm_121",
        "101,376 B",
        FP8_REASON.split(": ", 1)[1].split(" requires")[0],
        "cannot run there",
        "out of resource: shared memory",
        "per target (kernels):",
        "launch on every target: ",
    ):
        assert words in " ".join(out.split()), words
    assert "fp8_quantize" in out and "w4 s1 on sm_80, sm_86: cannot run there" in " ".join(out.split())


def test_json_matches_its_schema_and_stdout_holds_only_it(cli, no_gpu, fake_children):
    jsonschema = pytest.importorskip("jsonschema")
    r = cli("check-tiles", "--from-triton-cache", str(CPU_CACHE), "--arch", ARCHS, "--json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, SCHEMA)
    cells = [c for g in doc["groups"] for k in g["configs"] for c in k["cells"]]
    assert len(cells) == 11 * 4 and doc["all_launch"] is False
    fp8 = next(g for g in doc["groups"] if g["name"] == "fp8_quantize")["configs"][0]["cells"]
    assert [c["status"] for c in fp8] == ["cannot-compile", "cannot-compile", "launches", "launches"]
    assert "line 87; error" in fp8[0]["compiler_output"]


def test_every_cell_launching_exits_0(cli, no_gpu, fake_children):
    r = cli("check-tiles", "--from-triton-cache", str(CPU_CACHE), "-k", "row_softmax", "--arch", ARCHS)
    assert r.exit_code == 0, r.stdout
    assert "launch on every target: 1 of 1 kernel" in r.stdout


def test_the_default_cache_is_tritons(cli, no_gpu, fake_children, monkeypatch):
    monkeypatch.setenv("TRITON_CACHE_DIR", str(CPU_CACHE))
    r = cli("check-tiles", "--from-triton-cache", "--arch", "sm_90", "-k", "row_softmax", "--json")
    doc = json.loads(r.stdout)
    assert doc["cache"]["found_by"] == "TRITON_CACHE_DIR" and doc["cache"]["path"] == str(CPU_CACHE)


def test_the_live_gpu_is_the_target_when_none_is_named(cli, fake_h100, fake_children):
    r = cli("check-tiles", "--from-triton-cache", str(CPU_CACHE), "-k", "row_softmax", "--json")
    doc = json.loads(r.stdout)
    assert [(t["label"], t["origin"]) for t in doc["targets"]] == [("H100 80GB HBM3", "live")]


def test_a_cache_from_another_triton_says_so(cli, no_gpu, fake_children):
    r = cli("check-tiles", "--from-triton-cache", str(H200_CACHE), "-k", "scaled_mm", "--arch", "sm_90")
    text = " ".join(r.stdout.split())
    assert "the cache was written by 3.6.0" in text and "every number is what 3.9.0 builds" in text
    assert "6 of 6 recompiled kernels use the shared memory their cache metadata records" in text


@pytest.mark.parametrize(
    "args, words",
    [
        (["--arch", "sm_80,sm_999"], "unknown compute capability sm_999"),
        (["--arch", "gfx942"], "not a compute capability: 'gfx942'"),
        (["--gpu", "RTX 9999"], "unknown GPU 'RTX 9999'"),
        (["--arch", "sm_90", "--dtype", "fp8"], "--dtype does not apply to --from-triton-cache"),
        (["--arch", "sm_90", "--exact"], "--exact does not apply"),
        (["--arch", "sm_90", "--jobs", "0"], "--jobs must be at least 1"),
        (["--arch", "sm_90", "other/folder"], "reads one cache folder, got 2"),
        ([], "no live GPU"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, no_gpu, fake_children, args, words):
    r = cli("check-tiles", "--from-triton-cache", str(CPU_CACHE), *args)
    assert r.exit_code == 2, r.stdout
    assert r.stderr.startswith("gpudiag: ") and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert words in r.stderr and not fake_children


@pytest.mark.parametrize(
    "folder, words",
    [
        ("nowhere", "no such folder: nowhere"),
        (str(DATA / "logs"), "is not a Triton cache"),
    ],
)
def test_a_folder_that_is_not_a_cache_is_exit_2_with_json_too(cli, no_gpu, folder, words):
    r = cli("check-tiles", "--from-triton-cache", folder, "--arch", "sm_90", "--json")
    assert r.exit_code == 2 and words in r.stderr
    assert json.loads(r.stdout)["schema"] == "gpudiag.error/1"


def test_progress_goes_to_stderr_only_while_compiling(cli, no_gpu, fake_children):
    args = ("check-tiles", "--from-triton-cache", str(CPU_CACHE), "-k", "row_softmax", "--arch", "sm_80", "--json")
    first = cli(*args)
    assert "recompiling 1 kernel x target cell ..." in first.stderr
    json.loads(first.stdout)
    second = cli(*args)
    compile_info = json.loads(second.stdout)["compile"]
    assert second.stderr == "" and (compile_info["compiled"], compile_info["cached"]) == (0, 1)
