"""check-tiles --kernel MODULE:FUNCTION --configs SPACE.json, with the forked compiles faked.

The kernels are real ``@triton.jit`` functions from ``tests/data/kernels`` (Triton's tutorial matmul,
a MoE grouped matmul); the compile engine's children (``compile_engine.run_children``) answer from a
simple rule instead of compiling, so the space, the shards, the merge, the report and the CLI run for
real. ``test_tiles_space_compile.py`` compiles for real.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gpudiag.errors import GpudiagError
from gpudiag.tiles import compile_engine as engine
from gpudiag.tiles import kernel_signature, kernel_spec, space, space_configs
from gpudiag.tiles.space_report import SpaceReport, merge

pytest.importorskip("triton")

KERNELS = Path(__file__).parent / "data" / "kernels"
TUTORIAL = str(KERNELS / "tutorial_matmul.py")
MOE = str(KERNELS / "moe_grouped_matmul.py")
SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs/schemas/check-tiles-space.schema.json").read_text())
LIMITS = {"sm_80": 166_912, "sm_86": 101_376, "sm_89": 101_376, "sm_90": 232_448, "sm_120": 101_376}


def fake_result(cfg: space_configs.SpaceConfig, label: str) -> engine.CompileResult:
    """A rule shaped like the compiler's answers: (BM + BN) x BK x 2 B per stage buffer, stages - 1
    buffers; GROUP_SIZE_M 64 with 256-row blocks "crashes the compiler"; BLOCK_SIZE_K 8 is refused."""
    kw = cfg.kwargs
    bm = kw.get("BLOCK_SIZE_M", 64)
    bn = kw.get("BLOCK_SIZE_N", 64)
    bk = kw.get("BLOCK_SIZE_K", 32)
    if bk < 16:
        return engine.CompileResult(failure="compile", reason="CompilationError: Input shapes should have K >= 16")
    if kw.get("GROUP_SIZE_M") == 64 and bm == 256:
        return engine.CompileResult(
            failure="compile",
            reason="the compiler crashed (SIGSEGV): Stack dump:",
            crash_signal="SIGSEGV",
            compiler_output="Stack dump:\n0. Program arguments: python",
        )
    shared = max(1, cfg.stages - 1) * (bm + bn) * bk * 2
    if shared > LIMITS.get(label, 101_376):
        return engine.CompileResult(shared_bytes=shared, stopped_early=True, compile_s=0.5)
    return engine.CompileResult(
        shared_bytes=shared, regs_per_thread=128, spills=0, local_bytes=0, num_warps=cfg.warps, compile_s=1.0
    )


@pytest.fixture
def fake_children(monkeypatch, tmp_path):
    monkeypatch.setenv("GPUDIAG_CACHE_DIR", str(tmp_path / "cache"))
    calls: list[int] = []

    def run(todo, parallel, triton_cache=None):
        calls.append(len(todo))
        for task in todo:
            cfg, label = task.job
            yield task, fake_result(cfg, label)

    monkeypatch.setattr(engine, "run_children", run)
    return calls


def _targets(*archs):
    from gpudiag.cli.check_tiles_cache import named_targets

    return list(named_targets(",".join(archs), None).values())


# --- spaces and specs -----------------------------------------------------------------------------


def test_a_product_space_is_every_combination_in_order():
    spec = kernel_spec.load_kernels(MOE)[0]
    assert len(spec.raw_configs) == 1920  # 5 x 4 x 3 x 4 x 2 x 4, as MoE tuners search
    assert spec.raw_configs[0] == {
        "BLOCK_SIZE_M": 16,
        "BLOCK_SIZE_N": 32,
        "BLOCK_SIZE_K": 64,
        "GROUP_SIZE_M": 1,
        "num_warps": 4,
        "num_stages": 2,
    }
    assert spec.raw_configs[1]["num_stages"] == 3 and spec.raw_configs[-1]["BLOCK_SIZE_M"] == 256


@pytest.mark.parametrize(
    "doc, count",
    [
        ([{"BLOCK_SIZE_M": 64, "num_warps": 4}, {"BLOCK_SIZE_M": 128}], 2),
        ({"BLOCK_SIZE_M": [64, 128], "num_stages": [2, 3, 4]}, 6),
        ({"configs": {"BLOCK_SIZE_M": [64, 128]}, "constants": {"ACTIVATION": "leaky_relu"}}, 2),
    ],
)
def test_space_files(tmp_path, doc, count):
    f = tmp_path / "space.json"
    f.write_text(json.dumps(doc))
    spec = kernel_spec.load_kernels(TUTORIAL)[0]
    space_configs.apply_space_file(spec, str(f))
    assert len(spec.raw_configs) == count
    if isinstance(doc, dict) and "constants" in doc:
        assert spec.constants["ACTIVATION"] == "leaky_relu"


@pytest.mark.parametrize(
    "doc, words",
    [
        ("[", "not valid JSON"),
        ("[]", "no configs"),
        ('{"BLOCK_SIZE_M": []}', "has no values"),
        ('{"configs": [], "frob": 1}', "unknown key(s) frob"),
        ("3", "expected a list of configs"),
    ],
)
def test_bad_space_files_are_usage_errors(tmp_path, doc, words):
    f = tmp_path / "space.json"
    f.write_text(doc)
    spec = kernel_spec.load_kernels(TUTORIAL)[0]
    with pytest.raises(GpudiagError) as err:
        space_configs.apply_space_file(spec, str(f))
    assert words in err.value.message and err.value.exit_code == 2


def test_config_keys_split_into_constexprs_options_and_the_rest():
    spec = kernel_spec.load_kernels(TUTORIAL)[0]
    raw = [{"BLOCK_SIZE_M": 64, "num_warps": 8, "maxnreg": 128, "waves_per_eu": 2}]
    [cfg], ignored = space_configs.split_configs(spec, raw)
    assert cfg.kwargs == {"BLOCK_SIZE_M": 64} and cfg.options == {"num_warps": 8, "maxnreg": 128, "num_stages": 3}
    assert ignored == {"waves_per_eu": 1} and cfg.given == raw[0]  # kept as given for the tuner
    with pytest.raises(GpudiagError, match=r"not a tl\.constexpr"):
        space_configs.split_configs(spec, [{"M": 64}])


def test_a_missing_constexpr_or_type_is_named_before_any_compile():
    spec = kernel_spec.load_kernels(TUTORIAL)[0]
    [cfg], _ = space_configs.split_configs(spec, [{"BLOCK_SIZE_M": 64, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 32}])
    with pytest.raises(GpudiagError, match=r"no tl\.constexpr value"):
        space.source_parts(spec, cfg)  # GROUP_SIZE_M is in neither the config nor the constants
    del spec.signature["M"]
    cfg.kwargs["GROUP_SIZE_M"] = 8
    with pytest.raises(GpudiagError, match="for M"):
        space.source_parts(spec, cfg)


def test_the_signature_of_example_arguments_is_what_the_launcher_specialises():
    torch = pytest.importorskip("torch")
    fn = kernel_spec.load_kernels(TUTORIAL)[0].fn
    a = torch.empty(64, 32, dtype=torch.float16)
    b = torch.empty(32, 48, dtype=torch.bfloat16)
    c = torch.empty(64, 48, dtype=torch.float8_e4m3fn)
    args = [a, b, c, 64, 48, 2**40, a.stride(0), a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1)]
    sig, const, not_div = kernel_signature.signature_from_args(fn, args, {"ACTIVATION": ""})
    assert sig["a_ptr"] == "*fp16" and sig["b_ptr"] == "*bf16" and sig["c_ptr"] == "*fp8e4nv"
    assert sig["M"] == "i32" and sig["K"] == "i64" and sig["stride_ak"] == 1 and sig["stride_cn"] == 1
    assert const == {"ACTIVATION": ""} and "M" not in not_div and "N" not in not_div
    assert "K" not in not_div and kernel_signature.signature_from_args(fn, [a, b, c, 63], {})[2] == {"M"}


def test_gpudiag_kernels_forms(tmp_path):
    (tmp_path / "k.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(KERNELS)!r})\n"
        "from tutorial_matmul import matmul_kernel, gpudiag_kernels as _t\n"
        "print('printed at import')\n"
        "def gpudiag_kernels():\n"
        "    spec = _t()['matmul_kernel']\n"
        "    return [(matmul_kernel, spec['signature'], [{'BLOCK_SIZE_M': 64}])]\n"
    )
    [spec] = kernel_spec.load_kernels(str(tmp_path / "k.py"))
    assert spec.name == "matmul_kernel" and spec.raw_configs == [{"BLOCK_SIZE_M": 64}]
    assert spec.signature["stride_ak"] == 1
    with pytest.raises(GpudiagError, match="has no 'nope'"):
        kernel_spec.load_kernels(f"{tmp_path / 'k.py'}:nope")
    (tmp_path / "two.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(KERNELS)!r})\n"
        "from tutorial_matmul import matmul_kernel, gpudiag_kernels as _t\n"
        "def gpudiag_kernels():\n"
        "    sig = _t()['matmul_kernel']['signature']\n"
        "    return {'fp16': (matmul_kernel, sig, [{'BLOCK_SIZE_M': 64}]), 'bf16': (matmul_kernel, sig)}\n"
    )
    assert [s.name for s in kernel_spec.load_kernels(str(tmp_path / "two.py"))] == ["fp16", "bf16"]
    [one] = kernel_spec.load_kernels(f"{tmp_path / 'two.py'}:fp16")
    assert one.name == "fp16" and one.raw_configs == [{"BLOCK_SIZE_M": 64}]
    (tmp_path / "bad.py").write_text("raise RuntimeError('no GPU here')\n")
    with pytest.raises(GpudiagError, match="importing it raised RuntimeError: no GPU here"):
        kernel_spec.load_kernels(str(tmp_path / "bad.py") + ":k")


def test_an_autotuned_kernel_brings_its_configs(tmp_path):
    (tmp_path / "auto.py").write_text(
        "import triton, triton.language as tl\n"
        "@triton.autotune([triton.Config({'BLOCK': 64}, num_warps=2), triton.Config({'BLOCK': 128})], key=['n'])\n"
        "@triton.jit\n"
        "def copy(x, y, n, BLOCK: tl.constexpr):\n"
        "    o = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)\n"
        "    tl.store(y + o, tl.load(x + o, mask=o < n), mask=o < n)\n"
    )
    [spec] = kernel_spec.load_kernels(f"{tmp_path / 'auto.py'}:copy")
    assert spec.raw_configs == [
        {"BLOCK": 64, "num_warps": 2, "num_stages": 3},
        {"BLOCK": 128, "num_warps": 4, "num_stages": 3},
    ]
    assert "the @triton.autotune configs" in spec.space_source


# --- the screen ------------------------------------------------------------------------------------


def test_the_screen_keeps_what_launches_everywhere_and_says_why_not(fake_children):
    spec = kernel_spec.load_kernels(TUTORIAL)[0]
    spec.raw_configs = [
        {"BLOCK_SIZE_M": 128, "BLOCK_SIZE_N": 256, "BLOCK_SIZE_K": 64, "GROUP_SIZE_M": 8, "num_stages": 4},
        {"BLOCK_SIZE_M": 256, "BLOCK_SIZE_N": 128, "BLOCK_SIZE_K": 64, "GROUP_SIZE_M": 64, "num_stages": 3},
        {"BLOCK_SIZE_M": 64, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 8, "GROUP_SIZE_M": 8},
        {"BLOCK_SIZE_M": 64, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 32, "GROUP_SIZE_M": 8, "num_warps": 64},
        {"BLOCK_SIZE_M": 64, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 32, "GROUP_SIZE_M": 8},
    ]
    report = space.screen(spec, _targets("sm_90", "sm_120"))
    doc = report.to_dict()
    assert doc["surviving"] == [spec.raw_configs[4]]
    by = {d["index"]: d for d in doc["dropped"]}
    assert by[0]["statuses"] == {"sm_120": "does-not-fit"}  # 147,456 B fits sm_90 only
    assert "needs 147,456 B > 101,376 B per block" in by[0]["reasons"]["sm_120"]
    assert by[1]["reasons"]["sm_90"].startswith("the compiler crashed (SIGSEGV)")
    assert by[2]["statuses"] == {"sm_90": "cannot-compile", "sm_120": "cannot-compile"}
    assert by[3]["statuses"] == {"sm_90": "cannot-launch", "sm_120": "cannot-launch"}  # 2,048 threads
    assert report.exit_code == 0 and doc["answered"]
    assert [c["crash_signal"] for r, c in report.crashes()] == ["SIGSEGV", "SIGSEGV"]
    import jsonschema

    jsonschema.validate(doc, SCHEMA)


def test_shards_split_the_space_evenly_and_merge_into_the_whole(fake_children):
    spec = kernel_spec.load_kernels(MOE)[0]
    targets = _targets("sm_120")
    shards = [space.screen(spec, targets, (k, 4)) for k in (1, 2, 3, 4)]
    assert sorted(len(s.rows) for s in shards) == [480, 480, 480, 480]
    stages = [sum(r["config"]["num_stages"] == 5 for r in s.rows) for s in shards]
    assert max(stages) - min(stages) < 60  # the slow, large configs are spread, not all in one shard
    docs = [json.loads(json.dumps(s.to_dict())) for s in shards]
    merged = merge([(f"s{i}.json", SpaceReport.from_dict(d)) for i, d in enumerate(docs)])
    whole = space.screen(spec, targets)  # answered from the cache the shards wrote
    assert whole.compiled == 0 and whole.cached == 1920
    assert merged.to_dict()["surviving"] == whole.to_dict()["surviving"] and merged.answered
    partial = merge([("s0.json", SpaceReport.from_dict(docs[0]))])
    assert len(partial.missing()) == 1440 and partial.exit_code == 1
    other = json.loads(json.dumps(space.screen(spec, _targets("sm_90"), (1, 4)).to_dict()))
    with pytest.raises(GpudiagError, match="other targets"):
        merge([("a.json", SpaceReport.from_dict(docs[0])), ("b.json", SpaceReport.from_dict(other))])


@pytest.mark.parametrize("text", ["0/4", "5/4", "x", "1-4", "2/0"])
def test_bad_shards(text):
    with pytest.raises(GpudiagError, match="K/N"):
        space.parse_shard(text)


def test_unknown_cells_make_the_answer_incomplete(monkeypatch, tmp_path):
    monkeypatch.setenv("GPUDIAG_CACHE_DIR", str(tmp_path))

    def run(todo, parallel, triton_cache=None):
        for task in todo:
            yield task, engine.CompileResult(failure="environment", reason="the compile did not finish in 900 s")

    monkeypatch.setattr(engine, "run_children", run)
    spec = kernel_spec.load_kernels(TUTORIAL)[0]
    report = space.screen(spec, _targets("sm_80"))
    assert report.exit_code == 1 and not report.answered and report.surviving() == []


# --- the CLI ---------------------------------------------------------------------------------------


def test_cli_json_files_and_text(cli, no_gpu, fake_children, tmp_path):
    import jsonschema

    survivors, dropped = tmp_path / "surviving.json", tmp_path / "dropped.json"
    args = ["check-tiles", "--kernel", f"{TUTORIAL}:matmul_kernel", "--arch", "sm_80,sm_120"]
    r = cli(*args, "--json", "--write-surviving", str(survivors), "--write-dropped", str(dropped))
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert json.loads(survivors.read_text()) == doc["surviving"] and all("num_warps" in c for c in doc["surviving"])
    assert [d["index"] for d in json.loads(dropped.read_text())] == [d["index"] for d in doc["dropped"]]
    text = cli(*args, env={"COLUMNS": "80"}).stdout
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    assert f"surviving on every target: {len(doc['surviving'])} of 16 configs" in " ".join(text.split())
    assert "from gpudiag's cache" in text


def test_cli_shards_and_merge(cli, no_gpu, fake_children, tmp_path):
    paths = []
    for k in (1, 2):
        r = cli("check-tiles", "--kernel", TUTORIAL, "--arch", "sm_120", "--shard", f"{k}/2", "--json")
        assert r.exit_code in (0, 1), r.stderr
        p = tmp_path / f"shard{k}.json"
        p.write_text(r.stdout)
        paths.append(str(p))
    r = cli("check-tiles", "--merge", *paths, "--json")
    doc = json.loads(r.stdout)
    assert r.exit_code == 0 and doc["space"]["screened"] == 16 and doc["space"]["missing"] == []
    assert doc["space"]["merged_from"] == paths
    r = cli("check-tiles", "--merge", paths[0])
    assert r.exit_code == 1 and re.search(r"not screened: 8 configs", r.stdout)


@pytest.mark.parametrize(
    "args, words",
    [
        (["--configs", "x.json"], "give --kernel MODULE:FUNCTION"),
        (["--kernel", "no/such/file.py:k"], "no such file"),
        (["--kernel", f"{TUTORIAL}:matmul_kernel", "--exact"], "--exact does not apply to --kernel"),
        (["--kernel", f"{TUTORIAL}:matmul_kernel", "--shard", "3/2"], "--shard takes K/N"),
        (["--merge", "a.json", "--kernel", TUTORIAL], "--merge reads the JSON documents"),
        (["--merge"], "--merge joins the JSON documents given as arguments"),
        (["128x128x64", "--kernel", TUTORIAL], "tile arguments do not apply"),
        (["--kernel", f"{TUTORIAL}:matmul_kernel"], "no live GPU"),
    ],
)
def test_cli_usage_errors(cli, no_gpu, fake_children, args, words):
    r = cli("check-tiles", *args)
    assert r.exit_code == 2 and words in r.stderr, r.stderr
