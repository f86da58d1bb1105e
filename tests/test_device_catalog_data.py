"""Checks on the shipped catalogue data (gpudiag/device/data/*.toml). CPU only, no GPU needed."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import pytest

from gpudiag.device import catalog, names
from gpudiag.device.lookup import lookup

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _raw(name: str) -> dict:
    with resources.files("gpudiag.device").joinpath("data", name).open("rb") as fh:
        return tomllib.load(fh)


CC_ROWS = _raw("compute_capabilities.toml")["cc"]
GPU_ROWS = _raw("gpus.toml")["gpu"]

# Every per-cc limit the loader copies onto DeviceFacts, plus the row's own fields.
CC_FIELDS = ("cc", "arch_name", *catalog.CC_LIMIT_FIELDS, "fp32_lanes_per_sm", "sources")
EXPECTED_CCS = {
    "7.0",
    "7.2",
    "7.5",
    "8.0",
    "8.6",
    "8.7",
    "8.9",
    "9.0",
    "10.0",
    "10.3",
    "11.0",
    "12.0",
    "12.1",
}
GPU_REQUIRED = ("key", "name", "compute_capability", "sm_count", "sources")
SOURCE_KINDS = {"live", "datasheet", "third-party", "derived"}
VALUE_FIELDS = (
    "sm_count",
    "l2_bytes",
    "memory_gib",
    "memory_bus_width_bits",
    "memory_clock_max_mhz",
    "memory_bandwidth_gbps",
    "bf16_dense_tflops",
    *catalog.CC_LIMIT_FIELDS,
)
GPU_KNOWN_FIELDS = set(GPU_REQUIRED) | {
    "aliases",
    "nvml_names",
    "l2_bytes",
    "memory_gib",
    "memory_bus_width_bits",
    "memory_clock_max_mhz",
    "memory_bandwidth_gbps",
    "bf16_dense_tflops",
    "notes",
    "conflicts",
    "arch_name",
    *catalog.CC_LIMIT_FIELDS,
}
ARCH_NAMES = {"Volta", "Turing", "Ampere", "Ada Lovelace", "Hopper", "Blackwell"}


def _cc_key(text: str) -> tuple[int, int]:
    return catalog.parse_cc(text)


def _check_sources(row: dict, value_fields: list[str], *other_fields: str) -> None:
    """Every source says its kind and the fields it gives; every value has at least one source."""
    label = row.get("key") or row.get("cc")
    assert isinstance(row["sources"], list) and row["sources"], label
    named = set()
    for src in row["sources"]:
        assert set(src) == {"kind", "fields", "text"}, (label, src)
        assert src["kind"] in SOURCE_KINDS, (label, src["kind"])
        assert src["text"].strip() and src["fields"], (label, src["text"][:60])
        unknown = set(src["fields"]) - set(value_fields) - set(other_fields)
        assert not unknown, f"{label}: a source names fields the row does not have: {unknown}"
        named |= set(src["fields"])
    unsourced = [f for f in value_fields if f not in named]
    assert not unsourced, f"{label}: no source gives {unsourced}"


# ----------------------------------------------------------------------------- cc table


def test_cc_table_has_every_expected_row_once():
    ccs = [row["cc"] for row in CC_ROWS]
    assert sorted(ccs, key=_cc_key) == sorted(EXPECTED_CCS, key=_cc_key)
    assert len(ccs) == len(set(ccs))
    assert set(catalog.cc_table()) == {_cc_key(c) for c in EXPECTED_CCS}


@pytest.mark.parametrize("row", CC_ROWS, ids=lambda r: r["cc"])
def test_cc_row_complete_and_consistent(row):
    missing = [f for f in CC_FIELDS if f not in row]
    assert not missing, f"cc {row['cc']} lacks {missing}"
    assert row["arch_name"] in ARCH_NAMES
    _check_sources(row, [*catalog.CC_LIMIT_FIELDS, "fp32_lanes_per_sm"], "arch_name")
    assert row["warp_size"] == 32
    assert row["smem_per_block_bytes"] == 48 * 1024
    assert row["max_threads_per_block"] == 1024
    assert row["regs_per_sm"] == row["regs_per_block"] == 64 * 1024
    # opt-in = per-SM capacity minus the per-block reservation (1 KiB from 8.0 on, 0 on 7.x)
    major, _ = _cc_key(row["cc"])
    assert row["smem_reserved_per_block_bytes"] == (0 if major < 8 else 1024)
    assert row["smem_per_block_optin_bytes"] == row["smem_per_sm_bytes"] - row["smem_reserved_per_block_bytes"]
    assert row["max_threads_per_sm"] % 32 == 0
    assert row["fp32_lanes_per_sm"] in (64, 128)


@pytest.mark.parametrize(
    "cc, per_sm_kib, optin, threads, blocks, lanes, arch",
    [
        ("7.0", 96, 98304, 2048, 32, 64, "Volta"),
        ("7.2", 96, 98304, 2048, 32, 64, "Volta"),
        ("7.5", 64, 65536, 1024, 16, 64, "Turing"),
        ("8.0", 164, 166912, 2048, 32, 64, "Ampere"),
        ("8.6", 100, 101376, 1536, 16, 128, "Ampere"),
        ("8.7", 164, 166912, 1536, 16, 128, "Ampere"),
        ("8.9", 100, 101376, 1536, 24, 128, "Ada Lovelace"),
        ("9.0", 228, 232448, 2048, 32, 128, "Hopper"),
        ("10.0", 228, 232448, 2048, 32, 128, "Blackwell"),
        ("10.3", 228, 232448, 2048, 32, 128, "Blackwell"),
        ("11.0", 228, 232448, 1536, 24, 128, "Blackwell"),
        ("12.0", 100, 101376, 1536, 24, 128, "Blackwell"),
        ("12.1", 100, 101376, 1536, 24, 128, "Blackwell"),
    ],
)
def test_cc_anchor_values(cc, per_sm_kib, optin, threads, blocks, lanes, arch):
    row = catalog.cc_limits(_cc_key(cc))
    assert row is not None
    assert row.arch_name == arch
    assert row.limits["smem_per_sm_bytes"] == per_sm_kib * 1024
    assert row.limits["smem_per_block_optin_bytes"] == optin
    assert row.limits["max_threads_per_sm"] == threads
    assert row.limits["max_blocks_per_sm"] == blocks
    assert row.fp32_lanes_per_sm == lanes


def test_cc_notes_cover_renames():
    rows = {row["cc"]: row for row in CC_ROWS}
    assert "sm_101" in rows["11.0"]["notes"] and "Thor" in rows["11.0"]["notes"]
    assert "B300" in rows["10.3"]["notes"] and "Ultra" in rows["10.3"]["notes"]
    # the sm_12x rows say which source they trust over the "sm_120 is B200 / 228 KB" claims
    for cc in ("12.0", "12.1"):
        assert "101376" in rows[cc]["conflicts"]


# ----------------------------------------------------------------------------- gpu table


def test_gpu_row_count():
    assert len(GPU_ROWS) >= 70
    assert len(catalog.gpu_rows()) == len(GPU_ROWS)


@pytest.mark.parametrize("row", GPU_ROWS, ids=lambda r: r.get("key", "?"))
def test_gpu_row_fields(row):
    missing = [f for f in GPU_REQUIRED if f not in row]
    assert not missing, f"{row.get('key')} lacks {missing}"
    unknown = set(row) - GPU_KNOWN_FIELDS
    assert not unknown, f"{row['key']} has unknown fields {unknown} (typo? the loader ignores them)"
    assert row["key"] == row["key"].lower() and " " not in row["key"]
    _check_sources(row, [f for f in VALUE_FIELDS if f in row], "compute_capability", "nvml_names", "arch_name")
    assert _cc_key(row["compute_capability"]) in catalog.cc_table(), row["compute_capability"]
    assert isinstance(row["sm_count"], int) and 1 <= row["sm_count"] <= 256
    for field in ("aliases", "nvml_names"):
        assert isinstance(row.get(field, []), list)
    for field in ("l2_bytes", "memory_bus_width_bits"):
        if field in row:
            assert isinstance(row[field], int) and row[field] > 0
    for field in ("memory_gib", "memory_bandwidth_gbps", "bf16_dense_tflops"):
        if field in row:
            assert isinstance(row[field], (int, float)) and row[field] > 0
    # Volta/Turing have no BF16 tensor cores: the field must be absent and the row must say why
    major, _ = _cc_key(row["compute_capability"])
    if major == 7:
        assert "bf16_dense_tflops" not in row
        assert "BF16" in row.get("notes", "")


def test_gpu_keys_unique():
    keys = [row["key"] for row in GPU_ROWS]
    assert len(keys) == len(set(keys))


def test_no_name_or_alias_shared_between_rows():
    """Every name a user or NVML can produce (key, name, aliases, nvml_names, normalised the way
    lookup() normalises them) belongs to exactly one row, so exact lookups are never ambiguous."""
    owner: dict[tuple, str] = {}
    for row in catalog.gpu_rows():
        for cand in row.names:
            norm = names.tokens(cand)
            assert norm, f"{row.key}: empty name {cand!r}"
            prev = owner.setdefault(norm, row.key)
            assert prev == row.key, f"{cand!r} is claimed by both {prev} and {row.key}"


@pytest.mark.parametrize("row", catalog.gpu_rows(), ids=lambda r: r.key)
def test_every_row_resolves_to_itself(row):
    assert lookup(row.key).catalogue_key == row.key
    assert lookup(row.name).catalogue_key == row.key
    for alias in row.aliases:
        assert lookup(alias).catalogue_key == row.key, alias
    for nvml in row.data.get("nvml_names", ()):
        assert catalog.find_row_for_live_name(nvml).key == row.key


def test_facts_from_rows_build():
    for row in catalog.gpu_rows():
        facts = catalog.facts_from_row(row)
        assert facts.sm_count == row.data["sm_count"]
        assert facts.smem_per_block_optin_bytes is not None
        assert facts.cuda_cores == facts.sm_count * catalog.cc_limits(row.compute_capability).fp32_lanes_per_sm


# ----------------------------------------------------------------------------- spot checks


@pytest.mark.parametrize(
    "query, sm_count",
    [
        ("3070", 46),
        ("3060", 28),
        ("3080", 68),
        ("3090", 82),
        ("2080 ti", 68),
        ("4090", 128),
        ("5090", 170),
        ("a10g", 80),
        ("a10", 72),
        ("l4", 58),
        ("l40s", 142),
        ("h100 pcie", 114),
        ("h200", 132),
        ("h20", 78),
        ("b200", 148),
        ("RTX PRO 6000", 188),
        ("gb10", 48),
        ("t4", 40),
        ("v100", 80),
        ("orin", 16),
        ("jetson thor", 20),
        ("a100", 108),
        # laptop parts have fewer SMs than the desktop card of the same name
        ("rtx 4060 laptop", 24),
        ("4080 laptop", 58),
        ("3080 laptop", 48),
        ("5090 laptop", 82),
        ("gtx 1650", 14),
        ("gtx 1660 ti", 24),
        ("5070 ti", 70),
        ("l20", 92),
        ("a800", 108),
    ],
)
def test_sm_counts(query, sm_count):
    assert lookup(query).sm_count == sm_count


def test_l2_spot_checks():
    assert lookup("4090").l2_bytes == 72 * 2**20
    assert lookup("5090").l2_bytes == 96 * 2**20
    assert lookup("h100").l2_bytes == 50 * 2**20


def test_gb10_spark():
    facts = lookup("gb10")
    assert facts.sm == "sm_121"
    assert facts.smem_per_block_optin_bytes == 101376
    assert facts.smem_per_sm_bytes == 102400
    assert facts.max_threads_per_sm == 1536
    assert facts.memory_bandwidth_bytes_per_s == 273 * 10**9
    assert facts.memory_total_bytes == 128 * catalog.GIB
    for query in ("dgx spark", "spark", "NVIDIA GB10"):
        assert lookup(query).catalogue_key == facts.catalogue_key


def test_sm_121_resolves():
    facts = lookup("sm_121")
    assert facts.sm == "sm_121"
    assert facts.smem_per_block_optin_bytes == 101376


def test_b200_is_sm_100():
    facts = lookup("b200")
    assert facts.sm == "sm_100"
    assert facts.smem_per_block_optin_bytes == 232448


def test_every_sm_12x_row_has_99_kib_optin():
    rows = [r for r in catalog.gpu_rows() if r.compute_capability[0] == 12]
    assert len(rows) >= 5
    for row in rows:
        assert catalog.facts_from_row(row).smem_per_block_optin_bytes == 101376, row.key


def test_bare_names_pick_the_common_variant():
    assert lookup("H100").name == "NVIDIA H100 SXM5 80GB"
    assert lookup("h100").catalogue_key == "h100-sxm"
    assert lookup("a100").catalogue_key == "a100-sxm4-80gb"
    assert lookup("RTX PRO 6000").catalogue_key == "rtx-pro-6000-blackwell"


def test_forgiving_queries():
    assert lookup("rtx 3070").catalogue_key == "rtx-3070"
    assert lookup("NVIDIA GeForce RTX 3070").catalogue_key == "rtx-3070"
    assert lookup("3070 ti").catalogue_key == "rtx-3070-ti"
    assert lookup("a10g").catalogue_key == "a10g"
    assert lookup("jetson orin").catalogue_key == "jetson-agx-orin-64gb"
    assert lookup("jetson orin").sm == "sm_87"
    assert lookup("jetson thor").sm == "sm_110"
    assert lookup("b300").sm == "sm_103"
    assert lookup("Tesla T4").catalogue_key == "t4"


def test_live_nvml_names_map_to_rows():
    cases = {
        "NVIDIA H100 80GB HBM3": "h100-sxm",
        "NVIDIA GeForce RTX 3070": "rtx-3070",
        "NVIDIA A100-SXM4-80GB": "a100-sxm4-80gb",
        "A100-SXM4-80GB": "a100-sxm4-80gb",  # older drivers omit the NVIDIA prefix
        "Tesla T4": "t4",
        "Tesla V100-SXM2-32GB": "v100-sxm2-32gb",
        "NVIDIA H200": "h200",
        "NVIDIA GB10": "dgx-spark-gb10",
        "NVIDIA B200": "b200",
        "NVIDIA RTX PRO 6000 Blackwell Server Edition": "rtx-pro-6000-blackwell-server",
    }
    for nvml, key in cases.items():
        row = catalog.find_row_for_live_name(nvml)
        assert row is not None and row.key == key, nvml


def test_bf16_is_dense_not_sparse():
    # published dense figures (sparse is exactly 2x these)
    expected = {"h100": 989.4, "a100": 312, "4090": 165.2, "5090": 209.5, "rtx a6000": 154.8, "l40s": 362.05}
    for query, tflops in expected.items():
        assert lookup(query).bf16_dense_tflops == pytest.approx(tflops), query
    assert lookup("t4").bf16_dense_tflops is None
    assert lookup("v100").bf16_dense_tflops is None


# ----------------------------------------------------------------------------- evidence


def test_values_carry_their_best_source():
    facts = lookup("h200")
    assert facts.evidence["sm_count"]["kind"] == "live"
    assert facts.evidence["memory_bandwidth_bytes_per_s"]["kind"] == "datasheet"
    src = facts.catalogue_sources[facts.evidence["memory_bus_width_bits"]["source"]]
    assert src["kind"] == "live" and "memory_bus_width_bits" in src["fields"] and src["row"] == "gpus.toml h200"
    cc_src = facts.catalogue_sources[facts.evidence["smem_per_block_optin_bytes"]["source"]]
    assert cc_src["row"] == "compute_capabilities.toml 9.0" and cc_src["kind"] == "live"
    derived = lookup("rtx 4090 d")
    assert derived.evidence["bf16_dense_tflops"]["kind"] == "derived"


LIVE_H200 = Path(__file__).resolve().parents[1] / "bench/results/2026-12-01-h200-ground-truth/facts.json"


def test_h200_row_is_the_live_h200():
    """Every value the H200 row and the 9.0 row mark live equals what the H200 we are lent reported."""
    import json

    doc = json.loads(LIVE_H200.read_text())
    attrs = {v["id"]: v["value"] for v in doc["cuda"]["attributes"].values()}
    live = {
        "sm_count": attrs[16],
        "l2_bytes": attrs[38],
        "memory_bus_width_bits": attrs[37],
        "memory_gib": round(doc["nvml"]["memory_total_bytes"] / 2**30, 1),
        "smem_per_block_optin_bytes": attrs[97],
        "smem_per_sm_bytes": attrs[81],
        "smem_per_block_bytes": attrs[8],
        "smem_reserved_per_block_bytes": attrs[111],
        "regs_per_sm": attrs[82],
        "regs_per_block": attrs[12],
        "max_threads_per_sm": attrs[39],
        "max_threads_per_block": attrs[1],
        "max_blocks_per_sm": attrs[106],
        "warp_size": attrs[10],
        "fp32_lanes_per_sm": doc["nvml"]["num_gpu_cores"] // attrs[16],
    }
    row = next(r for r in GPU_ROWS if r["key"] == "h200")
    cc = next(r for r in CC_ROWS if r["cc"] == "9.0")
    checked = 0
    for table in (row, cc):
        for src in table["sources"]:
            if src["kind"] == "live" and "bench/results/2026-12-01-h200" in src["text"]:
                for f in src["fields"]:
                    if f in live:
                        assert table[f] == live[f], f
                        checked += 1
    assert checked >= 14
    assert doc["cuda"]["name"] in row["nvml_names"]


def test_memory_clock_and_bus_give_the_bandwidth():
    """A memory clock (deviceQuery's, half the data rate) x 2 x the bus equals the row's bandwidth; on
    GB10's LPDDR5x deviceQuery's clock is the data rate itself (8533 MHz for LPDDR5x-8533)."""
    data_rate_clock = {"dgx-spark-gb10"}
    checked = 0
    for row in catalog.gpu_rows():
        d = row.data
        if d.get("memory_clock_max_mhz") and d.get("memory_bus_width_bits") and d.get("memory_bandwidth_gbps"):
            rate = 1 if row.key in data_rate_clock else 2
            derived = d["memory_bus_width_bits"] / 8 * d["memory_clock_max_mhz"] * rate / 1000
            assert abs(derived - d["memory_bandwidth_gbps"]) / d["memory_bandwidth_gbps"] < 0.03, (row.key, derived)
            checked += 1
    assert checked >= 20
