"""The recompile and graph-break story of a log, on real logs from torch 2.11 (H200) and torch 2.13 (CPU)
and on the record formats of torch 2.0 and 2.1."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gpudiag.explain import story as story_mod
from gpudiag.explain.catalog import families, load
from gpudiag.explain.matcher import Matcher
from gpudiag.explain.registry import installed
from gpudiag.explain.scan import scan_stream
from gpudiag.explain.story import classify_guard

LOGS = Path(__file__).parent / "data" / "logs"
TORCH = {"h200": "torch 2.11", "cpu": "torch 2.13"}


def _story(data: bytes, registry=installed, chunk_bytes: int | None = None):
    m = Matcher(load(), families(), registry)
    kw = {"chunk_bytes": chunk_bytes} if chunk_bytes else {}
    return scan_stream(m, io.BytesIO(data), **kw).story


def _log_story(name: str, **kw):
    return _story((LOGS / name).read_bytes(), **kw)


# scenario -> (function, recompiles, class of the failed guard)
GUARD_SCENARIOS = {
    "guard_size": ("<lambda>", 3, "size"),
    "guard_dtype": ("<lambda>", 3, "dtype"),
    "guard_requires_grad": ("<lambda>", 1, "requires_grad"),
    "guard_grad_mode": ("<lambda>", 1, "grad_mode"),
    "guard_autocast": ("<lambda>", 1, "autocast"),
    "guard_module_int": ("forward", 3, "module_int"),
    "guard_float_arg": ("<lambda>", 1, "constant"),
    "guard_object_id": ("f", 3, "object_id"),
    "guard_type": ("f", 1, "object_id"),  # a new class: torch 2.11+ checks the type by its id
}


@pytest.mark.parametrize("host", ["h200", "cpu"], ids=lambda h: TORCH[h])
@pytest.mark.parametrize("scenario", sorted(GUARD_SCENARIOS))
def test_each_class_of_guard_failure_on_both_torch_versions(host, scenario):
    name, recompiles, klass = GUARD_SCENARIOS[scenario]
    story = _log_story(f"{host}_{scenario}__default.log")
    [fs] = story.ranked_functions()
    assert (fs.name, fs.recompiles) == (name, recompiles)
    assert fs.location.endswith("bench/explain_capture_logs.py:" + fs.location.rsplit(":", 1)[1])
    [group] = fs.ranked_guards()
    assert group.finding.class_id == klass and group.count == recompiles
    assert group.finding.fix, "every class of guard the capture script provokes has a fix"
    assert not fs.hit_limit and fs.limit == story.default_limit


def test_device_guard_on_the_h200():
    [fs] = _log_story("h200_guard_device__default.log").ranked_functions()
    assert [g.finding.class_id for g in fs.ranked_guards()] == ["device"]


def test_size_guard_fix_names_the_tensor_and_dimension():
    [fs] = _log_story("cpu_guard_size__default.log").ranked_functions()
    finding = fs.ranked_guards()[0].finding
    index = finding.failure.split("mismatch at index ")[1].split(".")[0]
    assert f"torch._dynamo.mark_dynamic(x, {index})" in finding.fix


def test_module_int_guard_fix_names_the_attribute():
    [fs] = _log_story("h200_guard_module_int__default.log").ranked_functions()
    finding = fs.ranked_guards()[0].finding
    assert finding.failure.startswith("self.k == ") and "#" not in finding.failure  # code comment dropped
    assert "allow_unspec_int_on_nn_module" in finding.fix


@pytest.mark.parametrize("host", ["h200", "cpu"], ids=lambda h: TORCH[h])
@pytest.mark.parametrize("scenario", ["recompile_limit_hard", "recompiles"])
def test_recompile_limit_hit(host, scenario):
    [fs] = _log_story(f"{host}_{scenario}__default.log").ranked_functions()
    assert (fs.recompiles, fs.limit, fs.limit_kind, fs.hit_limit) == (2, 2, "recompile_limit", True)
    # recompile_limit_hard sets fail_on_recompile_limit_hit: the call raised instead of running eagerly
    assert fs.failed_recompile == (scenario == "recompile_limit_hard")
    assert fs.ranked_guards()[0].finding.class_id == "size"


@pytest.mark.parametrize("host", ["h200", "cpu"], ids=lambda h: TORCH[h])
def test_fail_on_recompile(host):
    [fs] = _log_story(f"{host}_fail_on_recompile__default.log").ranked_functions()
    assert fs.failed_recompile and fs.recompiles == 1
    assert fs.ranked_guards()[0].finding.class_id == "size"


@pytest.mark.parametrize("host", ["h200", "cpu"], ids=lambda h: TORCH[h])
def test_graph_breaks_by_reason_and_frame_with_registry_ids(host):
    story = _log_story(f"{host}_graph_breaks__default.log")
    breaks = {g.reason: g for g in story.ranked_breaks()}
    assert set(breaks) == {
        "Failed to trace builtin operator",
        "Unsupported Tensor.item() call with capture_scalar_outputs=False",
    }
    if installed() is not None:
        assert breaks["Failed to trace builtin operator"].gb_id == "GB0059"
        assert breaks["Unsupported Tensor.item() call with capture_scalar_outputs=False"].gb_id == "GB0124"
        assert breaks["Failed to trace builtin operator"].url.endswith("gb0059.html")
    frames = [f for f, _, _ in story.breaks_by_frame()]
    assert [f.rsplit(":", 1)[1] for f in frames] == ["36", "37"]  # the two user lines that broke the graph


def test_graph_breaks_without_a_registry_keep_their_reasons():
    story = _log_story("cpu_graph_breaks__default.log", registry=lambda: None)
    assert {g.gb_id for g in story.ranked_breaks()} == {None}
    assert len(story.graph_breaks) == 2


def test_graph_partitions_name_the_cpu_op():
    """torch 2.11's 'Created 2 graph partitions: 1 cudagraphable, 1 non-cudagraphable' and the op's reason."""
    story = _log_story("h200_cpu_tensor__reduce-overhead.log")
    assert (story.partitions_created, story.partitions_non_cudagraphable) == (2, 1)
    [finding] = story.partition_findings.values()
    assert finding.ops == ["op1"] and not finding.benign and "cpu" in finding.finding


def test_partitions_of_default_mode_are_benign():
    story = _log_story("h200_recompiles__default.log")
    assert all(p.benign for p in story.partition_findings.values())


def test_cudagraph_skips_are_grouped():
    story = _log_story("h200_mutated_inputs__reduce-overhead.log")
    assert list(story.cudagraph_skips) == ["mutated inputs (N instances)"]


TORCH_2_1 = """\
[2023-10-10 10:00:00,000] [0/1] torch._dynamo.guards.__recompiles: [DEBUG] Recompiling function forward in /x/model.py:10
[2023-10-10 10:00:00,000] [0/1] torch._dynamo.guards.__recompiles: [DEBUG]     triggered by the following guard failure(s):
[2023-10-10 10:00:00,000] [0/1] torch._dynamo.guards.__recompiles: [DEBUG]     - tensor 'L['x']' size mismatch at index 0. expected 3, actual 4
[2023-10-10 10:00:01,000] [0/8] torch._dynamo.convert_frame: [WARNING] torch._dynamo hit config.cache_size_limit (8)
[2023-10-10 10:00:01,000] [0/8] torch._dynamo.convert_frame: [WARNING]    function: 'forward' (/x/model.py:10)
[2023-10-10 10:00:01,000] [0/8] torch._dynamo.convert_frame: [WARNING]    last reason: tensor 'L['x']' size mismatch at index 0. expected 9, actual 10
"""
TORCH_2_0 = """\
[2023-04-01 10:00:00,000] torch._dynamo.convert_frame: [WARNING] torch._dynamo hit config.cache_size_limit (64)
   function: 'forward' (/x/model.py:10)
   reasons:  ___check_obj_id(self, 140000)
