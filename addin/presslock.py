"""One sending press at a time per workbook: a marker file in the temp folder while it runs.

On Windows Excel waits for Python, but on a Mac RunPython returns at once: a second click of
Submit could otherwise send the same updates twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import xlwings as xw

from .errors import AddinError


def lock_path(book: xw.Book) -> Path:
    """The marker that a sending press is running for this workbook (one per workbook path)."""
    digest = hashlib.sha256(str(book.fullname).encode("utf-8")).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"achieveit-updates-{digest}.lock"


@contextlib.contextmanager
def one_press_at_a_time(book: xw.Book, action: str, *, stale_after: float) -> Iterator[None]:
    """Refuse a second Submit/Refresh while one runs for the same workbook.

    A marker older than `stale_after` seconds (longer than any press can last) is stale: a press
    that crashed left it behind, so it is removed.
    """
    path = lock_path(book)
    for _attempt in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            try:
                age = time.time() - path.stat().st_mtime
                running = path.read_text(encoding="utf-8").strip() or "Another button"
            except OSError:
                continue  # it just went away: try again
            if age < stale_after:
                raise AddinError(
                    f"{running} is still running for this workbook. Wait until it has "
                    f"finished (its message appears), then press {action} again."
                ) from None
            path.unlink(missing_ok=True)
    else:
        raise AddinError(f"{action} could not start; please press it again.")
    try:
        os.write(fd, action.encode("utf-8"))
        os.close(fd)
        yield
    finally:
        path.unlink(missing_ok=True)
