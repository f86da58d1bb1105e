"""explain-warning through the CLI, with the GPU faked: verdicts, log scans, bad input, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpudiag.explain.catalog import families, load
from gpudiag.explain.matcher import Matcher
from gpudiag.explain.scan import scan_stream

LOGS = Path(__file__).parent / "data" / "logs"
SMS_LINE = "W1123 07:45:26.064000 736 torch/_inductor/utils.py:1250] [0/0] Not enough SMs to use max_autotune_gemm mode"
TF32_LINE = (
    "UserWarning: TensorFloat32 tensor cores for float32 matrix multiplication available but not enabled. "
    "Consider setting torch.set_float32_matmul_precision('high') for better performance."
)
NOVALID_LINE = (
    "E1123 torch/_inductor/select_algorithm.py:3541] [0/0] Exception No valid triton configs. "
    "OutOfMemoryError: out of resource: triton_mm Required: 262144 Hardware limit:232448 Reducing "
    "block sizes or num_stages may help."
)


def _json(r):
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_sm_gate_applies_on_rtx3070(cli, fake_rtx3070):
    d = _json(cli("explain-warning", SMS_LINE, "--json"))
    assert d["id"] == "inductor.not-enough-sms"
    assert d["verdict"]["applies"] == "yes"
    assert "46 SMs < 68" in d["verdict"]["summary"]


def test_sm_gate_does_not_apply_on_h100(cli, fake_h100):
    d = _json(cli("explain-warning", SMS_LINE, "--json"))
    assert d["verdict"]["applies"] == "no"
    assert "132 SMs" in d["verdict"]["summary"] and "another machine" in d["verdict"]["summary"]


def test_live_verdicts_come_from_nvml_without_cuinit(cli, monkeypatch):
    """explain-warning never initialises the CUDA driver while NVML answers: the SM count is NVML's
    core count over the architecture's FP32 lanes per SM, the limits come from the per-cc table."""
    import fakes

    from gpudiag.device import cudadrv

    fakes.install(monkeypatch, [fakes.rtx3070()], [fakes.rtx3070()])
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)

    def no_driver():
        raise AssertionError("explain-warning initialised the CUDA driver")

    monkeypatch.setattr(cudadrv, "open_driver", no_driver)
    d = _json(cli("explain-warning", SMS_LINE, "--json"))
    assert d["verdict"]["applies"] == "yes" and "46 SMs < 68" in d["verdict"]["summary"]
    d = _json(cli("explain-warning", NOVALID_LINE, "--json"))
    assert "160,768" in d["verdict"]["summary"]  # 262144 - 101376: the sm_86 opt-in limit from the per-cc table


def test_without_nvml_explain_falls_back_to_the_driver(cli, monkeypatch):
    import fakes

    fakes.install(monkeypatch, None, [fakes.rtx3070()])  # NVML missing, libcuda present
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    d = _json(cli("explain-warning", SMS_LINE, "--json"))
    assert d["verdict"]["applies"] == "yes" and "46 SMs < 68" in d["verdict"]["summary"]


def test_no_gpu_explains_without_verdict(cli, no_gpu):
    r = cli("explain-warning", SMS_LINE)
    assert r.exit_code == 0
    assert "without device verdicts" in r.stdout
    d = _json(cli("explain-warning", SMS_LINE, "--json"))
    assert d["verdict"]["applies"] == "unknown" and d["device"]["name"] is None


def test_gpu_flag_uses_catalogue(cli, no_gpu):
    d = _json(cli("explain-warning", NOVALID_LINE, "--gpu", "H100", "--json"))
    assert d["id"] == "inductor.no-valid-triton-configs"
    assert d["verdict"]["applies"] == "yes"  # 262144 > 232448 opt-in on H100
    assert "262,144" in d["verdict"]["summary"]
    assert any(c.startswith("gpudiag check-tiles") and "--gpu" in c for c in d["verdict"]["commands"])


def test_smem_line_from_smaller_gpu_does_not_apply_on_h100(cli, fake_h100):
    d = _json(
        cli("explain-warning", "out of resource: shared memory, Required: 131072, Hardware limit: 101376", "--json")
    )
    assert d["id"] == "triton.out-of-resource-shared-memory"
    assert d["verdict"]["applies"] == "no"
    assert any("101,376" in x for x in d["verdict"]["details"])


