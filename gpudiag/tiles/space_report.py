"""The answer of a tuning-space pre-screen (``space.screen``), its JSON, and merging shards.

The report holds plain JSON-able rows, so a report read back from a shard's ``--json`` document and
one just computed are the same thing, and ``merge`` is a union by config index. It owns its exit
status: 0 when at least one config survives on every target and every cell was answered, 1
otherwise (nothing left to tune, or a compile that could not be checked).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gpudiag.errors import EXIT_USAGE, GpudiagError

SCHEMA = "gpudiag.check-tiles-space/1"
STATUSES = ("launches", "does-not-fit", "cannot-launch", "cannot-compile", "unknown")


@dataclass
class SpaceReport:
    kernel: str
    where: str
    kernel_hash: str
    space_source: str | None
    space_size: int  # configs in the whole space
    space_hash: str
    shard: tuple[int, int] | None  # (K, N) this report screened; None: the whole space (or a merge)
    targets: list[dict[str, Any]]
    rows: list[dict[str, Any]]  # one per config screened: index, config, label, cells
    triton: str
    jobs: int
    compiled: int
    cached: int
    wall_s: float
    ignored_keys: dict[str, int] = field(default_factory=dict)
    merged_from: list[str] | None = None

    @property
    def target_labels(self) -> list[str]:
        return [t["label"] for t in self.targets]

    @staticmethod
    def survives(row: dict[str, Any]) -> bool:
        return all(c["status"] == "launches" for c in row["cells"])

    def surviving(self) -> list[dict[str, Any]]:
        """The configs that launch on every target, as given: what a tuner reads back."""
        return [r["config"] for r in self.rows if self.survives(r)]

    def dropped(self) -> list[dict[str, Any]]:
        out = []
        for r in self.rows:
            if self.survives(r):
                continue
            bad = [c for c in r["cells"] if c["status"] != "launches"]
            out.append(
                {
                    "index": r["index"],
                    "config": r["config"],
                    "statuses": {c["target"]: c["status"] for c in bad},
                    "reasons": {c["target"]: c["reason"] for c in bad},
                }
            )
        return out

    def missing(self) -> list[int]:
        """Configs of the space no row answers (a merge of some shards only); a shard misses none of its own."""
        if self.shard is not None:
            return []
        have = {r["index"] for r in self.rows}
        return [i for i in range(self.space_size) if i not in have]

    def summaries(self) -> list[dict[str, Any]]:
        out = []
        for label in self.target_labels:
            counts = dict.fromkeys(STATUSES, 0)
            for r in self.rows:
                for c in r["cells"]:
                    if c["target"] == label:
                        counts[c["status"]] += 1
            out.append({"target": label, **{k.replace("-", "_"): v for k, v in counts.items()}})
        return out

    def crashes(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return [(r, c) for r in self.rows for c in r["cells"] if c.get("crash_signal")]

    @property
    def answered(self) -> bool:
        return not self.missing() and all(c["status"] != "unknown" for r in self.rows for c in r["cells"])

    @property
    def exit_code(self) -> int:
        return 0 if self.surviving() and self.answered else 1

    def notes(self) -> list[str]:
        notes = []
        if self.ignored_keys:
            keys = ", ".join(f"{k} ({n} configs)" for k, n in sorted(self.ignored_keys.items()))
            notes.append(
                f"left out of the compile, neither an argument of {self.kernel} nor an NVIDIA compile option: {keys} "
                "(kept in the surviving configs as given)"
            )
        notes += [
            "each config is compiled by the installed Triton for each target, with the kernel's arguments as "
            "the signature says (pointers and integers divisible by 16 unless listed as not_divisible)",
            "launches = compiles, its shared memory fits the per-block opt-in limit (Triton's OutOfResources "
            "check) and the driver can launch a block (threads, registers per block); a compile whose shared "
            "memory is already over the limit stops there (no registers for it)",
            "the compiler's crashes (a segfault, an abort) are answers about that config and are cached; "
            "a timeout or a killed compile is 'unknown' and is compiled again next time",
        ]
        return notes

    def to_dict(self) -> dict[str, Any]:
        missing = self.missing()
        return {
            "schema": SCHEMA,
            "kernel": {"name": self.kernel, "where": self.where, "source_hash": self.kernel_hash},
            "space": {
                "source": self.space_source,
                "size": self.space_size,
                "hash": self.space_hash,
                "shard": None if self.shard is None else {"k": self.shard[0], "n": self.shard[1]},
                "screened": len(self.rows),
                "missing": missing,
                "merged_from": self.merged_from,
            },
            "triton": self.triton,
            "targets": self.targets,
            "surviving": self.surviving(),
            "dropped": self.dropped(),
            "summary": self.summaries(),
            "answered": self.answered,
            "exit_code": self.exit_code,
            "configs": self.rows,
            "compile": {
                "jobs": self.jobs,
                "compiled": self.compiled,
                "cached": self.cached,
                "wall_s": round(self.wall_s, 3),
            },
            "ignored_keys": self.ignored_keys,
            "notes": self.notes(),
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any], name: str = "") -> SpaceReport:
        what = f"--merge {name}".strip()
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise GpudiagError(f"{what}: not a check-tiles --kernel JSON document (schema {SCHEMA})", EXIT_USAGE)
        try:
            space, kernel, comp = doc["space"], doc["kernel"], doc["compile"]
            shard = space.get("shard")
            return cls(
                kernel=kernel["name"],
                where=kernel["where"],
                kernel_hash=kernel["source_hash"],
                space_source=space.get("source"),
                space_size=int(space["size"]),
                space_hash=space["hash"],
                shard=None if shard is None else (int(shard["k"]), int(shard["n"])),
                targets=list(doc["targets"]),
                rows=list(doc["configs"]),
                triton=doc["triton"],
                jobs=int(comp["jobs"]),
                compiled=int(comp["compiled"]),
                cached=int(comp["cached"]),
                wall_s=float(comp["wall_s"]),
                ignored_keys=dict(doc.get("ignored_keys") or {}),
                merged_from=space.get("merged_from"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise GpudiagError(f"{what}: a damaged document ({type(exc).__name__}: {exc})", EXIT_USAGE) from None


def merge(reports: list[tuple[str, SpaceReport]]) -> SpaceReport:
    """One answer from the shards' reports: the same kernel, space, targets and Triton, rows united."""
    if not reports:
        raise GpudiagError("--merge needs at least one JSON document", EXIT_USAGE)
    first_name, first = reports[0]
    rows: dict[int, dict[str, Any]] = {}
    for name, rep in reports:
        for attr, words in (
            ("kernel_hash", "another kernel (its source differs)"),
            ("space_hash", "another space"),
            ("target_labels", "other targets"),
            ("triton", "another Triton"),
        ):
            if getattr(rep, attr) != getattr(first, attr):
                raise GpudiagError(
                    f"--merge: {name} screened {words} than {first_name} ({getattr(rep, attr)} vs "
                    f"{getattr(first, attr)}); merge the shards of one run",
                    EXIT_USAGE,
                )
        for row in rep.rows:
            rows.setdefault(int(row["index"]), row)
    merged = SpaceReport(
        kernel=first.kernel,
        where=first.where,
        kernel_hash=first.kernel_hash,
        space_source=first.space_source,
        space_size=first.space_size,
        space_hash=first.space_hash,
        shard=None,
        targets=first.targets,
        rows=[rows[i] for i in sorted(rows)],
        triton=first.triton,
        jobs=max(r.jobs for _, r in reports),
        compiled=sum(r.compiled for _, r in reports),
        cached=sum(r.cached for _, r in reports),
        wall_s=max(r.wall_s for _, r in reports),  # the shards ran side by side
        ignored_keys=first.ignored_keys,
        merged_from=[n for n, _ in reports],
    )
    return merged
