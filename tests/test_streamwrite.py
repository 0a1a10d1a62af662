"""The streaming write-back (addin/sheetedit.py, addin/packageedit.py) against openpyxl's:
the same values, styles that matter, tables and rules; every other zip member byte-identical
(charts, images, comments, form controls made by XlsxWriter, whose files match Excel's)."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xlsxwriter_factory import build_xlsxwriter_workbook, sample

from addin import marks, model, sheetedit, submission, workbook
from addin.model import Finding, LogEntry, ToolCells
from addin.packageedit import StyleBook, StyleKind
from addin.sheetedit import CannotStream, NewCell, edit_sheet

FINDINGS = (
    Finding(3, model.STATUS, "error", "unknown-status", "bad status"),
    Finding(3, model.AS_OF_DATE, "warning", "future-date", "in the future"),
    Finding(4, None, "error", "duplicate", "same ID twice"),
)
WHEN = dt.datetime(2026, 2, 1, 9, 30)


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def cells_of(path: Path) -> dict[str, dict[str, tuple[Any, str, bool]]]:
    """Every sheet's cells: (value, number format, wrapped), as openpyxl reads them."""
    wb = openpyxl.load_workbook(path)
    found = {}
    for ws in wb.worksheets:
        found[ws.title] = {
            cell.coordinate: (cell.value, cell.number_format, bool(cell.alignment.wrap_text))
            for row in ws.iter_rows()
            for cell in row
            if cell.value is not None
        }
    return found


def layout_of(path: Path) -> dict[str, Any]:
    wb = openpyxl.load_workbook(path)
    return {
        ws.title: (
            sorted((t.name, t.ref) for t in ws.tables.values()),
            sorted(str(cf.sqref) for cf in ws.conditional_formatting),
            sorted(  # hidden columns, whether one <col> range or one each
                i
                for d in ws.column_dimensions.values()
                if d.hidden
                for i in range(d.min, d.max + 1)
            ),
        )
        for ws in wb.worksheets
    }


def write(path: Path, changes: submission.SheetChanges, *, stream: bool) -> bool:
    """write_changes; True when the streaming path did it."""
    table = workbook.read_table(path)
    if stream:
        return workbook._write_streaming(path, table, changes)
    original = workbook._write_streaming
    try:
        workbook._write_streaming = lambda *args: False  # type: ignore[assignment]
        workbook.write_changes(path, table, changes)
    finally:
        workbook._write_streaming = original  # type: ignore[assignment]
    return False


def submit_changes(path: Path, rows: range) -> submission.SheetChanges:
    view = workbook.FileSheets(path).read()
    changes = submission.findings_changes(view, FINDINGS)
    for row in rows:
        cells = changes.rows.get(row) or view.tools.get(row, ToolCells())
        changes.rows[row] = ToolCells(
            cells.issues, "job-1", "Processing", WHEN, cells.marks, f"s1:{row:024x}"
        )
    entry = LogEntry(WHEN, path.name, len(rows), "ab" * 32, "job-1", "processing", "")
    changes.log_new[view.next_log_row] = entry
    return changes


def both_ways(tmp_path: Path, source: Path, changes: submission.SheetChanges) -> tuple[Path, Path]:
    fast, slow = tmp_path / "fast.xlsx", tmp_path / "slow.xlsx"
    shutil.copyfile(source, fast)
    shutil.copyfile(source, slow)
    assert write(fast, changes, stream=True), "the streaming path should apply"
    write(slow, changes, stream=False)
    return fast, slow


# ---------------------------------------------------------------------------------------------
# Same result as openpyxl's write-back
# ---------------------------------------------------------------------------------------------


def test_a_submit_streams_and_matches_openpyxl(tmp_path: Path) -> None:
    source = build_xlsxwriter_workbook(tmp_path / "src.xlsx", sample(8))
    fast, slow = both_ways(tmp_path, source, submit_changes(source, range(2, 10)))
    assert cells_of(fast) == cells_of(slow)
    assert layout_of(fast) == layout_of(slow)
    updates = cells_of(fast)[model.UPDATES_SHEET]
    assert updates["G5"] == ("job-1", "General", False)
    assert updates["I5"] == (WHEN, workbook.DATETIME_FORMAT, False)
    assert updates["F3"][0] == "Status: bad status\nAs Of Date: in the future" or updates["F3"][2]
    assert updates["J3"][0] == ".E.W."
    log = cells_of(fast)[model.LOG_SHEET]
    assert log["A2"] == (WHEN, workbook.LOG_DATETIME_FORMAT, False)
    assert log["E2"][0] == "job-1"


