"""gpudiag's files: the TOML catalogues it ships, its cache folder, and the one way it writes JSON.

Catalogues are TOML so people can read and review them (comments, sources beside values), but
parsing TOML costs tens of milliseconds on every start, and `gpudiag explain-warning` must answer
a single line in well under half a second. The first run writes the parsed data as JSON in the
cache folder (keyed by the file's path, size and mtime); later runs load that. A cache that
cannot be written or read is simply skipped.

Every JSON file gpudiag writes for itself (the parsed-catalogue cache, check-tiles' compile
cache, the bake-off's children's reports) may be read by another process or survive an
interrupted run, so it is written to a temporary file beside it and renamed into place. A file
the user names (``--output``) is written the same way, onto the file a symlink points to.
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from importlib import resources
from pathlib import Path
from typing import Any


def _toml_loads(text: str) -> dict[str, Any]:
    """Parse TOML; imported on a cache miss only (every command reads the JSON copy after the first run)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10 only
        import tomli as tomllib
    return tomllib.loads(text)


def cache_dir() -> Path:
    """``$GPUDIAG_CACHE_DIR``, else ``$XDG_CACHE_HOME/gpudiag``, else ``~/.cache/gpudiag``."""
    explicit = os.environ.get("GPUDIAG_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gpudiag"


def write_json_atomic(path: str | os.PathLike[str], document: Any, *, indent: int | None = 2) -> None:
    """Write ``document`` to ``path`` so readers see the old file or the whole new one, never a part.

    Raises OSError (and TypeError/ValueError for unserialisable data); the temporary file is removed.
    """
    target = Path(path)
    import tempfile  # writes only: reads never pay for it

    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.resolve().parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(document, f, indent=indent, default=str)
            f.write("\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_user_file(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to a file the user named (``--output``), the way a careful tool writes one.

    Through a symlink to its target; only onto a regular file or a new path (a device, a FIFO, a
    socket or a folder is refused: ``OSError`` with a one-line message); atomically, so a reader
    sees the old file or the whole new one; a new file gets the mode the umask gives, a replaced
    one keeps its own. Returns the file written (the link's target for a symlink).
    """
    import stat

    target = Path(os.path.realpath(path))
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = (
            "a folder"
            if stat.S_ISDIR(st.st_mode)
            else "a FIFO"
            if stat.S_ISFIFO(st.st_mode)
            else "a socket"
            if stat.S_ISSOCK(st.st_mode)
            else "a device"
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "not a regular file"
        )
        shown = f" (through the link, {target})" if os.path.islink(path) else ""
        raise OSError(f"{path}{shown} is {kind}; give a regular file or a new path")
    if st is not None:
        mode = stat.S_IMODE(st.st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    import tempfile  # writes only: reads never pay for it

    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load_toml(package: str, relative: str) -> dict[str, Any]:
    """Parse ``relative`` (e.g. ``"data/gpus.toml"``) inside ``package``."""
    resource = resources.files(package).joinpath(relative)
    try:
        path = Path(str(resource))
        st = path.stat()
        key = f"{zlib.crc32(str(path).encode()):08x}-{st.st_size:x}-{st.st_mtime_ns:x}"  # no hashlib: 10 ms of OpenSSL
        cached = cache_dir() / f"{path.stem}-{key}.json"
    except (OSError, TypeError, ValueError):  # not a plain file (zipped package): no cache
        cached = None
    if cached is not None:
        try:
            return json.loads(cached.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
    data = _toml_loads(resource.read_text(encoding="utf-8"))
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(cached, data, indent=None)
        except (OSError, TypeError, ValueError):
            pass  # read-only home, or a value JSON cannot hold (TOML dates): parse each time
    return data
