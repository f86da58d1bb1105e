"""The explain data: every entry valid, its examples match it and no other specific entry; every entry,
family, guard class and partition reason cites a text that exists in the installed torch or triton."""

from __future__ import annotations

import pytest

from gpudiag.explain.catalog import SEVERITIES, families, load, parse, parse_families, story_data
from gpudiag.explain.matcher import Matcher
from gpudiag.installed import versions

CAT = load()
FAMILIES = families()
GUARDS, PARTITIONS = story_data()
MATCHER = Matcher(CAT, FAMILIES)
ENTRIES = CAT.entries


def test_catalogue_has_at_least_40_entries():
    assert len(ENTRIES) >= 40


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_examples_match_entry_and_no_other(entry):
    assert entry.examples
    for line in entry.examples:
        match = MATCHER.match(line)
        assert match is not None and match.entry is entry, f"{line!r} -> {match and match.id}"
        # a special case (refines) wins over the broader entry it refines, which may match it too
        others = [e.id for e in MATCHER.all_matches(line) if e is not entry and not e.generic and e.id != entry.refines]
        assert not others, f"{line!r} also matches {others}"
        # the log prefilter must let the line through: a needle occurs in it
        assert any(n in line for n in entry.needles), f"no needle of {entry.id} in {line!r}"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_entry_fields(entry):
    assert entry.severity in SEVERITIES and entry.severity != "unknown"
    assert entry.fixes and all(f.text for f in entry.fixes)
    assert entry.source.package in ("torch", "triton")


def _cited(row_id, source) -> tuple[str, str]:
    """(id, why skipped or the version checked) for a citation, skipping where this install lacks it."""
    version = versions.torch_version() if source.package == "torch" else versions.triton_version()
    if version is None:
        pytest.skip(f"{source.package} not installed")
    vt = versions.version_tuple(version)
    if source.since and vt < versions.version_tuple(source.since):
        pytest.skip(f"{source.package} {version} predates {source.since}")
    if source.removed_in and vt >= versions.version_tuple(source.removed_in):
        pytest.skip(f"{source.package} {version} no longer has it (removed in {source.removed_in})")
    root = versions.package_dir(source.package)
    path = root / source.file.split("/", 1)[1]
    if path.suffix in (".so", ".dll", ".dylib", ".pyd"):
        if not path.exists():  # C++ text: the library of another build (libtorch_cuda on a CPU build)
            pytest.skip(f"{source.file} is not part of this {source.package} {version} build")
        assert source.text.encode() in path.read_bytes(), f"{source.text!r} not in {source.file} ({version})"
        return row_id, version
    backend = source.file.split("/")[2] if source.file.startswith("triton/backends/") else None
    if backend and not (root / "backends" / backend).is_dir():
        # a backend plugin another Triton build ships (Intel's XPU backend: pytorch-triton-xpu)
        pytest.skip(f"Triton's {backend} backend is not part of this Triton {version} build")
    assert path.exists(), f"{source.file} missing in {source.package} {version}"
    text = path.read_text(encoding="utf-8", errors="replace")
    assert source.text in text, f"{source.text!r} not in {source.file} ({version})"
    return row_id, version


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_entry_source_text_exists_in_installed_version(entry):
    _cited(entry.id, entry.source)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.id)
def test_family_source_text_exists_in_installed_version(family):
    _cited(family.id, family.source)


@pytest.mark.parametrize("row", GUARDS + PARTITIONS, ids=lambda r: r.id)
def test_story_source_text_exists_in_installed_version(row):
    _cited(row.id, row.source)


def test_generic_entries_lose_to_specific():
    line = "W1123 08:00:00.000000 1 torch/_inductor/cudagraph_utils.py:380] [0/0] skipping cudagraphs due to mutated inputs (1 instances)"
    assert MATCHER.match(line).id == "cudagraphs.mutated-inputs"
    assert MATCHER.match("skipping cudagraphs due to something new").id == "cudagraphs.skipped-other"


@pytest.mark.parametrize(
    "line,expected",
    [
        (
            "[rank3]:W0412 10:02:11.518000 140213 torch/_inductor/utils.py:99] [7/3_1] Not enough SMs to use max_autotune_gemm mode",
            "inductor.not-enough-sms",
        ),
        (
            "\x1b[33mW1123 07:45:26.064000 736 utils.py:1] Not enough SMs to use max_autotune_gemm mode\x1b[0m",
            "inductor.not-enough-sms",
        ),
        (
            "/x/y.py:12: UserWarning: TensorFloat32 tensor cores for float32 matrix multiplication available but not enabled.",
            "inductor.tf32-disabled",
        ),
        ("torch._dynamo hit config.recompile_limit (64)", "dynamo.recompile-limit"),
        ("torch._dynamo hit config.cache_size_limit (8)", "dynamo.recompile-limit"),
        (
            "out of resource: shared memory, Required: 99999, Hardware limit: 12345. Reducing block sizes",
            "triton.out-of-resource-shared-memory",
        ),
        # the formats of issue 12: torch 2.0's logger header, torchrun's [default0]:, a \r progress bar
        (
            "[2023-04-13 21:42:57,808] torch._inductor.utils: [WARNING] not enough SMs to use max_autotune_gemm mode",
            "inductor.not-enough-sms",
        ),
        (
            "[default0]:W0412 10:02:11.518000 1 torch/_inductor/utils.py:99] Not enough SMs to use max_autotune_gemm mode",
            "inductor.not-enough-sms",
        ),
        (
            "100%|####| 10/10 [00:01<00:00]\rW1123 07:45:26.064000 736 torch/_inductor/utils.py:1] Not enough SMs to use max_autotune_gemm mode",
            "inductor.not-enough-sms",
        ),
        (
            "E   triton.runtime.errors.OutOfResources: out of resource: shared memory, Required: 1, Hardware limit: 0",
            "triton.out-of-resource-shared-memory",
        ),
        (
            "C:\\Users\\me\\env\\Lib\\site-packages\\torch\\_inductor\\compile_fx.py:236: UserWarning: TensorFloat32 tensor cores for float32 matrix multiplication available but not enabled",
            "inductor.tf32-disabled",
        ),
    ],
)
def test_variants_with_prefixes_and_changed_numbers(line, expected):
    assert MATCHER.match(line).id == expected


