"""The warning catalogue (``data/warnings.toml``): loaded, validated and compiled once.

Each entry is data: patterns, meaning, the gating source it cites and the fixes. Adding a warning
means adding an entry; no code changes. Validation errors name the entry so a bad row is obvious.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from gpudiag.files import load_toml
from gpudiag.errors import GpudiagError


# Most costly first: reports sort by this rank.
SEVERITIES = ("fatal", "wrong-results", "performance", "harmless")
VERDICT_RULES = ("sm_gate", "rocm_gate", "smem", "threads", "tmem", "tf32", "triton_arch", "torch_arch")
REQUIRED = ("id", "title", "severity", "needles", "patterns", "meaning", "trigger",
            "source_file", "source_function", "source_text", "fixes", "examples")


@dataclass(frozen=True)
class Fix:
    text: str
    code: str


# eq=False: entries are unique objects, and identity comparison keeps the log scan's membership
# tests cheap (a field-by-field __eq__ cost a fifth of the scan time).
@dataclass(frozen=True, eq=False)
class Entry:
    """One catalogued message."""

    id: str
    title: str
    severity: str
    needles: tuple[str, ...]
    patterns: tuple[re.Pattern, ...]
    meaning: str
    trigger: str
    source_file: str
    source_function: str
    source_text: str
    fixes: tuple[Fix, ...]
    examples: tuple[str, ...]
    generic: bool = False
    since: str | None = None
    removed_in: str | None = None
    changes: str | None = None
    verdict: str | None = None
    references: tuple[str, ...] = ()

    @property
    def severity_rank(self) -> int:
        return SEVERITIES.index(self.severity)

    @property
    def source_package(self) -> str:
        return self.source_file.split("/", 1)[0]

    def matches(self, text: str) -> bool:
        return any(p.search(text) for p in self.patterns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "severity": self.severity, "generic": self.generic,
            "meaning": self.meaning, "trigger": self.trigger,
            "source": {"file": self.source_file, "function": self.source_function, "text": self.source_text,
                       "since": self.since, "removed_in": self.removed_in, "changes": self.changes},
            "verdict_rule": self.verdict,
            "fixes": [{"text": f.text, "code": f.code} for f in self.fixes],
            "patterns": [p.pattern for p in self.patterns],
            "references": list(self.references),
        }


@dataclass(frozen=True)
class Catalogue:
    entries: tuple[Entry, ...]
    by_id: dict[str, Entry] = field(default_factory=dict)

    def get(self, entry_id: str) -> Entry | None:
        return self.by_id.get(entry_id)


def _entry(row: dict[str, Any]) -> Entry:
    rid = row.get("id", "<no id>")
    missing = [k for k in REQUIRED if not row.get(k)]
    if missing:
        raise GpudiagError(f"warnings catalogue entry {rid}: missing {', '.join(missing)}")
    if row["severity"] not in SEVERITIES:
        raise GpudiagError(f"warnings catalogue entry {rid}: severity {row['severity']!r} not in {SEVERITIES}")
    if row.get("verdict") and row["verdict"] not in VERDICT_RULES:
        raise GpudiagError(f"warnings catalogue entry {rid}: unknown verdict rule {row['verdict']!r}")
    try:
        patterns = tuple(re.compile(p) for p in row["patterns"])
    except re.error as exc:
        raise GpudiagError(f"warnings catalogue entry {rid}: bad pattern: {exc}") from None
    fixes = tuple(Fix(f["text"], f.get("code", "")) for f in row["fixes"])
    return Entry(
        id=rid, title=row["title"], severity=row["severity"], needles=tuple(row["needles"]),
        patterns=patterns, meaning=row["meaning"].strip(), trigger=row["trigger"].strip(),
        source_file=row["source_file"], source_function=row["source_function"], source_text=row["source_text"],
        fixes=fixes, examples=tuple(row["examples"]), generic=bool(row.get("generic", False)),
        since=row.get("since"), removed_in=row.get("removed_in"), changes=row.get("changes"),
        verdict=row.get("verdict"), references=tuple(row.get("references", ())),
    )


def parse(data: dict[str, Any]) -> Catalogue:
    entries = tuple(_entry(r) for r in data.get("warning", ()))
    by_id: dict[str, Entry] = {}
    for e in entries:
        if e.id in by_id:
            raise GpudiagError(f"warnings catalogue: duplicate id {e.id}")
        by_id[e.id] = e
    return Catalogue(entries, by_id)


@functools.lru_cache(maxsize=1)
def load() -> Catalogue:
    return parse(load_toml("gpudiag.explain", "data/warnings.toml"))


@functools.lru_cache(maxsize=1)
def tf32_rows() -> tuple[dict[str, Any], ...]:
    return tuple(load_toml("gpudiag.explain", "data/tf32.toml")["gpu"])
