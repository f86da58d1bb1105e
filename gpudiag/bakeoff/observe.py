"""What a bake-off child observes, apart from how it measures: logs, warnings, dynamo's counters, and
one eager call seen op by op.

These are the workload's own signals: they explain a row (graph breaks, recompiles, the warnings
``explain-warning`` knows) and decide which settings are worth measuring beyond the mode (fp32
matmuls for TF32, parameters for freezing, recompiles and dynamic shapes for ``dynamic``).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from gpudiag.bakeoff.results import Observations, OpCensus, WarningLine

MAX_WARNINGS = 40
MAX_REASONS = 5
TF32_WARNING = "TensorFloat32 tensor cores for float32 matrix multiplication available but not enabled"

# inductor's own list of ops its TF32 warning looks for (compile_fx.is_tf32_warning_applicable).
TF32_MATMULS = ("aten.mm.default", "aten.addmm.default", "aten.bmm.default", "aten.baddbmm.default")


class LogCollector(logging.Handler):
    """Warnings logged by torch and triton, dynamo's recompile messages and the symbols it creates."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.recompile_reasons: list[str] = []
        self.recompiles = 0
        self.dynamic_symbols = 0
        self.cudagraph_skips: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
        except Exception:  # a broken log call in a library must not break the measurement
            return
        first = msg.splitlines()[0] if msg else ""
        if msg.startswith("Recompiling function"):
            self.recompiles += 1
            reasons = [ln.strip(" -") for ln in msg.splitlines()[1:] if ln.strip().startswith("-")]
            self.recompile_reasons.extend(reasons or [first])
        elif msg.startswith("create_symbol"):
            self.dynamic_symbols += 1
        elif "skipping cudagraphs" in msg.lower():
            self.cudagraph_skips.append(first)
            self.lines.append(first)
        elif record.levelno >= logging.WARNING:
            self.lines.append(f"{record.levelname}:{record.name}: {msg}")


def install_logging(torch: Any, collector: LogCollector) -> None:
    """Route torch's and triton's log records to ``collector``.

    torch's registered loggers (torch._dynamo, torch._inductor, torch.fx.experimental.symbolic_shapes,
    ...) do not propagate to "torch", so the collector joins each of them, not only the root.
    """
    try:
        # Recompile messages and created symbols are opt-in logging artifacts; counting them is
        # version-tolerant where dynamo's own counters for them have moved between releases.
        torch._logging.set_logs(recompiles=True, dynamic=logging.INFO)
    except Exception:
        pass
    names = {"torch", "triton"} | {
        name
        for name, lg in logging.root.manager.loggerDict.items()
        if isinstance(lg, logging.Logger) and not lg.propagate and name.split(".")[0] in ("torch", "triton")
    }
    for name in names:
        logging.getLogger(name).addHandler(collector)


def warning_lines(caught: list, script: str) -> dict[str, int]:
    """Python warnings as "Category: first line" -> count, as the user's own run would show them:
    deprecation warnings only where the user's script raised them (Python's default filters hide the
    ones torch raises inside itself, such as torch.jit's during inductor's imports)."""
    seen: dict[str, int] = {}
    for w in caught:
        if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning)) and not (
            script and os.path.abspath(str(w.filename)) == os.path.abspath(script)
        ):
            continue
        text = next((ln.strip() for ln in str(w.message).splitlines() if ln.strip()), "")
        line = f"{w.category.__name__}: {text}"
        seen[line] = seen.get(line, 0) + 1
    return seen


def observations(caught: list, script: str, collector: LogCollector) -> Observations:
    """Everything seen in one child: its warnings and log lines, and dynamo's and inductor's counters."""
    seen = warning_lines(caught, script)
    for line in collector.lines:
        seen[line] = seen.get(line, 0) + 1
    obs = Observations(
        warnings=[WarningLine(k, v) for k, v in list(seen.items())[:MAX_WARNINGS]],
        recompiles=collector.recompiles,
        recompile_reasons=collector.recompile_reasons[:MAX_REASONS],
        dynamic_symbols=collector.dynamic_symbols,
        cudagraph_skip_reasons=collector.cudagraph_skips[:MAX_REASONS],
        tf32_warning=any(TF32_WARNING in line for line in seen),
    )
    try:
        from torch._dynamo.utils import counters
    except ImportError:
        return obs
    breaks: Any = counters.get("graph_break") or {}
    stats: Any = counters.get("stats") or {}
    inductor: Any = counters.get("inductor") or {}
    obs.graph_breaks = int(sum(breaks.values()))
    obs.graph_break_reasons = [str(k).splitlines()[0][:200] for k in list(breaks)[:MAX_REASONS]]
    obs.unique_graphs = int(stats.get("unique_graphs", 0))
    obs.cudagraph_skips = int(inductor.get("cudagraph_skips", 0))
    try:
        from torch._inductor import metrics

        obs.generated_kernels = int(metrics.generated_kernel_count)
    except (ImportError, AttributeError):
        pass
    return obs


