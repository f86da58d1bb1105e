"""What a config table's file name says: which runtime loads it, for which kernel, layer shape, dtype
and GPU. Read from the runtimes' loaders:

- vLLM / SGLang fused-MoE (``fused_moe.get_config_file_name``): ``E=..,N=..,device_name=..[,dtype=..]
  [,block_shape=[..]]`` (SGLang adds ``,per_channel_quant=True`` and ``_down``). The dtype part is
  ``get_config_dtype_str``'s: ``fp8_w8a8``, ``int8_w8a8``, ``int8_w8a16``, ``int4_w4a16``,
  ``mxfp4_w4a4``, ``float32``, or nothing for bf16/fp16 models.
- vLLM / SGLang dense block-quantised GEMM (``w8a8_block_{fp8,int8}_matmul``):
  ``N=..,K=..,device_name=..,dtype=fp8_w8a8|int8_w8a8,block_shape=[..]``.
- vLLM's per-token scaled GEMM tables (``N=..,K=..,device_name=..,dtype=fp8_w8a8_per_token,
  input_dtype=..,out_dtype=..``), beside the block-GEMM ones: a plain tiled matmul with scales after
  the K loop (``compressed_tensors/triton_scaled_mm.py``'s ``scaled_mm_kernel``).
- LightLLM (``lightllm/common/kernel_config.py``, ``KernelConfigs.get_config_file_name``): the
  kernel's parameters as ``json.dumps(params, sort_keys=True)`` with spaces and quotes removed and
  ``:`` as ``=``, then ``_`` and ``torch.cuda.get_device_name()`` with spaces as ``_``, in
  ``all_kernel_configs/<kernel_name>/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A fused-MoE name's dtype -> gpudiag's kernel variant (moe_kernel.QUANTS).
MODELLED_DTYPES = {None: "none", "fp8_w8a8": "fp8_w8a8", "int8_w8a16": "int8_w8a16", "int8_w8a8": "int8_w8a8"}
# The dtype parts vLLM's and SGLang's get_config_dtype_str build (None: bf16/fp16 models, no dtype part).
RUNTIME_DTYPES = ("fp8_w8a8", "int8_w8a8", "int8_w8a16", "int4_w4a16", "mxfp4_w4a4", "float32")
GEMM_DTYPES = ("fp8_w8a8", "int8_w8a8")
# LightLLM kernels (all_kernel_configs/<name>/) whose entries are a matmul's tiles, and the model used.
LIGHTLLM_MATMUL = {
    "grouped_moe_gemm_kernel": "fused-moe",  # grouped_fused_moe.py: gathered A, B [E, N, K]
    "fp8_block_mm": "block-gemm",  # fp8w8a8_block_gemm_kernel.py: SGLang's kernel, B [K, N] N-contiguous
    "bmm_scaled_fp8": "matmul",  # bmm_scaled_fp8.py: A [B, M, K], B [B, K, N] K-contiguous, scales after
}
TORCH_DTYPE = {"float8_e4m3fn": "fp8e4m3", "float8_e4m3fnuz": "fp8e4m3", "int8": "int8"}

_NAME_RE = re.compile(
    r"^E=(?P<E>\d+),N=(?P<N>\d+),device_name=(?P<device>.+?)"
    r"(?:,dtype=(?P<dtype>[A-Za-z0-9_]+?))?"
    r"(?:,block_shape=\[(?P<bn>\d+),(?P<space>\s*)(?P<bk>\d+)\])?"
    r"(?P<per_channel>,per_channel_quant=True)?"
    r"(?P<down>_down)?\.json$"
)
_GEMM_NAME_RE = re.compile(
    r"^N=(?P<N>\d+),K=(?P<K>\d+),device_name=(?P<device>.+?)"
    r",dtype=(?P<dtype>fp8_w8a8|int8_w8a8)"
    r",block_shape=\[(?P<bn>\d+),(?P<space>\s*)(?P<bk>\d+)\]\.json$"
)
_SCALED_MM_RE = re.compile(
    r"^N=(?P<N>\d+),K=(?P<K>\d+),device_name=(?P<device>.+?)"
    r",dtype=(?P<dtype>[A-Za-z0-9_]+?)"
    r"(?:,input_dtype=(?P<input>[A-Za-z0-9_]+?))?"
    r"(?:,out_dtype=(?P<out>[A-Za-z0-9_]+?))?\.json$"
)
_LIGHTLLM_RE = re.compile(r"^\{(?P<params>[^{}]*)\}_(?P<device>.+)\.json$")


@dataclass(frozen=True)
class TableName:
    """What a table's file name says."""

    experts: int | None  # None: not a fused-MoE table
    n: int | None
    device_name: str  # as written, spaces already replaced by "_"
    dtype: str | None  # "fp8_w8a8", ...; None: bf16/fp16
    block_shape: tuple[int, int] | None
    per_channel: bool = False
    down: bool = False  # SGLang's separate table for the second GEMM
    spaced_block_shape: bool = False  # "[128, 128]": SGLang writes the list as Python prints it
    k: int | None = None  # a dense GEMM table's K
    family: str = "vllm"  # "vllm" (vLLM/SGLang names), "scaled-mm" (vLLM per-token GEMM), "lightllm"
    input_dtype: str | None = None  # scaled-mm: the operands' torch dtype
    out_dtype: str | None = None
    lightllm_kernel: str | None = None  # all_kernel_configs/<kernel>/
    params: tuple[tuple[str, str], ...] = field(default=())  # LightLLM's key parameters, as written

    @property
    def kernel(self) -> str:
        """The kernel model its entries are checked with: fused-moe, block-gemm, matmul, or "" (none)."""
        if self.family == "lightllm":
            return LIGHTLLM_MATMUL.get(self.lightllm_kernel or "", "")
        if self.family == "scaled-mm":
            return "matmul"
        return "block-gemm" if self.k is not None else "fused-moe"

    @property
    def param(self) -> dict[str, str]:
        return dict(self.params)

    @property
    def quant(self) -> str | None:
        """The kernel variant (moe_kernel.QUANTS; "fp8_w8a8_block" / "int8_w8a8_block" for a block GEMM;
        "fp8" / "int8" for a plain matmul's operands), or None when gpudiag does not model it."""
        if self.family == "lightllm":
            p = self.param
            fp8 = p.get("use_fp8_w8a8") == "true"
            return {
                "grouped_moe_gemm_kernel": "fp8_w8a8" if fp8 else "none",
                "fp8_block_mm": "fp8_w8a8_block",
                "bmm_scaled_fp8": "fp8",
            }.get(self.lightllm_kernel or "")
        if self.family == "scaled-mm":
            if self.dtype not in ("fp8_w8a8_per_token", "int8_w8a8_per_token"):
                return None
            element = TORCH_DTYPE.get(self.input_dtype or ("float8_e4m3fn" if "fp8" in self.dtype else "int8"))
            return None if element is None else ("fp8" if element.startswith("fp8") else "int8")
        if self.k is not None:
            return f"{self.dtype}_block"
        q = MODELLED_DTYPES.get(self.dtype) if self.dtype in MODELLED_DTYPES else None
        if q == "fp8_w8a8" and self.block_shape is not None:
            return "fp8_w8a8_block"
        if q == "int8_w8a8" and self.block_shape is not None:
            return None  # block-wise int8: not modelled
        return q

    @property
    def runtime_builds(self) -> bool:
        """Whether a runtime builds this name for some model (vLLM/SGLang fused-MoE: the dtype part is
        one get_config_dtype_str returns)."""
        return self.family != "vllm" or self.k is not None or self.dtype is None or self.dtype in RUNTIME_DTYPES

    @property
    def family_key(self) -> tuple:
        """Tables for the same layer shape and quantisation, whatever GPU they were tuned on."""
        return (
            self.family,
            self.lightllm_kernel,
            self.params,
            self.experts,
            self.n,
            self.dtype,
            self.block_shape,
            self.per_channel,
            self.down,
            self.k,
            self.input_dtype,
            self.out_dtype,
        )

    @property
    def shape_label(self) -> str:
        """``E=8,N=7168,dtype=fp8_w8a8``: the table's shape, without the device (for reports)."""
        if self.family == "lightllm":
            return f"{self.lightllm_kernel}/{{{','.join(f'{k}={v}' for k, v in self.params)}}}"
        return ",".join(self._parts(None, ",")) + (" (_down: the second GEMM's table)" if self.down else "")

    def _parts(self, device_name: str | None, block_sep: str) -> list[str]:
        """The name's key=value parts, with ``device_name`` after the shape when one is given."""
        parts = [f"N={self.n}", f"K={self.k}"] if self.k is not None else [f"E={self.experts}", f"N={self.n}"]
        if device_name is not None:
            parts.append(f"device_name={device_name}")
        if self.dtype:
            parts.append(f"dtype={self.dtype}")
        if self.input_dtype:
            parts.append(f"input_dtype={self.input_dtype}")
        if self.out_dtype:
            parts.append(f"out_dtype={self.out_dtype}")
        if self.block_shape:
            parts.append(f"block_shape=[{self.block_shape[0]}{block_sep}{self.block_shape[1]}]")
        if self.per_channel:
            parts.append("per_channel_quant=True")
        return parts

    def with_device(self, device_name: str, spaced: bool | None = None) -> str:
        """This table's file name with another device_name (how its runtime spells it for that GPU)."""
        if self.family == "lightllm":
            return "{" + ",".join(f"{k}={v}" for k, v in self.params) + "}_" + device_name + ".json"
        sep = ", " if (self.spaced_block_shape if spaced is None else spaced) else ","
        return ",".join(self._parts(device_name, sep)) + ("_down" if self.down else "") + ".json"


