"""normalize.parse: every log format torch, Triton and their launchers write, parsed once before matching."""

from __future__ import annotations

import pytest

from gpudiag.explain.normalize import clean, module_of_path, parse, segments

GLOG = (
    "W1123 07:45:26.064000 736 site-packages/torch/_inductor/utils.py:1250] [0/0] "
    "Not enough SMs to use max_autotune_gemm mode"
)


def test_glog_line():
    ln = parse(GLOG)
    assert (ln.level, ln.emitter, ln.compile_id, ln.message) == (
        "W",
        "torch._inductor.utils",
        "0/0",
        "Not enough SMs to use max_autotune_gemm mode",
    )
    assert ln.from_torch_or_triton and ln.is_warning_or_error and not ln.indented


@pytest.mark.parametrize("prefix", ["(EngineCore_DP0 pid=4711) ", "  0%|          | 0/10 [00:00<?, ?it/s]", "E       "])
def test_glog_fast_path_and_layered_path_agree(prefix):
    """The usual glog line is parsed by one regex; behind a launcher prefix the layered path runs."""
    fast, layered = parse(GLOG), parse(prefix + GLOG)
    for field in ("message", "level", "emitter", "tags", "compile_id", "category", "exceptions", "inner"):
        assert getattr(fast, field) == getattr(layered, field), field


@pytest.mark.parametrize(
    "raw",
    [
        "[rank0]:" + GLOG,
        "[rank13]: " + GLOG,
        "[default0]:" + GLOG,
        "[local_rank1]:" + GLOG,
        "[trainer0]:[rank0]:" + GLOG,  # a job launcher's role tag before torchrun's
        "\x1b[33m" + GLOG + "\x1b[0m",
        GLOG + "\r\n",
        "E       " + GLOG,
        "  3%|▎         | 1/30 [00:01<00:30,  1.02s/it]\r" + GLOG,
        "2024-05-31T23:12:43.7832053Z " + GLOG,  # GitHub Actions' timestamp
        "[01:17:10.938]: " + GLOG,  # a runner's bracketed clock
    ],
)
def test_launcher_colour_and_progress_prefixes(raw):
    ln = parse(raw)
    assert ln.message == "Not enough SMs to use max_autotune_gemm mode" and ln.level == "W"
    assert ln.emitter == "torch._inductor.utils"


def test_artifact_tags_and_compile_ids():
    ln = parse(
        "V1201 10:00:00.000000 1 torch/_dynamo/guards.py:3338] [0/1] [__recompiles] "
        "Recompiling function f in /x/model.py:47"
    )
    assert ln.tags == ("recompiles",) and ln.compile_id == "0/1" and ln.level == "V"
    ln = parse("W1201 10:00:00.000000 1 torch/_dynamo/convert_frame.py:1 [!0/2_1] [__graph_breaks] x")
    assert ln.message.endswith("x")
    ln = parse("[__graph_breaks] Graph break in user code at /x/model.py:12")
    assert ln.tags == ("graph_breaks",) and ln.from_torch_or_triton


def test_cut_glog_path():
    ln = parse(".../torch/_dynamo/convert_frame.py:1994] [0/8] torch._dynamo hit config.recompile_limit (8)")
    assert ln.emitter == "torch._dynamo.convert_frame" and ln.compile_id == "0/8"
    assert ln.message == "torch._dynamo hit config.recompile_limit (8)"


def test_old_torch_logging_format():
    """torch 2.0/2.1 wrote "[date] [rank] logger: [LEVEL] message"."""
    ln = parse(
        "[2023-06-01 10:00:00,123] torch._dynamo.convert_frame: [WARNING] torch._dynamo hit "
        "config.cache_size_limit (64)"
    )
    assert (ln.level, ln.emitter) == ("W", "torch._dynamo.convert_frame")
    assert ln.message.startswith("torch._dynamo hit config.cache_size_limit")
    ln = parse("[2023-06-01 10:00:00,123] [0/0] torch._dynamo.guards.__recompiles: [DEBUG] Recompiling function f")
    assert ln.tags == ("recompiles",) and ln.emitter == "torch._dynamo.guards" and ln.level == "D"


@pytest.mark.parametrize(
    "raw,level,emitter",
    [
        (
            "WARNING:torch._dynamo.convert_frame:torch._dynamo hit config.recompile_limit (8)",
            "W",
            "torch._dynamo.convert_frame",
        ),
        ("WARNING torch._inductor.utils: Not enough SMs to use max_autotune_gemm mode", "W", "torch._inductor.utils"),
        ("[WARNING] Not enough SMs to use max_autotune_gemm mode", "W", None),
        ("ERROR:root:Not enough SMs to use max_autotune_gemm mode", "E", "root"),
        # the logging cookbook's "%(asctime)s - %(name)s - %(levelname)s - %(message)s", with and without the time
        (
            "2025-07-16 17:42:26,498 - torch._inductor.utils - WARNING - Not enough SMs to use max_autotune_gemm mode",
            "W",
            "torch._inductor.utils",
        ),
        (
            "torch._inductor.utils - WARNING - Not enough SMs to use max_autotune_gemm mode",
            "W",
            "torch._inductor.utils",
        ),
        # vLLM's header names its own file, not a torch module
        ("WARNING 04-03 06:14:31 [core.py:1108] Not enough SMs to use max_autotune_gemm mode", "W", None),
    ],
)
def test_python_logging_formats(raw, level, emitter):
    ln = parse(raw)
    assert ln.level == level and ln.emitter == emitter
    assert ln.message.endswith("max_autotune_gemm mode") or ln.message.endswith("(8)")


