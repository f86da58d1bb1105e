"""Yes/no answers for torch.compile users, each with the one line of why.

Inputs are a ``DeviceFacts`` and the ``SoftwareStack``; nothing here imports torch. Architecture
features follow the PTX ISA / CUDA Programming Guide: bf16 tensor cores from sm_80, fp8 from sm_89,
TMA (cp.async.bulk.tensor) from sm_90; wgmma exists only on sm_90a; sm_100/sm_103/sm_110 use
tcgen05 (UMMA) with tensor memory; sm_120/sm_121 keep warp-level mma (with block-scaled fp4/fp8)
and have neither wgmma nor tcgen05.
"""

from __future__ import annotations

import os

from gpudiag.installed import versions
from gpudiag.device.facts import DeviceFacts, SoftwareStack, Verdict
from gpudiag.installed.sm_gate import SmGate, installed_sm_gate


def gemm_templates(facts: DeviceFacts, gate: SmGate | None = None) -> Verdict:
    gate = gate or installed_sm_gate()
    q = "Will max-autotune use its Triton GEMM templates?"
    rule = f"{gate.where} [{gate.origin}]"
    disabled = gate.disables_templates(facts.sm_count)
    if gate.cuda_min_sms is None:
        return Verdict("max_autotune_gemm", q, "unknown", "is_big_gpu could not be read from the installed torch", rule)
    if disabled is None:
        return Verdict("max_autotune_gemm", q, "unknown",
                       f"SM count unknown; inductor needs >= {gate.cuda_min_sms} SMs", rule)
    if not disabled:
        why = f"{facts.sm_count} SMs >= {gate.cuda_min_sms} (is_big_gpu in torch {gate.torch_version or '?'})"
        return Verdict("max_autotune_gemm", q, "yes", why, rule)
    why = (f"{facts.sm_count} SMs < {gate.cuda_min_sms}: is_big_gpu() is False, so max-autotune logs "
           "'Not enough SMs to use max_autotune_gemm mode' and uses only ATen (cuBLAS) for matmuls")
    return Verdict("max_autotune_gemm", q, "no", why, rule)


def _at_least(facts: DeviceFacts, cc: tuple[int, int]) -> bool:
    return tuple(facts.compute_capability) >= cc


def bf16(facts: DeviceFacts) -> Verdict:
    ok = _at_least(facts, (8, 0))
    why = (f"{facts.sm} >= sm_80: bf16 tensor cores" if ok else
           f"{facts.sm} < sm_80: no bf16 tensor cores; bf16 runs emulated or in fp32 and is slow")
    return Verdict("bf16", "bf16 tensor cores?", "yes" if ok else "no", why, "PTX ISA: mma .bf16 requires sm_80")


def fp8(facts: DeviceFacts) -> Verdict:
    ok = _at_least(facts, (8, 9))
    why = (f"{facts.sm} >= sm_89: fp8 (e4m3/e5m2) tensor cores; torch._scaled_mm works" if ok else
           f"{facts.sm} < sm_89: no fp8 tensor cores; torch._scaled_mm raises")
    return Verdict("fp8", "fp8 tensor cores?", "yes" if ok else "no", why, "PTX ISA: mma .e4m3/.e5m2 requires sm_89")


def tma(facts: DeviceFacts) -> Verdict:
    ok = _at_least(facts, (9, 0))
    why = (f"{facts.sm} >= sm_90: TMA unit present (cp.async.bulk.tensor, tensor-map descriptors)"
           if ok else f"{facts.sm} < sm_90: no TMA unit")
    return Verdict("tma", "TMA (tensor memory accelerator)?", "yes" if ok else "no", why,
                   "PTX ISA: cp.async.bulk.tensor requires sm_90")


