"""Where one gpudiag command's time goes, thread by thread: a timeline of the driver's start, the
probe, the catalogue, the report and the rendering, and the time spent in each NVML function.

`bench/startup/startup.py` says whether a command meets its target; this says why not. The command
runs in this process (as `python3 -m gpudiag ARGS` would, prefetch thread included) with timers
wrapped around the functions that matter and around every pynvml function; output goes to
/dev/null. Times are from this script's first line; add the bare interpreter's start-up
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
import importlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from collections import defaultdict  # noqa: E402

# (module, attribute path) of the functions timed; a missing one is skipped (another checkout).
TIMED = (
    ("gpudiag.device.prefetch", "_start_nvml"),
    ("gpudiag.device.prefetch", "_start_driver"),
    ("gpudiag.device.probe", "probe"),
    ("gpudiag.device.probe", "software_stack"),
    ("gpudiag.device.probe", "_open_nvml"),
    ("gpudiag.device.probe", "_open_driver"),
    ("gpudiag.device.probe", "_probe_one"),
    ("gpudiag.device.probe", "_probe_nvml_only"),
    ("gpudiag.device.probe", "_fill_from_nvml"),
    ("gpudiag.device.nvml", "Nvml.__init__"),
    ("gpudiag.device.nvml", "NvmlDevice.state"),
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


def _wrap_gpudiag() -> None:
    for mod_name, path in TIMED:
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        owner, _, attr = path.rpartition(".")
        target = getattr(mod, owner, None) if owner else mod
        if target is None or not hasattr(target, attr):
            continue
        setattr(target, attr, _timed(f"{mod_name.removeprefix('gpudiag.')}.{path}", getattr(target, attr)))


def run_once(argv: list[str]) -> dict:
    events.clear()
    nvml_calls.clear()
    t_import = time.perf_counter()
    from gpudiag.cli import app

    imported = time.perf_counter()
    _wrap_gpudiag()
    wrapped = time.perf_counter()
    sys.argv = ["gpudiag", *argv]
    code = None
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            app.main()
        except SystemExit as exc:
            code = exc.code
    end = time.perf_counter()
    return {
        "argv": argv,
        "exit": code,
        "import_cli_app_s": round(imported - t_import, 4),
        "wrapping_s": round(wrapped - imported, 4),
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