@pytest.mark.parametrize(
    "raw,emitter",
    [
        (
            "/usr/lib/python3.12/site-packages/torch/_inductor/compile_fx.py:236: UserWarning: TensorFloat32 tensor cores",
            "torch._inductor.compile_fx",
        ),
        (
            r"C:\Users\me\venv\Lib\site-packages\torch\_dynamo\variables\functions.py:700: UserWarning: Graph break",
            "torch._dynamo.variables.functions",
        ),
        ("/home/u/train.py:12: FutureWarning: something", None),
    ],
)
def test_python_warnings(raw, emitter):
    ln = parse(raw)
    assert ln.category in ("UserWarning", "FutureWarning") and ln.emitter == emitter and ln.is_warning_or_error
    assert ":" not in ln.message.split(" ", 1)[0]


def test_exception_chain_is_unwrapped_innermost_first_for_matching():
    ln = parse(
        "torch._dynamo.exc.BackendCompilerFailed: backend='inductor' raised: "
        "RuntimeError: Triton Error [CUDA]: invalid argument"
    )
    assert ln.exceptions == ("torch._dynamo.exc.BackendCompilerFailed", "RuntimeError")
    assert ln.inner == "RuntimeError: Triton Error [CUDA]: invalid argument"
    assert ln.texts == (ln.inner, ln.message)
    bare = parse("Unsupported: call_function UserDefinedObjectVariable")
    assert bare.exceptions == ("Unsupported",)
    assert parse("Some prose: with a colon").exceptions == ()


def test_indented_continuations_are_marked():
    assert parse("W1201 10:00:00.000000 1 torch/_dynamo/convert_frame.py:1] [0/8]    function: 'f' (x.py:1)").indented
    assert parse("    - 0/0: tensor 'x' size mismatch at index 0. expected 3, actual 4").indented
    assert not parse(GLOG).indented


def test_clean_and_segments():
    assert clean("a\x00b\x1b[1;31mc\x1b[0m\r\n") == "abc"
    assert segments("progress 10%\rprogress 20%\rUserWarning: x") == ["progress 10%", "progress 20%", "UserWarning: x"]
    assert segments("\r\r") == [""]
    assert parse("progress\rUserWarning: x").category == "UserWarning"


def test_module_of_path():
    assert module_of_path("/v/lib/python3.12/site-packages/triton/compiler/compiler.py") == "triton.compiler.compiler"
    assert module_of_path("torch/_inductor/utils.py") == "torch._inductor.utils"
    assert module_of_path("/home/me/torchvision_utils.py") is None
    assert module_of_path("/home/me/model.py") is None


@pytest.mark.parametrize(
    "raw",
    [
        "FAILED test/test_x.py::TestSubclass::test_int8_cpu - torch._dynamo.exc.BackendCompilerFailed: backend='inductor' raised:",
        "!!! Exception during processing !!! backend='inductor' raised:",
        "backend='inductor' raised:",
    ],
)
def test_runner_prefixes_and_a_bare_backend_compiler_failed(raw):
    """pytest's short summary and ComfyUI's error prefix are peeled off; "backend='x' raised:" is
    BackendCompilerFailed's own text even when its class name is not on the line."""
    ln = parse(raw)
    assert ln.exceptions[-1].rsplit(".", 1)[-1] == "BackendCompilerFailed"
    assert ln.message.endswith("backend='inductor' raised:")


def test_wrapped_error_after_a_bare_backend_prefix():
    ln = parse(
        "!!! Exception during processing !!! backend='inductor' raised: ImportError: DLL load failed while importing libtriton: x"
    )
    assert ln.exceptions == ("BackendCompilerFailed", "ImportError")
    assert ln.inner == "ImportError: DLL load failed while importing libtriton: x"


@pytest.mark.parametrize(
    "raw",
    [
        "[04/10/2024-02:13:00] [W] [TRT] Local timing cache in use.",  # TensorRT's date is not a clock
        "ERROR 2019 - a message from another tool",
        "2019-08-12 18:22:52.1338363 [E:onnxruntime:test, cuda_call.cc:93 onnxruntime::CudaCall] CUDNN failure 3",
    ],
)
def test_runner_prefixes_leave_other_formats_alone(raw):
    assert parse(raw).message == raw
