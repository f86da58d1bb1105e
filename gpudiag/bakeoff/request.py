"""What the harness asks one bake-off child to do: the record both sides read, and nothing else.

The parent builds a ``Request`` and hands it to the child as JSON (a file for a fresh interpreter, a
line on the zygote's stdin for a fork); the child (``child.py``) reads it back. Neither side needs
the other's module to name it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Request:
    """One measurement: ``workload`` in ``mode`` with ``knobs``.

    With ``list_workloads`` the child first lists the script's workloads (the first child of a run)
    and, when ``workload`` is None, measures the first of them.
    """

    script: str
    result_path: str
    phase_path: str | None = None
    workload: str | None = None
    list_workloads: bool = False
    mode: str = "eager"
    knobs: tuple[str, ...] = ()
    device: str = "cpu"
    entry: str | None = None
    inputs: str | None = None
    seed: int = 0
    warmup_ms: float = 100.0
    rep_ms: float = 1000.0
    census: bool = False  # run the op census (the eager row: what the knobs are decided from)
    crosscheck: bool = False  # benchmarks: time the compiled callable again with a plain do_bench
    state_dir: str | None = None  # fresh on-disk state here; None: the user's own (--warm-cache)
    script_args: tuple[str, ...] = ()  # the script's sys.argv[1:], as `python script.py ARGS` gives them
    grad: bool = False  # --grad: autograd on, a module's forward and backward (training.py)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Request:
        return cls(**{**data, "knobs": tuple(data.get("knobs", ())), "script_args": tuple(data.get("script_args", ()))})


# The phases a child goes through, written to its phase file, and how the parent words each one
# ("stopped after the 15 s --timeout while running eager for the reference output").
PHASES = {
    "starting": "starting",
    "loading": "loading the script",
    "reference": "running eager for the reference output",
    "compiling": "compiling (the first call)",
    "checking": "checking the output against eager",
    "timing": "timing",
    "done": "writing its result",
}


def phase_words(phase: str) -> str:
    return PHASES.get(phase, phase)