def test_wrapped_exception_is_explained_before_its_wrapper():
    line = (
        "torch._dynamo.exc.BackendCompilerFailed: backend='inductor' raised: RuntimeError: "
        "Triton Error [CUDA]: device kernel image is invalid"
    )
    assert MATCHER.match(line).id == "triton.kernel-image-invalid"
    assert MATCHER.match("torch._dynamo.exc.BackendCompilerFailed: backend='inductor' raised:").kind == "family"


@pytest.mark.parametrize(
    "line,family",
    [
        ("torch._subclasses.fake_tensor.SomeNewError: aten.foo.default", "fake-tensor"),
        ("torch._export.verifier.SomeNewError: node x is not allowed", "export"),
        ("torch._inductor.runtime.triton_heuristics.SomeNewError: launch failed", "inductor.autotuning"),
    ],
)
def test_a_qualified_exception_names_its_subsystem(line, family):
    """A class no family lists still says which module raised it."""
    match = MATCHER.match(line)
    assert match.kind == "family" and match.id == family


def test_exceptions_of_other_packages_get_no_family():
    for line in (
        "jaxlib.xla_extension.XlaRuntimeError: RESOURCE_EXHAUSTED: out of memory",
        "conda.exceptions.PackagesNotFoundError: The following packages are missing",
        "tritonclient.utils.InferenceServerException: model not ready",
    ):
        assert MATCHER.match(line) is None, line


def test_bad_rows_are_reported_by_id():
    from gpudiag.errors import GpudiagError

    with pytest.raises(GpudiagError, match=r"broken\.entry"):
        parse({"warning": [{"id": "broken.entry", "title": "t"}]})
    with pytest.raises(GpudiagError, match=r"broken\.family"):
        parse_families({"family": [{"id": "broken.family", "title": "t"}]})
    with pytest.raises(GpudiagError, match="already used"):
        parse_families(
            {
                "family": [
                    dict(
                        id="inductor.not-enough-sms",
                        title="t",
                        severity="unknown",
                        meaning="m",
                        trigger="t",
                        source_file="torch/x.py",
                        source_text="x",
                        emitters=["torch"],
                        fixes=[{"text": "f"}],
                    )
                ]
            },
            {"inductor.not-enough-sms"},
        )


def test_every_pattern_compiles_and_a_bad_one_names_its_entry():
    """Patterns compile lazily (one line pays only for its candidates); all of them still compile."""
    from gpudiag.errors import GpudiagError

    load().compile_all()
    row = dict(
        id="broken.pattern",
        title="t",
        severity="performance",
        needles=["x"],
        patterns=["x(unclosed"],
        meaning="m",
        trigger="t",
        source_file="torch/x.py",
        source_text="x",
        fixes=[{"text": "f"}],
        source_function="f",
        examples=["x"],
    )
    catalogue = parse({"warning": [row]})
    with pytest.raises(GpudiagError, match=r"broken\.pattern: bad pattern"):
        catalogue.compile_all()
    row["culprit"] = ["(?P<fn>\\w+)"]
    row["summary"] = "{fn} and {missing}"
    with pytest.raises(GpudiagError, match=r"\{missing\} is not a group"):
        parse({"warning": [dict(row, patterns=["x"])]})


@pytest.mark.parametrize(
    "line,expected",
    [
        # an issue title cut before its last word, behind a logger prefix, ending in an ellipsis
        ("Not enough SMs to use max_autotune_gemm", "inductor.not-enough-sms"),
        (
            "W1123 07:45:26.064000 736 torch/_inductor/utils.py:1250] Not enough SMs to use max_autotune_gemm...",
            "inductor.not-enough-sms",
        ),
    ],
)
def test_a_message_cut_short_names_its_entry_as_not_exact(line, expected):
    m = MATCHER.match(line)
    assert m is not None and m.id == expected and m.cut_short


@pytest.mark.parametrize(
    "line",
    [
        "Not enough SMs to use",  # under four words' worth of the message: says nothing yet
        "RuntimeError: CUDA error:",  # the start of many messages
        "Not enough SMs to use max_autotune_gemm mode",  # the whole message is an exact match, not a cut one
    ],
)
def test_short_or_whole_messages_are_not_cut_short_matches(line):
    m = MATCHER.match(line)
    assert m is None or not m.cut_short
