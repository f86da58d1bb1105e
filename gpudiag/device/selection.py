"""Which GPU a command talks about: one policy, and one wording of every mistake, for every command.

What a user can say, in every command that has the option:

  (nothing)          the live GPU: every visible one where the command reports on several (``info``),
                     else CUDA ordinal 0
  --index N          the live GPU at CUDA ordinal N (as CUDA_VISIBLE_DEVICES numbers them)
  --gpu A[,B...]     catalogue GPUs, by the names people type ('RTX 4090', h100, 'rtx 4090 laptop');
                     no GPU needed
  --arch SM[,SM...]  architectures (sm_90, sm_121): their limits, no SM count; no GPU needed
  --smem-limit B     a per-block shared-memory limit that replaces every target's; alone, a target
                     with no architecture (check-tiles)

What each combination means:

- A command that reasons about one GPU (``explain-warning``, ``check-tiles`` on configs) takes one of
  --gpu, --arch and --index. Two names, or a name and --index, are a mistake.
- A command that compares GPUs (``info --gpu A,B``, ``check-tiles --from-triton-cache``) takes lists:
  its targets are every --gpu and --arch named (each once, in the order given), and the live GPU when
  nothing is named or --index asks for it.
- Names are checked before the environment: a misspelt GPU is reported as such on a machine without
  a GPU, never as "no GPU".

Commands call ``select`` with what the user typed, then ``resolve`` (all targets) or ``resolve_one``;
the error words live here only, so the same mistake reads the same everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gpudiag.device.facts import DeviceFacts
from gpudiag.errors import EXIT_USAGE, DeviceUnavailable, GpudiagError

LIST_GPUS = "gpudiag info --list-gpus lists them"
GPU_EXAMPLE = "--gpu 'RTX 4090' or --gpu h100,a100"
ARCH_EXAMPLE = "--arch sm_89 or --arch sm_80,sm_90"


@dataclass(frozen=True)
class Selection:
    """What the user asked for, checked but not yet looked up."""

    gpus: tuple[str, ...] = ()  # --gpu, as typed (each stripped)
    archs: tuple[str, ...] = ()  # --arch, as typed
    index: int | None = None  # --index
    smem_limit: int | None = None  # --smem-limit, bytes

    @property
    def named(self) -> int:
        return len(self.gpus) + len(self.archs)

    @property
    def wants_live(self) -> bool:
        """The live GPU is a target: nothing named, or --index given."""
        return self.index is not None or self.named == 0

    @property
    def offline(self) -> bool:
        """Every target comes from the catalogue: no driver is asked anything."""
        return not self.wants_live


@dataclass(frozen=True)
class Target:
    """One GPU a command reasons about, under the label its report shows."""

    label: str  # "H100 SXM5 80GB", "sm_90", or the live GPU's short name
    facts: DeviceFacts
    asked: str  # what selected it: "--gpu h100", "--arch sm_90", "--index 1", "live"


def split_list(text: str | None, option: str) -> tuple[str, ...]:
    """``"a, b"`` -> ``("a", "b")``, each once; an empty item is a mistake (``--gpu h100,``)."""
    if text is None:
        return ()
    items = [s.strip() for s in text.split(",")]
    if not any(items) or not all(items):
        raise GpudiagError(empty_message(option), EXIT_USAGE)
    return tuple(dict.fromkeys(items))


def empty_message(option: str) -> str:
    if option == "--arch":
        return f"--arch needs an architecture, e.g. {ARCH_EXAMPLE}"
    return f"--gpu needs a GPU name, e.g. {GPU_EXAMPLE} ({LIST_GPUS})"


def select(
    gpu: str | None = None,
    arch: str | None = None,
    index: int | None = None,
    smem_limit: int | None = None,
    *,
    many: bool = False,
) -> Selection:
    """Check what the user typed against the policy (see the module's docstring); no lookup yet.

    ``many``: the command compares several GPUs (lists, and --index beside names); otherwise it
    reasons about one."""
    gpus = split_list(gpu, "--gpu")
    archs = split_list(arch, "--arch")
    if index is not None and index < 0:
        raise GpudiagError(f"--index takes a whole number of 0 or more, got {str(index)!r}", EXIT_USAGE)
    if smem_limit is not None and smem_limit <= 0:
        raise GpudiagError(f"--smem-limit must be a positive number of bytes, got {smem_limit}", EXIT_USAGE)
    sel = Selection(gpus, archs, index, smem_limit)
    if not many:
        asked = [*(f"--gpu {g}" for g in gpus), *(f"--arch {a}" for a in archs)]
        if index is not None:
            asked.append(f"--index {index}")
        if len(asked) > 1:
            raise GpudiagError(one_gpu_message(asked), EXIT_USAGE)
    return sel


def one_gpu_message(asked: list[str]) -> str:
    return f"give one GPU here, got {len(asked)}: {', '.join(asked)}"


def short_name(name: str) -> str:
    """A GPU's name as a column label: without the vendor words ("NVIDIA", "GeForce")."""
    return " ".join(re.sub(r"\b(NVIDIA|GeForce)\b", " ", name).split()) or name


def resolve_named(sel: Selection) -> list[Target]:
    """The named targets (--arch, then --gpu, as the cache report has always ordered them), each once
    by label; a name the catalogue does not know raises, with the closest names."""
    from gpudiag.device import catalog, lookup

    found: dict[str, Target] = {}
    for item in sel.archs:
        facts = catalog.facts_from_cc(catalog.parse_cc(item))
        found.setdefault(facts.sm, Target(facts.sm, facts, f"--arch {item}"))
    for item in sel.gpus:
        facts = lookup.lookup(item)
        label = short_name(facts.name)
        found.setdefault(label, Target(label, facts, f"--gpu {item}"))
    return list(found.values())


def live(index: int | None = None, *, nvml_only: bool = False) -> tuple[DeviceFacts | None, str | None]:
    """The live GPU at ``index`` (default 0), or (None, why) where there is none."""
    from gpudiag.device import probe

    try:
        devices, _ = probe.probe(index if index is not None else 0, nvml_only=nvml_only)
    except DeviceUnavailable as exc:
        return None, exc.message
    return devices[0], None


def no_live_message(why: str, instead: tuple[str, ...] = ("--gpu NAME", "--arch SM")) -> str:
    return f"no live GPU ({why}); name one instead: {' or '.join(instead)}"


def resolve(
    sel: Selection, *, nvml_only: bool = False, instead: tuple[str, ...] = ("--gpu NAME", "--arch SM")
) -> list[Target]:
    """Every target of the selection: the named ones, then the live GPU where the selection wants it.
    A live GPU that is wanted and absent raises (exit 2), naming the alternatives in ``instead``."""
    targets = resolve_named(sel)
    if sel.wants_live:
        facts, why = live(sel.index, nvml_only=nvml_only)
        if facts is None:
            raise GpudiagError(no_live_message(why or "none visible", instead), EXIT_USAGE)
        label = short_name(facts.name)
        if all(t.label != label for t in targets):
            targets.append(Target(label, facts, "live" if sel.index is None else f"--index {sel.index}"))
    return targets


def resolve_one(
    sel: Selection, *, nvml_only: bool = False, instead: tuple[str, ...] = ("--gpu NAME", "--arch SM")
) -> DeviceFacts:
    """The one GPU of a single-GPU command's selection."""
    if sel.named > 1:
        raise GpudiagError(one_gpu_message([*sel.gpus, *sel.archs]), EXIT_USAGE)
    return resolve(sel, nvml_only=nvml_only, instead=instead)[0].facts


def resolve_or_none(sel: Selection, *, nvml_only: bool = False) -> tuple[DeviceFacts | None, str | None]:
    """A single-GPU command that still answers without a GPU: the named one, else the live one or
    (None, why) where there is none. Bad names still raise."""
    if sel.offline:
        return resolve_one(sel), None
    return live(sel.index, nvml_only=nvml_only)
