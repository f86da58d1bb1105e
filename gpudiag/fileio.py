"""Where gpudiag keeps its caches, and the one way it writes a JSON file: atomically.

Every JSON file gpudiag writes (the parsed-catalogue cache, check-tiles' compile cache, the
bake-off's results and its children's reports) may be read by another process or survive an
interrupted run, so it is written to a temporary file beside it and renamed into place.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


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
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.resolve().parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(document, f, indent=indent, default=str)
            f.write("\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
