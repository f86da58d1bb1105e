"""In which releases of Triton or torch a module defines a name, or the package has a module: the
answer to ``module 'triton.language' has no attribute 'X'``, ``cannot import name 'X' from
'torch._inductor.utils'`` and ``No module named 'torch.nn.attention'``.

The releases come from ``data/<package>_api.toml``, which bench/explain/api_history.py writes from each
release's wheel; the installed version is read from the package's metadata (nothing imported).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Literal

from gpudiag.files import load_toml
from gpudiag.installed.versions import torch_version, triton_version, version_tuple

Package = Literal["triton", "torch"]
PACKAGES: tuple[Package, ...] = ("triton", "torch")
_MODULE = r"(?P<module>(?:triton|torch)(?:\.\w+)*)"
MISSING_NAME_RXS = (
    re.compile(rf"module '{_MODULE}' has no attribute '(?P<name>\w+)'"),
    re.compile(rf"cannot import name '(?P<name>\w+)' from '{_MODULE}'"),
    # torch's config modules (torch/utils/_config_module.py): "torch._inductor.config.X does not exist"
    re.compile(r"(?P<module>torch(?:\.\w+)*\.config)\.(?P<name>\w+(?:\.\w+)?) does not exist"),
)
# the bare package too ("No module named 'triton'"): it names the package, though no release history answers it
MISSING_MODULE_RX = re.compile(r"No module named '(?P<module>(?:triton|torch)(?:\.\w+)*)'")
MOVED_SHOWN = 2  # how many other places of a name the answer lists (newest first)


@functools.lru_cache(maxsize=len(PACKAGES))
def _data(package: Package) -> dict[str, Any]:
    return load_toml("gpudiag.explain", f"data/{package}_api.toml")


def _in_spans(version: str, spans: str) -> bool:
    v = version_tuple(version)
    for span in filter(None, spans.split(",")):
        lo, _, hi = span.partition("..")
        if version_tuple(lo) <= v <= version_tuple(hi):
            return True
    return False


@dataclass(frozen=True)
class NameHistory:
    """Where ``module.name`` exists across the releases gpudiag knows."""

    package: Package
    module: str
    name: str
    releases: tuple[str, ...]  # every release in the data, oldest first
    present: tuple[str, ...]  # the releases whose module defines the name
    # where else it is: (the qualified name there, its releases): the name in another module, or the
    # module that took over a removed submodule's names
    elsewhere: tuple[tuple[str, tuple[str, ...]], ...]
    is_module: bool = False  # the name is a module of the package (ModuleNotFoundError)
    # the module star-imports (torch from its C extension): a name its source lacks may still be there
    unseen_names: bool = False
    # the module exists but gpudiag records only its releases, not its names: ``present`` are those
    names_unrecorded: bool = False

    @property
    def qualified(self) -> str:
        return f"{self.module}.{self.name}"

    @property
    def added_in(self) -> str | None:
        if not self.present or self.present[0] == self.releases[0]:
            return None
        return self.present[0]

    @property
    def removed_in(self) -> str | None:
        if not self.present or self.present[-1] == self.releases[-1]:
            return None
        return self.releases[self.releases.index(self.present[-1]) + 1]

    def in_release(self, version: str) -> bool | None:
        """Whether ``version`` has the name; a release newer than the data counts as the newest one."""
        v = version_tuple(version)
        if not v or v < version_tuple(self.releases[0]) or self.names_unrecorded:
            return None
        newest = self.releases[-1]
        # a patch release (3.1.1) has the names of its minor release (3.1.0); a newer one, the newest's
        release = (
            newest if v > version_tuple(newest) else next(r for r in reversed(self.releases) if version_tuple(r) <= v)
        )
        if release in self.present:
            return True
        return None if self.unseen_names else False  # the C extension may add what the source lacks

    @property
    def label(self) -> str:
        return "Triton" if self.package == "triton" else "torch"

    def describe(self) -> str:
        first, newest, p = self.releases[0], self.releases[-1], self.label
        if self.names_unrecorded:
            return (
                f"the module {self.module} is in {_span_words(p, self.present)}; gpudiag records the names of "
                f"{p}'s most-imported modules only, so which releases define {self.qualified} is not known here"
            )
        if not self.present and self.unseen_names:
            text = (
                f"the Python source of {p} {first} to {newest} never defines {self.qualified}; {self.module} "
                "also takes names from torch's C extension, which gpudiag does not read, so it may still be one of those"
            )
        elif not self.present:
            has = "has a module" if self.is_module else "defines"
            text = (
                f"no {p} release from {first} to {newest} {has} {self.qualified} (a typo, another library's "
                f"name, or a name of a release before {first}, which gpudiag's data does not cover)"
            )
        elif self.added_in and self.removed_in:
            where = _span_words(p, self.present).removesuffix(" only")
            text = f"{self.qualified} exists only in {where}: added in {self.added_in}, removed in {self.removed_in}"
        elif self.added_in:
            before = self.releases[: self.releases.index(self.added_in)]
            lack = f"{before[0]} lacks" if len(before) == 1 else f"{before[0]} to {before[-1]} lack"
            text = f"{self.qualified} was added in {p} {self.added_in} ({lack} it)"
        elif self.removed_in:
            text = f"{self.qualified} was removed in {p} {self.removed_in} (it is in {_span_words(p, self.present)})"
        else:
            text = (
                f"every release from {p} {first} to {newest} has {self.qualified}: the {p} that raised this is "
                f"older than {first}, or another module shadows it (a file or folder named "
                f"{self.package}.py or {self.package}/ in the working directory, a half-removed install)"
            )
        if self.unseen_names and (self.added_in or self.removed_in):  # the C extension may hold it elsewhen
            text += (
                f" (in its Python source; {self.module} also takes names from torch's C extension, which gpudiag "
                "does not read)"
            )
        moved = [f"{where} ({_span_words(p, rs)})" for where, rs in self.elsewhere[:MOVED_SHOWN]]
        if moved:
            text += "; " + ("it is also " if self.present else "it is ") + " and ".join(moved)
        if self.removed_in and self.elsewhere:
            where, rs = self.elsewhere[0]
            on = f"{rs[0]} and later" if rs[-1] == newest else f"{rs[0]} to {rs[-1]}"
            text += f": use {where} on {p} {on}, or pin a release that has the old name"
        return text

    def fix_command(self) -> str | None:
        """The pip command that gets a release with the name (the moved name is in ``describe``)."""
        if self.names_unrecorded:
            return None
        if self.added_in and not self.removed_in:
            return f'pip install "{self.package}>={self.added_in}"'
        if self.removed_in:
            return f'pip install "{self.package}<{self.removed_in}"'
        return None


def _span_words(label: str, releases: tuple[str, ...]) -> str:
    return f"{label} {releases[0]} only" if len(releases) == 1 else f"{label} {releases[0]} to {releases[-1]}"


def _present_in(releases: tuple[str, ...], spans: str) -> tuple[str, ...]:
    return tuple(r for r in releases if _in_spans(r, spans))


def _package(module: str) -> Package | None:
    root = module.partition(".")[0]
    return next((p for p in PACKAGES if p == root), None)


def history(module: str, name: str) -> NameHistory | None:
    """The releases of ``module`` that define ``name``, and the other modules that have it; None for a
    module gpudiag has no data for. A name that is a submodule is answered as the module."""
    package = _package(module)
    if package is None:
        return None
    data = _data(package)
    if f"{module}.{name}" in data["exists"]:
        return module_history(f"{module}.{name}")
    releases = tuple(data["releases"])
    modules: dict[str, dict[str, str]] = data["module"]
    if module not in modules:
        lived = _present_in(releases, data["exists"].get(module, ""))
        if not lived:
            return None
        return NameHistory(package, module, name, releases, lived, (), names_unrecorded=True)
    present = _present_in(releases, modules[module].get(name, ""))
    last = version_tuple(present[-1]) if present else ()
    imported_only = data.get("imported", {})
    found = []
    for other, names in modules.items():
        rs = _present_in(releases, names.get(name, "")) if other != module else ()
        # where a removed name went: a module that has it after its last release here (any, if never here)
        if rs and version_tuple(rs[-1]) > last:
            found.append((f"{other}.{name}", rs))
    # a submodule that was removed: the modules that took over most of its names
    found += _successors(package, f"{module}.{name}")
    # the newest first; among equals, the module that defines the name before one that imports it
    found.sort(
        key=lambda item: (version_tuple(item[1][-1]), name not in imported_only.get(item[0].rpartition(".")[0], ())),
        reverse=True,
    )
    unseen = bool(data.get("star", {}).get(module))
    return NameHistory(package, module, name, releases, present, tuple(dict.fromkeys(found)), unseen_names=unseen)


SUCCESSOR_SHARE = 0.5  # a module is a removed module's successor when it has this share of its names


def _successors(package: Package, module: str) -> list[tuple[str, tuple[str, ...]]]:
    """For a module that was removed (``triton.language.libdevice``), the modules that have most of its
    names in the releases after it; each with its releases, and its name standing for the module."""
    data = _data(package)
    releases = tuple(data["releases"])
    modules: dict[str, dict[str, str]] = data["module"]
    if module not in modules:
        return []
    lived = _present_in(releases, data["exists"].get(module, ""))
    if not lived or lived[-1] == releases[-1]:
        return []
    gone = releases[releases.index(lived[-1]) + 1]
    old = {n for n, spans in modules[module].items() if _in_spans(lived[-1], spans)}
    out = []
    for other, names in modules.items():
        if other == module or not old:
            continue
        # the releases from the removal on in which `other` holds most of the old module's names
        took_over = []
        for release in releases[releases.index(gone) :]:
            if len({n for n in old if _in_spans(release, names.get(n, ""))}) < SUCCESSOR_SHARE * len(old):
                break
            took_over.append(release)
        if took_over:
            out.append((other, tuple(took_over)))
    return out


def module_history(module: str) -> NameHistory | None:
    """The releases whose package has the module ``triton.x.y``, as the name ``y`` of ``triton.x``;
    elsewhere: modules of the same name in the releases after it (where it moved)."""
    package = _package(module)
    if package is None or "." not in module:  # the package itself missing: not a question of releases
        return None
    if module == "torch._C" or module.startswith("torch._C."):  # C extension modules: no .py to read
        return None
    data = _data(package)
    releases = tuple(data["releases"])
    exists: dict[str, str] = data["exists"]
    parent, _, leaf = module.rpartition(".")
    present = _present_in(releases, exists.get(module, ""))
    last = version_tuple(present[-1]) if present else ()
    found = [
        (other, rs)
        for other, spans in exists.items()
        if other != module
        and other.rpartition(".")[2] == leaf
        and (rs := _present_in(releases, spans))
        and version_tuple(rs[-1]) > last
    ]
    found += _successors(package, module)
    found.sort(key=lambda item: version_tuple(item[1][-1]), reverse=True)
    return NameHistory(package, parent, leaf, releases, present, tuple(found), is_module=True)


def _named(line: str) -> tuple[str, str | None] | None:
    """(module, name) of the missing name the line reports; (module, None) for a missing module."""
    for rx in MISSING_NAME_RXS:
        if m := rx.search(line):
            return m.group("module"), m.group("name")
    if m := MISSING_MODULE_RX.search(line):
        return m.group("module"), None
    return None


def named_package(line: str) -> Package | None:
    """The package (Triton or torch) whose name or module the line says is missing."""
    named = _named(line)
    return _package(named[0]) if named else None


def missing(line: str) -> NameHistory | None:
    """The release history of the Triton name or module the line says is missing (an AttributeError,
    an ImportError of a name, a ModuleNotFoundError); None when the line names none gpudiag knows."""
    named = _named(line)
    if named is None:
        return None
    module, name = named
    return module_history(module) if name is None else history(module, name)


def installed(package: Package) -> str | None:
    """The installed release of ``package``, from its metadata."""
    return triton_version() if package == "triton" else torch_version()
