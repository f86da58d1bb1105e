"""Every command in pipes and scripts: a reader leaving early, --json on error paths, ASCII-only streams."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

GPUDIAG = [sys.executable, "-m", "gpudiag"]


def _run(*args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", **(env or {})}
    return subprocess.run([*GPUDIAG, *args], env=full_env, capture_output=True, text=True, timeout=120, **kw)


@pytest.mark.parametrize(
    "args",
    [
        ("info", "--gpu", "h100"),
        ("check-tiles", "128x128x64:3", "64x64x32:4", "--gpu", "h100", "--shape", "4096x4096x4096"),
        ("explain-warning", "--list"),
    ],
)
def test_reader_closing_the_pipe_early_is_not_an_error(args):
    # `gpudiag ... | head -1`: the reader takes one line and closes the pipe.
    proc = subprocess.Popen(
        [*GPUDIAG, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": "", "COLUMNS": "80"},
    )
    proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert "Traceback" not in stderr and "internal error" not in stderr and "BrokenPipe" not in stderr
    # 141 is SIGPIPE's status, when a write after the close failed; never 1 ("does not fit") or 2.
    assert code in (0, 141)


def test_json_error_document_for_a_gpudiag_error(cli):
    r = cli("check-tiles", "128x128x64:3", "--gpu", "no-such-gpu-xyz", "--json")
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    assert doc["schema"] == "gpudiag.error/1" and doc["exit_code"] == 2 and doc["command"] == "check-tiles"
    assert "no-such-gpu-xyz" in doc["error"]
    assert "no-such-gpu-xyz" in r.stderr  # the one line on stderr stays


def test_json_error_document_for_a_usage_error(cli):
    r = cli("check-tiles", "128x128x64:3", "--no-such-option", "--json")
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    assert doc["schema"] == "gpudiag.error/1" and "--no-such-option" in doc["error"]


def test_no_json_document_without_json(cli):
    r = cli("check-tiles", "128x128x64:3", "--gpu", "no-such-gpu-xyz")
    assert r.exit_code == 2 and r.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ("info", "--gpu", "h100"),
        ("check-tiles", "128x128x64:3", "--gpu", "h100", "--shape", "8192x8192x8192"),
        ("explain-warning", "Not enough SMs to use max_autotune_gemm mode", "--gpu", "rtx 3070"),
    ],
)
def test_ascii_only_stream_gets_ascii_not_an_encoding_error(args):
    r = _run(*args, env={"PYTHONIOENCODING": "ascii", "COLUMNS": "80"})
    assert r.returncode in (0, 1), r.stderr
    assert "UnicodeEncodeError" not in r.stderr and "internal error" not in r.stderr
    r.stdout.encode("ascii")  # raises if anything non-ASCII got through


ERROR_SCHEMA = json.loads(
    (__import__("pathlib").Path(__file__).resolve().parents[1] / "docs/schemas/error.schema.json").read_text()
)


def _error_doc(r) -> dict:
    doc = json.loads(r.stdout)
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(doc, ERROR_SCHEMA)
    assert doc["exit_code"] == r.exit_code
    return doc


@pytest.mark.parametrize(
    "args, command",
    [
        (("info", "--index", "3", "--json"), "info"),
        (("info", "--gpu", "MI300X", "--json"), "info"),
        (("info", "--gpu", "h100", "--torch", "--json"), "info"),
        (
            ("explain-warning", "--gpu", "no-such-gpu-xyz", "Not enough SMs to use max_autotune_gemm mode", "--json"),
            "explain-warning",
        ),
        (("check-tiles", "banana", "--gpu", "h100", "--json"), "check-tiles"),
        (("bakeoff", "/no/such/script.py", "--json"), "bakeoff"),
        (("no-such-command", "--json"), "no-such-command"),
    ],
)
def test_every_command_error_path_prints_the_error_document(cli, fake_h100, args, command):
    r = cli(*args)
    assert r.exit_code == 2, (r.stdout, r.stderr)
    doc = _error_doc(r)
    assert doc["command"] == command and doc["error"]


def test_internal_error_and_interrupt_with_json(cli, fake_h100, monkeypatch):
    from gpudiag.info import report as core

    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(core, "live_report", boom)
    r = cli("info", "--json")
    doc = _error_doc(r)
    assert "internal error: RuntimeError: kaboom" in doc["error"] and "Traceback" not in r.stdout + r.stderr

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(core, "live_report", interrupted)
    r = cli("info", "--json")
    assert r.exit_code == 130 and _error_doc(r)["error"] == "interrupted"


def test_one_json_document_on_stdout_even_without_a_gpu(cli, no_gpu):
    r = cli("info", "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["schema"] == "gpudiag.info/1"  # one document, not two


def test_ascii_streams_with_a_full_width_name():
    # the report's symbols on stdout, the full-width name echoed on stderr
    r = _run("info", "--gpu", "Ｈ１００", env={"PYTHONIOENCODING": "ascii", "COLUMNS": "80"})
    assert r.returncode == 0 and "UnicodeEncodeError" not in r.stderr
    r.stdout.encode("ascii")
    r = _run("info", "--gpu", "ＭＩ３００Ｘ", env={"PYTHONIOENCODING": "ascii"})
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "outside what gpudiag covers" in r.stderr
