"""gpudiag/device/prefetch.py: NVML and the driver started in threads, and the probe borrowing them.

The probe must answer exactly as it does without the prefetch, while calling ``nvmlInit`` once:
a second call is what waited for ``cuInit`` on the H100 host (bench/startup/trace.py).
"""

from __future__ import annotations

import fakes
import pytest

from gpudiag.device import prefetch, probe


@pytest.fixture(autouse=True)
def _forget():
    prefetch.forget()
    yield
    prefetch.forget()


def _counting_inits(monkeypatch, gpus, **kwargs):
    from gpudiag.device import nvml

    fakes.install(monkeypatch, gpus, gpus, **kwargs)
    mod = nvml.load_pynvml()
    calls = []
    real_init = mod.nvmlInit

    def counted():
        calls.append(1)
        return real_init()

    mod.nvmlInit = counted
    return calls


def _facts(devices):
    return [d.to_dict() for d in devices]


def test_a_prefetched_probe_answers_as_an_ordinary_one_with_one_nvml_init(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    gpus = [fakes.h100(), fakes.rtx3070(bus="0000:3b:00.0")]
    calls = _counting_inits(monkeypatch, gpus)
    ordinary, _ = probe.probe()
    assert len(calls) == 1

    calls.clear()
    prefetch.start()
    prefetched, _ = probe.probe()
    assert len(calls) == 1
    assert _facts(prefetched) == _facts(ordinary)
    assert prefetched[0].state is not None and prefetched[0].state.temperature_c == gpus[0].temperature


def test_prefetched_reads_are_used_once(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    gpu = fakes.h100()
    _counting_inits(monkeypatch, [gpu])
    prefetch.start()
    first, _ = probe.probe()
    gpu.temperature += 7
    second, _ = probe.probe()  # read again, not the state from the start of the process
    assert second[0].state.temperature_c == first[0].state.temperature_c + 7


def test_nvml_that_fails_in_the_thread_is_reported_as_without_it(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    gpu = fakes.h100()
    fakes.install(monkeypatch, [gpu], [gpu], nvml_init_error=9)
    ordinary, _ = probe.probe()
    prefetch.start()
    prefetched, _ = probe.probe()
    assert _facts(prefetched) == _facts(ordinary)
    assert prefetched[0].notes == ordinary[0].notes and prefetched[0].state is None


def test_nvml_only_borrows_the_session_and_reads_no_state(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    gpu = fakes.h100()
    calls = _counting_inits(monkeypatch, [gpu])
    prefetch.start(nvml_only=True)
    devices, _ = probe.probe(nvml_only=True)
    assert len(calls) == 1
    assert devices[0].name == gpu.name and devices[0].state is None