def matrix_instructions(facts: DeviceFacts) -> Verdict:
    major, _ = facts.compute_capability
    if major == 9:
        return Verdict("wgmma", "Warpgroup MMA (wgmma)?", "yes",
                       "sm_90: wgmma via the sm_90a target (Triton and CUTLASS 3 use it)", "PTX ISA: wgmma requires sm_90a")
    if major in (10, 11):
        return Verdict("wgmma", "Warpgroup MMA (wgmma)?", "no",
                       f"{facts.sm}: no wgmma; Blackwell datacenter parts use tcgen05 (UMMA) with tensor memory instead",
                       "PTX ISA: tcgen05 requires sm_100a/sm_101a/sm_103a; wgmma only sm_90a")
    if major >= 12:
        return Verdict("wgmma", "Warpgroup MMA (wgmma)?", "no",
                       f"{facts.sm}: neither wgmma nor tcgen05; warp-level mma.sync with block-scaled fp8/fp4 only",
                       "PTX ISA: wgmma only sm_90a, tcgen05 only sm_100a family")
    return Verdict("wgmma", "Warpgroup MMA (wgmma)?", "no", f"{facts.sm} < sm_90: warp-level mma.sync only",
                   "PTX ISA: wgmma requires sm_90a")


def tf32_default(facts: DeviceFacts) -> Verdict:
    ampere = _at_least(facts, (8, 0))
    override = os.environ.get("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE") == "1"
    q = "Is TF32 used for fp32 matmul by default?"
    rule = "torch.get_float32_matmul_precision() defaults to 'highest'"
    if not ampere:
        return Verdict("tf32", q, "no", f"{facts.sm} < sm_80: no TF32 tensor cores at all", rule)
    if override:
        return Verdict("tf32", q, "yes", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 is set in this environment", rule)
    return Verdict("tf32", q, "no",
                   "precision defaults to 'highest' (IEEE fp32); call torch.set_float32_matmul_precision('high') "
                   "to use TF32 tensor cores (10-bit mantissa)", rule)


def triton_arch(facts: DeviceFacts) -> Verdict:
    ok = _at_least(facts, (7, 0))
    why = (f"{facts.sm} >= sm_70: inductor generates Triton kernels for it" if ok else
           f"{facts.sm} < sm_70: inductor raises GPUTooOldForTriton")
    return Verdict("triton", "Can inductor use Triton on this GPU?", "yes" if ok else "no", why,
                   "torch/_inductor/exc.py GPUTooOldForTriton: 'Triton only supports devices of CUDA Capability >= 7.0'")


def torch_sees_gpu(facts: DeviceFacts, sw: SoftwareStack) -> Verdict:
    """Inferred without importing torch; ``gpudiag info --torch`` confirms it for real."""
    q = "Does the installed torch see this GPU?"
    rule = "inferred from torch/version.py and the driver's CUDA version (confirm with --torch)"
    if sw.torch_version is None:
        return Verdict("torch_sees_gpu", q, "no", "torch is not installed", rule)
    if sw.torch_cuda_version is None:
        kind = "ROCm" if sw.torch_hip_version else "CPU-only"
        return Verdict("torch_sees_gpu", q, "no", f"torch {sw.torch_version} is a {kind} build", rule)
    if not facts.is_live:
        return Verdict("torch_sees_gpu", q, "unknown", "catalogue GPU: nothing to check", rule)
    built = versions.version_tuple(sw.torch_cuda_version)
    drv = versions.version_tuple(sw.cuda_driver_version)
    if drv and built and drv[0] < built[0]:
        return Verdict("torch_sees_gpu", q, "no",
                       f"torch is built for CUDA {sw.torch_cuda_version} but the driver supports only CUDA "
                       f"{sw.cuda_driver_version}: update the driver or install a cu{drv[0]}x torch", rule)
    if built and built[0] >= 13 and not _at_least(facts, (7, 5)):
        return Verdict("torch_sees_gpu", q, "no",
                       f"CUDA {sw.torch_cuda_version} builds no code for {facts.sm} (CUDA 13 dropped sm_70/72)", rule)
    return Verdict("torch_sees_gpu", q, "yes",
                   f"torch {sw.torch_version} (CUDA {sw.torch_cuda_version}) on a driver supporting CUDA "
                   f"{sw.cuda_driver_version or '?'}", rule)


def all_verdicts(facts: DeviceFacts, sw: SoftwareStack | None = None) -> list[Verdict]:
    out = [gemm_templates(facts), bf16(facts), fp8(facts), tma(facts), matrix_instructions(facts),
           tf32_default(facts), triton_arch(facts)]
    if sw is not None:
        out.append(torch_sees_gpu(facts, sw))
    return out