to diagnose recompilation issues, see https://pytorch.org/docs/master/dynamo/troubleshooting.html.
[2023-04-01 10:00:00,000] torch._dynamo.convert_frame.__recompiles: [DEBUG] ('Recompiling function step in /x/train.py:20', "triggered by the following guard failure: tensor 'x' dtype mismatch. expected Float, actual Half")
[2022-11-01 10:00:00,000] torchdynamo.convert_frame: [WARNING] torchdynamo hit config.cache_size_limit (64)
   function: 'decode' (/x/generate.py:7)
   reasons:  tensor 'ids' size mismatch at index 1. expected 5, actual 6
"""


def test_torch_2_1_records():
    [fs] = _story(TORCH_2_1.encode()).ranked_functions()
    assert (fs.name, fs.location, fs.recompiles) == ("forward", "/x/model.py:10", 1)
    assert (fs.limit, fs.limit_kind, fs.hit_limit) == (8, "cache_size_limit", True)
    assert [g.finding.class_id for g in fs.ranked_guards()] == ["size"]


def test_torch_2_0_records():
    """torch 2.0 (and torchdynamo before it) prefixed only a record's first line, and logged recompiles
    as a tuple."""
    story = _story(TORCH_2_0.encode())
    fns = {f.name: f for f in story.ranked_functions()}
    assert fns["forward"].hit_limit and fns["forward"].limit == 64
    assert [g.finding.class_id for g in fns["forward"].ranked_guards()] == ["object_id"]
    assert fns["step"].recompiles == 1 and fns["step"].ranked_guards()[0].finding.class_id == "dtype"
    # torchdynamo, before it became torch._dynamo
    assert fns["decode"].hit_limit and fns["decode"].limit == 64
    assert fns["decode"].ranked_guards()[0].finding.class_id == "size"


def test_functions_ranked_by_recompiles():
    head = "V1201 10:00:00.000000 1 torch/_dynamo/guards.py:1] [{f}/{n}] [__recompiles]"
    lines = []
    for f, name, times in ((0, "g", 1), (1, "h", 3), (2, "k", 2)):
        for n in range(1, times + 1):
            h = head.format(f=f, n=n)
            lines += [
                f"{h} Recompiling function {name} in /x/m.py:{f}",
                f"{h}     triggered by the following guard failure(s):",
                f"{h}     - {f}/{n - 1}: tensor 'x' size mismatch at index 0. expected {n}, actual {n + 1}",
            ]
    story = _story(("\n".join(lines) + "\n").encode())
    assert [(f.name, f.recompiles) for f in story.ranked_functions()] == [("h", 3), ("k", 2), ("g", 1)]


def test_separate_runs_in_one_file_are_separate_processes():
    """Three captured runs concatenated (three pids): three stories, never one summed."""
    data = b"".join(
        (LOGS / n).read_bytes()
        for n in ("cpu_guard_autocast__default.log", "cpu_guard_module_int__default.log", "cpu_recompiles__default.log")
    )
    r = scan_stream(Matcher(load(), families()), io.BytesIO(data))
    per = sorted(f.recompiles for s in r.stories.values() for f in s.ranked_functions())
    assert len(r.stories) == 3 and per == [1, 2, 3]


def test_story_is_the_same_across_chunk_boundaries():
    data = b"".join(p.read_bytes() for p in sorted(LOGS.glob("*.log")))
    assert _story(data).to_dict() == _story(data, chunk_bytes=97).to_dict()


def test_story_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(story_mod, "MAX_FUNCTIONS", 20)
    monkeypatch.setattr(story_mod, "MAX_GROUPS", 5)
    lines = []
    for i in range(30):
        head = f"V1201 10:00:{i:02d}.000000 1 torch/_dynamo/guards.py:1] [{i}/1] [__recompiles]"
        lines.append(f"{head} Recompiling function f{i} in /x/m.py:{i}")
        lines.append(f"{head}     triggered by the following guard failure(s):")
        lines.append(f"{head}     - 0/0: tensor 'x' size mismatch at index 0. expected 3, actual 4")
    for i in range(8):
        lines.append(
            f"W1201 10:01:{i:02d}.000000 1 torch/_inductor/cudagraph_trees.py:1] skipping cudagraphs due to "
            f"reason number{'s' * i}"
        )
    story = _story(("\n".join(lines) + "\n").encode())
    assert len(story.functions) == 20 and len(story.cudagraph_skips) == 5
    assert story.overflow == 10 + 3


@pytest.mark.parametrize(
    "failure,klass",
    [
        ("tensor 'x' size mismatch at index 1. expected 8, actual 16", "size"),
        ("tensor 'L['x']' stride mismatch at index 0. expected 4, actual 1", "stride"),
        ("tensor 'x' dtype mismatch. expected Float, actual Half", "dtype"),
        ("tensor 'x' requires_grad mismatch. expected requires_grad=0", "requires_grad"),
        ("GLOBAL_STATE changed: grad_mode ", "grad_mode"),
        ("GLOBAL_STATE changed: autocast ", "autocast"),
        ("___check_obj_id(L['self'].fn, 140234)", "module_object"),
        ("___check_obj_id(L['self']._modules['attn'].processor, 140318667175440)", "module_object"),
        ("___check_obj_id(L['self']._modules['attn'], 140318667175440)", "object_id"),
        ("___check_obj_id(L['fn'], 140234)", "object_id"),
        ("len(L['xs']) == 3", "length"),
        ("L['scale'] == 0.5  # return x * scale", "constant"),
        ("something torch has not said before", "other"),
    ],
)
def test_classify_guard(failure, klass):
    assert classify_guard(failure).class_id == klass


# Failure texts as torch writes them: TensorCheck::check_verbose (torch/csrc/dynamo/guards.cpp, 2.1-2.13), the
# parameter suffix of the tensor-match guard, the aliasing and dimension-marking guards, and the Python guards
# on the sources torch/_dynamo/source.py names.
PARAM_HINT = (
    ". Guard failed on a parameter, consider using torch._dynamo.config.force_parameter_static_shapes = False "
    "to allow dynamism on parameters."
)


@pytest.mark.parametrize(
    "failure,klass,in_fix,not_in_fix",
    [
        # inductor's layout optimisation made a conv weight channels_last (pytorch#126241)
        (
            "tensor 'L['self'].encoder_q.layer1[0].conv1.weight' stride mismatch at index 2. expected 1, actual 64",
            "parameter_layout",
            "layout_optimization = False",
            "mark_dynamic(",
        ),
        (
            "tensor 'L['self']._modules['conv'].weight' stride mismatch at index 1. expected 9, actual 1",
            "parameter_layout",
            "channels_last",
            "mark_dynamic(",
        ),
        (
            "tensor 'L['w']' stride mismatch at index 0. expected 4, actual 1" + PARAM_HINT,
            "parameter_layout",
            "layout_optimization",
            "mark_dynamic(",
        ),
        (
            "tensor 'L['x']' stride mismatch at index 1. expected 1, actual 512",
            "stride",
            ".contiguous()",
            "mark_dynamic(L",
        ),
        ("L['x'].stride()[0] == L['x'].size()[1]", "stride", ".contiguous()", "mark_dynamic(L"),
        ("L['x'].storage_offset() == 0", "storage_offset", ".clone()", "mark_dynamic("),
        ("tensor 'L['x']' rank mismatch. expected 2, actual 3", "ndim", "dimensions", "mark_dynamic("),
        (
            "tensor 'L['self'].fc.weight' size mismatch at index 0. expected 8, actual 16" + PARAM_HINT,
            "parameter_size",
            "force_parameter_static_shapes",
            None,
        ),
        ("tensor 'L['x']' size mismatch at index 1. expected 8, actual 16", "size", "mark_dynamic(L['x'], 1)", None),
        ("2 <= L['x'].size()[0]", "size", "mark_dynamic", None),
        (
            "tensor 'x' dispatch key set mismatch. expected DispatchKeySet(CPU, BackendSelect, ADInplaceOrView, "
            "AutogradCPU), actual DispatchKeySet(SparseCPU, BackendSelect, ADInplaceOrView, AutogradCPU)",
            "layout",
            "to_dense",
            "requires_grad",
        ),
        (
            "tensor 'x' dispatch key set mismatch. expected DispatchKeySet(CPU, BackendSelect, ADInplaceOrView, "
            "AutogradCPU), actual DispatchKeySet(CPU, BackendSelect)",
            "inference_mode",
            "inference_mode",
            "requires_grad",
        ),
        (
            "tensor 'x' dispatch key set mismatch. expected DispatchKeySet(CPU, BackendSelect, ADInplaceOrView, "
            "AutogradCPU), actual DispatchKeySet(CUDA, BackendSelect, ADInplaceOrView, AutogradCUDA)",
            "device",
            "one device",
            "requires_grad",
        ),
        (
            "tensor 'x' dispatch key set mismatch. expected DispatchKeySet(CPU, BackendSelect), actual DispatchKeySet(CPU, Conjugate, BackendSelect)",
            "conj_neg",
            "resolve_conj",
            None,
        ),
        (
            "expected type of 'L['y']' to be a tensor type, ' but found <class 'NoneType'>",
            "not_a_tensor",
            "tensor",
            None,
        ),
        (
            "Duplicate tensor found where not expected! L['b'] should not alias to anything, but is aliased",
            "aliasing",
            "f(x, x)",
            None,
        ),
        ("hasattr(L['x'], '_dynamo_dynamic_indices') == False", "dim_marking", "mark_dynamic", None),
        ("L['mask'] is None", "none", "None", None),
        ("list(L['cfg'].keys()) == ['a', 'b']", "dict_keys", "keys", None),
    ],
)
def test_guard_classes_name_the_right_cause_and_fix(failure, klass, in_fix, not_in_fix):
    finding = classify_guard(failure)
    assert finding.class_id == klass
    assert in_fix in finding.fix
    if not_in_fix:
        assert not_in_fix not in finding.fix


def test_a_stride_recompile_in_a_log_is_not_a_size_guard():
    """The thread the issue quotes: a conv weight's stride changed under inductor's layout optimisation."""
    head = "[rank0]:V0514 16:27:34.740000 140652138796864 torch/_dynamo/guards.py:2594] [2/1] [__recompiles]"
    log = "\n".join(
        [
            f"{head} Recompiling function forward in /data/moco/builder.py:115",
            f"{head}     triggered by the following guard failure(s):",
            f"{head}     - tensor 'L['self'].encoder_q.layer1[0].conv1.weight' stride mismatch at index 2. expected 1, actual 64",
        ]
    )
    [fs] = _story((log + "\n").encode()).ranked_functions()
    [group] = fs.ranked_guards()
    assert group.finding.class_id == "parameter_layout" and "layout_optimization" in group.finding.fix
