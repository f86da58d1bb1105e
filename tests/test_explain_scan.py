"""Log scans: encodings, prefixes, progress bars, tracebacks, and what stays unrecognised."""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import json
import lzma
import random
import time
from pathlib import Path

import pytest

from gpudiag.errors import GpudiagError
from gpudiag.explain.catalog import families, load
from gpudiag.explain.line_decision import SKIP_BLANK, SKIP_NO_TOKEN
from gpudiag.explain.log_input import SNIFF_BYTES, sniff
from gpudiag.explain.matcher import Matcher
from gpudiag.explain.prefilter import prefilter
from gpudiag.explain.report import Context, explain_text
from gpudiag.explain.scan import scan_stream

LOGS = Path(__file__).parent / "data" / "logs"
SETS = Path(__file__).parent / "data" / "explain_sets"
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
    assert sniff(random.Random(1).randbytes(SNIFF_BYTES)) == "binary"  # few NULs, but control bytes and bad UTF-8
    for data in (b"\x00\x01\x02\x00" * 500, random.Random(2).randbytes(200_000)):
        with pytest.raises(GpudiagError) as e:
            _scan(data)
        assert e.value.exit_code == 2


def test_latin1_and_accents_are_text():
    text = ("Paramètres chargés: étape 1, durée 3,2 s\n" * 2000).encode("latin-1")
    assert sniff(text) is None
    assert sniff(("Paramètres chargés, 模型加载完成 ✓\n" * 2000).encode()) is None


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
    [(ident, hit)] = [(i, h) for i, h in r.known.items() if i != "dynamo.error-epilogue"]
    assert hit.first_line == 4 and ident.startswith(("triton.", "cuda."))
    # the closing advice after the blank line is read too (explained as harmless), not dropped
    assert r.known["dynamo.error-epilogue"].first_line == 7
    assert r.read + sum(r.skipped.values()) == r.lines == 7


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


# ---------------------------------------------------------------- one matcher: a log explains what one line does

# What CI systems, launchers, container runtimes and log collectors put before a line.
RUNNER_PREFIXES = [
    "",
    "2024-05-31T23:12:43.7832053Z ",  # GitHub Actions / Azure
    "[01:17:10.938]: ",  # a runner's clock
    "0: ",  # srun --label
    " 7: ",  # srun --label with ten tasks or more
    "trainer-1  | ",  # docker compose
    "Dec 07 12:00:01 host python[1234]: ",  # journald
    "2024-05-31T23:12:43.783205312Z ",  # kubectl logs --timestamps
    "[rank3]:",  # torch.distributed's own tag
    "[default0]:",  # torchrun --tee
    "[default0]:[rank0]:",
    "2024-05-31T23:12:43.7832053Z [rank1]:",  # combinations
    "trainer-1  | 2024-05-31T23:12:43.783205312Z [default1]:",
    "[1,3]<stdout>:",  # OpenMPI --tag-output
    "(RayWorkerWrapper pid=1234, ip=10.0.0.1) ",  # Ray
    "[pod/trainer-0/pytorch] ",  # kubectl logs --prefix
]
NOISE = [
    "step 1 loss 0.5",
    "I1123 07:45:26.000000 1 torch/fx/experimental/symbolic_shapes.py:4058] [0/0] create_env",
    "epoch 1: 100%|##########| 10/10 [00:01<00:00, 9.9it/s]",
    "",
]


def _set_lines() -> list[str]:
    """Every line of every set (the held-back sets included: this test writes no rule, it only checks that a
    log reads each line as one pasted line is read)."""
    return [
        json.loads(row)["line"]
        for path in sorted(SETS.glob("*.jsonl"))
        for row in path.read_text(encoding="utf-8").splitlines()
        if row.strip()
    ]