def test_the_second_write_adds_no_styles_and_clears_stale_findings(tmp_path: Path) -> None:
    source = build_xlsxwriter_workbook(tmp_path / "src.xlsx", sample(6))
    first = submit_changes(source, range(2, 8))
    assert write(source, first, stream=True)
    styles = members(source)["xl/styles.xml"]
    view = workbook.FileSheets(source).read()
    assert write(source, submission.findings_changes(view, ()), stream=True)
    assert members(source)["xl/styles.xml"] == styles  # the derived formats were found again
    updates = cells_of(source)[model.UPDATES_SHEET]
    assert not any(ref[0] in "FJ" and ref[1:] != "1" for ref in updates)
    assert updates["G3"][0] == "job-1"  # jobs stay


def test_other_members_survive_byte_identical(tmp_path: Path) -> None:
    source = build_xlsxwriter_workbook(tmp_path / "src.xlsx", sample(5), extras=True)
    before = members(source)
    for part in ("xl/charts/chart1.xml", "xl/media/image1.png", "xl/comments1.xml"):
        assert part in before, part
    assert any(name.startswith("xl/drawings/vmlDrawing") for name in before)
    assert write(source, submit_changes(source, range(2, 7)), stream=True)
    after = members(source)
    # same order, but for styles.xml, written last (a cell may need a new style)
    assert [n for n in after if n != "xl/styles.xml"] == [n for n in before if n != "xl/styles.xml"]
    changed = {n for n in before if before[n] != after.get(n)}
    assert changed <= {
        "xl/worksheets/sheet1.xml",  # Updates
        "xl/worksheets/sheet3.xml",  # Log
        "xl/styles.xml",
    }


def test_a_plain_workbook_migrates_with_openpyxl_then_streams(tmp_path: Path) -> None:
    from workbook_factory import build_workbook, sample_rows

    path = build_workbook(tmp_path / "plain.xlsx", sample_rows(4))
    changes = submit_changes(path, range(2, 6))
    assert not write(path, changes, stream=True)  # no tool headers, rules, hidden columns yet
    write(path, changes, stream=False)
    again = tmp_path / "again.xlsx"
    shutil.copyfile(path, again)
    fast, slow = both_ways(tmp_path, path, submit_changes(path, range(2, 4)))
    assert cells_of(fast) == cells_of(slow)
    assert layout_of(fast) == layout_of(slow)


def test_rows_that_dont_exist_yet_are_inserted_in_order(tmp_path: Path) -> None:
    source = build_xlsxwriter_workbook(
        tmp_path / "src.xlsx", [sample(1)[0], [None] * 5, sample(3)[2]]
    )
    changes = submission.SheetChanges(
        rows={3: ToolCells(issues="gap"), 9: ToolCells(marks="E...."), 2: ToolCells(job_id="j")}
    )
    fast, slow = both_ways(tmp_path, source, changes)
    assert cells_of(fast) == cells_of(slow)
    with zipfile.ZipFile(fast) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml")
    assert b'<dimension ref="A1:%s9"/>' % marks.LAST_TOOL_COLUMN.encode() in xml
    assert xml.index(b'<row r="3"') < xml.index(b'<row r="4"') < xml.index(b'<row r="9"')


def test_the_log_table_grows_with_its_rows(tmp_path: Path) -> None:
    old = [WHEN, "x.xlsx", 1, "cd" * 32, "job-0", "succeeded", ""]
    source = build_xlsxwriter_workbook(tmp_path / "src.xlsx", sample(2), log_rows=[old])
    fast, slow = both_ways(tmp_path, source, submit_changes(source, range(2, 4)))
    assert layout_of(fast)[model.LOG_SHEET][0] == [("LogTable", "A1:G3")]
    assert layout_of(fast) == layout_of(slow)


def test_1904_dates(tmp_path: Path) -> None:
    source = build_xlsxwriter_workbook(tmp_path / "src.xlsx", sample(2), date1904=True)
    fast, slow = both_ways(tmp_path, source, submit_changes(source, range(2, 4)))
    assert cells_of(fast)[model.UPDATES_SHEET]["I2"][0] == WHEN
    assert cells_of(fast) == cells_of(slow)