def test_smem_tile_command_from_line(cli, fake_rtx3070):
    line = NOVALID_LINE + " BLOCK_K=128, BLOCK_M=128, BLOCK_N=64, num_stages=4, num_warps=8"
    d = _json(cli("explain-warning", line, "--json"))
    assert d["verdict"]["applies"] == "yes"  # 262144 > 101376 on sm_86
    assert d["verdict"]["commands"][0].startswith("gpudiag check-tiles 128x64x128:4@8 --dtype fp16 --gpu")


def test_tf32_verdict_h100_uses_datasheet(cli, fake_h100):
    d = _json(cli("explain-warning", TF32_LINE, "--json"))
    v = d["verdict"]
    assert v["applies"] == "yes" and "494.7" in v["summary"] and "67" in v["summary"]
    assert any("10-bit mantissa" in x for x in v["details"])


@pytest.mark.parametrize(
    ("gpu", "datasheet"),
    [("L4", "on L4"), ("RTX 3070", "on GeForce RTX 3070"), ("L40S", None), ("RTX 3070 Ti", None), ("A10G", None)],
)
def test_tf32_datasheet_row_is_the_exact_model(cli, no_gpu, gpu, datasheet):
    # A name-substring match once gave the L40S the L4's numbers and the 3070 Ti the 3070's.
    v = _json(cli("explain-warning", TF32_LINE, "--gpu", gpu, "--json"))["verdict"]
    if datasheet:
        assert f"datasheet) {datasheet}" in v["summary"]
    else:
        assert "datasheet)" not in v["summary"]


def test_tf32_rows_name_catalogue_keys():
    from gpudiag.device import catalog
    from gpudiag.explain.catalog import tf32_rows

    known = {row.key for row in catalog.gpu_rows()}
    for row in tf32_rows():
        assert row["keys"] and set(row["keys"]) <= known, row["name"]


def test_explain_by_id_and_list(cli, no_gpu):
    d = _json(cli("explain-warning", "dynamo.recompile-limit", "--json"))
    assert d["form"] == "id" and d["id"] == "dynamo.recompile-limit"
    lst = _json(cli("explain-warning", "--list", "--json"))
    assert len(lst["entries"]) == len(load().entries) + len(families()) >= 40
    r = cli("explain-warning", "--list")
    assert r.exit_code == 0 and "inductor.tf32-disabled" in r.stdout


def test_unmatched_text_exit_1_with_closest(cli, no_gpu):
    r = cli("explain-warning", "skipping cudagraph trees because the moon is full", "--json")
    assert r.exit_code == 1
    d = json.loads(r.stdout)
    assert d["form"] == "no-match" and d["closest"]


def test_bad_inputs_exit_2(cli, no_gpu, tmp_path):
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    binary = tmp_path / "bin.log"
    binary.write_bytes(b"\x7fELF\x00\x00\x01" * 100)
    for args in (
        ("--log", str(empty)),
        ("--log", str(binary)),
        ("--log", str(tmp_path / "missing.log")),
        ("--log", str(tmp_path)),
        ("",),
        (),
    ):
        r = cli("explain-warning", *args)
        assert r.exit_code == 2, (args, r.stdout)
        assert r.stderr.startswith("gpudiag: ") and "Traceback" not in r.stderr


def test_log_from_stdin_sorted_by_cost(cli, fake_rtx3070):
    text = (
        "\n".join(
            [
                SMS_LINE,
                SMS_LINE.replace("736", "737"),
                "step 1 loss 0.5",
                "Traceback (most recent call last):",
                '  File "x.py", line 1, in <module>',
                "    f()",
                "triton.runtime.errors.OutOfResources: out of resource: shared memory, Required: 196608, "
                "Hardware limit: 101376. Reducing block sizes or `num_stages` may help.",
                "W1123 07:45:27.000000 736 mylib/foo.py:12] something odd happened 42 times",
                "W1123 07:45:28.000000 736 mylib/foo.py:12] something odd happened 43 times",
            ]
        )
        + "\n"
    )
    d = _json(cli("explain-warning", "--log", "-", "--json", input=text))
    ids = [k["id"] for k in d["known"]]
    assert ids == ["triton.out-of-resource-shared-memory", "inductor.not-enough-sms"]  # fatal first
    assert d["known"][1]["count"] == 2 and d["known"][1]["first_line"] == 1
    assert d["known"][0]["first_line"] == 7  # the traceback's final line
    assert d["known"][1]["verdict"]["applies"] == "yes"
    assert len(d["unknown"]) == 1 and d["unknown"][0]["count"] == 2


