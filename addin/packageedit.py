"""Write changed cells into a workbook package without loading it: the zip, part by part.

rewrite_package copies every zip member of the source to the target unchanged (content
byte-identical, same order), except:
- the worksheets it edits, streamed row by row through addin/sheetedit.py;
- xl/styles.xml, when a cell needs a style the workbook lacks (a wrap or a date format derived
  from the cell's own style: StyleBook), written last;
- tables of an edited sheet that should grow with new rows (their `ref` and autoFilter);
- the calcChain, dropped with its relationship and content type, as openpyxl drops it: it
  lists formula cells, and a cell written here may have held one; Excel rebuilds it.
Pure functions of zip files; the caller saves atomically. Raises sheetedit.CannotStream for a
package it cannot edit this way (then the caller uses openpyxl).
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

from .package import CONTENT_TYPES, ROOT_RELS, _elements, _part_name
from .sheetedit import CannotStream, RowCells, edit_sheet


@dataclass(frozen=True)
class StyleKind:
    """What a written cell needs on top of its own style: a number format, an alignment."""

    number_format: str | None = None
    alignment: bytes | None = None  # an <alignment .../> element


@dataclass
class SheetEdit:
    part: str  # the worksheet's zip entry
    cells: RowCells
    check_head: Callable[[bytes], None] = lambda head: None
    check_tail: Callable[[bytes], None] = lambda tail: None
    grow_tables: bool = False  # tables starting on row 1 grow down to the last row written


@dataclass
class Package:
    """Where things are in a package, read from its relationships."""

    workbook: str
    workbook_rels: str
    styles: str | None
    calc_chain: str | None
    date1904: bool
    related: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    @classmethod
    def of(cls, archive: zipfile.ZipFile) -> Package:
        book = next(
            _part_name("", attrs.get(b"Target", b""))
            for _, attrs in _elements(archive.read(ROOT_RELS), b"Relationship")
            if attrs.get(b"Type", b"").endswith(b"/officeDocument")
        )
        rels = rels_part(book)
        targets = relationships(archive, book)
        xml = archive.read(book)
        date1904 = re.search(rb'\bdate1904="(1|true)"', xml) is not None
        return cls(
            book,
            rels,
            next(iter(targets.get("styles", [])), None),
            next(iter(targets.get("calcChain", [])), None),
            date1904,
        )


def rels_part(part: str) -> str:
    folder, _, base = part.rpartition("/")
    return f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"


def relationships(archive: zipfile.ZipFile, part: str) -> dict[str, list[str]]:
    """The parts `part` relates to, by relationship type (its last word: 'table', 'comments')."""
    name = rels_part(part)
    if name not in archive.namelist():
        return {}
    folder = part.rpartition("/")[0]
    found: dict[str, list[str]] = {}
    for _, attrs in _elements(archive.read(name), b"Relationship"):
        if attrs.get(b"TargetMode") == b"External":
            continue
        kind = attrs.get(b"Type", b"").decode().rpartition("/")[2]
        found.setdefault(kind, []).append(_part_name(folder, attrs.get(b"Target", b"")))
    return found


def rewrite_package(
    source: Path, target: Path, edits: Sequence[SheetEdit], kinds: Mapping[str, StyleKind]
) -> None:
    """`source` with `edits` applied, written as a new package at `target`."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        package = Package.of(src)
        if package.styles is None:
            raise CannotStream("the workbook has no styles part")
        styles = StyleBook(src.read(package.styles), kinds)
        epoch = CALENDAR_MAC_1904 if package.date1904 else CALENDAR_WINDOWS_1900
        by_part = {edit.part: edit for edit in edits}
        replaced: dict[str, bytes] = {}
        if package.calc_chain is not None:
            replaced[CONTENT_TYPES] = _without(src.read(CONTENT_TYPES), package.calc_chain)
            rels = src.read(package.workbook_rels)
            replaced[package.workbook_rels] = _without_calc_chain_rel(rels)
        last_rows = {edit.part: max(edit.cells, default=0) for edit in edits if edit.grow_tables}
        for part, last in last_rows.items():
            for table in relationships(src, part).get("table", []):
                grown = grown_table(src.read(table), last)
                if grown is not None:
                    replaced[table] = grown
        for info in src.infolist():
            name = info.filename
            if name in (package.calc_chain, package.styles):
                continue
            if name in by_part:
                edit = by_part[name]
                with src.open(info) as xml, dst.open(_fresh(info), "w") as out:
                    edit_sheet(
                        xml,
                        out,
                        edit.cells,
                        style_for=styles.style_for,
                        epoch=epoch,
                        check_head=edit.check_head,
                        check_tail=edit.check_tail,
                    )
            elif name in replaced:
                dst.writestr(_fresh(info), replaced[name])
            else:
                with src.open(info) as data, dst.open(_fresh(info), "w") as out:
                    shutil.copyfileobj(data, out, 1 << 20)
        dst.writestr(_fresh(src.getinfo(package.styles)), styles.xml())


