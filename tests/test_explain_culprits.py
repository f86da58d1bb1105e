"""The explain-culprits round: answers that name the construct, dimension or number the message names.

* Unsupported lines of torch < 2.8 that name their construct (hasattr on a dict, setattr on a class,
  a builtin with argument types, a comparison, a generator, a torch op returning a Python value);
* torch.export / dynamic-shape specialisation errors with their dim, guard, bound and suggested fix;
* a torch exception quoted after the user's own words (an issue title, "Pippy example error: ...");
* registry answers for torch < 2.8 call_method lines on a Logger or a generator;
* set-up failures that name their cause (getpwuid, -march=native, AOTI C shims and constants).
"""

from __future__ import annotations

import json

import pytest

from gpudiag.explain import normalize
from gpudiag.explain.story import classify_guard


def _doc(cli, line: str) -> dict:
    r = cli("explain-warning", "--json", "--", line)
    assert r.exit_code == 0, r.stdout
    return json.loads(r.stdout)


def _fixes(d: dict) -> str:
    return "\n".join(f"{f['text']} {f['code']}" for f in d["fixes"])


# ------------------------------------------------------------------ a torch exception after the user's words


@pytest.mark.parametrize(
    ("raw", "chain", "inner"),
    [
        (
            "Pippy example error: torch._dynamo.exc.Unsupported: call_method UserDefinedObjectVariable(Logger) "
            "warning_once [ConstantVariable()] {}",
            ("torch._dynamo.exc.Unsupported",),
            "Unsupported: call_method UserDefinedObjectVariable(Logger) warning_once [ConstantVariable()] {}",
        ),
        (
            "Llama 3.2 vision finetuning error (Unsupported: hasattr ConstDictVariable to)",
            ("Unsupported",),
            "Unsupported: hasattr ConstDictVariable to",
        ),
        (
            "`torch._inductor.exc.InductorError: RuntimeError: LLD failed to link hsaco source`",
            ("torch._inductor.exc.InductorError", "RuntimeError"),
            "RuntimeError: LLD failed to link hsaco source",
        ),
    ],
)
def test_torch_exception_after_a_prefix_is_unwrapped(raw, chain, inner):
    line = normalize.parse(raw)
    assert line.exceptions == chain
    assert line.inner == inner


@pytest.mark.parametrize(
    "raw",
    [
        "Build error: Unsupported platform",  # no ": " after the class name
        "my tool said: NotUnsupported: x",  # not a word start
        "error: unsupported: option",  # lower case: not torch's class
        "deploy failed (reason: timeout)",
        "ffmpeg failed: Unsupported: codec h265",  # a bare class name needs a bracket, quote or backtick before it
        "see torch._dynamo.config.cache_size_limit: 8",  # a module, not a class
    ],
)
def test_lines_without_a_quoted_torch_exception_stay_as_they_are(raw):
    line = normalize.parse(raw)
    assert line.exceptions == ()
    assert line.inner == line.message


def test_issue_title_with_unsupported_hasattr_names_the_dict_and_upgrade(cli, no_gpu):
    d = _doc(cli, "Llama 3.2 vision finetuning error (Unsupported: hasattr ConstDictVariable to)")
    assert d["id"] == "dynamo.unsupported-hasattr"
    assert d["culprit"] == {"var": "ConstDictVariable", "name": "to"}
    assert "hasattr(obj, 'to')" in d["summary"] and "a dict" in d["summary"]
    assert "Upgrade torch" in _fixes(d)


def test_prefixed_logger_call_method_gets_the_ignore_logger_fix(cli, no_gpu):
    d = _doc(
        cli,
        "Pippy example error: torch._dynamo.exc.Unsupported: call_method UserDefinedObjectVariable(Logger) "
        "warning_once [ConstantVariable()] {}",
    )
    assert d["match"]["kind"] == "registry"
    assert "ignore_logger_methods" in _fixes(d) and "warning_once" in _fixes(d)


