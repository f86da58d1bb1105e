"""What a bake-off is asked to do, checked once: every option a user can give is validated here.

A value that makes no sense (``--timeout nan``, ``--modes ''``, a negative limit, an output that is a
device, a symlink loop or in a folder nothing can be written to) is a ``GpudiagError`` (exit 2) with
one line naming the option, before anything runs; so is asking for compiled modes in an environment
that disables torch.compile (``environ.compile_disabled``). ``Settings.validate`` returns the
``RunSettings`` record the run keeps.
"""

from __future__ import annotations

import math
import os
import stat
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gpudiag.bakeoff import environ as env_check
from gpudiag.bakeoff import knobs as knob_table
from gpudiag.bakeoff.launcher import SPAWN_METHODS
from gpudiag.bakeoff.modes import parse_modes
from gpudiag.bakeoff.results import Limits, RunSettings
from gpudiag.errors import GpudiagError

__all__ = ["DEFAULT_MAX_REGRESSION_PCT", "Limits", "RunSettings", "Settings"]

QUICK_BUDGET_MS = (25.0, 100.0)  # triton do_bench's own defaults: a fast, noisier answer
FULL_BUDGET_MS = (100.0, 1000.0)
DEVICES = ("auto", "cpu", "cuda")


DEFAULT_MAX_REGRESSION_PCT = 5.0  # with --baseline and no --max-regression


@dataclass
class Settings:
    script: str
    modes: str | Sequence[str] | None = None  # "default,max-autotune" or a list; None: all
    device: str = "auto"  # auto | cpu | cuda
    timeout_s: float = 1200.0
    quick: bool = False
    warm_cache: bool = False
    entry: str | None = None
    inputs: str | None = None
    spawn: str = "fork"
    seed: int = 0
    output: str | None = None
    knobs: str | None = None  # --knobs: auto (the default), none, or names
    limits: Limits = field(default_factory=Limits)
    warmup_ms: float | None = None  # None: from --quick
    rep_ms: float | None = None
    # Benchmarks only: keep each measurement's cold cache under this folder (named by workload and
    # mode) instead of deleting it, so a script can reuse exactly what that mode compiled.
    keep_cache_root: str | None = None
    # Benchmarks only: after its own timing, each child times the same compiled callable again with a
    # plain do_bench (wall clock on the CPU), so a script can check the harness adds nothing.
    crosscheck: bool = False
    script_args: Sequence[str] = ()  # given to the script as sys.argv[1:], as `python script.py ARGS` does
    grad: bool = False  # --grad: measure training (forward and backward), not inference

    def validate(self, environ: Mapping[str, str] | None = None) -> RunSettings:
        """Check every option (and the environment, ``os.environ`` by default) and return the normalised
        record: modes in canonical order, the budgets and the limits filled in, the script resolved."""
        script = Path(self.script)
        if not script.exists():
            raise GpudiagError(f"{script}: no such file")
        if not script.is_file():
            raise GpudiagError(f"{script}: not a file")
        if script.suffix != ".py":
            raise GpudiagError(f"{script}: expected a Python script (.py)")
        if isinstance(self.modes, str) or self.modes is None:
            modes = parse_modes(self.modes)
        else:
            modes = parse_modes(",".join(self.modes))
        knob_table.parse(self.knobs)
        if self.device not in DEVICES:
            raise GpudiagError(f"--device must be cpu, cuda or auto, not {self.device!r}")
        if self.spawn not in SPAWN_METHODS:
            raise GpudiagError(f"--spawn must be one of {', '.join(SPAWN_METHODS)}, not {self.spawn!r}")
        _positive("--timeout", self.timeout_s, "seconds")
        if self.inputs and not self.entry:
            raise GpudiagError("--inputs names the arguments of --entry; give --entry NAME too")
        default_warmup, default_rep = QUICK_BUDGET_MS if self.quick else FULL_BUDGET_MS
        warmup_ms = default_warmup if self.warmup_ms is None else self.warmup_ms
        rep_ms = default_rep if self.rep_ms is None else self.rep_ms
        _positive("the warm-up budget", warmup_ms, "ms")
        _positive("the rep budget", rep_ms, "ms")
        if self.output:
            _check_output(Path(self.output), script)
        self._validate_limits()
        _check_environment(os.environ if environ is None else environ, modes)
        return RunSettings(
            script=str(script.resolve()),
            script_args=list(self.script_args),
            grad=self.grad,
            modes=modes,
            knobs=self.knobs,
            device=self.device,
            timeout_s=self.timeout_s,
            quick=self.quick,
            warm_cache=self.warm_cache,
            entry=self.entry,
            inputs=self.inputs,
            spawn=self.spawn,
            seed=self.seed,
            output=self.output,
            limits=self.limits,
            warmup_ms=warmup_ms,
            rep_ms=rep_ms,
            keep_cache_root=self.keep_cache_root,
            crosscheck=self.crosscheck,
        )

    def _validate_limits(self) -> None:
        lim = self.limits
        if lim.max_regression_pct is not None:
            if not math.isfinite(lim.max_regression_pct) or lim.max_regression_pct < 0:
                raise GpudiagError(f"--max-regression must be a percentage >= 0, not {lim.max_regression_pct}")
            if lim.baseline is None:
                raise GpudiagError("--max-regression compares with an earlier run: give --baseline FILE too")
        elif lim.baseline is not None:
            lim.max_regression_pct = DEFAULT_MAX_REGRESSION_PCT
        if lim.max_regression_launch_bound_pct is not None:
            if not math.isfinite(lim.max_regression_launch_bound_pct) or lim.max_regression_launch_bound_pct < 0:
                raise GpudiagError(
                    "--max-regression-launch-bound must be a percentage >= 0, not "
                    f"{lim.max_regression_launch_bound_pct}"
                )
            if lim.baseline is None:
                raise GpudiagError(
                    "--max-regression-launch-bound compares with an earlier run: give --baseline FILE too"
                )
        for option, value in (("--max-graph-breaks", lim.max_graph_breaks), ("--max-recompiles", lim.max_recompiles)):
            if value is not None and value < 0:
                raise GpudiagError(f"{option} must be a count >= 0, not {value}")
        if lim.max_compile_s is not None:
            _positive("--max-compile-s", lim.max_compile_s, "seconds")
        if lim.baseline is not None and not Path(lim.baseline).is_file():
            raise GpudiagError(f"--baseline {lim.baseline}: no such file")


