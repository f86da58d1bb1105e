"""``gpudiag bakeoff``: which torch.compile mode, and which settings beyond it, is fastest for a
workload, each measured in a clean process.

settings      what the user asked for, every option (and the environment) checked once: RunSettings
session       one bake-off from settings to report: joins the harness and the report, streams --output
harness       starts the children (forked from a torch-importing zygote, or fresh interpreters), timeouts,
              the knobs after the modes; stops: SIGINT/SIGTERM/SIGHUP while it runs
request       what the harness asks one child to do (both sides read it; neither imports the other)
launcher      how a child is started and stopped (its whole process group, and what it detached);
              zygote: the fork server
child         one measurement's process: set-up, loading the script, failures as statuses, its report
measure       the steps of one measurement: reference, compile, checks, timing
judge         a row's status from its calls: against eager, against itself, against fp64
tensors       a workload's nested arguments: fresh copies of the pristine inputs, what a call wrote
environ       the variables that change behaviour, and what a compiled mode really compiled with
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