# ------------------------------------------------------------------ Unsupported: the construct it names


def test_setattr_on_a_class_is_named_with_an_outside_fix(cli, no_gpu):
    d = _doc(
        cli,
        "torch._dynamo.exc.Unsupported: builtin: setattr [<class 'torch._dynamo.variables.user_defined."
        "UserDefinedClassVariable'>, <class 'torch._dynamo.variables.constant.ConstantVariable'>, <class "
        "'torch._dynamo.variables.constant.ConstantVariable'>] False",
    )
    assert d["id"] == "dynamo.unsupported-setattr-class"
    assert "setattr on a class" in d["summary"]
    assert "outside the compiled region" in _fixes(d)


def test_builtin_with_argument_types_names_the_builtin(cli, no_gpu):
    d = _doc(
        cli,
        "torch._dynamo.exc.Unsupported: builtin: isinstance [<class 'torch._dynamo.variables.misc.GetAttrVariable'>] "
        "False",
    )
    assert d["id"] == "dynamo.unsupported-builtin-call"
    assert d["culprit"]["fn"] == "isinstance"
    assert "isinstance()" in d["summary"] and "Avoid calling isinstance()" in _fixes(d)


def test_comparison_names_the_operator_and_both_sides(cli, no_gpu):
    d = _doc(
        cli,
        "torch._dynamo.exc.Unsupported: comparison AutogradFunctionVariable() <built-in function is_not> "
        "ConstantVariable(NoneType)",
    )
    assert d["id"] == "dynamo.unsupported-comparison"
    assert d["culprit"] == {"left": "AutogradFunctionVariable()", "op": "is_not", "right": "ConstantVariable(NoneType)"}
    assert "`is_not`" in d["summary"]
    assert "Rewrite or move the check" in _fixes(d) and "upgrade torch" in _fixes(d)


@pytest.mark.parametrize(
    ("line", "entry", "needle"),
    [
        ("torch._dynamo.exc.Unsupported: generator", "dynamo.generator", "list(my_generator(x))"),
        ("torch._dynamo.exc.Unsupported: Tensor.item", "dynamo.graph-break-item", "capture_scalar_outputs"),
        (
            "torch._dynamo.exc.Unsupported: Dynamic control flow is not supported at the moment.",
            "dynamo.data-dependent-branching",
            "torch.cond",
        ),
        (
            "torch._dynamo.exc.Unsupported: Dynamic slicing on data-dependent value is not supported",
            "dynamo.data-dependent-slicing",
            "torch._check",
        ),
    ],
)
def test_old_unsupported_wordings_get_their_construct(cli, no_gpu, line, entry, needle):
    d = _doc(cli, line)
    assert d["id"] == entry
    assert needle in _fixes(d)


def test_torch_op_non_tensor_names_the_function_and_type(cli, no_gpu):
    d = _doc(
        cli,
        "torch._dynamo.exc.Unsupported: torch.* op returned non-Tensor int call_function "
        "<function get_device_capability at 0x7f0>",
    )
    assert d["id"] == "dynamo.torch-op-non-tensor-output"
    assert d["culprit"]["type"] == "int" and "get_device_capability" in d["culprit"]["fn"]
    assert "outside the compiled region" in _fixes(d)


def test_old_unsupported_builtin_names_the_c_function(cli, no_gpu):
    d = _doc(
        cli,
        "torch._dynamo.exc.Unsupported: Graph break due to unsupported builtin "
        "numpy.core._multiarray_umath.implement_array_function. This function is either a Python builtin",
    )
    assert d["id"] == "dynamo.builtin-not-traceable"
    assert d["culprit"]["function"] == "numpy.core._multiarray_umath.implement_array_function"
    assert "allow_in_graph" in _fixes(d)


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("torch._dynamo.exc.Unsupported: call_method GeneratorObjectVariable() __next__ [] {}", "generator object"),
        ("torch._dynamo.exc.Unsupported: call_function BuiltinVariable(open) [ConstantVariable(str)] {}", "`open()`"),
    ],
)
def test_registry_context_answers_name_generators_and_builtins(cli, no_gpu, line, needle):
    d = _doc(cli, line)
    assert d["match"]["kind"] == "registry"
    assert needle in _fixes(d)