def test_a_cell_that_held_a_formula_drops_the_calc_chain(tmp_path: Path) -> None:
    source = build_xlsxwriter_workbook(tmp_path / "src.xlsx", sample(2), tool_cells={"G2": "=1+1"})
    chain = b'<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    chain += b'<c r="G2" i="1"/></calcChain>'
    data = io.BytesIO()
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(data, "w") as dst:
        for info in src.infolist():
            content = src.read(info)
            if info.filename == "[Content_Types].xml":
                content = content.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/calcChain.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>',
                )
            if info.filename == "xl/_rels/workbook.xml.rels":
                content = content.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdCalc" Type="http://schemas.openxmlformats.org/'
                    b'officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/>'
                    b"</Relationships>",
                )
            dst.writestr(info, content)
        dst.writestr("xl/calcChain.xml", chain)
    source.write_bytes(data.getvalue())
    assert write(source, submit_changes(source, range(2, 4)), stream=True)
    after = members(source)
    assert "xl/calcChain.xml" not in after
    assert b"calcChain" not in after["[Content_Types].xml"]
    assert b"calcChain" not in after["xl/_rels/workbook.xml.rels"]
    assert cells_of(source)[model.UPDATES_SHEET]["G2"][0] == "job-1"


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
tool_values = st.tuples(
    st.one_of(st.none(), text),
    st.one_of(st.none(), text),
    st.one_of(st.none(), text),
    st.one_of(st.none(), st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2090, 1, 1))),
    st.one_of(st.none(), st.text("EW.", min_size=5, max_size=5)),
    st.one_of(st.none(), text),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(st.integers(2, 30), tool_values, max_size=12))
def test_random_tables_read_back_the_same_both_ways(tmp_path: Path, rows: dict) -> None:
    source = build_xlsxwriter_workbook(tmp_path / "src.xlsx", sample(10))
    changes = submission.SheetChanges(rows={r: ToolCells(*v) for r, v in rows.items()})
    fast, slow = both_ways(tmp_path, source, changes)
    assert cells_of(fast) == cells_of(slow)


# ---------------------------------------------------------------------------------------------
# The byte scanner on its own
# ---------------------------------------------------------------------------------------------

HEAD = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def edited(xml: bytes, cells: dict[int, dict[int, NewCell]], chunk: int = 7) -> bytes:
    out = io.BytesIO()
    old = sheetedit.CHUNK_SIZE
    sheetedit.CHUNK_SIZE = chunk  # tags cut across chunk seams
    try:
        edit_sheet(
            io.BytesIO(xml),
            out,
            cells,
            style_for=lambda base, kind: 7,
            epoch=dt.datetime(1899, 12, 30),
        )
    finally:
        sheetedit.CHUNK_SIZE = old
    return out.getvalue()


@pytest.mark.parametrize(
    ("body", "cells", "expected"),
    [
        (  # an empty sheet
            b"<sheetData/>",
            {2: {6: NewCell("a")}},
            b'<sheetData><row r="2"><c r="F2" t="inlineStr"><is><t xml:space="preserve">a'
            b"</t></is></c></row></sheetData>",
        ),
        (  # a cell without r keeps its place; a cleared styled cell keeps its style
            b'<sheetData><row r="1" spans="1:6"><c><v>1</v></c><c r="F1" s="3"><v>2</v></c>'
            b"</row></sheetData>",
            {1: {2: NewCell(5), 6: NewCell(None)}},
            b'<sheetData><row r="1" spans="1:6"><c r="A1"><v>1</v></c><c r="B1"><v>5</v></c>'
            b'<c r="F1" s="3"/></row></sheetData>',
        ),
        (  # a self-closed row gets cells; rows without r count on
            b'<sheetData><row r="4"/><row><c r="A5"><v>1</v></c></row></sheetData>',
            {5: {7: NewCell(True)}, 4: {6: NewCell(1.5, "wrap")}},
            b'<sheetData><row r="4"><c r="F4" s="7"><v>1.5</v></c></row><row><c r="A5"><v>1'
            b'</v></c><c r="G5" t="b"><v>1</v></c></row></sheetData>',
        ),
        (  # text is escaped; a date becomes its serial number
            b"<sheetData></sheetData>",
            {1: {6: NewCell("<&>"), 7: NewCell(dt.datetime(2026, 1, 2, 12))}},
            b'<sheetData><row r="1"><c r="F1" t="inlineStr"><is><t xml:space="preserve">'
            b'&lt;&amp;&gt;</t></is></c><c r="G1"><v>46024.5</v></c></row></sheetData>',
        ),
    ],
)
def test_edit_sheet_cases(body: bytes, cells: dict, expected: bytes) -> None:
    assert edited(HEAD + body + b"</worksheet>", cells) == HEAD + expected + b"</worksheet>"


@pytest.mark.parametrize(
    "body",
    [
        b"<sheetData><row r='1'><![CDATA[x]]></row></sheetData>",
        b"<sheetData><!-- a comment --></sheetData>",
        b'<x:sheetData><x:row r="1"/></x:sheetData>',
        b'<sheetData><row r="1"><c r="A1"/><extLst/></row></sheetData>',
    ],
)
def test_what_the_scanner_cannot_read_is_refused(body: bytes) -> None:
    with pytest.raises(CannotStream):
        edited(HEAD + body + b"</worksheet>", {1: {6: NewCell("a")}})


