"""A workbook's VBA project, read and renewed with pyOpenVBA (pure Python, no Excel).

`read_project` lists the modules (name -> kind and source) and the referenced libraries of a
macro workbook's bytes; `with_modules` puts given modules into it, replacing those of the same
name and leaving every other module (the user's own, the sheets' document modules) and every
reference untouched. pyOpenVBA works on files, so both go through a temporary folder.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import WorkbookError

STANDARD = "standard"
CLASS = "class"  # a class module; pyOpenVBA reports document modules as this kind too


@dataclass(frozen=True)
class Reference:
    name: str  # how the VBA editor lists it, e.g. Office
    guid: str  # upper case, with braces
    major: int
    minor: int
    path: str
    description: str


@dataclass(frozen=True)
class Project:
    modules: dict[str, tuple[str, str]]  # name -> (STANDARD or CLASS, source with CRLF)
    references: tuple[Reference, ...]
    signed: bool = False

    def source(self, name: str) -> str | None:
        """A module's source by name, in any case; None without such a module."""
        for found, (_, text) in self.modules.items():
            if found.casefold() == name.casefold():
                return text
        return None


def body(source: str) -> str:
    """A module's code as compared: no attribute lines or class preamble, LF line ends."""
    lines = source.replace("\r\n", "\n").split("\n")
    if lines and lines[0].startswith("VERSION ") and "END" in lines:
        lines = lines[lines.index("END") + 1 :]
    return "\n".join(line for line in lines if not line.startswith("Attribute ")).strip("\n")


@contextmanager
def _opened(data: bytes) -> Iterator[tuple[Any, Path]]:
    """The bytes as a pyOpenVBA ExcelFile, and a path beside it to save to."""
    from pyopenvba import ExcelFile

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "book.xlsm"
        source.write_bytes(data)
        with ExcelFile(source) as book:
            yield book, Path(folder) / "saved.xlsm"


def _damaged(exc: Exception) -> WorkbookError:
    return WorkbookError(
        f"The workbook's macros (its VBA project) can't be read: {exc}. Open it in Excel, save "
        "it again (File > Save As, Excel Macro-Enabled Workbook), then try again."
    )


def read_project(data: bytes) -> Project | None:
    """The VBA project of an .xlsm's bytes; None when the workbook has none."""
    from pyopenvba.exceptions import PyOpenVBAError
    from pyopenvba.vba import VBAModuleKind

    try:
        with _opened(data) as (book, _):
            if not book.has_vba_project():
                return None
            modules = {
                m.name: (STANDARD if m.kind == VBAModuleKind.standard else CLASS, m.source)
                for m in book.vba_project().modules
            }
            references = tuple(
                Reference(r.name, r.guid.upper(), r.version[0], r.version[1], r.path, r.description)
                for r in book.references()
                if r.guid
            )
            signed = bool(book.vba_signature().present)
    except PyOpenVBAError as exc:
        raise _damaged(exc) from None
    return Project(modules, references, signed)


def with_modules(
    data: bytes, modules: Mapping[str, tuple[str, str]], references: tuple[Reference, ...] = ()
) -> tuple[bytes, list[str]]:
    """The workbook with these modules (name -> (kind, source)) and references in its project.

    A module of the same name (any case) is replaced when its code differs; a missing one is
    added; every other module stays as it is. Returns the new bytes and what changed, in words
    (the very same bytes and [] when nothing needed changing). A workbook without a project gets
    one, as Excel makes it.
    """
    from pyopenvba import VBAModuleKind
    from pyopenvba.exceptions import PyOpenVBAError

    changes: list[str] = []
    try:
        with _opened(data) as (book, target):
            project = book.vba_project() if book.has_vba_project() else book.add_vba_project()
            present = {m.name.casefold(): m for m in project.modules}
            for name, (kind, text) in modules.items():
                wanted = VBAModuleKind.standard if kind == STANDARD else VBAModuleKind.other
                old = present.get(name.casefold())
                if old is not None and old.kind != wanted:
                    project.delete_module(old.name)  # same name, other kind: not ours to keep
                    old = None
                if old is None:
                    project.add_module(name, text, kind=wanted)
                    changes.append(f"added the VBA module {name}")
                elif body(old.source) != body(text):
                    book.set_module(old.name, text)
                    changes.append(f"replaced the VBA module {name}")
            declared = {r.guid.upper() for r in book.references()}
            for ref in references:
                if ref.guid.upper() not in declared:
                    book.add_reference(
                        ref.name,
                        ref.guid,
                        ref.major,
                        ref.minor,
                        path=ref.path,
                        description=ref.description,
                    )
                    changes.append(f"added the reference to the {ref.description or ref.name}")
            if not changes:
                return data, []
            signed = bool(book.vba_signature().present)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # the signature warning, said below
                book.save(target, allow_invalidate_signature=True)
            if signed:
                changes.append(
                    "removed the macros' digital signature (it no longer matches): Office asks "
                    "once more whether to trust them, or sign them again"
                )
            return target.read_bytes(), changes
    except PyOpenVBAError as exc:
        if "password" in str(exc).lower():
            raise WorkbookError(
                "The workbook's macros are password-protected, so they can't be renewed. In "
                "Excel: Developer > Visual Basic > Tools > VBAProject Properties > Protection, "
                "clear the password, save, close, then try again."
            ) from None
        raise _damaged(exc) from None