def test_call_function_in_skip_files_names_the_stdlib_function(cli, no_gpu):
    d = _doc(
        cli,
        "[2023-08-23 20:16:32,833] [12/21] torch._dynamo.symbolic_convert.__graph_breaks: [DEBUG] Graph break: "
        "call_function partial in skip_files /usr/lib/python3.8/functools.py from user code at:",
    )
    assert d["id"] == "dynamo.graph-break-stdlib-skipped"
    assert "`partial`" in d["summary"]


# ------------------------------------------------------------------ export / dynamic-shape specialisation


def test_guard_excluding_one_is_0_1_specialisation_with_min_2(cli, no_gpu):
    d = _doc(
        cli,
        "  - Not all values of batch = L['x'].size()[0] in the specified range satisfy the generated guard "
        "L['x'].size()[0] != 1.",
    )
    assert d["id"] == "dynamo.dynamic-dim-0-1-specialized"
    assert d["culprit"]["dim"] == "batch" and d["culprit"]["guard"] == "L['x'].size()[0] != 1"
    assert "0/1 specialization" in d["summary"]
    assert "min=2" in _fixes(d)


def test_guard_excluding_the_max_says_lower_max(cli, no_gpu):
    d = _doc(
        cli,
        "  - Not all values of x1 = L['args'][1]['input_ids'].size()[1] in the specified range x1 <= 512 satisfy "
        "the generated guard Ne(512, L['args'][1]['input_ids'].size()[1]).",
    )
    assert d["id"] == "dynamo.dynamic-dim-max-excluded"
    assert d["culprit"]["max"] == "512" and d["culprit"]["dim"] == "x1"
    assert "upper bound" in d["summary"]
    assert "Lower max below 512" in _fixes(d) and "max=512 - 1" in _fixes(d)


def test_other_guard_names_dim_and_guard(cli, no_gpu):
    d = _doc(
        cli,
        "  - Not all values of seq = L['x'].size()[1] in the specified range 4032 <= seq <= 4200 satisfy the "
        "generated guard Eq(Mod(L['x'].size()[1], 8), 0).",
    )
    assert d["id"] == "dynamo.dynamic-dim-specialized"
    assert d["culprit"]["guard"] == "Eq(Mod(L['x'].size()[1], 8), 0)"
    assert "Eq(Mod(L['x'].size()[1], 8), 0)" in _fixes(d)


def test_inferred_constant_names_the_value(cli, no_gpu):
    d = _doc(
        cli,
        "  - Not all values of RelaxedUnspecConstraint(L['inputs'][1].size()[0]) are valid because "
        "L['inputs'][1].size()[0] was inferred to be a constant (2).",
    )
    assert d["culprit"]["value"] == "2"
    assert "specialised L['inputs'][1].size()[0] to the constant 2" in _fixes(d)


def test_constraints_violated_paste_carries_the_suggested_fix(cli, no_gpu):
    paste = (
        "torch._dynamo.exc.UserError: Constraints violated (L['x'].size()[0])! For more information, run with "
        'TORCH_LOGS="+dynamic".\n'
        "Suggested fixes:\n"
        "  batch = Dim('batch', min=2, max=64)"
    )
    d = _doc(cli, paste)
    assert d["id"] == "dynamo.constraint-violation"
    assert d["culprit"]["dims"] == "L['x'].size()[0]"
    assert "Apply torch's suggested fix to your dynamic_shapes: batch = Dim('batch', min=2, max=64)" in _fixes(d)