def test_log_without_known_warnings_exit_1(cli, no_gpu, tmp_path):
    p = tmp_path / "plain.log"
    p.write_text("step 1 loss 0.1\nstep 2 loss 0.09\n")
    r = cli("explain-warning", "--log", str(p))
    assert r.exit_code == 1 and "No warning or error in this log is explained" in r.stdout


@pytest.mark.parametrize("log", sorted(LOGS.glob("*.log")), ids=lambda p: p.name)
def test_every_warning_line_in_captured_logs_is_recognised(log):
    with log.open("rb") as fh:
        r = scan_stream(Matcher(load(), families()), fh)
    assert r.known, log
    # every warning/error line is explained; lines that only name the compile stack (a print) may stay unknown
    assert not [u.line for u in r.unknown.values() if u.kind == "warning"]


def test_chunk_boundaries_do_not_change_the_answer(tmp_path):
    data = b"".join(p.read_bytes() for p in sorted(LOGS.glob("*.log")))
    m = Matcher(load(), families())
    import io

    big = scan_stream(m, io.BytesIO(data))
    small = scan_stream(m, io.BytesIO(data), chunk_bytes=97)
    assert {k: (v.count, v.first_line) for k, v in big.known.items()} == {
        k: (v.count, v.first_line) for k, v in small.known.items()
    }
    assert big.lines == small.lines == data.count(b"\n")


def test_empty_gpu_is_rejected_with_one_line(cli, no_gpu):
    r = cli("explain-warning", "--gpu", "", SMS_LINE)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("gpudiag: --gpu needs a GPU name")


WIDTH_CASES = [
    ("--gpu", "RTX 3070", NOVALID_LINE),
    ("--gpu", "H100", TF32_LINE),
    ("dynamo.recompile-limit",),
    (
        "torch._dynamo hit config.recompile_limit (8)\n   function: 'forward' (/a/very/long/path/that/goes/on/and/on/"
        "and/on/model_with_a_long_name.py:10)\n   last reason: 0/7: tensor 'L['x']' size mismatch at index 0. "
        "expected 7, actual 8",
    ),
    ("torch._inductor.exc.InductorError: something inductor has never said before",),
    ("skipping cudagraph trees because the moon is full",),
    ("--list",),
    ("--help",),
    *(
        ("--log", str(LOGS / name))
        for name in (
            "h200_recompile_limit_hard__default.log",
            "h200_graph_breaks__default.log",
            "h200_cpu_tensor__reduce-overhead.log",
            "cpu_guard_module_int__default.log",
            "h200_fail_on_recompile__default.log",
        )
    ),
]


@pytest.mark.parametrize("width", [80, 200])
@pytest.mark.parametrize("args", WIDTH_CASES, ids=lambda a: " ".join(a)[:50])
def test_reports_fit_the_terminal_and_nothing_is_cut(cli, no_gpu, width, args):
    r = cli("explain-warning", *args, env={"COLUMNS": str(width)})
    assert r.exit_code in (0, 1), r.stderr
    assert "…" not in r.stdout
    for line in r.stdout.splitlines():
        assert len(line) <= width, line
        if "--help" not in args:
            assert line == line.rstrip(), f"trailing spaces: {line!r}"


def test_long_words_are_broken_not_cut(cli, no_gpu, tmp_path):
    path = "/a/" + "very_long_directory_name/" * 6 + "model.py"
    head = "W1201 10:00:00.000000 1 torch/_dynamo/convert_frame.py:1994] [0/8]"
    log = tmp_path / "long.log"
    log.write_text(f"{head} torch._dynamo hit config.recompile_limit (8)\n{head}    function: 'f' ({path}:1)\n")
    r = cli("explain-warning", "--log", str(log), env={"COLUMNS": "80"})
    assert r.exit_code == 0 and all(len(ln) <= 80 for ln in r.stdout.splitlines())
    assert f"{path}:1" in "".join(ln.strip() for ln in r.stdout.splitlines())


# ------------------------------------------------------------------ specific, unwrapped, scoped answers (issue 18)


def _explain(cli, *lines):
    return _json(cli("explain-warning", "--json", "\n".join(lines)))