def graphs_captured(torch: Any) -> int | None:
    """Graphs dynamo compiled since ``reset_counters`` (None: this torch does not count them)."""
    try:
        from torch._dynamo.utils import counters
    except ImportError:
        return None
    stats: Any = counters.get("stats") or {}
    return int(stats.get("unique_graphs", 0))


def reset_counters(torch: Any) -> None:
    """Fresh dynamo and inductor counters, so a row counts only its own compile."""
    torch._dynamo.reset()
    try:
        torch._dynamo.utils.counters.clear()
        from torch._inductor import metrics

        metrics.reset()
    except (AttributeError, ImportError):
        pass


# -- one eager call, op by op ------------------------------------------------------------------------


def census(torch: Any, call: Any, device: str) -> tuple[Any, OpCensus | None]:
    """Run ``call()`` once under a dispatch mode that records every aten op; (its output, the census).

    Each op is timed (synchronised on CUDA) and tracked by the storages it reads and writes, so that
    afterwards a backward sweep from what the call leaves behind marks the live ops; the rest is dead
    work. The census is best effort: an output it cannot follow gives ``None``, never a failure.
    """
    try:
        from torch.utils._python_dispatch import TorchDispatchMode
        from torch.utils._pytree import tree_flatten
    except ImportError:
        return call(), None
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    ops: list[dict] = []  # name, reads (op indices), writes bytes, ms, side_effect
    writer: dict[int, int] = {}  # storage key -> index of the op that wrote it last
    external: set[int] = set()  # storages read before any op of the call wrote them: they outlive it
    params: dict[int, int] = {}

    def key(t: Any) -> int | None:
        try:
            return t.untyped_storage().data_ptr() or None
        except Exception:
            return None

    class Census(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            inputs = [a for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor)]
            sync()
            t0 = time.perf_counter()
            out = func(*args, **kwargs)
            sync()
            ms = (time.perf_counter() - t0) * 1e3
            name = str(func)
            outs = [o for o in tree_flatten(out)[0] if isinstance(o, torch.Tensor)]
            read_keys = {k for k in map(key, inputs) if k is not None}
            external.update(k for k in read_keys if k not in writer)
            mutated = [
                a
                for a, arg in zip(args, func._schema.arguments)
                if isinstance(a, torch.Tensor) and arg.alias_info is not None and arg.alias_info.is_write
            ]
            fresh = [o for o in outs if key(o) not in read_keys]  # views and in-place results are not new
            written = mutated + fresh
            for a in inputs:
                if isinstance(a, torch.nn.Parameter):
                    params[id(a)] = a.numel() * a.element_size()
            index = len(ops)
            ops.append(
                {
                    "name": name,
                    "reads": {writer[k] for k in read_keys if k in writer},
                    "bytes": sum(t.numel() * t.element_size() for t in written),
                    "ms": ms,
                    "dtype": str(outs[0].dtype) if outs else None,
                    # a non-tensor result reaches Python (``.item()``), and a write into a tensor that
                    # existed before the call outlives it: both are live whatever the outputs are
                    "side_effect": not outs or any(key(t) in external for t in mutated),
                }
            )
            for t in written:
                k = key(t)
                if k is not None:
                    writer[k] = index
            return out

    with Census():
        result = call()
    try:
        finals = [t for t in tree_flatten(result)[0] if isinstance(t, torch.Tensor)]
        live = {writer[k] for k in map(key, finals) if k in writer}
        live |= {i for i, op in enumerate(ops) if op["side_effect"]}
        for i in range(len(ops) - 1, -1, -1):
            if i in live:
                live |= ops[i]["reads"]
        # An op that writes nothing (a view, a metadata query) is neither: its cost is dispatch overhead.
        dead = [op for i, op in enumerate(ops) if i not in live and op["bytes"]]
    except Exception:
        return result, None
    biggest = sorted(dead, key=lambda op: op["bytes"], reverse=True)[:3]
    return result, OpCensus(
        ops=len(ops),
        fp32_matmuls=sum(1 for op in ops if op["name"] in TF32_MATMULS and op["dtype"] == "torch.float32"),
        fp32_convs=sum(1 for op in ops if "convolution" in op["name"] and op["dtype"] == "torch.float32"),
        parameter_bytes=sum(params.values()),
        written_bytes=sum(op["bytes"] for op in ops),
        dead_bytes=sum(op["bytes"] for op in dead),
        op_ms=sum(op["ms"] for op in ops),
        dead_ms=sum(op["ms"] for op in dead),
        dead_ops=[f"{op['name']} {_size(op['bytes'])}" for op in biggest if op["bytes"]],
    )


def _size(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"
