"""Every relative link in README.md and docs/*.md resolves: the file exists, and an #anchor names a heading
of the file it points into (GitHub's slug rules) or an explicit <a id="..."> / <a name="...">. Every
repository path the docs name in `code`, and every bench/ path the package's data files cite, exists."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# [text](target) and ![alt](target); the text may hold `code` but not nested brackets
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFDEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"", re.IGNORECASE)
INLINE_CODE = re.compile(r"(`+)(.+?)\1")


def _prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation removed, spaces to hyphens."""
    text = INLINE_CODE.sub(lambda m: m.group(2), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading keeps its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.lower()
    kept = []
    for ch in text:
        if ch in " -_" or ch.isalnum() or unicodedata.category(ch) in ("Mn", "Mc"):
            kept.append(ch)
    return "".join(kept).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in _prose_lines(path.read_text(encoding="utf-8")):
        m = HEADING.match(line)
        if m:
            slug = github_slug(m.group(2))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            found.add(slug if n == 0 else f"{slug}-{n}")
        found.update(HTML_ANCHOR.findall(line))
    return found


def links(path: Path) -> list[tuple[int, str]]:
    out = []
    text = path.read_text(encoding="utf-8")
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        # links inside inline code are not links
        prose = re.sub(r"(`+)(?:(?!\1).)+?\1(?!\])", lambda m: " " * len(m.group(0)), line)
        out.extend((number, target) for target in LINK.findall(prose))
        ref = REFDEF.match(line)
        if ref:
            out.append((number, ref.group(1)))
    return out


def _relative(target: str) -> bool:
    return not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target)  # http:, https:, mailto: ...


CASES = [(doc, number, target) for doc in DOCS for number, target in links(doc) if _relative(target)]


def test_the_docs_have_relative_links():
    # the check below must have something to check: the README links the guides
    assert DOCS[0].name == "README.md"
    readme_targets = {t.split("#")[0] for d, _, t in CASES if d.name == "README.md"}
    for guide in ("docs/info.md", "docs/explain-warning.md", "docs/check-tiles.md", "docs/bakeoff.md"):
        assert guide in readme_targets, f"README.md does not link {guide}"


@pytest.mark.parametrize(
    ("doc", "number", "target"), CASES, ids=[f"{d.relative_to(ROOT)}:{n}:{t}" for d, n, t in CASES]
)
def test_relative_link_resolves(doc: Path, number: int, target: str):
    where = f"{doc.relative_to(ROOT)}:{number}: {target}"
    path_part, _, anchor = target.partition("#")
    dest = (doc.parent / path_part).resolve() if path_part else doc
    assert dest.exists(), f"{where}: no such file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}"
    if anchor:
        assert dest.suffix == ".md", f"{where}: an #anchor into a file that is not markdown"
        assert anchor in anchors(dest), f"{where}: no heading or anchor #{anchor} in {dest.relative_to(ROOT)}"


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("`gpudiag info --json`", "gpudiag-info---json"),
        ("JSON (`--json`, schema `gpudiag.check-tiles/2`)", "json---json-schema-gpudiagcheck-tiles2"),
        ("Exit codes", "exit-codes"),
        ("Waves & occupancy: 1/SM", "waves--occupancy-1sm"),
        ("Dependencies, and why each is there", "dependencies-and-why-each-is-there"),
    ],
)
def test_github_slug(heading: str, slug: str):
    assert github_slug(heading) == slug


def test_duplicate_headings_get_numbered_anchors(tmp_path: Path):
    doc = tmp_path / "x.md"
    doc.write_text("# A\n## Examples\n```\n## not a heading\n```\n## Examples\n", encoding="utf-8")
    assert anchors(doc) == {"a", "examples", "examples-1"}


# A path of this repository named in `code` (a script, a data file, a results folder) must exist too:
# renaming a file without its docs is the same drift as a broken link.
REPO_PATH = re.compile(r"^(?:bench|tests|gpudiag|docs|man)/[\w.\-/]+$")


def named_paths(path: Path) -> list[tuple[int, str]]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for m in INLINE_CODE.finditer(line):
            text = m.group(2).strip()
            first = text.split()[0] if text.split() else ""
            for candidate in {text, first}:
                candidate = candidate.rstrip(".,:;)")
                if REPO_PATH.match(candidate) and "*" not in candidate:
                    out.append((number, candidate))
    return sorted(set(out))


PATH_CASES = [(doc, number, p) for doc in DOCS for number, p in named_paths(doc)]


@pytest.mark.parametrize(
    ("doc", "number", "named"), PATH_CASES, ids=[f"{d.relative_to(ROOT)}:{n}:{p}" for d, n, p in PATH_CASES]
)
def test_named_repository_path_exists(doc: Path, number: int, named: str):
    assert (ROOT / named).exists(), f"{doc.relative_to(ROOT)}:{number}: `{named}` does not exist"


# The package's data files (the GPU catalogue, the warning catalogue, the tile constants) cite the
# bench/ scripts and results their values come from; each cited path must exist, as a named path in
# the docs must. A path inside a captured log line (/work/main/bench/...) is the log's, not a citation.
DATA_FILES = sorted(p for p in (ROOT / "gpudiag").glob("*/data/*") if p.suffix in (".toml", ".json"))
CITED_BENCH = re.compile(r"(?<![\w./-])bench/[\w./-]*\w")


def cited_bench_paths(path: Path) -> list[tuple[int, str]]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        out.extend((number, m.group(0)) for m in CITED_BENCH.finditer(line))
    return sorted(set(out))


CITED_CASES = [(data, number, p) for data in DATA_FILES for number, p in cited_bench_paths(data)]


def test_the_data_files_cite_bench_scripts():
    # the check below must have something to check: the catalogue's live rows cite the facts recorder
    cited = {p for _, _, p in CITED_CASES}
    assert "bench/info/record_facts.py" in cited, sorted(cited)


@pytest.mark.parametrize(
    ("data", "number", "cited"),
    CITED_CASES,
    ids=[f"{d.relative_to(ROOT)}:{n}:{p}" for d, n, p in CITED_CASES],
)
def test_cited_bench_path_exists(data: Path, number: int, cited: str):
    assert (ROOT / cited).exists(), f"{data.relative_to(ROOT)}:{number}: cites {cited}, which does not exist"
