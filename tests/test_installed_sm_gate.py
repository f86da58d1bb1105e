"""Reading inductor's is_big_gpu threshold out of torch source, across the forms it has had."""

import pytest

from gpudiag.installed import sm_gate

TORCH_2_3 = """
@functools.lru_cache(None)
def is_big_gpu(index):
    sms = torch.cuda.get_device_properties(index).multi_processor_count
    if sms < 80:  # V100
        log.warning("not enough SMs to use max_autotune_gemm mode")
        return False
    return True
"""

TORCH_2_4 = """
@functools.lru_cache(None)
def is_big_gpu(index) -> bool:
    min_sms = 68  # 3080
    avail_sms = torch.cuda.get_device_properties(index).multi_processor_count
    if avail_sms < min_sms:
        log.warning("Not enough SMs to use max_autotune_gemm mode", extra={"min_sms": min_sms, "avail_sms": avail_sms})
        return False
    return True
"""

CURRENT = """
def is_big_gpu(index_or_device=0) -> bool:
    prop = DeviceProperties.create(device)
    if torch.version.hip:
        assert prop.major is not None
        if prop.major < 9 or prop.major == 10:
            log.warning("GPU arch does not support max_autotune_gemm mode usage")
            return False
        return True
    min_sms = 16 if device.type == "xpu" else 68  # 3080
    avail_sms = prop.multi_processor_count
    if avail_sms < min_sms:
        return False
    return True
"""


def test_torch_2_3_form():
    cuda, xpu, rocm, line, _ = sm_gate.parse_is_big_gpu(TORCH_2_3)
    assert (cuda, xpu, rocm) == (80, None, None) and line == 3


def test_torch_2_4_form():
    assert sm_gate.parse_is_big_gpu(TORCH_2_4)[:3] == (68, None, None)


def test_current_form_with_xpu_and_rocm():
    cuda, xpu, rocm, _, extra = sm_gate.parse_is_big_gpu(CURRENT)
    assert (cuda, xpu) == (68, 16) and rocm == "prop.major < 9 or prop.major == 10 -> False" and extra == []


def test_missing_function():
    assert sm_gate.parse_is_big_gpu("def other(): pass")[0] is None


def test_history_fallback_by_version():
    assert sm_gate.history_gate("2.3.1").cuda_min_sms == 80
    assert sm_gate.history_gate("2.4.0").cuda_min_sms == 68
    assert sm_gate.history_gate(None).origin == "history"


def test_installed_torch_is_read_from_source():
    if sm_gate.versions.torch_version() is None:
        pytest.skip("torch is not installed: the rule comes from the version history (tested above)")
    gate = sm_gate.installed_sm_gate()
    assert gate.origin == "source" and gate.cuda_min_sms in (68, 80)
    assert "torch/_inductor/utils.py:" in gate.where


def test_disables_templates():
    gate = sm_gate.history_gate("2.4.0")
    assert gate.disables_templates(46) is True
    assert gate.disables_templates(68) is False
    assert gate.disables_templates(None) is None
