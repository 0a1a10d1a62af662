"""Rewrite some cells of a worksheet part, streaming it row by row: no openpyxl, no XML tree.

A worksheet part is `<worksheet>` head, `<sheetData>` with one `<row>` per row, then a tail
(merges, conditional formats, tables...). edit_sheet copies it chunk by chunk, and only the
rows it is given cells for are taken apart: their `<c>` elements in the given columns are
replaced (a cleared cell keeps its style, as Excel keeps it), the others kept as they are, in
column order; rows that don't exist yet are inserted in row order. The `<dimension>` grows to
take the new cells. Everything else passes through byte for byte.

Tags are found by their bytes: in XML text and attribute values '<' is always escaped, so a
'<row' or '</c>' in the bytes is a tag. What such a scan cannot read safely (a prefixed
namespace such as `<x:row>`, CDATA, XML comments, a row holding more than cells) raises
CannotStream before anything is saved; the caller then takes the openpyxl path.
Pure: bytes streams in, bytes out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries
from openpyxl.utils.datetime import to_excel

CHUNK_SIZE = 1 << 20  # bytes read at a time: memory stays flat however long the sheet


class CannotStream(Exception):
    """The part holds something the byte scanner does not read safely: use openpyxl."""


@dataclass(frozen=True)
class NewCell:
    """What to put into one cell: a value (None clears it) and the style kind it needs."""

    value: Any
    kind: str | None = None  # a StyleKind name, e.g. 'wrap' or 'datetime'; None keeps the style


# (existing style index or None, kind) -> the style index to write, or None for none
StyleFor = Callable[[int | None, str], int]
RowCells = Mapping[int, Mapping[int, NewCell]]  # sheet row -> 1-based column -> new cell

_ROW_START = re.compile(rb"<row\b([^>]*?)(/?)>")
_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.DOTALL)
_ATTR_R = re.compile(rb'\br="([A-Za-z]*)(\d*)"')
_ATTR_S = re.compile(rb'\bs="(\d+)"')
_SPANS = re.compile(rb'\bspans="(\d+):(\d+)"')
_DIMENSION = re.compile(rb'(<dimension\b[^>]*?\bref=")([^"]*)(")')
_UNSAFE = (b"<![CDATA[", b"<!--")


def edit_sheet(
    source: IO[bytes],
    out: IO[bytes],
    cells: RowCells,
    *,
    style_for: StyleFor,
    epoch: dt.datetime,
    check_head: Callable[[bytes], None] = lambda head: None,
    check_tail: Callable[[bytes], None] = lambda tail: None,
) -> bool:
    """Copy the worksheet XML from `source` to `out` with `cells` written; True when a cell
    that held a formula was overwritten (the workbook's calcChain then names a stale cell).

    check_head / check_tail see the XML before `<sheetData>` and after `</sheetData>` and may
    raise CannotStream (the caller's layout checks: hidden columns, colour rules)."""
    reader = _Chunks(source)
    head, sheet_data_open, empty = reader.until_sheet_data()
    check_head(head)
    out.write(_grown_dimension(head, cells))
    out.write(sheet_data_open)
    pending = iter(sorted(cells.items()))
    upcoming = next(pending, None)
    writer = _RowWriter(style_for, epoch)
    previous = 0
    if not empty:
        for raw in reader.rows():
            match = _ROW_START.match(raw)
            if match is None:
                raise CannotStream("a <row> tag the scanner cannot read")
            number = _row_number(match.group(1), previous)
            while upcoming is not None and upcoming[0] < number:
                out.write(writer.new_row(*upcoming))
                upcoming = next(pending, None)
            if upcoming is not None and upcoming[0] == number:
                out.write(writer.edited_row(raw, match, number, upcoming[1]))
                upcoming = next(pending, None)
            else:
                out.write(raw)
            previous = number
    while upcoming is not None:
        out.write(writer.new_row(*upcoming))
        upcoming = next(pending, None)
    tail = reader.rest()
    check_tail(tail)
    out.write(tail if not empty else b"</sheetData>" + tail)
    return writer.overwrote_formula


def _row_number(attrs: bytes, previous: int) -> int:
    found = re.search(rb'\br="(\d+)"', attrs)
    return int(found.group(1)) if found else previous + 1


class _Chunks:
    """The part's bytes, read a chunk at a time, handed out as head, rows and tail."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.buffer = b""
        self.at = 0

    def _more(self) -> bool:
        chunk = self.source.read(CHUNK_SIZE)
        if not chunk:
            return False
        for unsafe in _UNSAFE:  # the seam between two chunks is looked at too
            if unsafe in self.buffer[-16:] + chunk:
                raise CannotStream(f"the sheet XML holds {unsafe.decode()}")
        if b"\x00" in chunk:
            raise CannotStream("the sheet XML is not UTF-8")
        self.buffer = self.buffer[self.at :] + chunk  # what was handed out is dropped
        self.at = 0
        return True

    def until_sheet_data(self) -> tuple[bytes, bytes, bool]:
        """(everything before <sheetData>, the <sheetData> tag, whether it is <sheetData/>)."""
        while True:
            start = self.buffer.find(b"<sheetData", self.at)
            end = self.buffer.find(b">", start) if start >= 0 else -1
            if end >= 0:
                break
            if not self._more():
                raise CannotStream("the sheet XML has no <sheetData> (a prefixed namespace?)")
        head = self.buffer[:start]  # nothing was handed out yet: the buffer starts the part
        tag = self.buffer[start : end + 1]
        self.at = end + 1
        if tag.endswith(b"/>"):
            return head, b"<sheetData>", True
        return head, tag, False

    def _available(self, offset: int, size: int) -> bool:
        """At least `size` bytes from self.at + offset are in the buffer (reading more if
        needed); False at the end of the part."""
        while len(self.buffer) - self.at - offset < size:
            if not self._more():
                return False
        return True

    def _find(self, needle: bytes, offset: int = 0) -> int:
        """Where `needle` next starts, as an offset from self.at; -1 at the end of the part."""
        while True:
            found = self.buffer.find(needle, self.at + offset)
            if found >= 0:
                return found - self.at
            offset = max(offset, len(self.buffer) - self.at - len(needle))
            if not self._more():
                return -1

    def rows(self) -> Iterator[bytes]:
        """Each whole <row> element in turn (whitespace between rows dropped), up to the
        </sheetData> tag, which is left for rest()."""
        while True:
            start = self._find(b"<")
            if start < 0 or not self._available(start, len(b"</sheetData")):
                raise CannotStream("the sheet XML ends inside <sheetData>")
            self.at += start
            if self.buffer.startswith(b"</sheetData", self.at):
                return
            if not self.buffer.startswith(b"<row", self.at):
                raise CannotStream("<sheetData> holds something other than <row> elements")
            tag_end = self._find(b">")
            if tag_end < 0:
                raise CannotStream("the sheet XML ends inside a <row>")
            if self.buffer[self.at + tag_end - 1] == ord("/"):
                end = tag_end + 1  # <row .../>
            else:
                close = self._find(b"</row>", tag_end)
                if close < 0:
                    raise CannotStream("the sheet XML ends inside a <row>")
                end = close + len(b"</row>")
            row = self.buffer[self.at : self.at + end]
            self.at += end
            yield row

    def rest(self) -> bytes:
        """The tail: from </sheetData> (of a non-empty sheetData) to the end."""
        parts = [self.buffer[self.at :]]
        while chunk := self.source.read(CHUNK_SIZE):
            parts.append(chunk)
        tail = b"".join(parts)
        if any(unsafe in tail for unsafe in _UNSAFE):
            raise CannotStream("the sheet XML holds CDATA or a comment")
        return tail


class _RowWriter:
    def __init__(self, style_for: StyleFor, epoch: dt.datetime) -> None:
        self.style_for = style_for
        self.epoch = epoch
        self.overwrote_formula = False

    def new_row(self, number: int, cells: Mapping[int, NewCell]) -> bytes:
        body = b"".join(self._cell(number, col, new, None) for col, new in sorted(cells.items()))
        return b'<row r="%d">%s</row>' % (number, body) if body else b""

    def edited_row(
        self, raw: bytes, match: re.Match[bytes], number: int, cells: Mapping[int, NewCell]
    ) -> bytes:
        attrs = match.group(1)
        inner = b"" if match.group(2) else raw[match.end() : -len(b"</row>")]
        kept: list[tuple[int, bytes]] = []
        old: dict[int, tuple[bytes, bytes | None]] = {}
        col = 0
        at = 0
        for cell in _CELL.finditer(inner):
            if inner[at : cell.start()].strip():
                raise CannotStream(f"row {number} holds something other than cells")
            at = cell.end()
            cell_attrs = cell.group(1)
            ref = _ATTR_R.search(cell_attrs)
            col = column_index_from_string(ref.group(1).decode()) if ref else col + 1
            if col in cells:
                old[col] = (cell_attrs, cell.group(2))
            elif ref:
                kept.append((col, cell.group(0)))
            else:  # give it its place: the cells written before it would shift it
                where = b' r="%s%d"' % (get_column_letter(col).encode(), number)
                kept.append((col, b"<c" + where + cell.group(0)[2:]))
        if inner[at:].strip():
            raise CannotStream(f"row {number} holds something other than cells")
        for col, new in cells.items():
            cell_attrs, body = old.get(col, (b"", None))
            if body is not None and b"<f" in body:
                self.overwrote_formula = True
            style = _ATTR_S.search(cell_attrs)
            written = self._cell(number, col, new, int(style.group(1)) if style else None)
            if written:
                kept.append((col, written))
        kept.sort(key=lambda item: item[0])
        last = max(cells)
        attrs = _SPANS.sub(
            lambda m: b'spans="%s:%d"' % (m.group(1), max(int(m.group(2)), last)), attrs
        )
        body = b"".join(cell for _, cell in kept)
        return b"<row%s>%s</row>" % (attrs, body) if body else b"<row%s/>" % attrs

    def _cell(self, row: int, col: int, new: NewCell, style: int | None) -> bytes:
        ref = b'r="%s%d"' % (get_column_letter(col).encode(), row)
        value = None if new.value == "" else new.value  # as openpyxl: empty text, no value
        if value is not None and new.kind is not None:
            style = self.style_for(style, new.kind)
        s = b' s="%d"' % style if style else b""
        if value is None:
            return b"<c %s%s/>" % (ref, s) if style else b""  # a cleared cell keeps its style
        if isinstance(value, bool):
            return b'<c %s%s t="b"><v>%d</v></c>' % (ref, s, value)
        if isinstance(value, dt.datetime | dt.date):
            value = to_excel(value, self.epoch)
        if isinstance(value, int | float):
            return b"<c %s%s><v>%s</v></c>" % (ref, s, repr(value).encode())
        text = escape_text(str(value))
        return b'<c %s%s t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>' % (
            ref,
            s,
            text,
        )


def escape_text(text: str) -> bytes:
    """XML element text, UTF-8."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode()


def _grown_dimension(head: bytes, cells: RowCells) -> bytes:
    """<dimension ref> taking in every cell that gets a value."""
    filled = [
        (row, col)
        for row, columns in cells.items()
        for col, new in columns.items()
        if new.value is not None
    ]
    match = _DIMENSION.search(head)
    if not filled or match is None:
        return head
    try:
        min_col, min_row, max_col, max_row = range_boundaries(match.group(2).decode())
    except ValueError:
        return head  # not a range we can read: Excel recomputes it anyway
    rows = [row for row, _ in filled]
    cols = [col for _, col in filled]
    low_col = min(min_col or 1, *cols)
    low_row = min(min_row or 1, *rows)
    high_col = max(max_col or 1, *cols)
    high_row = max(max_row or 1, *rows)
    ref = f"{get_column_letter(low_col)}{low_row}:{get_column_letter(high_col)}{high_row}"
    return head[: match.start(2)] + ref.encode() + head[match.end(2) :]