def _fix_text(d):
    return "\n".join(f["text"] + "\n" + f["code"] for f in d["fixes"])


def test_a_dimension_marked_dynamic_but_specialized_is_named(cli, no_gpu):
    d = _explain(cli, "You marked L['x'].size()[0] as dynamic but your code specialized it to be a constant (8)")
    assert d["id"] == "dynamo.marked-dynamic-specialized" and d["specific"]
    assert d["culprit"] == {"dim": "L['x'].size()[0]", "value": "8"}
    assert "L['x'].size()[0]" in d["summary"] and "8" in d["summary"]
    assert "maybe_mark_dynamic" in _fix_text(d) and "L['x'].size()[0]" in d["fixes"][0]["text"]


def test_a_stdlib_inlining_refusal_names_the_function_and_keeps_it_out(cli, no_gpu):
    d = _explain(cli, "torch._dynamo.exc.Unsupported: 'skip function deepcopy in file /usr/lib/python3.10/copy.py'")
    assert d["id"] == "dynamo.graph-break-stdlib-skipped"
    assert "`deepcopy`" in d["summary"] and "/usr/lib/python3.10/copy.py" in d["summary"]
    assert "deepcopy" in d["fixes"][0]["text"] and "custom_op" in _fix_text(d)


def test_a_skipped_site_packages_function_is_not_called_stdlib(cli, no_gpu):
    d = _explain(cli, "in skipfiles: Sampler.draw  | draw /opt/venv/lib/python3.9/site-packages/sampler/core.py")
    assert d["id"] == "dynamo.graph-break-skipped-function"


def test_rnn_graph_breaks_get_allow_rnn_and_warnings_warn_gets_the_version(cli, no_gpu):
    d = _explain(cli, "torch._dynamo.exc.Unsupported: Attempted to wrap RNN, GRU, or LSTM")
    assert d["id"] == "dynamo.graph-break-rnn" and "torch._dynamo.config.allow_rnn = True" in _fix_text(d)
    old = _explain(cli, "torch._dynamo.exc.Unsupported: TorchDynamo purposely graph breaks on RNN, GRU, LSTMs")
    assert old["id"] == "dynamo.graph-break-rnn"
    w = _explain(
        cli, "torch._dynamo.exc.Unsupported: Graph break due to unsupported Python builtin _warnings.warn. Please file"
    )
    assert w["id"] == "dynamo.graph-break-warnings-warn"
    assert "2.4" in w["meaning"] and "2.5" in w["meaning"] and "reorderable_logging_functions" in _fix_text(w)


@pytest.mark.parametrize(
    "line",
    [
        "Step 1: torchdynamo start tracing forward /app/x.py:10",
        "I1204 10:00:00.000000 1 torch/_dynamo/symbolic_convert.py:2400] [0/0] Step 2: calling compiler function inductor",
        "[2023-06-22 00:52:13,435] torch._dynamo.eval_frame: [DEBUG] skipping __init__ /usr/lib/python3.10/contextlib.py",
    ],
)
def test_progress_lines_are_harmless(cli, no_gpu, line):
    d = _explain(cli, line)
    assert d["severity"] == "harmless" and "nothing to fix" in (d["meaning"] + _fix_text(d)).lower()
    assert "graph break" not in d["title"].lower()


def test_a_debug_line_of_a_known_emitter_is_normal_output(cli, no_gpu):
    d = _explain(cli, "[2023-10-03 08:02:50,054] [0/0] torch._inductor.codecache: [DEBUG] fx graph cache: on-disk miss")
    assert d["match"]["kind"] == "family" and d["severity"] == "harmless" and "nothing to fix" in d["summary"]


@pytest.mark.parametrize(
    "line",
    [
        "torch._inductor.exc.InductorError: OSError: [Errno 16] Device or resource busy: '/nfs/u/.triton/cache/Xk/.nfs0001'",
        "torch._dynamo.exc.BackendCompilerFailed: backend='inductor' raised: PermissionError: [WinError 5] Access is "
        "denied: 'C:\\Users\\me\\AppData\\Local\\Temp\\torchinductor_me\\triton\\0\\x.json'",
        "FileNotFoundError: [Errno 2] No such file or directory: '/shared/.triton/cache/ab/__grp__k.json.tmp.pid_7_1'",
    ],
)
def test_a_shared_cache_gets_the_local_cache_directory_fix(cli, no_gpu, line):
    d = _explain(cli, line)
    assert d["id"] == "triton.cache-shared-filesystem"
    assert "TRITON_CACHE_DIR" in _fix_text(d) and "TORCHINDUCTOR_CACHE_DIR" in _fix_text(d)
    assert d["culprit"]["path"].strip("'").startswith(("/", "C:"))  # the path, not backend='inductor'


