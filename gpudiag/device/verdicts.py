"""Yes/no answers for torch.compile users, each with the one line of why.

Inputs are a ``DeviceFacts`` and the ``SoftwareStack``; nothing here imports torch. Which compute
capability has which feature (bf16 from sm_80, fp8 from sm_89, TMA from sm_90, wgmma only on sm_90a,
tcgen05 on sm_10x/sm_11x) is data with sources in ``data/arch_features.toml``, read through
``gpudiag.device.arch``; this module only words the answers.
"""

from __future__ import annotations

import os

from gpudiag.device import arch
from gpudiag.device.facts import DeviceFacts, SoftwareStack, Verdict
from gpudiag.installed import versions
from gpudiag.installed.sm_gate import SmGate, installed_sm_gate


def gemm_templates(facts: DeviceFacts, gate: SmGate | None = None) -> Verdict:
    gate = gate or installed_sm_gate()
    q = "Will max-autotune use its Triton GEMM templates?"
    rule = f"{gate.where} [{gate.origin}]"
    disabled = gate.disables_templates(facts.sm_count)
    if gate.cuda_min_sms is None:
        return Verdict("max_autotune_gemm", q, "unknown", "is_big_gpu could not be read from the installed torch", rule)
    if disabled is None:
        return Verdict(
            "max_autotune_gemm", q, "unknown", f"SM count unknown; inductor needs >= {gate.cuda_min_sms} SMs", rule
        )
    if not disabled:
        where = f"is_big_gpu in torch {gate.torch_version}" if gate.torch_version else "torch not installed"
        why = f"{facts.sm_count} SMs >= {gate.cuda_min_sms} ({where})"
        return Verdict("max_autotune_gemm", q, "yes", why, rule)
    why = (
        f"{facts.sm_count} SMs < {gate.cuda_min_sms}: is_big_gpu() is False, so max-autotune logs "
        "'Not enough SMs to use max_autotune_gemm mode' and uses only ATen (cuBLAS) for matmuls"
    )
    return Verdict("max_autotune_gemm", q, "no", why, rule)


def _feature_verdict(verdict_id: str, question: str, feature_id: str, facts: DeviceFacts, yes: str, no: str) -> Verdict:
    """A verdict that is exactly one architecture rule: ``yes``/``no`` say what it means for the user."""
    feat = arch.feature(feature_id)
    ok = feat.on(facts.compute_capability)
    why = f"{feat.compare(facts.compute_capability)}: {yes if ok else no}"
    return Verdict(verdict_id, question, "yes" if ok else "no", why, feat.sources[0])


def bf16(facts: DeviceFacts) -> Verdict:
    return _feature_verdict(
        "bf16",
        "bf16 tensor cores?",
        "bf16_tensor_cores",
        facts,
        "bf16 tensor cores",
        "no bf16 tensor cores; bf16 runs emulated or in fp32 and is slow",
    )


def fp8(facts: DeviceFacts) -> Verdict:
    return _feature_verdict(
        "fp8",
        "fp8 tensor cores?",
        "fp8_tensor_cores",
        facts,
        "fp8 (e4m3/e5m2) tensor cores; torch._scaled_mm works",
        "no fp8 tensor cores; torch._scaled_mm raises",
    )


def tma(facts: DeviceFacts) -> Verdict:
    return _feature_verdict(
        "tma",
        "TMA (tensor memory accelerator)?",
        "tma",
        facts,
        "TMA unit present (cp.async.bulk.tensor, tensor-map descriptors)",
        "no TMA unit",
    )


def matrix_instructions(facts: DeviceFacts) -> Verdict:
    q = "Warpgroup MMA (wgmma)?"
    cc = facts.compute_capability
    wgmma, tcgen05 = arch.feature("wgmma"), arch.feature("tcgen05")
    if wgmma.on(cc):
        return Verdict(
            "wgmma",
            q,
            "yes",
            f"{facts.sm}: wgmma via the sm_90a target (Triton and CUTLASS 3 use it)",
            wgmma.sources[0],
        )
    if tcgen05.on(cc):
        return Verdict(
            "wgmma",
            q,
            "no",
            f"{facts.sm}: no wgmma; it uses tcgen05 (UMMA) with tensor memory instead",
            tcgen05.sources[0],
        )
    if arch.supports("tma", cc):  # newer than Hopper, yet neither: sm_12x
        return Verdict(
            "wgmma",
            q,
            "no",
            f"{facts.sm}: neither wgmma nor tcgen05; warp-level mma.sync with block-scaled fp8/fp4 only",
            tcgen05.sources[-1],
        )
    return Verdict("wgmma", q, "no", f"{facts.sm} < sm_90: warp-level mma.sync only", wgmma.sources[0])


def tf32_default(facts: DeviceFacts) -> Verdict:
    has_tf32 = arch.supports("tf32_tensor_cores", facts.compute_capability)
    override = os.environ.get("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE") == "1"
    q = "Is TF32 used for fp32 matmul by default?"
    rule = "torch.get_float32_matmul_precision() defaults to 'highest'"
    if not has_tf32:
        return Verdict(
            "tf32",
            q,
            "no",
            f"{arch.feature('tf32_tensor_cores').compare(facts.compute_capability)}: no TF32 tensor cores at all",
            rule,
        )
    if override:
        return Verdict("tf32", q, "yes", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 is set in this environment", rule)
    return Verdict(
        "tf32",
        q,
        "no",
        "precision defaults to 'highest' (IEEE fp32); call torch.set_float32_matmul_precision('high') "
        "to use TF32 tensor cores (10-bit mantissa)",
        rule,
    )


def triton_arch(facts: DeviceFacts) -> Verdict:
    return _feature_verdict(
        "triton",
        "Can inductor use Triton on this GPU?",
        "triton_codegen",
        facts,
        "inductor generates Triton kernels for it",
        "inductor raises GPUTooOldForTriton",
    )


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
        return Verdict(
            "torch_sees_gpu",
            q,
            "no",
            f"torch is built for CUDA {sw.torch_cuda_version} but the driver supports only CUDA "
            f"{sw.cuda_driver_version}: update the driver or install a cu{drv[0]}x torch",
            rule,
        )
    cuda13 = arch.feature("cuda13_codegen")
    if built and built[0] >= 13 and not cuda13.on(facts.compute_capability):
        return Verdict(
            "torch_sees_gpu",
            q,
            "no",
            f"CUDA {sw.torch_cuda_version} builds no code for {facts.sm} (it needs {cuda13.rule})",
            rule,
        )
    return Verdict(
        "torch_sees_gpu",
        q,
        "yes",
        f"torch {sw.torch_version} (CUDA {sw.torch_cuda_version}) on a driver supporting CUDA "
        f"{sw.cuda_driver_version or '?'}",
        rule,
    )


def all_verdicts(facts: DeviceFacts, sw: SoftwareStack | None = None) -> list[Verdict]:
    out = [
        gemm_templates(facts),
        bf16(facts),
        fp8(facts),
        tma(facts),
        matrix_instructions(facts),
        tf32_default(facts),
        triton_arch(facts),
    ]
    if sw is not None:
        out.append(torch_sees_gpu(facts, sw))
    return out