def _lightllm(filename: str, folder: str) -> TableName | None:
    m = _LIGHTLLM_RE.match(filename)
    if m is None:
        return None
    params = []
    for part in re.split(r",(?![^\[]*\])", m["params"]):  # not the commas inside block_size=[128,128]
        if "=" not in part:
            return None
        k, v = part.split("=", 1)
        params.append((k, v))
    return TableName(
        None, None, m["device"], None, None, family="lightllm", lightllm_kernel=folder, params=tuple(params)
    )


def parse_name(filename: str, folder: str = "") -> TableName | None:
    """What ``filename`` says (``folder``: the folder it is in, LightLLM's kernel name), or None."""
    m = _NAME_RE.match(filename)
    if m is not None:
        block = (int(m["bn"]), int(m["bk"])) if m["bn"] else None
        return TableName(
            int(m["E"]),
            int(m["N"]),
            m["device"],
            m["dtype"],
            block,
            bool(m["per_channel"]),
            bool(m["down"]),
            bool(m["space"]),
        )
    g = _GEMM_NAME_RE.match(filename)
    if g is not None:
        return TableName(
            None,
            int(g["N"]),
            g["device"],
            g["dtype"],
            (int(g["bn"]), int(g["bk"])),
            spaced_block_shape=bool(g["space"]),
            k=int(g["K"]),
        )
    s = _SCALED_MM_RE.match(filename)
    if s is not None and "block_shape" not in filename:
        return TableName(
            None,
            int(s["N"]),
            s["device"],
            s["dtype"],
            None,
            k=int(s["K"]),
            family="scaled-mm",
            input_dtype=s["input"],
            out_dtype=s["out"],
        )
    return _lightllm(filename, folder)