def test_a_wrapper_with_an_old_raised_wording_is_unwrapped(cli, no_gpu):
    d = _explain(
        cli, "BackendCompilerFailed: debug_wrapper raised AssertionError: Torch not compiled with CUDA enabled"
    )
    assert d["id"] == "torch.not-compiled-with-cuda" and "cu12" in _fix_text(d)


def test_an_mlir_location_in_a_compilation_error_names_the_kernel_line(cli, no_gpu):
    d = _explain(
        cli, "triton.compiler.errors.CompilationError: at 1:8: loc(\"/tmp/k.py\":12:8): error: 'tt.dot' op bad"
    )
    assert d["id"] == "triton.mlir-diagnostic" and "/tmp/k.py:12" in d["summary"]


def test_tcgen05_on_consumer_blackwell_is_a_device_verdict_without_a_gpu(cli, no_gpu):
    line = "ptxas /tmp/a.ptx, line 312; error   : Instruction 'tcgen05.mma' not supported on .target 'sm_120a'"
    d = _explain(cli, line)
    assert d["id"] == "triton.ptx-feature-not-on-target" and d["verdict_rule"] == "ptx_feature"
    assert d["verdict"]["applies"] == "yes" and "consumer Blackwell" in d["verdict"]["summary"]
    assert d["culprit"] == {"instruction": "tcgen05.mma", "target": "sm_120a"}


def test_tcgen05_verdict_for_a_named_gpu(cli, no_gpu):
    line = "ptxas /tmp/a.ptx, line 312; error   : Instruction 'tcgen05.mma' not supported on .target 'sm_120a'"
    d = _json(cli("explain-warning", "--json", "--gpu", "H100", line))
    assert d["verdict"]["applies"] == "yes" and "has no tcgen05" in d["verdict"]["summary"]


def test_an_eager_oom_gets_the_general_answer(cli, no_gpu):
    d = _explain(
        cli,
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB. GPU 0 has a total "
        "capacity of 3.81 GiB of which 1.56 MiB is free.",
    )
    assert d["scope"] == "general" and "max-autotune" not in _fix_text(d)
    assert "20.00 MiB" in d["summary"] and "3.81 GiB" in d["summary"]
    compiled = _explain(cli, "W1201 10:00:00.000000 1 torch/_inductor/select_algorithm.py:1] CUDA out of memory.")
    assert compiled["scope"] == "compile" and "max-autotune-no-cudagraphs" in _fix_text(compiled)


def test_a_launch_resource_error_is_general_unless_triton_says_it(cli, no_gpu):
    eager = _explain(cli, "RuntimeError: CUDA error: too many resources requested for launch")
    assert eager["scope"] == "general" and "num_warps" not in _fix_text(eager)
    assert eager["verdict"]["applies"] == "n/a"
    triton = _explain(cli, "RuntimeError: Triton Error [CUDA]: too many resources requested for launch")
    assert triton["scope"] == "compile" and "num_warps" in _fix_text(triton)


def test_a_missing_triton_module_checks_the_importer_first(cli, no_gpu):
    alone = _explain(cli, "ModuleNotFoundError: No module named 'triton.language.extra.cuda'")
    assert alone["id"] == "triton.module-missing" and alone["scope"] == "general"
    assert "libdevice" in _fix_text(alone) and "pins" not in _fix_text(alone)
    frames = _explain(
        cli,
        '  File "/venv/lib/python3.12/site-packages/torch/_inductor/runtime/triton_compat.py", line 9, in <module>',
        "ModuleNotFoundError: No module named 'triton.language.extra.cuda'",
    )
    assert frames["scope"] == "compile" and "pins" in _fix_text(frames)


