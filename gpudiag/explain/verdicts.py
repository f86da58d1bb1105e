"""Verdicts: does this warning apply to *this* GPU (or this Triton), and what does it cost here?

Each catalogue entry may name a rule (``verdict = "sm_gate"`` ...). A rule reads the numbers in the
log line (Required / Hardware limit, compute capability...) and compares them with the shared
``DeviceFacts``; ``api_release`` compares a Triton or torch name the line says is missing with the
installed release of that package instead. With no device the verdict says so instead of guessing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from gpudiag.device import arch
from gpudiag.device.facts import DeviceFacts
from gpudiag.explain import api_history
from gpudiag.explain.catalog import Entry, tf32_rows
from gpudiag.installed.sm_gate import SmGate, installed_sm_gate

Applies = Literal["yes", "no", "unknown", "n/a"]

REQUIRED_RX = re.compile(r"Required:\s*(\d+)")
LIMIT_RX = re.compile(r"Hardware limit:\s*(\d+)")
TILE_RX = {k: re.compile(rf"\b{k}=(\d+)") for k in ("BLOCK_M", "BLOCK_N", "BLOCK_K", "num_stages", "num_warps")}
CAPABILITY_RX = re.compile(r"(?:CUDA|cuda|compute) capability (?:\(CC\) )?(\d+)\.(\d+)")
SM_RX = re.compile(r"capability sm_(\d+)(\d)\b")
TF32_MANTISSA_BITS, FP32_MANTISSA_BITS = 10, 23


@dataclass
class Verdict:
    applies: Applies
    summary: str  # one line
    details: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)  # exact commands to run next
    rule: str | None = None
    about: Literal["gpu", "triton", "torch"] = "gpu"  # what was compared: this GPU, or an installed package


def _gpu_flag(facts: DeviceFacts) -> str:
    name = facts.name.replace('"', "")
    return f'--gpu "{name}"'


def _smem_source(facts: DeviceFacts) -> str:
    return facts.sources.get("smem_per_block_optin_bytes", "unknown source")


def sm_gate(facts: DeviceFacts, line: str, gate: SmGate | None = None) -> Verdict:
    gate = gate or installed_sm_gate()
    rule = f"{gate.where} [{gate.origin}]"
    details = [
        f"installed torch {gate.torch_version or '(not installed)'}: {gate.describe()}",
        "torch <= 2.3 used `sms < 80` (V100); 68 (RTX 3080) since torch 2.4, pytorch/pytorch#123121",
    ]
    disabled = gate.disables_templates(facts.sm_count)
    if disabled is None:
        why = "SM count unknown" if facts.sm_count is None else "threshold unreadable"
        return Verdict("unknown", f"cannot tell ({why}) whether {facts.name} passes is_big_gpu", details, rule=rule)
    if disabled:
        return Verdict(
            "yes",
            f"applies to your GPU: {facts.sm_count} SMs < {gate.cuda_min_sms}, so max-autotune "
            "benchmarks only ATen/cuBLAS GEMMs on it",
            details,
            rule=rule,
        )
    return Verdict(
        "no",
        f"does not apply: your {facts.name} has {facts.sm_count} SMs >= {gate.cuda_min_sms}; "
        "this line came from another machine or process (or an XPU/smaller GPU)",
        details,
        rule=rule,
    )


def rocm_gate(facts: DeviceFacts, line: str) -> Verdict:
    return Verdict(
        "no",
        f"does not apply: this is a ROCm-build message and your {facts.name} is an NVIDIA GPU "
        "(on CUDA the SM-count gate applies instead)",
        rule="torch/_inductor/utils.py is_big_gpu",
    )


def _optin_owner(limit: int) -> str | None:
    from gpudiag.device.catalog import cc_table

    sms = [row.sm for row in cc_table().values() if row.limits.get("smem_per_block_optin_bytes") == limit]
    return ", ".join(sms) if sms else None


def _tile_command(line: str, facts: DeviceFacts) -> str:
    vals = {k: rx.search(line) for k, rx in TILE_RX.items()}
    if vals["BLOCK_M"] and vals["BLOCK_N"] and vals["BLOCK_K"]:
        spec = f"{vals['BLOCK_M'].group(1)}x{vals['BLOCK_N'].group(1)}x{vals['BLOCK_K'].group(1)}"
        if vals["num_stages"]:
            spec += f":{vals['num_stages'].group(1)}"
        if vals["num_warps"]:
            spec += f"@{vals['num_warps'].group(1)}"
        return f"gpudiag check-tiles {spec} --dtype fp16 {_gpu_flag(facts)}"
    return f"gpudiag check-tiles --from-inductor --dtype fp16 {_gpu_flag(facts)}"


def smem(facts: DeviceFacts, line: str) -> Verdict:
    req_m, lim_m = REQUIRED_RX.search(line), LIMIT_RX.search(line)
    optin = facts.smem_per_block_optin_bytes
    rule = "triton/compiler/compiler.py: metadata.shared > max_shared_mem(device) (cudaDevAttrMaxSharedMemoryPerBlockOptin)"
    cmd = _tile_command(line, facts)
    details = []
    if optin is not None:
        details.append(f"{facts.name}: opt-in shared memory per block {optin:,} B ({_smem_source(facts)})")
    if req_m is None:
        return Verdict(
            "unknown",
            "the line has no 'Required:' number; check the tile configs against this GPU",
            details,
            [cmd],
            rule,
        )
    required = int(req_m.group(1))
    limit = int(lim_m.group(1)) if lim_m else None
    if limit is not None and optin is not None and limit != optin:
        owner = _optin_owner(limit)
        details.append(
            f"the line's hardware limit {limit:,} B is not your GPU's {optin:,} B: it was printed on "
            f"another GPU{f' ({owner})' if owner else ''}"
        )
    if optin is None:
        return Verdict("unknown", f"needs {required:,} B; this GPU's opt-in limit is unknown", details, [cmd], rule)
    if required > optin:
        return Verdict(
            "yes",
            f"applies to your GPU: the config needs {required:,} B of shared memory > "
            f"{optin:,} B opt-in limit of {facts.name} (over by {required - optin:,} B)",
            details,
            [cmd],
            rule,
        )
    return Verdict(
        "no",
        f"does not apply: {required:,} B fits {facts.name}'s {optin:,} B opt-in limit; "
        "this line came from a GPU with less shared memory",
        details,
        [cmd],
        rule,
    )


def threads(facts: DeviceFacts, line: str) -> Verdict:
    req_m, lim_m = REQUIRED_RX.search(line), LIMIT_RX.search(line)
    regs = facts.regs_per_block or 65536
    rule = (
        "triton/compiler/compiler.py: num_warps * warp_size > n_max_threads (CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK)"
    )
    if req_m and lim_m:
        req, lim = int(req_m.group(1)), int(lim_m.group(1))
        per_thread = regs // max(lim, 1)
        return Verdict(
            "yes",
            f"applies on {facts.name} too: {regs:,} registers per block allow only {lim} threads "
            f"at this kernel's register count (~{per_thread}+ regs/thread), but num_warps needs {req}",
            [f"registers per block: {regs:,} ({facts.sources.get('regs_per_block', 'CUDA limit since Kepler')})"],
            rule=rule,
        )
    return Verdict(
        "yes",
        f"register-limited launch: {regs:,} registers per block on {facts.name}; lower num_warps or tile sizes",
        rule=rule,
    )


def tmem(facts: DeviceFacts, line: str) -> Verdict:
    if arch.supports("tensor_memory", facts.compute_capability):
        return Verdict(
            "yes", f"applies: {facts.sm} has 512 tensor-memory columns per SM", rule="triton compiler.py tmem check"
        )
    rule = arch.feature("tensor_memory").rule
    return Verdict(
        "no",
        f"does not apply: your {facts.name} ({facts.sm}) has no tensor memory ({rule}); this line "
        "came from another GPU",
        rule="triton compiler.py tmem check",
    )


def _tf32_row(facts: DeviceFacts) -> dict | None:
    return next((row for row in tf32_rows() if facts.catalogue_key in row["keys"]), None)


def tf32(facts: DeviceFacts, line: str) -> Verdict:
    rule = "torch/_inductor/compile_fx.py _warn_tf32_disabled: capability >= (8, 0) and fp32_precision != 'tf32'"
    precision = (
        f"precision: TF32 keeps fp32's 8-bit exponent but rounds inputs to a {TF32_MANTISSA_BITS}-bit "
        f"mantissa (fp32 has {FP32_MANTISSA_BITS}): relative input rounding ~2^-11 = 4.9e-4 instead of "
        "~6e-8; products accumulate in fp32"
    )
    tf32_cores = arch.feature("tf32_tensor_cores")
    if not tf32_cores.on(facts.compute_capability):
        return Verdict(
            "no",
            f"does not apply: {facts.name} has no TF32 tensor cores ({tf32_cores.compare(facts.compute_capability)}) "
            "and torch only warns where they exist; this line came from another GPU",
            [precision],
            rule=rule,
        )
    row = _tf32_row(facts)
    if row:
        speed = row["tf32_tflops"] / row["fp32_tflops"]
        summary = (
            f"applies to your GPU: fp32 matmul peak goes from {row['fp32_tflops']:g} to {row['tf32_tflops']:g} "
            f"TFLOP/s with TF32 (x{speed:.1f}, datasheet) on {row['name']}"
        )
        if speed < 1.1:
            # GeForce Ampere/Ada: dense TF32 tensor throughput equals the FP32 CUDA-core peak.
            summary += (
                "; on this GPU TF32 tensor cores have no higher peak than plain fp32, so enabling it "
                "mostly trades precision for little or no speed"
            )
        return Verdict("yes", summary, [precision, f"source: {row['source']}"], rule=rule)
    if facts.bf16_dense_tflops:
        ceiling = facts.bf16_dense_tflops / 2
        summary = (
            f"applies to your GPU ({facts.sm}): TF32 tensor cores allow up to ~{ceiling:g} TFLOP/s for fp32 "
            f"matmul (half the dense bf16 {facts.bf16_dense_tflops:g}); no fp32 datasheet row for this model"
        )
        return Verdict(
            "yes", summary, [precision, "A100/H100 datasheets: dense TF32 tensor rate = 1/2 dense BF16"], rule=rule
        )
    return Verdict(
        "yes",
        f"applies to your GPU ({tf32_cores.compare(facts.compute_capability)}: TF32 tensor cores); no datasheet numbers "
        "for this model to size the speed-up",
        [precision],
        rule=rule,
    )


def triton_arch(facts: DeviceFacts, line: str) -> Verdict:
    rule = "torch/_inductor/scheduler.py: device_props.major < 7 -> GPUTooOldForTriton"
    m = CAPABILITY_RX.search(line)
    seen = f" (the line reports {m.group(1)}.{m.group(2)})" if m else ""
    triton = arch.feature("triton_codegen")
    if not triton.on(facts.compute_capability):
        return Verdict("yes", f"applies: {facts.name} is {triton.compare(facts.compute_capability)}{seen}", rule=rule)
    return Verdict(
        "no",
        f"does not apply: your {facts.name} is {triton.compare(facts.compute_capability)}, which Triton "
        f"supports; this line came from another GPU{seen}",
        rule=rule,
    )


def torch_arch(facts: DeviceFacts, line: str) -> Verdict:
    m = SM_RX.search(line)
    cc = (int(m.group(1)), int(m.group(2))) if m else None
    if cc is None:
        m2 = CAPABILITY_RX.search(line)
        cc = (int(m2.group(1)), int(m2.group(2))) if m2 else None
    rule = "torch/cuda/__init__.py _check_capability / _check_cubins"
    if cc is None:
        return Verdict("unknown", f"the line names no compute capability; yours is {facts.sm}", rule=rule)
    if tuple(cc) == tuple(facts.compute_capability):
        return Verdict("yes", f"applies to your GPU: it is {facts.sm}, the architecture the warning names", rule=rule)
    return Verdict(
        "no",
        f"does not apply: the line is about sm_{cc[0]}{cc[1]} but your {facts.name} is {facts.sm}; "
        "it came from another machine",
        rule=rule,
    )


TARGET_RX = re.compile(r"\bsm_(\d+?)(\d)[af]?\b")
# PTX instruction families and the architecture feature (gpudiag/device/data/arch_features.toml) each needs
PTX_FEATURES = (
    (re.compile(r"tcgen05|kind::f8f6f4|tensor_memory|\btmem\b", re.I), "tcgen05"),
    (re.compile(r"wgmma", re.I), "wgmma"),
    (re.compile(r"cp\.async\.bulk|\btma\b", re.I), "tma"),
    (re.compile(r"e4m3|e5m2|\bf8\b|fp8", re.I), "fp8_tensor_cores"),
    (re.compile(r"\.tf32\b", re.I), "tf32_tensor_cores"),
    (re.compile(r"\.bf16\b|bf16", re.I), "bf16_tensor_cores"),
)


def ptx_feature(facts: DeviceFacts | None, line: str) -> Verdict:
    """An instruction the line's target lacks: said from the architecture rules, for the line's target
    and, where there is one, for this GPU."""
    rule = "gpudiag/device/data/arch_features.toml"
    feature_id = next((fid for rx, fid in PTX_FEATURES if rx.search(line)), None)
    m = TARGET_RX.search(line)
    target = (int(m.group(1)), int(m.group(2))) if m else None
    if feature_id is None:
        return Verdict("unknown", "the instruction's architecture rule is not known to gpudiag", rule=rule)
    feat = arch.feature(feature_id)
    details = [f"{feat.what}: {feat.rule} ({'; '.join(feat.sources)})"]
    parts = []
    if target is not None:
        on = feat.on(target)
        parts.append(
            f"the line's target {arch.sm_name(target)} {'has' if on else 'has no'} {feature_id} ({feat.compare(target)})"
        )
        if feature_id == "tcgen05" and target[0] == 12:
            parts[-1] += ": consumer Blackwell (RTX 50xx, RTX PRO, GB10) has no tcgen05 or tensor memory"
    applies: Applies = "unknown"
    if facts is not None:
        mine = feat.on(facts.compute_capability)
        parts.append(f"your {facts.name} ({facts.sm}) {'has' if mine else 'has no'} {feature_id}")
        applies = "no" if mine else "yes"
    elif target is not None:
        applies = "no" if feat.on(target) else "yes"
    return Verdict(applies, "; ".join(parts) or f"{feature_id}: {feat.rule}", details, rule=rule)


def api_release(line: str) -> Verdict:
    """A Triton or torch name the line says is missing: in which releases it exists, against the
    installed release of that package."""
    found = api_history.missing(line)
    if found is None:
        return Verdict(
            "unknown",
            "gpudiag has no release history for the module the line names",
            rule="gpudiag/explain/data/{triton,torch}_api.toml",
            about=api_history.named_package(line) or "gpu",  # "gpu": a line cut before any module name
        )
    p, about = found.label, found.package
    rule = f"gpudiag/explain/data/{about}_api.toml (each {p} release's modules, parsed from its wheel)"
    details = [found.describe()]
    commands = [c] if (c := found.fix_command()) else []
    here = api_history.installed(about)
    has = found.in_release(here) if here else None
    if here is None:
        return Verdict("unknown", f"no {p} is installed here to compare with", details, commands, rule, about)
    if has is None:
        known = not (found.unseen_names or found.names_unrecorded)
        why = f"{p} {here} is outside the releases gpudiag knows" if known else "cannot tell"
        return Verdict("unknown", why, details, commands, rule, about)
    if has:
        summary = f"the {p} installed here ({here}) has {found.qualified}: the line came from another {p}"
        return Verdict("no", summary, details, commands, rule, about)
    return Verdict(
        "yes", f"the {p} installed here ({here}) lacks {found.qualified} too", details, commands, rule, about
    )


RULES = {
    "sm_gate": sm_gate,
    "rocm_gate": rocm_gate,
    "smem": smem,
    "threads": threads,
    "tmem": tmem,
    "tf32": tf32,
    "triton_arch": triton_arch,
    "torch_arch": torch_arch,
    "ptx_feature": ptx_feature,
}


def verdict_for(entry: Entry, line: str, facts: DeviceFacts | None, no_device_reason: str | None = None) -> Verdict:
    if entry.verdict is None:
        return Verdict("n/a", "no device-specific rule: it applies wherever it was printed")
    if entry.verdict == "ptx_feature":  # judges the line's own target, with or without a device
        return ptx_feature(facts, line)
    if entry.verdict == "api_release":  # about the installed Triton or torch, not the GPU
        return api_release(line)
    if facts is None:
        why = f" ({no_device_reason})" if no_device_reason else ""
        extra: list[str] = []
        if entry.verdict == "sm_gate":
            extra.append(f"installed torch: {installed_sm_gate().describe()}")
        return Verdict(
            "unknown",
            f"no GPU here and no --gpu given{why}: explained without a device verdict",
            extra,
            rule=entry.verdict,
        )
    return RULES[entry.verdict](facts, line)
