"""``gpudiag bakeoff``: which torch.compile mode, and which settings beyond it, is fastest for a
workload, each measured in a clean process.

settings      what the user asked for, every option checked once
session       one bake-off from settings to report: joins the harness and the report, streams --output
harness       starts the children (forked from a torch-importing zygote, or fresh interpreters), timeouts,
              SIGINT/SIGTERM/SIGHUP, the knobs after the modes
launcher      how a child is started and stopped (its whole process group); zygote: the fork server
child         measures ONE (workload, mode, knobs) in its own process and writes one ModeResult
isolation     fresh on-disk state for inductor and Triton per measurement
observe       what a child sees: logs, warnings, dynamo's counters, eager's ops (census, dead work)
timing        how it times: triton's do_bench, its CPU twin, the back-to-back loop, the launch floor
compare       outputs against eager, an fp64 run arbitrating; knobs against fp64
knobs         settings beyond the mode and which ones a workload's signals call for
results       the typed records a run is made of (child to parent, and the run)
report        winners, knob effects, plausibility flags, the recommendation; BakeoffReport owns the JSON
plausibility  figures that cannot be right, and why
gate          the CI gate: --baseline/--max-regression and the count and compile limits
schema        the JSON schema, derived from the records
loader        reads the user's script (KernelBench, gpudiag_workloads(), --entry)
"""

from gpudiag.bakeoff.modes import ALL_MODES, CUDAGRAPH_MODES

__all__ = ["ALL_MODES", "CUDAGRAPH_MODES"]