def _fresh(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """A new entry like `info` (name, time, compression, attributes), for another archive."""
    entry = zipfile.ZipInfo(info.filename, info.date_time)
    entry.compress_type = info.compress_type
    entry.external_attr = info.external_attr
    entry.create_system = info.create_system
    entry.file_size = info.file_size  # lets zipfile choose zip64 for a huge member
    return entry


def _without(content_types: bytes, part: str) -> bytes:
    for xml, attrs in _elements(content_types, b"Override"):
        if attrs.get(b"PartName", b"").lstrip(b"/") == part.encode():
            content_types = content_types.replace(xml, b"")
    return content_types


def _without_calc_chain_rel(rels: bytes) -> bytes:
    for xml, attrs in _elements(rels, b"Relationship"):
        if attrs.get(b"Type", b"").endswith(b"/calcChain"):
            rels = rels.replace(xml, b"")
    return rels


_REF = re.compile(rb'(<(?:\w+:)?(?:table|autoFilter)\b[^>]*?\bref=")([^"]*)(")')


def grown_table(xml: bytes, last_row: int) -> bytes | None:
    """A table starting on row 1 and ending above `last_row`, its ref (and autoFilter's) taken
    down to `last_row`; None when it needs no change."""
    match = _REF.search(xml)
    if match is None:
        return None
    min_col, min_row, max_col, max_row = range_boundaries(match.group(2).decode())
    if min_row != 1 or max_row is None or max_row >= last_row:
        return None
    ref = f"{get_column_letter(min_col or 1)}1:{get_column_letter(max_col or 1)}{last_row}"
    old = match.group(2)
    return _REF.sub(
        lambda m: m.group(1) + ref.encode() + m.group(3) if m.group(2) == old else m.group(0), xml
    )


# ---------------------------------------------------------------------------------------------
# Styles: a cell's own style with a number format or an alignment added
# ---------------------------------------------------------------------------------------------

_CELL_XFS = re.compile(rb"(<cellXfs\b[^>]*>)(.*?)(</cellXfs>)", re.DOTALL)
_XF = re.compile(rb"<xf\b[^>]*?(?:/>|>.*?</xf>)", re.DOTALL)
_NUM_FMTS = re.compile(rb"(<numFmts\b[^>]*>)(.*?)(</numFmts>)", re.DOTALL)
_NUM_FMT = re.compile(rb"<numFmt\b[^>]*?/>")
_ALIGNMENT = re.compile(rb"<alignment\b[^>]*?(?:/>|>.*?</alignment>)", re.DOTALL)
_COUNT = re.compile(rb'\bcount="\d+"')
FIRST_CUSTOM_FORMAT = 164  # ids below are Excel's built-in formats


class StyleBook:
    """styles.xml's cell formats, with the derived ones a write needs added (never twice: a
    derived format equal to one already there is that one)."""

    def __init__(self, xml: bytes, kinds: Mapping[str, StyleKind]) -> None:
        self.source = xml
        self.kinds = kinds
        block = _CELL_XFS.search(xml)
        if block is None:
            raise CannotStream("styles.xml has no cell formats")
        self.xfs = [m.group(0) for m in _XF.finditer(block.group(2))]
        self.added = 0
        self.formats: dict[str, int] = {}
        self.new_formats: list[tuple[int, str]] = []
        fmts = _NUM_FMTS.search(xml)
        for element in _NUM_FMT.findall(fmts.group(2) if fmts else b""):
            attrs = dict(re.findall(rb'(\w+)="([^"]*)"', element))
            code = _unescape(attrs.get(b"formatCode", b"").decode())
            self.formats.setdefault(code, int(attrs.get(b"numFmtId", b"0")))
        self.cache: dict[tuple[int, str], int] = {}

    def style_for(self, base: int | None, kind: str) -> int:
        key = (base or 0, kind)
        if key not in self.cache:
            if key[0] >= len(self.xfs):
                raise CannotStream(f"a cell names style {key[0]}, which styles.xml lacks")
            derived = self._derive(self.xfs[key[0]], self.kinds[kind])
            if derived in self.xfs:
                self.cache[key] = self.xfs.index(derived)
            else:
                self.xfs.append(derived)
                self.added += 1
                self.cache[key] = len(self.xfs) - 1
        return self.cache[key]

    def _derive(self, xf: bytes, kind: StyleKind) -> bytes:
        tag_end = xf.index(b">")
        closed = xf[tag_end - 1 : tag_end] == b"/"
        start = xf[: tag_end - 1] if closed else xf[:tag_end]
        body = b"" if closed else xf[tag_end + 1 : -len(b"</xf>")]
        if kind.number_format is not None:
            start = _set_attr(start, b"numFmtId", b"%d" % self._format_id(kind.number_format))
            start = _set_attr(start, b"applyNumberFormat", b"1")
        if kind.alignment is not None:
            start = _set_attr(start, b"applyAlignment", b"1")
            body = kind.alignment + _ALIGNMENT.sub(b"", body)  # alignment comes first in <xf>
        return start + b">" + body + b"</xf>" if body else start + b"/>"

    def _format_id(self, code: str) -> int:
        if code not in self.formats:
            used = [*self.formats.values(), FIRST_CUSTOM_FORMAT - 1]
            self.formats[code] = max(used) + 1
            self.new_formats.append((self.formats[code], code))
        return self.formats[code]

    def xml(self) -> bytes:
        """styles.xml with what was added; the original bytes when nothing was."""
        if not self.added and not self.new_formats:
            return self.source
        xml = self.source
        if self.new_formats:
            new = b"".join(
                b'<numFmt numFmtId="%d" formatCode="%s"/>' % (i, _escape_attr(code))
                for i, code in self.new_formats
            )
            fmts = _NUM_FMTS.search(xml)
            if fmts is None:
                at = xml.index(b">", xml.index(b"<styleSheet")) + 1  # numFmts comes first
                block = b'<numFmts count="%d">%s</numFmts>' % (len(self.new_formats), new)
                xml = xml[:at] + block + xml[at:]
            else:
                count = len(_NUM_FMT.findall(fmts.group(2))) + len(self.new_formats)
                opening = _set_attr(fmts.group(1)[:-1], b"count", b"%d" % count) + b">"
                xml = xml[: fmts.start()] + opening + fmts.group(2) + new + xml[fmts.start(3) :]
        xfs = _CELL_XFS.search(xml)
        assert xfs is not None  # found in __init__, and numFmts come before it
        opening = _set_attr(xfs.group(1)[:-1], b"count", b"%d" % len(self.xfs)) + b">"
        added = b"".join(self.xfs[len(self.xfs) - self.added :])
        return xml[: xfs.start()] + opening + xfs.group(2) + added + xml[xfs.start(3) :]


def _set_attr(start_tag: bytes, name: bytes, value: bytes) -> bytes:
    """`start_tag` (without its closing '>' or '/>') with attribute `name` set to `value`."""
    pattern = re.compile(rb"\b" + name + rb'="[^"]*"')
    if pattern.search(start_tag):
        return pattern.sub(name + b'="' + value + b'"', start_tag, count=1)
    return start_tag + b" " + name + b'="' + value + b'"'


def _escape_attr(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;").encode()


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)
