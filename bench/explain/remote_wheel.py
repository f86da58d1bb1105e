"""Read a few files of a large wheel on PyPI without downloading it: HTTP range requests for the zip's
central directory and for the members asked for. For torch, whose wheels are 0.6-1 GB each, this is
what makes reading 15 releases' module files practical.

    python3 -m bench.explain.remote_wheel torch 2.4.0,2.5.0 --out DIR --member torch/library.py ...

For each version it writes DIR/<version>/ with the asked members' contents (any file: a ``.pyi``
stub too) and, for every other .py file of the wheel, an empty file of the same path (so the release's list of modules is complete), and
DIR/<version>/WHEEL_URL naming the wheel read. The wheel is the CPython 3.11 manylinux x86_64 one.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import urllib.request
import zipfile
from pathlib import Path

SIMPLE = "https://pypi.org/simple/{package}/"
BLOCK = 1 << 20  # bytes per range request: the central directory of a torch wheel is a few of these


class RangeFile(io.RawIOBase):
    """A read-only, seekable view of a URL, fetched in blocks with HTTP Range requests."""

    def __init__(self, url: str) -> None:
        self.url, self.pos, self.blocks = url, 0, {}
        req = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(req, timeout=60) as r:
            self.size = int(r.headers["Content-Length"])

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset if whence == 0 else self.pos + offset if whence == 1 else self.size + offset
        return self.pos

    def _block(self, i: int) -> bytes:
        if i not in self.blocks:
            lo, hi = i * BLOCK, min(self.size, (i + 1) * BLOCK) - 1
            req = urllib.request.Request(self.url, headers={"Range": f"bytes={lo}-{hi}"})
            with urllib.request.urlopen(req, timeout=120) as r:
                self.blocks[i] = r.read()
        return self.blocks[i]

    def read(self, n: int = -1) -> bytes:
        end = self.size if n is None or n < 0 else min(self.size, self.pos + n)
        out = bytearray()
        while self.pos < end:
            b = self._block(self.pos // BLOCK)
            start = self.pos % BLOCK
            chunk = b[start : start + (end - self.pos)]
            out += chunk
            self.pos += len(chunk)
        return bytes(out)


def wheel_url(package: str, version: str) -> str:
    page = urllib.request.urlopen(SIMPLE.format(package=package), timeout=60).read().decode()
    rx = re.compile(rf'href="([^"#]+/{package}-{re.escape(version)}-cp311-cp311-manylinux[^"#]*x86_64\.whl)')
    m = rx.search(page)
    if not m:
        raise SystemExit(f"no cp311 manylinux x86_64 wheel of {package} {version} on PyPI")
    return m.group(1)


def fetch(package: str, version: str, members: list[str], out: Path) -> int:
    url = wheel_url(package, version)
    zf = zipfile.ZipFile(RangeFile(url))
    dest = out / version
    wanted = set(members)
    n = 0
    for name in zf.namelist():
        if name not in wanted and not name.endswith(".py"):
            continue
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name in wanted:  # any file asked for (a .pyi stub too), in full
            path.write_bytes(zf.read(name))
            n += 1
        else:
            path.touch()
    (dest / "WHEEL_URL").write_text(url + "\n")
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("package")
    ap.add_argument("versions", help="comma-separated")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--member", action="append", default=[], help="a file to read whole (repeatable)")
    args = ap.parse_args(argv)
    for v in args.versions.split(","):
        n = fetch(args.package, v, args.member, args.out)
        print(f"{args.package} {v}: {n} of {len(args.member)} members read", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
