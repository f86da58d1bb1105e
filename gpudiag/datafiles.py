"""Reading the TOML catalogues shipped in the package, with a parsed copy cached as JSON.

The catalogues are TOML so people can read and review them (comments, sources beside values),
but parsing TOML costs tens of milliseconds on every start, and `gpudiag explain-warning` must
answer a single line in well under half a second. The first run writes the parsed data as JSON
in gpudiag's cache folder (``gpudiag.fileio.cache_dir``; keyed by the file's path, size and mtime); later runs load that.
A cache that cannot be written or read is simply skipped.
"""

from __future__ import annotations

import hashlib
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from gpudiag.fileio import cache_dir, write_json_atomic

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib


def load_toml(package: str, relative: str) -> dict[str, Any]:
    """Parse ``relative`` (e.g. ``"data/gpus.toml"``) inside ``package``."""
    resource = resources.files(package).joinpath(relative)
    try:
        path = Path(str(resource))
        st = path.stat()
        key = hashlib.sha1(f"{path}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:20]
        cached = cache_dir() / f"{path.stem}-{key}.json"
    except (OSError, TypeError, ValueError):  # not a plain file (zipped package): no cache
        cached = None
    if cached is not None:
        try:
            return json.loads(cached.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
    data = tomllib.loads(resource.read_text(encoding="utf-8"))
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(cached, data, indent=None)
        except (OSError, TypeError, ValueError):
            pass  # read-only home, or a value JSON cannot hold (TOML dates): parse each time
    return data
