"""What a press shows and asks outside the cells: alerts, OK/Cancel, the status bar, and the two
Tk dialogs (Save As for Export CSV, the masked API-key prompt).

Tk loads only when a dialog opens (tkinter ships with python.org Pythons); callers fall back, or
explain, when it can't.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlwings as xw

Confirm = Callable[[Any, str, str], bool]  # (book, prompt, title) -> go ahead?


def window_title(action: str) -> str:
    return f"AchieveIt – {action}"


@dataclass(frozen=True)
class Footnote:
    """A paragraph for the first alert of a press (not a confirm), and what to do once shown:
    a press adds a word to its own message instead of showing a dialog of its own."""

    text: str
    on_shown: Callable[[], None]


_FOOTNOTE: ContextVar[Footnote | None] = ContextVar("footnote", default=None)


def set_footnote(note: Footnote | None) -> Token[Footnote | None]:
    return _FOOTNOTE.set(note)


def reset_footnote(token: Token[Footnote | None]) -> None:
    _FOOTNOTE.reset(token)


def alert(book: xw.Book, prompt: str, title: str) -> None:
    note = _FOOTNOTE.get()
    if note is None:
        book.app.alert(prompt, title=title)
        return
    _FOOTNOTE.set(None)  # once per press
    book.app.alert(f"{prompt}\n\n{note.text}", title=title)
    note.on_shown()


def confirm(book: xw.Book, prompt: str, title: str) -> bool:
    return book.app.alert(prompt, title=title, buttons="ok_cancel") == "ok"


class StatusBar:
    """Excel's status bar, where there is one (the remote engine has none: then it's a no-op)."""

    def __init__(self, book: xw.Book) -> None:
        self._book = book
        self._usable = True
        self._used = False

    def show(self, text: str) -> None:
        if not self._usable:
            return
        try:
            self._book.app.status_bar = text
            self._used = True
        except Exception:  # NotImplementedError on the remote engine; never worth failing for
            self._usable = False

    def reset(self) -> None:
        if self._used:
            with contextlib.suppress(Exception):
                self._book.app.status_bar = False  # False gives the bar back to Excel


# ---------------------------------------------------------------------------------------------
# Where Export CSV saves
# ---------------------------------------------------------------------------------------------


def ask_path_dialog(suggested: Path) -> str | None:
    """A Save As dialog (tkinter ships with python.org Pythons); None when cancelled."""
    import tkinter
    from tkinter import filedialog

    root = tkinter.Tk()
    root.withdraw()
    root.attributes("-topmost", True)
    try:
        chosen = filedialog.asksaveasfilename(
            parent=root,
            title="Save the AchieveIt upload as",
            initialdir=str(suggested.parent),
            initialfile=suggested.name,
            defaultextension=".csv",
            filetypes=[("CSV file", "*.csv")],
        )
    finally:
        root.destroy()
    return chosen or None


def unused_name(suggested: Path, when: dt.datetime) -> Path:
    """`suggested`, or the same name with a time stamp when that file exists: never overwrite."""
    if not suggested.exists():
        return suggested
    return suggested.with_name(f"{suggested.stem}-{when:%Y%m%d-%H%M%S}{suggested.suffix}")


def book_folder(book: xw.Book) -> Path:
    """The workbook's folder, or the home folder for a book never saved."""
    full = Path(book.fullname)
    return full.parent if full.is_absolute() else Path.home()


# ---------------------------------------------------------------------------------------------
# The API key, masked
# ---------------------------------------------------------------------------------------------


def ask_secret_dialog(prompt: str) -> str | None:
    import tkinter
    from tkinter import simpledialog

    root = tkinter.Tk()
    root.withdraw()
    root.attributes("-topmost", True)
    try:
        return simpledialog.askstring(window_title("Set API Key"), prompt, show="*", parent=root)
    finally:
        root.destroy()