@pytest.mark.parametrize(
    ("line", "entry", "needle"),
    [
        (
            "- Received user-specified dim hint Dim.DYNAMIC(min=None, max=None), but export 0/1 specialized due "
            "to hint of 1 for dimension inputs['x'].shape[0].",
            "export.dim-0-1-specialized",
            "size on inputs['x'].shape[0] is >= 2",
        ),
        (
            "- Received user-specified dim hint Dim.DYNAMIC(min=None, max=None), but tracing inferred a static "
            "shape of 8 for dimension inputs['x'].shape[1].",
            "export.dim-static-inferred",
            "specialised it to 8",
        ),
    ],
)
def test_export_dim_hint_errors_name_dim_and_number(cli, no_gpu, line, entry, needle):
    d = _doc(cli, line)
    assert d["id"] == entry
    assert needle in _fixes(d)


# ------------------------------------------------------------------ guards that name their construct


def test_recompile_limit_with_bracketed_guard_list_classifies_the_guard(cli, no_gpu):
    d = _doc(
        cli,
        "WARNING:torchdynamo.convert_frame:torchdynamo hit recompilation cache limit (64) for function 'forward' "
        "(/m/model.py:381), due to the following guard failures: [['len(alignments) == 0'], "
        "['len(alignments) == 0']]",
    )
    assert d["guard"]["class"] == "length"
    assert "same length" in d["guard"]["fix"]


def test_constant_guard_inside_an_old_tuple_log_is_classified():
    g = classify_guard("L['t'] == 0\")")
    assert g.class_id == "constant"
    assert "recompile_limit" in g.fix and "inline_inbuilt_nn_modules" in g.fix


# ------------------------------------------------------------------ set-up failures that name their cause


def test_getpwuid_names_the_uid_and_the_cache_dir_fix(cli, no_gpu):
    r = cli("explain-warning", "--json", "--", "<class 'KeyError'>: 'getpwuid(): uid not found: 501'")
    d = json.loads(r.stdout)
    assert d["id"] == "inductor.cache-dir-no-username"
    assert d["scope"] == "general"  # getpass fails for any program: claimed only with compile evidence
    assert d["culprit"] == {"uid": "501"}
    assert "TORCHINDUCTOR_CACHE_DIR" in _fixes(d)


@pytest.mark.parametrize(
    ("line", "entry", "function"),
    [
        (
            "/tmp/c.cpp:384:33: error: ‘aoti_torch__embedding_bag’ was not declared in this scope",
            "aoti.c-shim-undeclared",
            "aoti_torch__embedding_bag",
        ),
        (
            "error LNK2019: unresolved external symbol aoti_torch_check referenced in function kernel$omp$1",
            "aoti.shim-symbol-unresolved",
            "aoti_torch_check",
        ),
    ],
)
def test_aoti_shim_errors_name_the_function(cli, no_gpu, line, entry, function):
    d = _doc(cli, line)
    assert d["id"] == entry
    assert d["culprit"]["function"] == function and function in d["summary"]


def test_bf16_ptx_feature_suggests_float16(cli, no_gpu):
    d = _doc(
        cli,
        "ptxas /tmp/x.ptx, line 492; error : Feature 'cvt with .f32.bf16' requires .target sm_80 or higher",
    )
    assert "float16" in _fixes(d)


def test_ptxas_exit_for_blackwell_target_names_it(cli, no_gpu):
    d = _doc(
        cli,
        "subprocess.CalledProcessError: Command '['/v/site-packages/triton/backends/nvidia/bin/ptxas', '-lineinfo', "
        "'-v', '--gpu-name=sm_120', '/tmp/a.ptx', '-o', '/tmp/a.ptx.o']' returned non-zero exit status 255.",
    )
    assert d["id"] == "triton.ptxas-new-arch-failed"
    assert d["culprit"] == {"target": "sm_120"}
    assert "TRITON_PTXAS_PATH" in _fixes(d)


