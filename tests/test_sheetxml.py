"""The raw sheet-XML reader: its bytes-search shortcut must never skip what the parse finds.

What read_table makes of hidden rows, merges and formulas is tested in test_workbook.py; here
the two halves of scan_part are checked against each other, on hand-made and real sheets.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from workbook_factory import build_extended_workbook, build_workbook, sample_rows

from addin import model, workbook
from addin.model import Finding
from addin.sheetxml import SheetScan, may_hold_extras, scan_part, scan_sheet_xml

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET_PART = "xl/worksheets/sheet1.xml"


def sheet(body: str, *, prefix: str = "", after: str = "", before: str = "") -> bytes:
    """A worksheet part whose <sheetData> holds `body` (elements written with `prefix`)."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f"xmlns:{prefix}" if prefix else "xmlns"
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<{p}worksheet {xmlns}="{NS}">{before}<{p}sheetData>{body}</{p}sheetData>{after}'
        f"</{p}worksheet>"
    ).encode()


def may_hold(xml: bytes, chunk_size: int = 1 << 20) -> bool:
    return may_hold_extras(io.BytesIO(xml), chunk_size)


PLAIN_ROW = '<row r="2"><c r="A2" t="s"><v>0</v></c><c r="C2"><v>1.5</v></c></row>'


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        # Nothing to find: the parse can be skipped.
        (sheet(PLAIN_ROW), False),
        (sheet(PLAIN_ROW, before='<cols><col min="10" max="10" hidden="1"/></cols>'), False),
        (
            sheet('<row r="2"><c r="A2" t="inlineStr"><is><t>hidden &lt;f&gt;</t></is></c></row>'),
            False,
        ),
        (
            sheet(
                PLAIN_ROW,
                after='<conditionalFormatting sqref="A2:E9"><cfRule type="expression" '
                'priority="1"><formula>$J2="E"</formula></cfRule></conditionalFormatting>'
                '<dataValidations count="1"><dataValidation type="list" sqref="B2:B9">'
                "<formula1>AchieveItStatuses</formula1></dataValidation></dataValidations>",
            ),
            False,
        ),
        # A hidden row, a merge, a formula in any spelling: parse.
        (sheet('<row r="2" hidden="1"><c r="A2"><v>1</v></c></row>'), True),
        (sheet('<row r="2" spans="1:5"\n hidden="true"/>'), True),
        (sheet('<row r="2" hidden="0"/>'), True),  # unsure is enough: the parse decides
        (
            sheet(PLAIN_ROW, after='<mergeCells count="1"><mergeCell ref="A2:A3"/></mergeCells>'),
            True,
        ),
        (sheet('<row r="2"><c r="A2"><f>1+1</f><v>2</v></c></row>'), True),
        (sheet('<row r="2"><c r="A2"><f t="shared" si="0"/></c></row>'), True),
        (sheet('<row r="2"><c r="A2"><f\n>1+1</f></c></row>'), True),
        (sheet('<x:row r="2"><x:c r="A2"><x:f>1</x:f></x:c></x:row>', prefix="x"), True),
        (sheet('<x:row r="2" hidden="1"/>', prefix="x"), True),
        # Not searchable as ASCII bytes: parse.
        (sheet(PLAIN_ROW).decode().replace("UTF-8", "UTF-16").encode("utf-16"), True),
    ],
)
def test_may_hold_extras(xml: bytes, expected: bool) -> None:
    for chunk_size in (1, 3, 1 << 20):
        assert may_hold(xml, chunk_size) is expected
    if not expected:
        assert scan_sheet_xml(io.BytesIO(xml)) == SheetScan()


@pytest.mark.parametrize(
    ("body", "after", "name"),
    [
        ('<row r="999" hidden="1"/>', "", b"hidden"),
        ('<row r="999"><c r="A999"><f>1</f></c></row>', "", b"<f>"),
        ("", '<mergeCells count="1"><mergeCell ref="A2:A3"/></mergeCells>', b"mergeCell"),
    ],
)
def test_a_name_split_between_chunks_is_still_found(body: str, after: str, name: bytes) -> None:
    xml = sheet(PLAIN_ROW * 200 + body, after=after)  # the name lies beyond the first 4 KB
    at = xml.index(name)
    assert at > 4096
    for cut in range(1, len(name)):  # the first chunk ends inside the name
        assert may_hold(xml, chunk_size=at + cut) is True


@pytest.mark.parametrize("chunk_size", [1000, 4096, 5000])
def test_a_long_plain_sheet_read_in_chunks_takes_the_shortcut(chunk_size: int) -> None:
    assert may_hold(sheet(PLAIN_ROW * 200), chunk_size) is False


def test_a_row_tag_longer_than_the_overlap_is_parsed() -> None:
    # 'hidden' far from its '<row': the search cannot see whose attribute it is, so it parses.
    long_row = '<row r="2" ' + " " * 10_000 + 'hidden="1"/>'
    assert may_hold(sheet(long_row), chunk_size=8192) is True