def test_a_family_answer_says_it_is_one(cli, no_gpu):
    r = cli("explain-warning", "torch._inductor.exc.InductorError: something inductor has never said before")
    assert r.exit_code == 0 and "Family answer" in r.stdout
    d = _explain(cli, "torch._dynamo.exc.BackendCompilerFailed: backend='inductor' raised: KeyError: 'zz'")
    assert d["match"]["kind"] == "family" and not d["specific"] and "KeyError: 'zz'" in d["summary"]
    assert "Paste the wrapped exception" not in _fix_text(d)  # it is on the line already


def test_a_continuation_line_says_so_and_repeats_its_setting(cli, no_gpu):
    d = _explain(cli, 'For more information, run with TORCH_LOGS="dynamic"')
    assert "continuation" in d["meaning"] and 'TORCH_LOGS="dynamic"' in _fix_text(d)


def test_a_pinned_copy_during_capture_gets_the_copy_fix_first(cli, no_gpu):
    d = _explain(
        cli,
        "RuntimeError: Cannot copy between CPU and CUDA tensors during CUDA graph capture unless the "
        "CPU tensor is pinned.",
    )
    assert d["id"] == "cudagraphs.capture-sync-not-permitted" and d["scope"] == "general"
    assert "pin_memory" in d["fixes"][0]["text"] + d["fixes"][0]["code"]


def test_onnx_dynamo_export_step1_points_at_torch_export(cli, no_gpu):
    d = _explain(
        cli,
        "torch.onnx._internal.exporter._errors.TorchExportError: Failed to export the model with "
        "torch.export. This is step 1/3 of exporting the model to ONNX. Next steps:",
    )
    assert d["id"] == "onnx.dynamo-export-step1" and "dynamo=False" in _fix_text(d)


def test_an_aoti_dlopen_failure_names_the_loader_error(cli, no_gpu):
    d = _explain(cli, "RuntimeError: Error in dlopen: /tmp/m/data/aotinductor/model/c.so: undefined symbol: _ZN3foo")
    assert d["id"] == "aoti.dlopen-failed" and "undefined symbol: _ZN3foo" in d["summary"]
    assert d["scope"] == "compile"  # the aotinductor path is the evidence


def test_the_exportdb_constrain_as_size_link_is_a_data_dependent_guard(cli, no_gpu):
    d = _explain(
        cli,
        "For more information about this error, see: "
        "https://pytorch.org/docs/main/generated/exportdb/index.html#constrain-as-size-example",
    )
    assert d["id"] == "export.exportdb-constrain-as-size"
    assert "data-dependent" in d["meaning"] and "torch._check_is_size" in _fix_text(d)


def test_the_draft_export_trailer_points_at_draft_export(cli, no_gpu):
    d = _explain(
        cli,
        "The error above occurred when calling torch.export.export. If you would like to view some more "
        "information about this error, and get a list of all other errors that may occur in your export "
        "call, you can replace your `export()` call with `draft_export()`.",
    )
    assert d["id"] == "export.draft-export-hint" and "torch.export.draft_export" in _fix_text(d)


def test_evaluate_expr_over_unbacked_symbols_suggests_torch_check_only_then(cli, no_gpu):
    unbacked = _explain(
        cli,
        "W0802 07:08:59.656000 4009175 torch/fx/experimental/symbolic_shapes.py:5189] failed during "
        "evaluate_expr(Eq(Max(1, u3)*Max(1, u4), u1*u4), hint=None, size_oblivious=True, forcing_spec=False",
    )
    assert unbacked["id"] == "symbolic-shapes.evaluate-expr-failed"
    assert "torch._check" in _fix_text(unbacked)
    backed = _explain(
        cli,
        "W1123 07:45:26.064000 736 torch/fx/experimental/symbolic_shapes.py:8239] [0/1] failed during "
        "evaluate_expr(Eq(s0, 3), hint=True, size_oblivious=False, forcing_spec=False",
    )
    assert "torch._check" not in _fix_text(backed)


def test_a_skipped_function_graph_break_offers_dont_skip_tracing(cli, no_gpu):
    d = _explain(cli, "torch._dynamo.exc.Unsupported: Attempted to call function marked as skipped")
    assert d["id"] == "dynamo.graph-break-skipped-function" and "dont_skip_tracing" in _fix_text(d)


def test_a_lowering_assertion_suggests_a_newer_torch(cli, no_gpu):
    d = _explain(cli, "LoweringException: AssertionError: should have been handled in replace_random.py")
    assert "newer torch" in _fix_text(d)
