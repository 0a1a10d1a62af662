"""Read what openpyxl's read-only mode does not expose from a worksheet part's raw XML.

openpyxl's streaming reader gives cell values only: it does not say which rows are hidden or
which cells are merged, and for a formula whose file holds no calculated value it gives None.
scan_part finds all three in one streaming pass over the sheet XML. Most sheets have none of
them, so it first searches the raw bytes for their names, which is far faster than parsing.
"""

from __future__ import annotations

import contextlib
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from typing import IO

from openpyxl.formula.translate import Translator, TranslatorError
from openpyxl.utils.cell import column_index_from_string, get_column_letter

from .marks import INPUT_WIDTH  # A..E: formulas elsewhere don't matter

# The bytes search reads the part in chunks, so a 100,000-row sheet never sits in memory whole;
# each chunk is searched together with the end of the one before (a name may span the seam).
CHUNK_SIZE = 1 << 20
_OVERLAP = 4096
_NAME_END = frozenset(b" \t\r\n/>")  # what may follow an element's name in its tag
_FORMULA_STARTS = (b"<f", b":f")  # <f ...> or a prefixed <x:f ...>
_ROW_TAG = re.compile(rb"<(?:[\w.-]+:)?row[\s/>]")


@dataclass
class SheetScan:
    """What the sheet XML says that openpyxl's read-only mode does not."""

    hidden_rows: set[int] = field(default_factory=set)
    # (row, 1-based column) in A..E -> formula text, for formulas without a calculated value
    uncalculated: dict[tuple[int, int], str] = field(default_factory=dict)
    merged: list[str] = field(default_factory=list)


def local_name(tag: str) -> str:
    """An ElementTree tag without its '{namespace}'."""
    return tag.rpartition("}")[2]


def scan_part(archive: zipfile.ZipFile, part: str) -> SheetScan:
    """Hidden rows, merges and uncalculated formulas of one worksheet part of `archive`."""
    with archive.open(part) as xml:
        if not may_hold_extras(xml):
            return SheetScan()  # what a parse would find, in a fraction of the time
    with archive.open(part) as xml:
        return scan_sheet_xml(xml)


def may_hold_extras(stream: IO[bytes], chunk_size: int = CHUNK_SIZE) -> bool:
    """False only when the XML cannot hold a hidden row, a merged range or a formula.

    A bytes search for the element names: <f> anywhere, 'mergeCell', and 'hidden' inside a
    <row> tag (a hidden column or text saying 'hidden' doesn't count). True when unsure, so
    a False always means scan_sheet_xml would find nothing.
    """
    tail = b""
    while chunk := stream.read(chunk_size):
        window = tail + chunk
        if b"\x00" in window:
            return True  # UTF-16 or UTF-32 (UTF-8 XML has no NUL): names aren't ASCII bytes
        if b"mergeCell" in window or _has_formula(window) or _has_hidden_row(window):
            return True
        tail = window[-_OVERLAP:]
    return False


def _has_formula(window: bytes) -> bool:
    for start in _FORMULA_STARTS:
        at = window.find(start)
        while at >= 0:
            # <f>, <f t="shared"...>, <f/>; a name cut off by the window's end is looked at
            # again in the next window, which starts with this one's last bytes
            after = window[at + len(start) : at + len(start) + 1]
            if after and after[0] in _NAME_END:
                return True
            at = window.find(start, at + 1)
    return False


def _has_hidden_row(window: bytes) -> bool:
    at = window.find(b"hidden")
    while at >= 0:
        tag = window.rfind(b"<", 0, at)
        if tag < 0 or _ROW_TAG.match(window, tag):
            return True  # in a <row> tag, or in a tag that began before the window: unsure
        at = window.find(b"hidden", at + 1)
    return False


def scan_sheet_xml(xml: IO[bytes]) -> SheetScan:
    """One streaming pass over a worksheet part: hidden rows, merges, uncalculated formulas."""
    scan = SheetScan()
    shared: dict[str, tuple[str, str]] = {}  # shared formula index -> (formula, origin cell)
    sheet_data = None
    row_number = 0
    col = 0
    for event, elem in ET.iterparse(xml, events=("start", "end")):
        name = local_name(elem.tag)
        if event == "start":
            if name == "row":
                row_number = int(elem.get("r") or row_number + 1)
                col = 0
                if elem.get("hidden") in ("1", "true"):
                    scan.hidden_rows.add(row_number)
            elif name == "sheetData":
                sheet_data = elem
            continue
        if name == "c":
            ref = elem.get("r")
            col = column_index_from_string(ref.rstrip("0123456789")) if ref else col + 1
            _note_formula(elem, row_number, col, shared, scan)
        elif name == "row" and sheet_data is not None:
            sheet_data.clear()  # keep memory flat on 100,000 rows
        elif name == "mergeCell" and elem.get("ref"):
            scan.merged.append(elem.get("ref", ""))
    return scan


def _note_formula(
    cell: ET.Element, row: int, col: int, shared: dict[str, tuple[str, str]], scan: SheetScan
) -> None:
    formula = value = None
    for child in cell:
        name = local_name(child.tag)
        if name == "f":
            formula = child
        elif name == "v":
            value = child
    if formula is None:
        return
    text = formula.text or ""
    where = f"{get_column_letter(col)}{row}"
    if formula.get("t") == "shared":
        index = formula.get("si", "")
        if text:
            shared[index] = (text, where)
        elif index in shared:
            master, origin = shared[index]
            with contextlib.suppress(TranslatorError):
                text = Translator("=" + master, origin=origin).translate_formula(where)[1:]
    # Excel stores a formula that returns "" as t="str" with an empty <v>: that is calculated.
    calculated = value is not None and (bool(value.text) or cell.get("t") == "str")
    if not calculated and col <= INPUT_WIDTH:
        scan.uncalculated[(row, col)] = "=" + text
