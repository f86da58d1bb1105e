"""The architecture rules (gpudiag/device/data/arch_features.toml) and the verdicts worded from them."""

from __future__ import annotations

import pytest

from gpudiag.device import arch, catalog, verdicts

# (feature, compute capabilities that have it, ones that do not), from the PTX ISA and torch's gates.
EXPECTED = [
    ("triton_codegen", [(7, 0), (9, 0), (12, 1)], [(6, 1), (5, 2)]),
    ("cuda13_codegen", [(7, 5), (8, 0)], [(7, 0), (7, 2)]),
    ("tf32_tensor_cores", [(8, 0), (8, 6), (12, 0)], [(7, 5), (7, 0)]),
    ("bf16_tensor_cores", [(8, 0), (8, 7), (10, 0)], [(7, 5)]),
    ("fp8_tensor_cores", [(8, 9), (9, 0), (12, 1)], [(8, 6), (8, 7)]),
    ("tma", [(9, 0), (10, 0), (12, 0)], [(8, 9)]),
    ("wgmma", [(9, 0)], [(8, 9), (10, 0), (12, 0)]),
    ("tcgen05", [(10, 0), (10, 3), (11, 0)], [(9, 0), (12, 0), (12, 1)]),
    ("tensor_memory", [(10, 0), (11, 0)], [(9, 0), (12, 1)]),
    ("fp4_tensor_cores", [(10, 0), (10, 3), (12, 0), (12, 1)], [(9, 0), (8, 9)]),
]


@pytest.mark.parametrize("feature_id, yes, no", EXPECTED, ids=[e[0] for e in EXPECTED])
def test_thresholds(feature_id, yes, no):
    for cc in yes:
        assert arch.supports(feature_id, cc), (feature_id, cc)
    for cc in no:
        assert not arch.supports(feature_id, cc), (feature_id, cc)


def test_every_rule_has_a_source_and_one_kind_of_threshold():
    assert set(arch.features()) == {e[0] for e in EXPECTED}
    for f in arch.features().values():
        assert f.sources and all(s.strip() for s in f.sources), f.id
        assert (f.min_cc is None) != (not f.majors), f"{f.id}: exactly one of min_cc / majors"


def test_compare_reads_as_the_rule():
    assert arch.feature("bf16_tensor_cores").compare((9, 0)) == "sm_90 >= sm_80"
    assert arch.feature("fp8_tensor_cores").compare((8, 6)) == "sm_86 < sm_89"
    assert arch.feature("tcgen05").compare((12, 0)) == "sm_120 is not sm_10x/sm_11x"


@pytest.mark.parametrize("cc", sorted(catalog.cc_table()), ids=lambda cc: f"sm_{cc[0]}{cc[1]}")
def test_verdicts_follow_the_rules_for_every_catalogued_architecture(cc):
    facts = catalog.facts_from_cc(cc)
    by_id = {v.id: v for v in verdicts.all_verdicts(facts)}
    assert (by_id["bf16"].answer == "yes") == arch.supports("bf16_tensor_cores", cc)
    assert (by_id["fp8"].answer == "yes") == arch.supports("fp8_tensor_cores", cc)
    assert (by_id["tma"].answer == "yes") == arch.supports("tma", cc)
    assert (by_id["wgmma"].answer == "yes") == arch.supports("wgmma", cc)
    assert by_id["bf16"].why.startswith(arch.feature("bf16_tensor_cores").compare(cc))
    assert by_id["bf16"].rule in arch.feature("bf16_tensor_cores").sources
