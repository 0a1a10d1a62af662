"""Repairing openpyxl's output at the zip level, on the bytes of real and hand-made parts.

The end-to-end checks (write_back keeps the ribbon, formula results and extensions of a real
file) are in test_workbook.py; these call the package functions directly.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from workbook_factory import (
    RIBBON14_PART,
    RIBBON14_TYPE,
    build_extended_workbook,
    build_macro_workbook,
    build_workbook,
    ribbon_relationships,
    sample_rows,
    set_formula_results,
    zip_part,
)

from addin import package

SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

# ---------------------------------------------------------------------------------------------
# restore_ribbon: the VBA project, the ribbon and their content types
# ---------------------------------------------------------------------------------------------


def test_restore_ribbon_puts_back_what_openpyxl_drops(tmp_path: Path) -> None:
    path = build_macro_workbook(tmp_path / "t.xlsm", sample_rows(1))
    original = path.read_bytes()
    saved = io.BytesIO()
    openpyxl.load_workbook(io.BytesIO(original), keep_vba=True).save(saved)
    plain = saved.getvalue()
    with zipfile.ZipFile(io.BytesIO(plain)) as archive:
        assert RIBBON14_TYPE.encode() not in archive.read("_rels/.rels")  # the known loss
    fixed = tmp_path / "fixed.xlsm"
    fixed.write_bytes(package.restore_ribbon(original, plain))
    assert ribbon_relationships(fixed) == [RIBBON14_PART]
    assert zip_part(fixed, RIBBON14_PART) == zip_part(path, RIBBON14_PART)
    with zipfile.ZipFile(fixed) as archive:
        assert archive.testzip() is None
        assert len(archive.namelist()) == len(set(archive.namelist()))


def test_restore_ribbon_leaves_plain_workbooks_alone(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", sample_rows(3))
    data = path.read_bytes()
    assert package.restore_ribbon(data, data) is data


def test_restore_ribbon_renames_a_clashing_id() -> None:
    rels = package._with_ribbon_rels(
        b'<Relationships><Relationship Id="rId1" Type="t" Target="x"/></Relationships>',
        [f'<Relationship Id="rId1" Type="{RIBBON14_TYPE}" Target="customUI/c.xml"/>'.encode()],
    )
    ids = re.findall(rb'Id="([^"]+)"', rels)
    assert len(ids) == len(set(ids)) == 2


def test_restore_ribbon_adds_the_content_types_of_copied_parts() -> None:
    saved = (
        b'<Types xmlns="t"><Default Extension="xml" ContentType="application/xml"/>'
        b'<Override PartName="/xl/package.xml" ContentType="m"/></Types>'
    )
    original = (
        b'<Types xmlns="t"><Default Extension="gif" ContentType="image/gif"/>'
        b'<Default Extension="jpg" ContentType="image/jpeg"/>'
        b'<Override PartName="/customUI/customUI14.xml" ContentType="application/xml"/>'
        b'<Override PartName="/xl/other.xml" ContentType="o"/></Types>'
    )
    parts = {"customUI/customUI14.xml": b"", "customUI/images/a.gif": b""}
    assert package._with_content_types(saved, original, parts) == (
        b'<Types xmlns="t"><Default Extension="gif" ContentType="image/gif"/>'
        b'<Default Extension="xml" ContentType="application/xml"/>'
        b'<Override PartName="/xl/package.xml" ContentType="m"/>'
        b'<Override PartName="/customUI/customUI14.xml" ContentType="application/xml"/></Types>'
    )


# ---------------------------------------------------------------------------------------------
# restore_sheet_content: formula results, cell by cell
# ---------------------------------------------------------------------------------------------

SHEET_OPEN = f'<worksheet xmlns="{SHEET_NS}"><sheetData><row r="2">'.encode()
SHEET_CLOSE = b"</row></sheetData></worksheet>"


@pytest.mark.parametrize(
    ("original", "saved", "expected"),
    [
        # openpyxl's output gets the original's type and value
        (
            b'<c r="A2" t="str"><f>"a"</f><v>a</v></c>',
            b'<c r="A2" s="3"><f>"a"</f><v /></c>',
            b'<c r="A2" s="3" t="str"><f>"a"</f><v>a</v></c>',
        ),
        # a type openpyxl wrote is replaced; a missing <v> is added
        (
            b'<c r="A2" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
            b'<c r="A2" t="n"><f>1/0</f></c>',
            b'<c r="A2" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
        ),
        # "" as a result counts; an empty number does not (nothing to copy)
        (
            b'<c r="A2" t="str"><f>""</f><v></v></c>',
            b'<c r="A2"><f>""</f><v/></c>',
            b'<c r="A2" t="str"><f>""</f><v></v></c>',
        ),
        (b'<c r="A2"><f>1</f><v></v></c>', b'<c r="A2"><f>1</f><v /></c>', None),
        # a shared-formula child (empty <f>) gives its value; the cell must match by reference
        (
            b'<c r="B2"><f t="shared" si="0"/><v>6</v></c>',
            b'<c r="B2"><f>A2*2</f><v /></c>',
            b'<c r="B2"><f>A2*2</f><v>6</v></c>',
        ),
        (b'<c r="B9"><f>1</f><v>1</v></c>', b'<c r="A2"><f>1</f><v /></c>', None),
        # a value the saved cell has already, a shared-string result, a cell not a formula now
        (b'<c r="A2"><f>1</f><v>1</v></c>', b'<c r="A2"><f>1</f><v>2</v></c>', None),
        (b'<c r="A2" t="s"><f>1</f><v>0</v></c>', b'<c r="A2"><f>1</f><v /></c>', None),
        (b'<c r="A2"><f>1</f><v>1</v></c>', b'<c r="A2" t="inlineStr"><is><t>x</t></is></c>', None),
        # another program's prefixed XML
        (
            b'<x:c r="A2" t="b"><x:f>TRUE</x:f><x:v>1</x:v></x:c>',
            b'<c r="A2"><f>TRUE</f><v /></c>',
            b'<c r="A2" t="b"><f>TRUE</f><v>1</v></c>',
        ),
    ],
)
def test_formula_results_are_copied_cell_by_cell(
    original: bytes, saved: bytes, expected: bytes | None
) -> None:
    old = SHEET_OPEN + original + SHEET_CLOSE
    if original.startswith(b"<x:"):
        old = old.replace(b"<row", b"<x:row").replace(b"</row", b"</x:row")
    new = SHEET_OPEN + saved + SHEET_CLOSE
    assert package._restore_sheet(old, new) == (
        new if expected is None else SHEET_OPEN + expected + SHEET_CLOSE
    )


def test_restore_sheet_content_leaves_a_plain_save_alone(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", sample_rows(3))
    saved = io.BytesIO()
    openpyxl.load_workbook(path).save(saved)
    assert package.restore_sheet_content(path.read_bytes(), saved.getvalue()) is saved.getvalue()


# ---------------------------------------------------------------------------------------------
# repair: both steps, one package build
# ---------------------------------------------------------------------------------------------


def _macro_with_formula(path: Path) -> Path:
    rows = [list(r) for r in sample_rows(2)]
    rows[0][2] = "=1+1"
    build_macro_workbook(path, rows)
    return set_formula_results(path, {"C2": (None, "2")})


def _entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


@pytest.mark.parametrize(
    ("build", "name", "ribbon", "content"),
    [
        (_macro_with_formula, "t.xlsm", True, True),  # both steps put something back
        (lambda p: build_macro_workbook(p, sample_rows(2)), "t.xlsm", True, False),
        (lambda p: build_extended_workbook(p, sample_rows(2)), "x.xlsx", False, True),
    ],
    ids=["ribbon and formula value", "ribbon only", "extensions only"],
)
@pytest.mark.filterwarnings("ignore:.*extension is not supported:UserWarning")
def test_repair_is_both_steps_in_one_build(tmp_path: Path, build, name, ribbon, content) -> None:
    path = build(tmp_path / name)
    original = path.read_bytes()
    saved = io.BytesIO()
    openpyxl.load_workbook(io.BytesIO(original), keep_vba=name.endswith(".xlsm")).save(saved)
    plain = saved.getvalue()
    assert (package.restore_ribbon(original, plain) is not plain) is ribbon
    assert (package.restore_sheet_content(original, plain) is not plain) is content
    one_pass = package.repair(original, plain)
    two_passes = package.restore_ribbon(original, package.restore_sheet_content(original, plain))
    assert _entries(one_pass) == _entries(two_passes)


def test_repair_leaves_a_plain_save_alone(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "u.xlsx", sample_rows(3))
    saved = io.BytesIO()
    openpyxl.load_workbook(path).save(saved)
    plain = saved.getvalue()
    assert package.repair(path.read_bytes(), plain) is plain
