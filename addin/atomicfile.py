"""Writing a whole file in one step: a temp file beside it, then os.replace. No openpyxl here:
the ribbon's Export CSV uses it too."""

from __future__ import annotations

import os
from pathlib import Path


def write_bytes_atomically(target: Path, data: bytes) -> None:
    """Write `data` to `target` so that it is never left half written.

    On failure the temp file is removed and the OSError raised again, for the caller to say
    what went wrong in its own words.
    """
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