def _positive(option: str, value: float, unit: str) -> None:
    if not math.isfinite(value) or value <= 0:
        raise GpudiagError(f"{option} must be a finite number of {unit} above 0, not {value:g}")


def _check_environment(environ: Mapping[str, str], modes: list[str]) -> None:
    """Compiled modes in an environment that turns torch.compile into a no-op would be eager, each under
    another name: refused, as the one thing to change."""
    disabled = env_check.compile_disabled(environ)
    compiled = [m for m in modes if m != "eager"]
    if disabled and compiled:
        raise GpudiagError(
            f"{disabled} is set: torch.compile returns your code unchanged, so {', '.join(compiled)} would "
            f"{'each ' if len(compiled) > 1 else ''}be eager under another name; unset it, or give --modes eager"
        )


def _check_output(out: Path, script: Path) -> None:
    """Refuse an output that cannot be written, or would lose something, before anything runs: a path that
    does not resolve (a symlink loop), the script itself, a folder, a device or FIFO, a file in a folder
    that is missing or where no file can be created (read-only, or a pseudo-filesystem like /proc)."""
    try:
        st: os.stat_result | None = os.stat(out)
    except FileNotFoundError:
        st = None  # a new path (or a symlink to one): its folder is checked below
    except OSError as exc:  # ELOOP (a symlink loop), ENOTDIR, EACCES
        raise GpudiagError(f"--output {out}: cannot be resolved: {exc.strerror or exc}") from None
    target = Path(os.path.realpath(out))
    if target == script.resolve():
        raise GpudiagError(f"--output {out}: is the script itself; refusing to overwrite it")
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise GpudiagError(f"--output {out}: is a folder; give a file name")
        if not stat.S_ISREG(st.st_mode):
            raise GpudiagError(
                f"--output {out}: is not a regular file (a device, FIFO or socket); give a regular file or a new path"
            )
    folder = target.parent
    if not folder.is_dir():
        raise GpudiagError(f"--output {out}: folder {folder} does not exist")
    # The file is written as a temporary file in its folder, renamed into place: that must be possible.
    # os.access answers for permissions; only creating one answers for read-only mounts and /proc.
    why = None if os.access(folder, os.W_OK | os.X_OK) else "no permission to create files there"
    if why is None:
        try:
            fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=str(folder))
        except OSError as exc:
            why = exc.strerror or str(exc)
        else:
            os.close(fd)
            os.unlink(probe)
    if why:
        raise GpudiagError(f"--output {out}: cannot write a file in {folder}: {why}")