# ---------------------------------------------------------------------------------------------
# Property: whatever the sheet holds, the shortcut says "nothing" only when the parse agrees
# ---------------------------------------------------------------------------------------------

cells = st.lists(
    st.tuples(
        st.sampled_from("ABCEFJ"),
        st.sampled_from(["value", "formula", "formula+value", "shared", "text"]),
    ),
    max_size=4,
)
rows = st.lists(st.tuples(st.sampled_from([None, "1", "true", "0"]), cells), min_size=1, max_size=6)


def build_sheet(
    prefix: str, spec: list[tuple[str | None, list[tuple[str, str]]]], merge: bool
) -> bytes:
    p = f"{prefix}:" if prefix else ""
    body = []
    for number, (hidden, row_cells) in enumerate(spec, start=2):
        attrs = f' r="{number}"' + (f' hidden="{hidden}"' if hidden else "")
        inner = []
        for col, kind in row_cells:
            ref = f"{col}{number}"
            inner.append(
                {
                    "value": f'<{p}c r="{ref}"><{p}v>1</{p}v></{p}c>',
                    "formula": f'<{p}c r="{ref}"><{p}f>1+1</{p}f></{p}c>',
                    "formula+value": f'<{p}c r="{ref}"><{p}f>1+1</{p}f><{p}v>2</{p}v></{p}c>',
                    "shared": f'<{p}c r="{ref}"><{p}f t="shared" si="0"/></{p}c>',
                    "text": f'<{p}c r="{ref}" t="inlineStr"><{p}is><{p}t>hidden &lt;f/&gt;'
                    f"</{p}t></{p}is></{p}c>",
                }[kind]
            )
        body.append(f"<{p}row{attrs}>{''.join(inner)}</{p}row>")
    after = f'<{p}mergeCells><{p}mergeCell ref="A2:B2"/></{p}mergeCells>' if merge else ""
    return sheet("".join(body), prefix=prefix, after=after)


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.sampled_from(["", "x"]),
    spec=rows,
    merge=st.booleans(),
    chunk_size=st.integers(1, 300),
)
def test_the_shortcut_never_skips_what_the_parse_finds(
    prefix: str, spec: list[tuple[str | None, list[tuple[str, str]]]], merge: bool, chunk_size: int
) -> None:
    xml = build_sheet(prefix, spec, merge)
    extras = merge or any(
        hidden or any(kind in ("formula", "formula+value", "shared") for _, kind in row_cells)
        for hidden, row_cells in spec
    )
    # Exact for the whole part at once; with small chunks it may only err towards parsing.
    assert may_hold(xml) is extras
    if not may_hold(xml, chunk_size):
        assert not extras
        assert scan_sheet_xml(io.BytesIO(xml)) == SheetScan()


# ---------------------------------------------------------------------------------------------
# scan_part on real files
# ---------------------------------------------------------------------------------------------


def scan_of(path: Path) -> tuple[bool, SheetScan, SheetScan]:
    with zipfile.ZipFile(path) as archive:
        with archive.open(SHEET_PART) as xml:
            shortcut = not may_hold_extras(xml)
        with archive.open(SHEET_PART) as xml:
            return shortcut, scan_part(archive, SHEET_PART), scan_sheet_xml(xml)


@pytest.mark.parametrize(
    ("rows", "options", "shortcut", "expected"),
    [
        (sample_rows(3), {}, True, SheetScan()),
        (sample_rows(3), {"hidden": [3]}, False, SheetScan(hidden_rows={3})),
        (sample_rows(3), {"merged": ["B2:B3"]}, False, SheetScan(merged=["B2:B3"])),
        ([["A-1", "On Track", "=1+1"]], {}, False, SheetScan(uncalculated={(2, 3): "=1+1"})),
    ],
)
def test_scan_part_of_real_workbooks(
    tmp_path: Path,
    rows: list[list[Any]],
    options: dict[str, Any],
    shortcut: bool,
    expected: SheetScan,
) -> None:
    path = build_workbook(tmp_path / "u.xlsx", rows, **options)
    assert scan_of(path) == (shortcut, expected, expected)


def test_a_written_back_sheet_still_takes_the_shortcut(tmp_path: Path) -> None:
    # write_back hides column J and adds the colour rules (<formula> elements): neither is a
    # hidden row or a cell formula, so the next read need not parse.
    path = build_workbook(tmp_path / "u.xlsx", sample_rows(3))
    finding = Finding(3, model.STATUS, "error", "unknown-status", "bad status")
    workbook.write_back(path, table=workbook.read_table(path), findings=[finding])
    assert scan_of(path) == (True, SheetScan(), SheetScan())


def test_x14_extensions_are_parsed_and_give_nothing(tmp_path: Path) -> None:
    # An x14 list validation holds <xm:f>: the search can't tell it from a cell formula.
    path = build_extended_workbook(tmp_path / "x.xlsx", sample_rows(3))
    assert scan_of(path) == (False, SheetScan(), SheetScan())
