"""The explain-quality2 round's catalogue rules: OpenMP duplicate runtimes, Triton fp8 gates, AOTI
package model names, compiled autograd's compiled_args nyi, Triton op-verifier errors, and the
Python.h entry answering generally without Triton evidence."""

from __future__ import annotations

import json

import pytest


def _doc(cli, line: str) -> dict:
    r = cli("explain-warning", "--json", "--", line)
    assert r.exit_code == 0, r.stdout
    return json.loads(r.stdout)


def _id(d: dict) -> str | None:
    return d.get("id") or (d.get("match") or {}).get("id")


def test_omp_duplicate_runtime_is_general_and_names_both_runtimes(cli, no_gpu):
    d = _doc(cli, "OMP: Error #15: Initializing libiomp5.dylib, but found libomp.dylib already initialized.")
    assert _id(d) == "openmp.duplicate-runtime"
    assert d["scope"] == "general"  # numpy+MKL and torch hit it without compiling
    text = json.dumps(d)
    assert "libiomp5.dylib" in d["summary"] and "libomp.dylib" in d["summary"]
    assert "KMP_DUPLICATE_LIB_OK" in text and "nomkl" in text


def test_omp_duplicate_runtime_with_aoti_evidence_is_a_compile_answer(cli, no_gpu):
    paste = (
        "python3 torchchat.py generate stories15M --dso-path exportedModels/stories15M.so\n"
        "OMP: Error #15: Initializing libomp.dylib, but found libomp.dylib already initialized."
    )
    d = _doc(cli, paste)
    assert d.get("scope") != "general"


@pytest.mark.parametrize(
    "line",
    [
        "ValueError(\"type fp8e4nv not supported in this architecture. The supported fp8 dtypes are ('fp8e4b15', 'fp8e5')\")",
        "AssertionError: fp8e4nv data type is not supported on CUDA arch < 89",
    ],
)
def test_fp8e4nv_gate_names_sm89_and_a_dtype_fix(cli, no_gpu, line):
    d = _doc(cli, line)
    assert _id(d) == "triton.fp8e4nv-unsupported"
    text = json.dumps(d)
    assert "8.9" in text and "bfloat16" in text


def test_fp8_arithmetic_names_the_operand_types(cli, no_gpu):
    d = _doc(cli, "TypeError('unexpected type fp8e5 and fp8e5')")
    assert _id(d) == "triton.fp8-arithmetic-type"
    assert "fp8e5 and fp8e5" in d["summary"]


def test_aoti_package_model_name_fix_names_the_requested_model(cli, no_gpu):
    d = _doc(
        cli, "RuntimeError: Failed to find a generated cpp file or so file for model 'forward' in the zip archive."
    )
    assert _id(d) == "aoti.package-model-name"
    text = json.dumps(d)
    assert "not 'forward'" in text and "model_name=" in text


def test_compiled_args_nyi_demangles_the_cpp_class(cli, no_gpu):
    line = "[rank0]: RuntimeError: compiled_args nyi, see [Note: Compiled Autograd] N5torch8autograd24CppFunctionTensorPreHookE"
    d = _doc(cli, line)
    assert _id(d) == "autograd.compiled-args-nyi"
    assert "torch::autograd::CppFunctionTensorPreHook" in d["summary"]
    assert "compiled_autograd = False" in json.dumps(d)


def test_triton_op_verifier_error_without_loc_is_an_mlir_diagnostic(cli, no_gpu):
    d = _doc(cli, "error: 'tt.load' op requires the same shape for all operands and results")
    assert _id(d) == "triton.mlir-diagnostic"


def test_other_dialects_op_errors_are_not_claimed(cli, no_gpu):
    r = cli(
        "explain-warning", "--json", "--", "error: 'torch.shape.calculate.yield.shapes' op operand #0 must be Int list"
    )
    assert r.exit_code != 0 or json.loads(r.stdout).get("scope") == "general"


def test_python_h_from_a_libtorch_cmake_build_is_general(cli, no_gpu):
    d = _doc(
        cli,
        "/home/u/libtorch/include/torch/csrc/python_headers.h:9:10: fatal error: Python.h: No such file or directory",
    )
    assert _id(d) == "triton.python-headers-missing" and d["scope"] == "general"


def test_python_h_from_tritons_launcher_build_is_a_compile_answer(cli, no_gpu):
    d = _doc(cli, "/tmp/tmpn8c04nql/main.c:4:10: fatal error: Python.h: No such file or directory")
    assert d.get("scope") != "general"


def test_mutated_inputs_offers_the_functional_variant(cli, no_gpu):
    d = _doc(cli, "skipping cudagraphs due to mutated inputs (2 instances)")
    assert "out-of-place (functional) variant" in json.dumps(d)
