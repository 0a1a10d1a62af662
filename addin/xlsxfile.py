"""Opening and saving the user's .xlsx/.xlsm file, with errors that say what to do.

Every refusal is a WorkbookError in plain words: a missing file, a folder, a file in another
format, a password-protected or damaged workbook, no permission, a file open in Excel, a folder
that takes no new files. Saving is atomic (a temp file beside the workbook, then os.replace)
and puts back what openpyxl drops (addin/package.py), so the file is never left half written.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import warnings
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from .errors import WorkbookError
from .package import repair
from .sharedstrings import used_by_openpyxl

WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm"})
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # an encrypted .xlsx (or an old .xls) is an OLE compound file

# What a damaged or foreign file makes openpyxl / zipfile / expat raise.
UNREADABLE = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    KeyError,
    InvalidFileException,
    ET.ParseError,
    ValueError,
    TypeError,
    IndexError,
    EOFError,
    zlib.error,
)


@contextlib.contextmanager
def file_errors(path: Path) -> Iterator[None]:
    """OS errors on opening the user's file -> what to do about them."""
    try:
        yield
    except FileNotFoundError:
        raise WorkbookError(f"Can't find {path}: check the file name and folder.") from None
    except IsADirectoryError:
        raise WorkbookError(f"{path} is a folder, not a file: give the workbook's name.") from None
    except PermissionError:
        raise no_permission(path) from None


def read_bytes(path: Path) -> bytes:
    """The whole file, or a WorkbookError saying why it can't be read."""
    with file_errors(path):
        return path.read_bytes()


def check_readable(path: Path) -> None:
    """Refuse what openpyxl cannot read, with a message saying what to do instead."""
    suffix = path.suffix.lower()
    if suffix not in WORKBOOK_SUFFIXES:
        raise WorkbookError(
            f"{path.name} is a {suffix or 'file without extension'}: this tool reads .xlsx/.xlsm "
            "workbooks and CSV files. In Excel use File > Save As and choose 'Excel Workbook "
            "(*.xlsx)', 'Excel Macro-Enabled Workbook (*.xlsm)' or 'CSV UTF-8 (*.csv)'."
        )
    with file_errors(path), path.open("rb") as handle:
        start = handle.read(len(OLE_MAGIC))
    if start == OLE_MAGIC:
        raise WorkbookError(
            f"{path.name} is password-protected: remove the password (File > Info > Protect "
            "Workbook) or save an unprotected copy, then try again."
        )


def no_permission(path: Path) -> WorkbookError:
    return WorkbookError(
        f"Can't open {path}: permission denied. If it is open in another program, close it; "
        "otherwise check that you may read and change this file."
    )


def unreadable(path: Path) -> WorkbookError:
    return WorkbookError(
        f"{path} is not a readable Excel workbook; it may be damaged or not really an "
        f"{path.suffix.lower()} file. Open it in Excel and save it again (File > Save As)."
    )


@contextlib.contextmanager
def openpyxl_quiet() -> Iterator[None]:
    """openpyxl warns about what it cannot keep (x14 extensions, slicers...): they don't matter
    for reading, and restore_sheet_content puts them back on writing. Read-only worksheets
    parse lazily, so every openpyxl call must run inside this block, not only the load."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@contextlib.contextmanager
def open_read_only(path: Path) -> Iterator[Any]:
    """The workbook in openpyxl's streaming mode (values, not formulas), closed on exit."""
    with openpyxl_quiet():
        try:
            with used_by_openpyxl():
                wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
            for ws in wb.worksheets:
                # Read every row the XML holds: some programs write a wrong <dimension> ("A1"),
                # and read-only mode would stop there.
                ws.reset_dimensions()
        except PermissionError:
            raise no_permission(path) from None
        except UNREADABLE as exc:
            raise unreadable(path) from exc
        try:
            yield wb
        finally:
            wb.close()  # read-only mode keeps the file open (Windows would keep it locked)


def load_for_edit(path: Path, data: bytes) -> Any:
    """The workbook to change; call inside openpyxl_quiet."""
    try:
        return openpyxl.load_workbook(
            io.BytesIO(data),
            keep_vba=path.suffix.lower() == ".xlsm",
            data_only=False,  # keep the formulas
            keep_links=True,
        )
    except UNREADABLE as exc:
        raise unreadable(path) from exc


def lock_file(path: Path) -> Path:
    """The owner file Excel keeps beside a workbook it has open."""
    return path.with_name("~$" + path.name)


def in_use(path: Path) -> WorkbookError:
    return WorkbookError(
        f"{path.name} is open in Excel (or another program): close it, then try again."
    )


def folder_not_writable(path: Path) -> WorkbookError:
    return WorkbookError(
        f"Can't save into {path.parent}: you may not create files in that folder. Copy the "
        "workbook into a folder of your own (Documents, for example) and use that copy."
    )


def check_not_locked(path: Path) -> None:
    """Refuse a workbook Excel has open (its `~$` owner file is there)."""
    if lock_file(path).exists():
        raise in_use(path)


def save_atomically(wb: Any, path: Path, original: bytes) -> None:
    """openpyxl's save of `wb` over `path`, with what it drops put back (addin/package.py)."""

    def write(temp: Path) -> None:
        wb.save(temp)
        saved = temp.read_bytes()
        fixed = repair(original, saved)
        if fixed != saved:
            temp.write_bytes(fixed)

    replace_atomically(path, write)


def replace_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """`write` the new file beside `path`, keep its permissions, then swap it in in one step.

    Whatever `write` raises propagates, the temp file removed and `path` untouched."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    except PermissionError:
        raise folder_not_writable(path) from None
    os.close(fd)
    temp = Path(name)
    try:
        write(temp)
        shutil.copymode(path, temp)
        check_not_locked(path)  # Excel may have opened it while we worked
        os.replace(temp, path)
    except PermissionError:
        raise in_use(path) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
