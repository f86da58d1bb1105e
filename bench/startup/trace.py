"""Where one gpudiag command's time goes, thread by thread: a timeline of the driver's start, the
probe, the catalogue, the report and the rendering, and the time spent in each NVML function.

`bench/startup/startup.py` says whether a command meets its target; this says why not. The command
runs in this process as `python3 -m gpudiag ARGS` would (its early driver start included), with
timers wrapped around the functions that matter as their modules load, and around every pynvml
function; its output is discarded. Times are from this script's first line; add the bare interpreter's start-up
(`python -c pass` in startup.py's table) for the whole process.

    python3 -m bench.startup.trace [--out F.json] -- info
    python3 -m bench.startup.trace -- explain-warning "LINE"
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import functools  # noqa: E402
import importlib.abc  # noqa: E402
import importlib.machinery  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from collections import defaultdict  # noqa: E402
from typing import ClassVar  # noqa: E402

# (module, attribute path) of the functions timed; a missing one is skipped (another checkout).
TIMED = (
    ("gpudiag.device.probe", "probe"),
    ("gpudiag.device.probe", "software_stack"),
    ("gpudiag.device.probe", "_open_nvml"),
    ("gpudiag.device.probe", "_open_driver"),
    ("gpudiag.device.probe", "_probe_one"),
    ("gpudiag.device.probe", "_probe_nvml_only"),
    ("gpudiag.device.probe", "_fill_from_nvml"),
    ("gpudiag.device.nvml", "Nvml.__init__"),
    ("gpudiag.device.nvml", "NvmlDevice.state"),
    ("gpudiag.device.nvml", "NvmlDevice.snapshot"),
    ("gpudiag.device.prefetch", "NvmlPrefetch.run"),
    ("gpudiag.device.prefetch", "_start_driver"),
    ("gpudiag.device.prefetch", "nvml_snapshot"),
    ("gpudiag.device.catalog", "warm"),
    ("gpudiag.device.cudadrv", "LibCuda.__init__"),
    ("gpudiag.device.selection", "resolve"),
    ("gpudiag.device.selection", "resolve_or_none"),
    ("gpudiag.explain.report", "build"),
    ("gpudiag.explain.report", "Context.create"),
    ("gpudiag.explain.report", "explain_text"),
    ("gpudiag.explain.catalog", "load"),
    ("gpudiag.info.report", "build"),
    ("gpudiag.tiles.check", "check"),
    ("gpudiag.cli.output", "finish"),
)

events: list[tuple[str, str, float, float]] = []  # (name, thread, start, end), seconds from T0
nvml_calls: dict[str, list[float]] = defaultdict(list)
_lock = threading.Lock()


def _timed(name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            with _lock:
                events.append((name, threading.current_thread().name, t - T0, time.perf_counter() - T0))

    return wrapper


def _wrap_nvml() -> None:
    try:
        import pynvml
    except ImportError:
        return
    for attr in dir(pynvml):
        fn = getattr(pynvml, attr)
        if attr.startswith("nvml") and callable(fn) and not isinstance(fn, type):

            def timed(*args, _fn=fn, _name=attr, **kwargs):
                t = time.perf_counter()
                try:
                    return _fn(*args, **kwargs)
                finally:
                    with _lock:
                        nvml_calls[_name].append(time.perf_counter() - t)

            setattr(pynvml, attr, timed)


def _wrap_module(mod) -> None:
    for mod_name, path in TIMED:
        if mod_name != mod.__name__:
            continue
        owner, _, attr = path.rpartition(".")
        target = getattr(mod, owner, None) if owner else mod
        if target is None or not hasattr(target, attr):
            continue
        setattr(target, attr, _timed(f"{mod_name.removeprefix('gpudiag.')}.{path}", getattr(target, attr)))


class _WrapOnImport(importlib.abc.MetaPathFinder):
    """Wraps TIMED's functions as each module is imported, so that nothing is imported earlier than
    the command itself imports it (the timeline stays the command's own)."""

    names: ClassVar[set[str]] = {m for m, _ in TIMED}

    def find_spec(self, name, path=None, target=None):
        if name not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        run = loader.exec_module

        def exec_module(module, _run=run):
            _run(module)
            _wrap_module(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def run_once(argv: list[str]) -> dict:
    """The command as `python3 -m gpudiag ARGV` runs it (gpudiag/__main__.py: the early driver start,
    then the app), with the timers installed as its modules load."""
    events.clear()
    nvml_calls.clear()
    sys.meta_path.insert(0, _WrapOnImport())
    from gpudiag import __main__ as entry

    wrapped = time.perf_counter()
    sys.argv = ["gpudiag", *argv]
    code = None
    out = io.StringIO()
    real_exit = os._exit

    def exit_here(status: int) -> None:  # gpudiag's own end (cli.streams.exit_now): back to this script
        raise SystemExit(status)

    os._exit = exit_here  # type: ignore[assignment]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            entry.main()
        except SystemExit as exc:
            code = exc.code
        finally:
            os._exit = real_exit
    end = time.perf_counter()
    return {
        "argv": argv,
        "exit": code,
        "main_s": round(end - wrapped, 4),
        "total_from_script_start_s": round(end - T0, 4),
        "timeline": [
            {"what": n, "thread": th, "start_s": round(s, 4), "end_s": round(e, 4), "took_ms": round((e - s) * 1e3, 1)}
            for n, th, s, e in sorted(events, key=lambda ev: ev[2])
        ],
        "nvml_ms": {
            k: {"calls": len(v), "total_ms": round(sum(v) * 1e3, 2), "max_ms": round(max(v) * 1e3, 2)}
            for k, v in sorted(nvml_calls.items(), key=lambda kv: -sum(kv[1]))
        },
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out")
    ap.add_argument("argv", nargs=argparse.REMAINDER, help="-- then the gpudiag arguments")
    args = ap.parse_args()
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    _wrap_nvml()  # before the command's prefetch thread can start NVML
    doc = run_once(argv)
    doc["pid"] = os.getpid()
    text = json.dumps(doc, indent=1)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    print(f"{' '.join(argv)[:70]}: exit {doc['exit']}, main {doc['main_s'] * 1e3:.0f} ms")
    for ev in doc["timeline"]:
        print(
            f"  {ev['start_s'] * 1e3:7.1f} -> {ev['end_s'] * 1e3:7.1f} ms  {ev['took_ms']:6.1f}  {ev['thread'][:20]:20} {ev['what']}"
        )
    for name, v in list(doc["nvml_ms"].items())[:15]:
        print(f"  nvml {name:45} {v['calls']:3} calls {v['total_ms']:7.2f} ms (max {v['max_ms']:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
