"""Fill a fresh Triton cache on a CPU-only machine, the way a user without the target GPU would.

``check-tiles --from-triton-cache`` reads any Triton cache; this one is made without a GPU, with
``triton.compile`` for a ``GPUTarget`` (Triton ships ptxas, so nothing else is needed). It holds the
kernels whose per-target answers differ in instructive ways:

- ``matmul_bias_relu``: a hand-written ``@triton.autotune`` matmul; every one of its configs is
  compiled for sm_90, as the autotuner would on first launch (one too big for sm_86/89/120 at 4
  stages, one too big for any GPU); and once more for sm_80 with ``maxnreg=80`` (it spills there,
  and ptxas refuses it for sm_90, where its wgmma needs more registers);
- ``fp8_quantize``: fp8 e4m3 conversion written as inline PTX (``cvt.rn.satfinite.e4m3x2.f32``),
  an instruction sm_80/86 do not have, so ptxas refuses it there;
- ``fp8_matmul``: ``tl.dot`` on ``float8e4nv`` operands;
- ``tma_matmul``: loads through device-side tensor descriptors (TMA on sm_90+, which Triton
  rewrites to plain loads for earlier GPUs);
- ``row_softmax``: a reduction with no dot, compiled for sm_80 (a cache may mix targets).

Each is compiled with the specialisation a real launch of 16-byte aligned tensors gets. The manifest
``OUTDIR/manifest.json`` records, per cache folder, the kernel's name, target, warps, stages and the
shared memory in its metadata, and the registers/spills ``cuobjdump -res-usage`` reads from its cubin.

    python3 -m bench.tiles.capture_triton_cache_cpu OUTDIR [--keep-all]

Without ``--keep-all`` only the ``.json`` and ``.ttir`` of each kernel are kept (what
``--from-triton-cache`` reads), as in ``tests/data/triton_cache_cpu_t39``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")  # Triton 3.9 warns when unset; 1 is its default

import triton
import triton.language as tl
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

MATMUL_CONFIGS = [  # (BLOCK_M, BLOCK_N, BLOCK_K, warps, stages)
    (64, 64, 32, 4, 3),
    (128, 128, 64, 8, 3),
    (128, 256, 64, 8, 4),
    (256, 128, 64, 8, 3),
    (32, 32, 32, 2, 2),
    (128, 256, 64, 8, 5),
]


@triton.autotune(
    configs=[
        triton.Config({"BLOCK_M": m, "BLOCK_N": n, "BLOCK_K": k}, num_warps=w, num_stages=s)
        for m, n, k, w, s in MATMUL_CONFIGS
    ],
    key=["M", "N", "K"],
)
@triton.jit
def matmul_bias_relu(
    a_ptr,
    b_ptr,
    bias_ptr,
    c_ptr,
    M,
    N,
    K,
    stride_am,
    stride_bk,
    stride_cm,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    rk = tl.arange(0, BLOCK_K)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        a = tl.load(a_ptr + rm[:, None] * stride_am + (k0 + rk)[None, :])
        b = tl.load(b_ptr + (k0 + rk)[:, None] * stride_bk + rn[None, :])
        acc = tl.dot(a, b, acc)
    acc = tl.maximum(acc + tl.load(bias_ptr + rn)[None, :], 0.0)
    tl.store(
        c_ptr + rm[:, None] * stride_cm + rn[None, :], acc.to(tl.bfloat16), mask=(rm[:, None] < M) & (rn[None, :] < N)
    )


@triton.jit
def fp8_quantize(x_ptr, y_ptr, scale, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n, other=0.0) * scale
    # Two floats to one packed e4m3x2 halfword, saturating: the instruction fp8 quantizers inline.
    y = tl.inline_asm_elementwise(
        "{ .reg .b16 t; cvt.rn.satfinite.e4m3x2.f32 t, $2, $1; cvt.u32.u16 $0, t; }",
        "=r,r,r",
        [x, x],
        dtype=tl.int32,
        is_pure=True,
        pack=1,
    )
    tl.store(y_ptr + offs, y, mask=offs < n)


@triton.jit
def fp8_matmul(
    a_ptr,
    b_ptr,
    c_ptr,
    K,
    stride_am,
    stride_bk,
    stride_cm,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    rm = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    rk = tl.arange(0, BLOCK_K)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        a = tl.load(a_ptr + rm[:, None] * stride_am + (k0 + rk)[None, :])
        b = tl.load(b_ptr + (k0 + rk)[:, None] + rn[None, :] * stride_bk)
        acc = tl.dot(a, b, acc)
    tl.store(c_ptr + rm[:, None] * stride_cm + rn[None, :], acc.to(tl.bfloat16))


@triton.jit
def tma_matmul(a_ptr, b_ptr, c_ptr, M, N, K, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    a_desc = tl.make_tensor_descriptor(a_ptr, shape=[M, K], strides=[K, 1], block_shape=[BLOCK_M, BLOCK_K])
    b_desc = tl.make_tensor_descriptor(b_ptr, shape=[K, N], strides=[N, 1], block_shape=[BLOCK_K, BLOCK_N])
    c_desc = tl.make_tensor_descriptor(c_ptr, shape=[M, N], strides=[N, 1], block_shape=[BLOCK_M, BLOCK_N])
    off_m = tl.program_id(0) * BLOCK_M
    off_n = tl.program_id(1) * BLOCK_N
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        acc = tl.dot(a_desc.load([off_m, k0]), b_desc.load([k0, off_n]), acc)
    c_desc.store([off_m, off_n], acc.to(tl.float16))


@triton.jit
def row_softmax(x_ptr, y_ptr, n_cols, stride, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + row * stride + cols, mask=cols < n_cols, other=-float("inf")).to(tl.float32)
    e = tl.exp(x - tl.max(x, axis=0))
    tl.store(y_ptr + row * stride + cols, (e / tl.sum(e, axis=0)).to(tl.float16), mask=cols < n_cols)


def _source(fn, types: dict[str, str], constexprs: dict[str, object], aligned: tuple[str, ...]):
    """What a launch with 16-byte aligned pointers and sizes compiles: ``tt.divisibility = 16`` on them."""
    from triton.backends.compiler import BaseBackend

    names = list(fn.arg_names)
    sig = {n: ("constexpr" if n in constexprs else types[n]) for n in names}
    divisible = BaseBackend.parse_attr("D")
    attrs = {(names.index(n),): divisible for n in aligned}
    return ASTSource(fn, sig, {(names.index(k),): v for k, v in constexprs.items()}, attrs)


def kernels():
    """(label, ASTSource, target capability, options) for every kernel of the cache."""
    mm_types = {
        "a_ptr": "*bf16",
        "b_ptr": "*bf16",
        "bias_ptr": "*fp32",
        "c_ptr": "*bf16",
        "M": "i32",
        "N": "i32",
        "K": "i32",
        "stride_am": "i32",
        "stride_bk": "i32",
        "stride_cm": "i32",
    }
    aligned = ("a_ptr", "b_ptr", "bias_ptr", "c_ptr", "M", "N", "K", "stride_am", "stride_bk", "stride_cm")
    jit_fn = matmul_bias_relu.fn  # the autotuner wraps the JITFunction; each config compiles it once
    for cfg in matmul_bias_relu.configs:
        yield (
            f"matmul_bias_relu {cfg}",
            _source(jit_fn, mm_types, dict(cfg.kwargs), aligned),
            90,
            {"num_warps": cfg.num_warps, "num_stages": cfg.num_stages},
        )
    yield (
        "fp8_quantize",
        _source(
            fp8_quantize,
            {"x_ptr": "*fp32", "y_ptr": "*i32", "scale": "fp32", "n": "i32"},
            {"BLOCK": 1024},
            ("x_ptr", "y_ptr", "n"),
        ),
        90,
        {"num_warps": 4, "num_stages": 1},
    )
    fp8_types = {
        "a_ptr": "*fp8e4nv",
        "b_ptr": "*fp8e4nv",
        "c_ptr": "*bf16",
        "K": "i32",
        "stride_am": "i32",
        "stride_bk": "i32",
        "stride_cm": "i32",
    }
    yield (
        "fp8_matmul",
        _source(fp8_matmul, fp8_types, {"BLOCK_M": 128, "BLOCK_N": 128, "BLOCK_K": 128}, tuple(fp8_types)),
        90,
        {"num_warps": 8, "num_stages": 3},
    )
    tma_types = {"a_ptr": "*fp16", "b_ptr": "*fp16", "c_ptr": "*fp16", "M": "i32", "N": "i32", "K": "i32"}
    yield (
        "tma_matmul",
        _source(tma_matmul, tma_types, {"BLOCK_M": 128, "BLOCK_N": 128, "BLOCK_K": 64}, tuple(tma_types)),
        90,
        {"num_warps": 4, "num_stages": 3},
    )
    yield (
        "matmul_bias_relu maxnreg=80",
        _source(jit_fn, mm_types, {"BLOCK_M": 64, "BLOCK_N": 128, "BLOCK_K": 64}, aligned),
        80,
        {"num_warps": 4, "num_stages": 3, "maxnreg": 80},
    )
    yield (
        "row_softmax",
        _source(
            row_softmax,
            {"x_ptr": "*fp16", "y_ptr": "*fp16", "n_cols": "i32", "stride": "i32"},
            {"BLOCK": 4096},
            ("x_ptr", "y_ptr", "stride"),
        ),
        80,
        {"num_warps": 8, "num_stages": 1},
    )


def _resources(cubin: bytes) -> dict:
    from gpudiag.tiles.exact import _resource_usage  # the same reader gpudiag uses, on the same cubin

    regs, local, how = _resource_usage(cubin)
    return {"n_regs": regs, "n_spills": None if local is None else local // 4, "regs_source": how}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--keep-all", action="store_true", help="keep every file Triton writes, not only .json/.ttir")
    args = ap.parse_args()
    cache = args.outdir / "triton"
    cache.mkdir(parents=True, exist_ok=False)
    os.environ["TRITON_CACHE_DIR"] = str(cache)
    rows = []
    for label, src, cap, options in kernels():
        kernel = triton.compile(src, target=GPUTarget("cuda", cap, 32), options=options)
        folder = Path(kernel.metadata_group[f"{kernel.name}.json"]).parent
        rows.append(
            {
                "dir": folder.name,
                "name": kernel.name,
                "label": label,
                "target": {"backend": "cuda", "arch": cap, "warp_size": 32},
                "num_warps": kernel.metadata.num_warps,
                "num_stages": kernel.metadata.num_stages,
                "shared": kernel.metadata.shared,
                "has_ttir": (folder / f"{kernel.name}.ttir").exists(),
                **_resources(kernel.asm["cubin"]),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    if not args.keep_all:
        for path in cache.glob("*/*"):
            if path.suffix not in (".json", ".ttir"):
                path.unlink()
    doc = {
        "meta": {
            "date": datetime.date.today().isoformat(),
            "device": "cpu (no GPU: triton.compile for GPUTarget)",
            "triton": triton.__version__,
            "python": platform.python_version(),
            "script": "bench/tiles/capture_triton_cache_cpu.py",
        },
        "kernels": rows,
    }
    (args.outdir / "manifest.json").write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
