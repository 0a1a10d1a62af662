"""The real template through the project's own write-back: annotate, then submit with results.

openpyxl drops the customUI14 ribbon and more on save; the write-back must not. Everything is
checked with readers other than the write-back itself: zipfile, openpyxl, oletools.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from addin.cli import main
from addin.sandbox import start_sandbox
from addin.template.compare import vba_sources

TEMPLATE = Path(__file__).resolve().parent.parent / "workbook_template.xlsm"
KEY = "roundtrip-key-0"
RIBBON_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def vba_modules(path: Path) -> dict[str, str]:
    """Module name -> source, decompressed by oletools' olevba."""
    return vba_sources(path.read_bytes())


def sheet_facts(path: Path) -> dict[str, object]:
    wb = openpyxl.load_workbook(path, keep_vba=True)
    ws = wb["Updates"]
    facts = {
        "sheets": wb.sheetnames,
        "code names": [s.sheet_properties.codeName for s in wb.worksheets],
        "names": {n: wb.defined_names[n].attr_text for n in wb.defined_names},
        "tables": dict(ws.tables.items()),  # name -> range
        "validations": sorted(
            (str(dv.type), str(dv.formula1), str(dv.sqref))
            for dv in ws.data_validations.dataValidation
        ),
        "colour rules": sorted(
            (str(cf.sqref), r.formula[0]) for cf in ws.conditional_formatting for r in cf.rules
        ),
        "inputs": [row for row in ws.iter_rows(max_col=5, values_only=True)],
        "conf": [row for row in wb["xlwings.conf"].iter_rows(values_only=True)],
        "conf hidden": wb["xlwings.conf"].sheet_state,
    }
    wb.close()
    return facts


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "Team updates.xlsm"
    shutil.copyfile(TEMPLATE, path)
    return path


def test_annotate_then_submit_keeps_vba_ribbon_and_everything_else(book, monkeypatch, capsys):
    before_parts, before_vba, before_facts = parts(book), vba_modules(book), sheet_facts(book)

    assert main(["validate", str(book), "--annotate"]) == 0
    monkeypatch.setenv("ACHIEVEIT_API_KEY", KEY)
    with start_sandbox(api_key=KEY, processing_delay=0.1, accept_any_id=True) as sandbox:
        assert main(["submit", str(book), "--base-url", sandbox.url, "--wait", "--json"]) == 0
        job_id = sandbox.jobs()[0].id
    capsys.readouterr()

    after_parts = parts(book)
    # The VBA project byte for byte, the ribbon part byte for byte, and its relationship.
    assert after_parts["xl/vbaProject.bin"] == before_parts["xl/vbaProject.bin"]
    assert after_parts["customUI/customUI14.xml"] == before_parts["customUI/customUI14.xml"]
    rels = after_parts["_rels/.rels"].decode()
    assert re.search(
        rf'Type="{re.escape(RIBBON_REL)}"[^>]*Target="/?customUI/customUI14.xml"', rels
    ) or (
        re.search(rf'Target="/?customUI/customUI14.xml"[^>]*Type="{re.escape(RIBBON_REL)}"', rels)
    )
    types = after_parts["[Content_Types].xml"].decode()
    assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in types
    assert "application/vnd.ms-office.vbaProject" in types
    assert vba_modules(book) == before_vba

    # Sheets, code names, names, table, validations, colour rules and every input kept.
    assert sheet_facts(book) == before_facts

    # And the results are there: job ID per row, a Log line.
    wb = openpyxl.load_workbook(book)
    rows = list(
        wb["Updates"].iter_rows(min_row=2, max_row=4, min_col=7, max_col=8, values_only=True)
    )
    assert [job for job, _status in rows] == [job_id] * 3
    assert all(status.startswith("succeeded: Processed 3 progress updates.") for _j, status in rows)
    log = list(wb["Log"].iter_rows(min_row=2, values_only=True))
    assert len(log) == 1 and log[0][4] == job_id and log[0][5] == "succeeded"
    wb.close()