def test_guard_added_from_broadcasting_suggests_a_shared_dim(cli, no_gpu):
    d = _doc(
        cli,
        "I1217 11:58:45.097000 63088 torch/fx/experimental/symbolic_shapes.py:6285] [2/0] runtime_assert Eq(s0, 4) "
        "[guard added] return x + y  # hh.py:11 in forward (_subclasses/fake_impls.py:845 in infer_size), for more "
        'info run with TORCHDYNAMO_EXTENDED_DEBUG_GUARD_ADDED="Eq(s0, 4)"',
    )
    assert d["id"] == "symbolic-shapes.guard-added"
    assert d["culprit"]["guard"] == "Eq(s0, 4)" and d["culprit"]["where"] == "hh.py:11 in forward"
    assert d["fixes"][0]["text"].startswith("This guard comes from broadcasting (infer_size)")
    assert 'TORCHDYNAMO_EXTENDED_DEBUG_GUARD_ADDED="Eq(s0, 4)"' in _fixes(d)


def test_guard_added_without_broadcasting_has_no_broadcast_fix(cli, no_gpu):
    d = _doc(
        cli,
        "I1217 11:58:45.097000 1 torch/fx/experimental/symbolic_shapes.py:6285] [0/0] eval Eq(s0, 8) [guard added] "
        "if x.shape[0] == 8:  # m.py:3 in forward (_dynamo/variables/tensor.py:1 in evaluate_expr)",
    )
    assert d["id"] == "symbolic-shapes.guard-added"
    assert "broadcasting" not in _fixes(d)


def test_winerror_183_is_the_rename_case_and_general_without_compile_evidence(cli, no_gpu):
    line = "FileExistsError: [WinError 183] Cannot create a file when that file already exists"
    d = json.loads(cli("explain-warning", "--json", "--", line).stdout)
    assert d["id"] == "inductor.windows-rename-exists" and d["scope"] == "general"
    assert "os.replace" in _fixes(d)
    d = _doc(cli, line + ": 'C:\\Temp\\torchinductor_me\\a.tmp' -> 'C:\\Temp\\torchinductor_me\\ab\\c.py'")
    assert d["id"] == "inductor.windows-rename-exists" and d["scope"] == "compile"
    assert "Upgrade torch" in _fixes(d)


@pytest.mark.parametrize(
    ("line", "entry"),
    [
        (
            "You marked L['x'].size()[0] as dynamic but your code specialized it to be a constant (1). If you're "
            "using mark_dynamic, either remove it or use maybe_mark_dynamic.",
            "dynamo.marked-dynamic-0-1",
        ),
        (
            "  - Not all values of RelaxedUnspecConstraint(L['x'].size()[0]) are valid because L['x'].size()[0] was "
            "inferred to be a constant (1).",
            "dynamo.dynamic-dim-0-1-specialized",
        ),
    ],
)
def test_specialised_to_one_is_0_1_specialisation_with_an_example_of_2(cli, no_gpu, line, entry):
    d = _doc(cli, line)
    assert d["id"] == entry
    assert d["culprit"]["value"] == "1"
    assert "size 1 there" in (d["summary"] or "") + _fixes(d) and ">= 2" in _fixes(d)


def test_specialised_to_eight_is_not_0_1(cli, no_gpu):
    d = _doc(cli, "You marked L['x'].size()[0] as dynamic but your code specialized it to be a constant (8).")
    assert d["id"] == "dynamo.marked-dynamic-specialized"


def test_torch_28_builtin_explanation_names_the_builtin_and_a_class_setattr(cli, no_gpu):
    paste = (
        "torch._dynamo.exc.Unsupported: Failed to trace builtin operator\n"
        "  Explanation: Dynamo does not know how to trace builtin operator `setattr` with argument types "
        "['type', 'str', 'int'] (has_kwargs False)"
    )
    d = _doc(cli, paste)
    assert d["id"] == "dynamo.graph-break-builtin"
    assert d["culprit"]["fn"] == "setattr" and "setattr()" in d["summary"]
    assert d["fixes"][0]["text"].startswith("This is setattr on a class")
    d = _doc(cli, "torch._dynamo.exc.Unsupported: Failed to trace builtin operator")
    assert "setattr on a class" not in _fixes(d)