def _log_lines() -> list[str]:
    """Each distinct line (digits aside) of the captured logs."""
    seen, out = set(), []
    for path in sorted(LOGS.glob("*.log")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            key = "".join(c for c in line if not c.isdigit())
            if line.strip() and key not in seen:
                seen.add(key)
                out.append(line)
    return out


@pytest.fixture(scope="module")
def ctx():
    return Context.create(None, "no GPU in this test")


@pytest.mark.parametrize("source", ["sets", "logs"])
def test_every_line_explained_alone_is_explained_in_a_log(ctx, source):
    """The invariant: a line `explain-warning LINE` explains is explained by --log with the same id, alone,
    behind every runner prefix, among noise (noise lines carry the same prefix)."""
    lines = _set_lines() if source == "sets" else _log_lines()
    checked, missed = 0, []
    for line in lines:
        ex = explain_text(ctx, line)
        if ex is None:
            continue
        for prefix in RUNNER_PREFIXES:
            log = "\n".join([prefix + n for n in NOISE] + [prefix + line] + [prefix + n for n in NOISE]) + "\n"
            r = scan_stream(ctx.matcher, io.BytesIO(log.encode()))
            checked += 1
            ids = {hit.match.id for hit in r.known.values()}  # a group per entry (or per entry and culprit)
            if ex.id not in ids:
                missed.append((prefix, ex.id, sorted(ids), line[:120]))
    assert checked > (2000 if source == "sets" else 3000)
    assert not missed, missed[:10]


def test_the_prefilter_holds_a_token_of_every_needle_exception_and_graph_break_type(ctx):
    """The proof behind 'skipped': every way the matcher answers a line needs one of the prefilter's tokens
    (or, for a bare graph-break type, the line ends with it)."""
    pre = prefilter(ctx.matcher)
    for entry in ctx.matcher.catalogue.entries:
        for needle in entry.needles:
            low = needle.lower().encode().translate(None, b"0123456789")
            assert any(t in low for t in pre.tokens), (entry.id, needle)
    for family in ctx.matcher.families:
        for name in (*family.exceptions, *family.emitters):
            assert any(t in name.lower().encode() for t in pre.tokens), (family.id, name)
    reg = ctx.matcher.registry
    if reg is not None:
        for gb_type in reg.by_type:
            low = gb_type.encode().translate(None, b"0123456789").strip()
            tail = pre.tails.get(low.rsplit(None, 1)[-1], ())
            assert any(t in low.lower() for t in pre.tokens) or low in tail, gb_type


# ---------------------------------------------------------------- nothing dropped silently


def test_every_line_is_counted_once_with_the_reason_for_skipping():
    log = (
        "\n".join(
            [
                "step 1 loss 0.5",
                "",
                "12345",
                "torch._dynamo.exc.Unsupported: Attempted to call function marked as skipped",
                "E       torch._dynamo.exc.Unsupported: something dynamo has not said before",
                "FAILED tests/test_x.py::test_y - RuntimeError: Triton Error [CUDA]: invalid argument",
                "RuntimeError: a bare exception line without a traceback above it",
                "Compiling the model with torch.compile",
                "W1201 10:00:00.000000 1 mylib/foo.py:12] something odd happened",
                "/x/train.py:3: UserWarning: the learning rate is high",
                "  warnings.warn(",
            ]
        )
        + "\n"
    )
    r = _scan(log)
    assert r.lines == 11 and r.read + sum(r.skipped.values()) == 11
    assert r.skipped == {SKIP_BLANK: 2, SKIP_NO_TOKEN: 1}
    assert r.record_lines == 1  # the warning's source line
    assert "dynamo.graph-break-skipped-function" in r.known
    kinds = {u.message: u.kind for u in r.unknown.values()}
    assert kinds["Compiling the model with torch.compile"] == "other"
    assert kinds["something odd happened"] == "warning"
    # the pytest lines and the bare exception line are read: explained or listed, never dropped
    assert r.explained_lines + r.unknown_lines == 7


def test_pytest_and_bare_exception_lines_are_explained(ctx):
    lines = [
        "E       torch._dynamo.exc.Unsupported: Attempted to call function marked as skipped",
        "FAILED test/test_integration.py::TestSubclass::test_int8_cpu - torch._dynamo.exc.BackendCompilerFailed: "
        "backend='inductor' raised:",
        "triton.runtime.errors.OutOfResources: out of resource: shared memory, Required: 131072, Hardware limit: 101376.",
    ]
    r = _scan("step 1\n" + "\nstep\n".join(lines) + "\nstep 2\n")
    for line in lines:
        assert explain_text(ctx, line).id in r.known, line


# ---------------------------------------------------------------- runner prefixes, the recompile limit, ranks


@pytest.mark.parametrize("prefix", RUNNER_PREFIXES[1:], ids=repr)
def test_a_glog_warning_behind_any_runner_prefix(prefix):
    r = _scan(f"{prefix}step 1\n{prefix}{SMS}\n{prefix}step 2\n")
    assert r.known["inductor.not-enough-sms"].first_line == 2


def test_not_enough_sms_behind_a_github_timestamp_through_the_cli(cli, no_gpu, tmp_path):
    log = tmp_path / "ci.log"
    log.write_text(f"2024-05-31T23:12:43.7832053Z step 1\n2024-05-31T23:12:43.7842053Z {SMS}\n")
    r = cli("explain-warning", "--log", str(log))
    assert r.exit_code == 0 and "inductor.not-enough-sms" in r.stdout


def _limit_record(prefix: str, pid: int, limit: int, t: int = 0) -> list[str]:
    head = f"{prefix}W0531 23:13:{t:02d}.000000 {pid} torch/_dynamo/convert_frame.py:1994] [0/{limit}]"
    return [
        f"{head} torch._dynamo hit config.recompile_limit ({limit})",
        f"{head}    function: 'forward' (/x/model.py:10)",
        f"{head}    last reason: 0/{limit - 1}: tensor 'L['x']' size mismatch at index 0. expected {limit}, actual {limit + 1}",
        f'{head} To log all recompilation reasons, use TORCH_LOGS="recompiles".',
    ]


def _recompile_record(prefix: str, pid: int, n: int) -> list[str]:
    head = f"{prefix}V0531 23:12:{n:02d}.000000 {pid} torch/_dynamo/guards.py:2594] [0/{n}] [__recompiles]"
    return [
        f"{head} Recompiling function forward in /x/model.py:10",
        f"{head}     triggered by the following guard failure(s):",
        f"{head}     - 0/{n - 1}: tensor 'L['x']' size mismatch at index 0. expected {n}, actual {n + 1}",
    ]


def test_the_recompile_limit_is_read_from_the_log_behind_timestamps():
    """The log's own limit (4), not the installed default (8), with GitHub Actions timestamps in front."""
    ts = "2024-05-31T23:12:43.7832053Z "
    lines = [ts + ln for n in range(1, 5) for ln in _recompile_record("", 700, n)]
    lines += [ts + ln for ln in _limit_record("", 700, 4)]
    [fs] = _scan("\n".join(lines) + "\n").story.ranked_functions()
    assert (fs.recompiles, fs.limit, fs.limit_kind, fs.limit_from, fs.hit_limit) == (
        4,
        4,
        "recompile_limit",
        "log",
        True,
    )


@pytest.mark.parametrize(
    "wording,limit,kind",
    [
        ("torch._dynamo hit config.recompile_limit (4)", 4, "recompile_limit"),
        ("torch._dynamo hit config.cache_size_limit (64)", 64, "cache_size_limit"),  # torch 2.1-2.5
        ("torchdynamo hit config.cache_size_limit (16)", 16, "cache_size_limit"),  # torchdynamo
    ],
)
def test_the_logs_limit_holds_for_its_other_functions(wording, limit, kind):
    head = "W0531 23:13:00.000000 700 torch/_dynamo/convert_frame.py:1994] [1/4]"
    lines = _recompile_record("", 700, 1) + [f"{head} {wording}", f"{head}    function: 'decode' (/x/gen.py:3)"]
    story = _scan("\n".join(lines) + "\n").story
    fns = {f.name: f for f in story.ranked_functions()}
    assert (fns["decode"].limit, fns["decode"].hit_limit) == (limit, True)
    # forward did not hit it, but the process's limit is the one its log shows
    assert (fns["forward"].limit, fns["forward"].limit_kind, fns["forward"].limit_from) == (limit, kind, "log")


@pytest.mark.parametrize(
    "rank_prefix",
    [
        lambda r: f"[rank{r}]:",
        lambda r: f"[default{r}]:",
        lambda r: f"{r}: ",  # srun --label
        lambda r: f"2024-05-31T23:12:43.7832053Z [default{r}]:[rank{r}]:",
    ],
    ids=["torch", "torchrun", "srun", "ci+torchrun+torch"],
)
def test_ranks_are_told_apart_never_summed(rank_prefix):
    """Two ranks that each recompiled 4 times with recompile_limit 4 (interleaved line by line): one story
    per rank, each 4 recompiles, and where they diverge (a graph break on rank 1 only)."""
    lines: list[str] = []
    for n in range(1, 5):
        a, b = _recompile_record(rank_prefix(0), 100, n), _recompile_record(rank_prefix(1), 101, n)
        lines += [x for pair in zip(a, b) for x in pair]
    a, b = _limit_record(rank_prefix(0), 100, 4), _limit_record(rank_prefix(1), 101, 4)
    lines += [x for pair in zip(a, b) for x in pair]
    gb = f"{rank_prefix(1)}V0531 23:13:01.000000 101 torch/_dynamo/symbolic_convert.py:5124] [1/0] [__graph_breaks]"
    lines += [
        f"{gb} Graph break in user code at /x/model.py:20",
        f"{gb} Graph Break Reason: Failed to trace builtin operator",
    ]
    r = _scan("\n".join(lines) + "\n")
    assert len(r.stories) == 2
    for story in r.stories.values():
        [fs] = story.ranked_functions()
        assert (fs.recompiles, fs.limit, fs.hit_limit, fs.limit_from) == (4, 4, True, "log")
    assert any("Failed to trace builtin operator" in d and "only" in d for d in r.divergence), r.divergence


def test_processes_without_rank_tags_are_told_apart_by_their_pid():
    lines = [ln for n in range(1, 4) for ln in _recompile_record("", 100, n)]
    lines += [ln for n in range(1, 3) for ln in _recompile_record("", 200, n)]
    r = _scan("\n".join(lines) + "\n")
    counts = sorted(s.ranked_functions()[0].recompiles for s in r.stories.values())
    assert counts == [2, 3] and any("3 times" in d and "2 times" in d for d in r.divergence)


def test_ranks_through_the_cli_text_and_json(cli, no_gpu, tmp_path):
    lines = [ln for r in (0, 1) for n in range(1, 5) for ln in _recompile_record(f"[rank{r}]:", 100 + r, n)]
    lines += _limit_record("[rank1]:", 101, 4)
    log = tmp_path / "ranks.log"
    log.write_text("\n".join(lines) + "\n")
    r = cli("explain-warning", "--log", str(log), env={"COLUMNS": "200"})
    assert r.exit_code == 0
    assert "Recompiles on rank0" in r.stdout and "Recompiles on rank1" in r.stdout
    assert "Where the ranks diverge" in r.stdout and "recompiled 8" not in r.stdout
    doc = json.loads(cli("explain-warning", "--log", str(log), "--json").stdout)
    assert [x["rank"] for x in doc["ranks"]] == ["rank0", "rank1"]
    assert [x["story"]["functions"][0]["recompiles"] for x in doc["ranks"]] == [4, 4]
    assert any("rank1 only" in d for d in doc["divergence"])


def test_the_report_says_what_happened_to_every_line(cli, no_gpu, tmp_path):
    log = tmp_path / "mixed.log"
    log.write_text("step 1 loss 0.5\n\n" + SMS + "\nCompiling the model with torch.compile\n")
    r = cli("explain-warning", "--log", str(log))
    assert "read 2: 1 explained, 1 unknown" in r.stdout
    assert "skipped 2" in r.stdout and SKIP_NO_TOKEN in r.stdout.replace("\n", " ").replace("  ", " ")
    doc = json.loads(cli("explain-warning", "--log", str(log), "--json").stdout)
    assert doc["counts"] == {
        "read": 2,
        "explained": 1,
        "unknown": 1,
        "in_records": 0,
        "skipped": [{"reason": SKIP_BLANK, "lines": 1}, {"reason": SKIP_NO_TOKEN, "lines": 1}],
    }


# ---------------------------------------------------------------- input: binary, compressed, encodings


def test_fifty_megabytes_of_random_bytes_are_refused_fast(cli, no_gpu, tmp_path):
    data = tmp_path / "random.bin"
    data.write_bytes(random.Random(0).randbytes(50 << 20))
    t = time.perf_counter()
    r = cli("explain-warning", "--log", str(data))
    assert time.perf_counter() - t < 5
    assert r.exit_code == 2 and r.stdout == "" and r.stderr.count("\n") == 1 and "binary" in r.stderr


def test_dev_urandom_ends_fast(cli, no_gpu):
    if not Path("/dev/urandom").exists():
        pytest.skip("no /dev/urandom here")
    t = time.perf_counter()
    r = cli("explain-warning", "--log", "/dev/urandom")
    assert r.exit_code == 2 and time.perf_counter() - t < 5


@pytest.mark.parametrize("packer,name", [(gzip.compress, "gzip"), (bz2.compress, "bzip2"), (lzma.compress, "xz")])
def test_compressed_logs_are_read_as_their_text(packer, name):
    text = (LOGS / "h200_recompiles__default.log").read_bytes()
    plain, packed = _scan(text), _scan(packer(text), chunk_bytes=4096)
    assert packed.compression == name and packed.lines == plain.lines == text.count(b"\n")
    assert {k: v.count for k, v in packed.known.items()} == {k: v.count for k, v in plain.known.items()}
    assert packed.story.to_dict() == plain.story.to_dict()


def test_compressed_junk_and_other_archives_are_refused():
    for data in (
        gzip.compress(random.Random(3).randbytes(100_000)),
        b"\x28\xb5\x2f\xfd" + b"x" * 100,
        b"PK\x03\x04" + b"x" * 100,
    ):
        with pytest.raises(GpudiagError) as e:
            _scan(data)
        assert e.value.exit_code == 2


def test_a_truncated_gzip_log_reports_what_it_read():
    text = (LOGS / "h200_recompiles__default.log").read_bytes() * 50
    packed = gzip.compress(text)
    r = _scan(packed[: len(packed) // 2], chunk_bytes=4096)
    assert r.broken and "gzip" in r.broken and 0 < r.lines < text.count(b"\n") and r.known


@pytest.mark.parametrize("encoding", ["utf-32", "utf-32-le", "utf-32-be"])
def test_utf32_logs_are_transcoded_not_misread(encoding):
    data = (SMS + "\n" + "step 2\n" + TF32 + "\n").encode(encoding)
    assert sniff(data) == encoding
    r = _scan(data)
    assert set(r.known) == {"inductor.not-enough-sms", "inductor.tf32-disabled"} and r.lines == 3
    assert r.encoding == encoding


def test_a_utf8_bom_does_not_hide_the_first_line():
    r = _scan(codecs.BOM_UTF8 + (SMS + "\n").encode())
    assert r.known["inductor.not-enough-sms"].first_line == 1 and r.encoding == "utf-8"


def test_flat_memory_the_memo_is_bounded(monkeypatch):
    import gpudiag.explain.scan as scan_mod

    monkeypatch.setattr(scan_mod, "MEMO_MAX", 50)
    lines = [
        f"W1201 10:{i // 60 % 60:02d}:{i % 60:02d}.000000 1 mylib/foo.py:1] warning about {'ab'[i % 2] * (i % 97)}x"
        for i in range(3000)
    ]
    scanner = scan_mod.LogScanner(Matcher(load(), families()), chunk_bytes=8192)
    r = scanner.scan(io.BytesIO(("\n".join(lines) + "\n").encode()))
    assert len(scanner._memo) <= 50 + 200 and r.unknown_lines == 3000


# ---------------------------------------------------------------- runner prefixes, one by one


@pytest.mark.parametrize(
    "prefix,rank",
    [
        ("2024-05-31T23:12:43.7832053Z ", None),
        ("2024-05-31T23:12:43.783205312Z ", None),
        ("2024-05-31T23:12:43.783205312+00:00 ", None),
        ("2024-03-13T10:12:45.361495Z 00O ", None),  # GitLab's stream marker
        ("[01:17:10.938]: ", None),
        ("[2024-05-31T23:12:43.783Z] ", None),  # Jenkins' timestamper
        ("23:12:43 ", None),
        ("May 31 23:12:43 ", None),  # ts (moreutils)
        ("Dec 07 12:00:01 host python[1234]: ", "python[1234]"),  # journald
        ("2024-05-31T23:12:43+0000 host python3[99]: ", "python3[99]"),  # journalctl -o short-iso
        ("0: ", "task 0"),
        (" 7: ", "task 7"),
        ("trainer-1  | ", "trainer-1"),
        ("trainer_1  | ", "trainer_1"),
        ("[rank3]:", "rank3"),
        ("[rank13]: ", "rank13"),
        ("[default0]:", "default0"),
        ("[default0]:[rank0]:", "default0 rank0"),
        ("[trainer0]:[rank0]:", "trainer0 rank0"),
        ("[rank: 1] ", "rank1"),  # Lightning
        ("[1,3]<stdout>:", "rank3"),  # OpenMPI --tag-output
        ("[pod/trainer-0/pytorch] ", "pod/trainer-0/pytorch"),
        ("(RayWorkerWrapper pid=1234, ip=10.0.0.1) ", "RayWorkerWrapper pid=1234"),
        ("(EngineCore_DP0 pid=12) ", "EngineCore_DP0 pid=12"),
        ("\x1b_bk;t=1717197163783\x07", None),  # Buildkite's hidden timestamp
        ("##[warning]", None),
        ("trainer-1  | 2024-05-31T23:12:43.783205312Z [default1]:[rank1]:", "trainer-1 default1 rank1"),
    ],
)
def test_runner_prefixes_are_peeled_and_name_the_rank(prefix, rank):
    from gpudiag.explain.normalize import parse, split_runner

    line = parse(prefix + SMS)
    assert (line.message, line.level, line.emitter) == (
        "Not enough SMs to use max_autotune_gemm mode",
        "W",
        "torch._inductor.utils",
    )
    assert line.rank == rank and line.header.startswith("W1123")
    indented = parse(prefix + "    torch._dynamo.config.suppress_errors = True")
    assert indented.indented and indented.message == "torch._dynamo.config.suppress_errors = True"
    if "\x1b" not in prefix:
        assert split_runner(prefix + "RuntimeError: x")[2] == "RuntimeError: x"


@pytest.mark.parametrize(
    "raw,level,emitter",
    [
        (
            "[2024-05-31 23:12:43,123] [WARNING] [torch/_dynamo/convert_frame.py:12:f] torch._dynamo hit config.recompile_limit (8)",
            "W",
            "torch._dynamo.convert_frame",
        ),  # DeepSpeed
        (
            "05/31/2024 23:12:43 - WARNING - __main__ - torch._dynamo hit config.recompile_limit (8)",
            "W",
            "__main__",
        ),  # HF, accelerate
        (
            "2024-05-31 23:12:43,123 WARNING torch._dynamo.convert_frame: torch._dynamo hit config.recompile_limit (8)",
            "W",
            "torch._dynamo.convert_frame",
        ),
        ("##[error]torch._dynamo hit config.recompile_limit (8)", "E", None),  # a GitHub annotation's level
    ],
)
def test_launcher_logger_headers(raw, level, emitter):
    from gpudiag.explain.normalize import parse

    line = parse(raw)
    assert (line.level, line.emitter, line.message) == (level, emitter, "torch._dynamo hit config.recompile_limit (8)")


def test_other_tools_dates_are_not_taken_for_runner_prefixes():
    from gpudiag.explain.normalize import split_runner

    for raw in (
        "[04/10/2024-02:13:00] [W] [TRT] Local timing cache in use.",
        "2019-08-12 18:22:52.1338363 [E:onnxruntime:test, cuda_call.cc:93 onnxruntime::CudaCall] CUDNN failure 3",
        "| pytorch | /opt/tritonserver/backends/pytorch/libtriton_pytorch.so |",
        "12 apples: a message that starts with a number",
    ):
        assert split_runner(raw)[0] == "", raw
