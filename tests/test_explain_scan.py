"""Log scans: encodings, prefixes, progress bars, tracebacks, and what stays unrecognised."""

from __future__ import annotations

import codecs
import io
from pathlib import Path

import pytest

from gpudiag.errors import GpudiagError
from gpudiag.explain.catalog import families, load
from gpudiag.explain.matcher import Matcher
from gpudiag.explain.scan import scan_stream, sniff

LOGS = Path(__file__).parent / "data" / "logs"
SMS = "W1123 07:45:26.064000 736 torch/_inductor/utils.py:1250] [0/0] Not enough SMs to use max_autotune_gemm mode"
TF32 = (
    "/v/site-packages/torch/_inductor/compile_fx.py:236: UserWarning: TensorFloat32 tensor cores for float32 "
    "matrix multiplication available but not enabled. Consider setting `torch.set_float32_matmul_precision("
    "'high')` for better performance."
)


def _scan(data: bytes | str, **kw):
    if isinstance(data, str):
        data = data.encode()
    return scan_stream(Matcher(load(), families()), io.BytesIO(data), **kw)


def test_prefixes_colours_and_progress_bars():
    log = (
        "\n".join(
            [
                "step 1 loss 0.5",
                "\x1b[33m" + SMS + "\x1b[0m",
                "[rank1]:" + SMS,
                "[default0]:" + SMS,
                "Epoch 1:  10%|█         | 10/100 [00:01<00:09, 9.9it/s]\r" + TF32,
                "E       " + TF32,
            ]
        )
        + "\n"
    )
    r = _scan(log)
    assert {k: v.count for k, v in r.known.items()} == {"inductor.not-enough-sms": 3, "inductor.tf32-disabled": 2}
    assert r.known["inductor.tf32-disabled"].first_line == 5 and r.lines == 6 and not r.unknown


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_logs(encoding):
    """PowerShell's `>` writes UTF-16 LE with a BOM; without a BOM the NUL pattern tells the byte order."""
    data = (SMS + "\r\n" + "step 2\r\n" + TF32 + "\r\n").encode(encoding)
    if encoding == "utf-16":
        assert data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    r = _scan(data)
    assert set(r.known) == {"inductor.not-enough-sms", "inductor.tf32-disabled"} and r.lines == 3
    assert r.encoding == encoding and r.bytes_read == len(data)


def test_utf16_across_chunks():
    data = ("\n".join(["step"] * 300 + [SMS] + ["step"] * 300) + "\n").encode("utf-16")
    r = _scan(data, chunk_bytes=101)
    assert r.known["inductor.not-enough-sms"].first_line == 301 and r.lines == 601


def test_a_few_nul_bytes_do_not_make_a_log_binary():
    r = _scan(b"step\x00 1\n" + SMS.encode() + b"\n" + b"x" * 200 + b"\n")
    assert "inductor.not-enough-sms" in r.known


def test_binary_is_rejected():
    assert sniff(b"\x7fELF\x02\x01\x01\x00\x00\x00" * 50) == "binary"
    with pytest.raises(GpudiagError) as e:
        _scan(b"\x00\x01\x02\x00" * 500)
    assert e.value.exit_code == 2


def test_traceback_is_attributed_to_its_final_line_and_backend_wrapper_is_joined():
    log = (
        "\n".join(
            [
                "Traceback (most recent call last):",
                '  File "train.py", line 3, in <module>',
                "    out = model(x)",
                "torch._dynamo.exc.BackendCompilerFailed: backend='inductor' raised:",
                "RuntimeError: Triton Error [CUDA]: device kernel image is invalid",
                "",
                'Set TORCH_LOGS="+dynamo" and TORCHDYNAMO_VERBOSE=1 for more information',
            ]
        )
        + "\n"
    )
    r = _scan(log)
    assert r.tracebacks == 1
    [(ident, hit)] = r.known.items()
    assert hit.first_line == 4 and ident.startswith(("triton.", "cuda."))


def test_unrelated_warnings_are_listed_unrecognised_not_explained():
    log = (
        "\n".join(
            [
                "/home/u/train.py:12: UserWarning: the learning rate is very high",
                "W1201 10:00:00.000000 1 mylib/foo.py:12] something odd happened 42 times",
                "W1201 10:00:01.000000 1 mylib/foo.py:12] something odd happened 43 times",
                "INFO:root:Everything is fine",
            ]
        )
        + "\n"
    )
    r = _scan(log)
    assert not r.known
    assert sorted(u.count for u in r.unknown.values()) == [1, 2]


def test_gcc_fatal_error_is_found():
    """Triton builds its launcher with the system compiler: gcc's 'fatal error:' is anchored too."""
    r = _scan("step\n/tmp/tmpabc/main.c:5:10: fatal error: Python.h: No such file or directory\n")
    assert "triton.python-headers-missing" in r.known


def test_a_multi_line_glog_record_counts_once():
    head = "W1201 10:00:00.000000 1 torch/_dynamo/convert_frame.py:1994] [0/8]"
    log = (
        "\n".join(
            [
                f"{head} torch._dynamo hit config.recompile_limit (8)",
                f"{head}    function: 'forward' (/x/model.py:10)",
                f"{head}    last reason: 0/7: tensor 'x' size mismatch at index 0. expected 7, actual 8",
                f'{head} To log all recompilation reasons, use TORCH_LOGS="recompiles".',
            ]
        )
        + "\n"
    )
    r = _scan(log)
    assert {k: v.count for k, v in r.known.items()} == {"dynamo.recompile-limit": 1} and not r.unknown


def test_chunk_boundaries_do_not_change_the_report():
    data = b"".join(p.read_bytes() for p in sorted(LOGS.glob("*.log")))
    big, small = _scan(data), _scan(data, chunk_bytes=97)
    assert {k: (v.count, v.first_line) for k, v in big.known.items()} == {
        k: (v.count, v.first_line) for k, v in small.known.items()
    }
    assert {k: v.count for k, v in big.unknown.items()} == {k: v.count for k, v in small.unknown.items()}
    assert big.lines == small.lines == data.count(b"\n") and big.tracebacks == small.tracebacks


def test_a_line_longer_than_a_chunk():
    r = _scan(("x" * 5000 + "\n" + SMS + "\n").encode(), chunk_bytes=64)
    assert r.known["inductor.not-enough-sms"].first_line == 2 and r.lines == 2
    r = _scan(("x" * 5000 + SMS + "\nstep\n").encode(), chunk_bytes=64)  # scanned in pieces, counted once
    assert r.lines == 2


def test_a_compile_errors_closing_advice_is_explained_and_ranked_after_the_error():
    """torch 2.0-2.5 closed every dynamo error with 'Set TORCH_LOGS=...' and the suppress_errors advice;
    users paste those lines alone. They are explained, as harmless, after the error they close."""
    log = (
        "\n".join(
            [
                "torch._dynamo.exc.BackendCompilerFailed: backend='inductor' raised:",
                "RuntimeError: Failed to find C compiler. Please specify via CC environment variable.",
                "",
                "You can suppress this exception and fall back to eager by setting:",
                "    import torch._dynamo",
                "    torch._dynamo.config.suppress_errors = True",
            ]
        )
        + "\n"
    )
    r = _scan(log)
    assert set(r.known) == {"triton.no-c-compiler", "dynamo.error-epilogue"} and not r.unknown
    epilogue = Matcher(load(), families()).match(
        'Set TORCH_LOGS="+dynamo" and TORCHDYNAMO_VERBOSE=1 for more information'
    )
    assert epilogue.id == "dynamo.error-epilogue" and epilogue.entry.severity == "harmless"