def test_style_book_derives_once_and_adds_the_number_format() -> None:
    xml = (
        b'<styleSheet xmlns="x"><cellXfs count="2"><xf numFmtId="0" fontId="0"/>'
        b'<xf numFmtId="0" fontId="1"><alignment horizontal="left"/></xf></cellXfs></styleSheet>'
    )
    kinds = {
        "date": StyleKind(number_format="yyyy-mm-dd"),
        "wrap": StyleKind(alignment=b'<alignment wrapText="1"/>'),
    }
    book = StyleBook(xml, kinds)
    assert book.style_for(None, "date") == 2
    assert book.style_for(0, "date") == 2
    assert book.style_for(1, "wrap") == 3
    out = book.xml()
    assert b'<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>' in out
    assert b'<cellXfs count="4">' in out
    assert b'<xf numFmtId="0" fontId="1" applyAlignment="1"><alignment wrapText="1"/></xf>' in out
    again = StyleBook(out, kinds)
    assert again.style_for(2, "date") == 2 and again.style_for(0, "date") == 2
    assert again.xml() == out


def test_marks_layout_is_generic() -> None:
    # the streaming writer writes whatever TOOL_HEADERS / ToolCells hold, from F on
    assert len(ToolCells().values()) == len(marks.TOOL_HEADERS)


# ---------------------------------------------------------------------------------------------
# The commands take the streaming path
# ---------------------------------------------------------------------------------------------


def test_validate_annotate_keeps_charts_images_comments_and_buttons(tmp_path: Path) -> None:
    from addin import cli

    rows = sample(4)
    rows[1][1] = "Nearly done"  # an unknown status: an error to mark
    path = build_xlsxwriter_workbook(tmp_path / "team.xlsx", rows, extras=True)
    before = members(path)
    assert cli.main(["validate", "--annotate", str(path)]) != 0
    after = members(path)
    kept = [n for n in before if n.startswith(("xl/charts/", "xl/media/", "xl/drawings/"))]
    kept += ["xl/comments1.xml", "xl/theme/theme1.xml", "docProps/app.xml"]
    assert all(after[name] == before[name] for name in kept)
    updates = cells_of(path)[model.UPDATES_SHEET]
    assert updates["J3"][0] == ".E..."
    assert "Nearly done" in updates["F3"][0] and updates["F3"][2]  # wrapped


def test_a_macro_workbook_streams_once_its_layout_is_there(tmp_path: Path) -> None:
    from workbook_factory import build_macro_workbook, sample_rows

    path = build_macro_workbook(tmp_path / "book.xlsm", sample_rows(4))
    write(path, submit_changes(path, range(2, 4)), stream=False)  # migrates if need be
    before = members(path)
    assert write(path, submit_changes(path, range(2, 6)), stream=True)
    after = members(path)
    for name in before:
        if name.startswith(("xl/vbaProject", "customUI/")) or name == "_rels/.rels":
            assert after[name] == before[name], name
    assert cells_of(path)[model.UPDATES_SHEET]["G5"][0] == "job-1"


def test_a_file_changed_since_the_read_has_its_headers_checked_again(tmp_path: Path) -> None:
    from addin.errors import WorkbookError

    path = build_xlsxwriter_workbook(tmp_path / "team.xlsx", sample(3))
    port = workbook.FileSheets(path)
    view = port.read()
    wb = openpyxl.load_workbook(path)
    wb[model.UPDATES_SHEET]["G1"] = "Owner"  # someone else's column, saved meanwhile
    wb.save(path)
    port.write(view, submission.findings_changes(view, FINDINGS))
    with pytest.raises(WorkbookError, match="Owner"):
        port.commit()


def test_two_commits_of_one_read_both_stream(tmp_path: Path, monkeypatch) -> None:
    path = build_xlsxwriter_workbook(tmp_path / "team.xlsx", sample(3))
    port = workbook.FileSheets(path)
    view = port.read()
    both = (submission.findings_changes(view, FINDINGS), submit_changes(path, range(2, 5)))
    monkeypatch.setattr(workbook, "open_read_only", None)  # no second read of the headers
    for changes in both:
        port.write(view, changes)
        port.commit()
    monkeypatch.undo()
    updates = cells_of(path)[model.UPDATES_SHEET]
    assert updates["J3"][0] == ".E.W." and updates["G4"][0] == "job-1"
