"""`achieveit-updates workbook new` and `workbook upgrade`, on real files.

Upgrades start from the templates teams really have (tests/fixtures/, as released), filled in
the way a user fills them: typed cells, pasted results, a Log, changed settings, a sheet and a
VBA module of their own, formulas with the values Excel saved. What comes out is read with
readers other than the upgrade's own: zipfile, openpyxl, oletools' olevba.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import sys
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils.cell import get_column_letter
from workbook_factory import rewrite_part, set_formula_results

from addin import marks, model, package, workbook, workbookfile
from addin.cli import main
from addin.errors import ConfigError
from addin.planitems import ITEM_HEADERS, PLAN_ITEMS_SHEET, PLAN_ITEMS_TABLE
from addin.sandbox import start_sandbox
from addin.template.build import RIBBON_XML, UI_REL, vba_modules
from addin.template.compare import vba_sources
from addin.template.sheets import INTERPRETER_MAC, INTERPRETER_WIN, MAX_STATUSES, xlwings_conf
from addin.template.version import TEMPLATE_VERSION
from addin.workbookcheck import INTERPRETER, check_workbook
from addin.workbookfile import interpreter_conf, settings_from_flags

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PREVIOUS = FIXTURES / "template-43f5f3c.xlsm"  # the last release before versions
TEMPLATE_2 = FIXTURES / "template-59b2bcf.xlsm"  # F..K, no Plan Items sheet, no Plan ID
FIRST = FIXTURES / "template-e475ddd.xlsm"  # tool columns F..I only, no colour rules
LAST_TOOL_COL = marks.ISSUES_COL + len(marks.TOOL_HEADERS) - 1
USER_COL = LAST_TOOL_COL + 3  # a column of the user's, well right of the tool's
USER_LETTER = get_column_letter(USER_COL)
USER_MODULE = 'Attribute VB_Name = "TeamMacros"\r\nOption Explicit\r\n\r\nPublic Sub Hello()\r\n    MsgBox "Hi from the team"\r\nEnd Sub\r\n'  # noqa: E501
WORKBOOK_CODE = (
    'Private Sub Workbook_Open()\r\n    Application.StatusBar = "Team copy"\r\nEnd Sub\r\n'
)


def body(source: str) -> str:
    lines = source.replace("\r\n", "\n").split("\n")
    if lines and lines[0].startswith("VERSION "):
        lines = lines[lines.index("END") + 1 :]
    return "\n".join(line for line in lines if not line.startswith("Attribute ")).strip("\n")


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def edit_book(path: Path, edit: Callable[[Any], None]) -> None:
    """Change cells as a user would, keeping the VBA and ribbon (openpyxl drops them)."""
    original = path.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path, keep_vba=True)
        edit(wb)
        buffer = io.BytesIO()
        wb.save(buffer)
    path.write_bytes(package.repair(original, buffer.getvalue()))


def add_user_vba(path: Path) -> None:
    """A module of the team's own, and code in ThisWorkbook, added as the VBA editor would."""
    from pyopenvba import ExcelFile

    saved = path.with_name("with-macros.xlsm")
    with ExcelFile(path) as book:
        book.vba_project().add_module("TeamMacros", USER_MODULE)
        book.set_module("ThisWorkbook", WORKBOOK_CODE)
        book.save(saved)
    saved.replace(path)


def team_copy(tmp_path: Path, fixture: Path) -> Path:
    """A released template, used by a team for a while."""
    path = tmp_path / "Team updates.xlsm"
    shutil.copyfile(fixture, path)

    def fill(wb: Any) -> None:
        ws = wb[model.UPDATES_SHEET]
        ws.delete_rows(2, 3)
        rows = [
            ("ENG-0042", "On Track", 0.45, dt.datetime(2026, 3, 1), "Späť on plan – ünïcode"),
            ("OPS-0107", "At Risk", None, dt.datetime(2026, 3, 2), ""),
            ("00123", "Achieved", 1, dt.datetime(2026, 3, 3), "leading zeros"),
        ]
        for r, values in enumerate(rows, start=2):
            for c, value in enumerate(values, start=1):
                ws.cell(r, c, value)
            ws.cell(r, 7, f"job-{r}")
            ws.cell(r, 8, "succeeded: Processed 3 progress updates.")
            ws.cell(r, 9, dt.datetime(2026, 3, 4, 9, 30))
            ws.cell(r, USER_COL, f"=LEN(A{r})")
        ws.cell(1, USER_COL, "Owner notes")
        ws.cell(2, marks.ISSUES_COL, "Warning – As Of Date: check it")
        log = wb[model.LOG_SHEET]
        log.append([dt.datetime(2026, 3, 4, 9, 29), "Team_updates", 3, "ab" * 32, "job-2",
                    "succeeded", "Processed 3 progress updates."])  # fmt: skip
        settings = wb[model.SETTINGS_SHEET]
        settings["B2"] = "gov-api"
        settings["B7"] = 45
        settings["E9"] = "Paused"
        notes = wb.create_sheet("Team notes")
        notes["A1"] = "Who sends on Fridays: Ana"

    edit_book(path, fill)
    set_formula_results(path, {f"{USER_LETTER}{r}": (None, "8") for r in (2, 3, 4)})
    add_user_vba(path)
    return path


def cell_facts(path: Path) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(sheet, cell) -> what the user sees and typed, for every cell of every sheet."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path)
        saved = openpyxl.load_workbook(path, data_only=True)  # the values Excel saved
    facts = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.value is None and not c.has_style:
                    continue
                facts[(ws.title, c.coordinate)] = (
                    c.value,
                    saved[ws.title][c.coordinate].value,
                    c.number_format,
                    c.font.b,
                    c.font.name,
                    c.font.sz,
                    c.fill.fgColor.rgb if c.fill.fill_type else None,
                    c.alignment.wrap_text,
                )
    return facts


def added_headers(before: dict[tuple[str, str], tuple[Any, ...]]) -> set[tuple[str, str]]:
    """The cells a workbook lacked that the upgrade adds (cell_facts keys): the tool columns'
    headers, the Plan Items sheet's header row and empty table row (template 3), and the
    settings rows the Settings sheet lacked (A..C)."""
    cells = {(model.UPDATES_SHEET, f"{get_column_letter(c)}1")
             for c in range(marks.ISSUES_COL, LAST_TOOL_COL + 1)}  # fmt: skip
    cells |= {(PLAN_ITEMS_SHEET, f"{letter}{row}") for letter in "ABCDEF" for row in (1, 2)}
    cells |= {(model.SETTINGS_SHEET, f"{letter}{row}") for letter in "ABC" for row in range(1, 30)}
    return cells - before.keys()


def upgrade(path: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str]:
    code = main(["workbook", "upgrade", *flags, str(path)])
    out = capsys.readouterr()
    return code, out.out + out.err


# --- workbook new ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "executable", "pythonw_exists", "key", "expected"),
    [
        ("win32", r"C:\Py\python.exe", True, "INTERPRETER_WIN", r"C:\Py\pythonw.exe"),
        ("win32", r"C:\Py\python.exe", False, "INTERPRETER_WIN", r"C:\Py\python.exe"),
        ("win32", r"C:\venv\Scripts\python.exe", True, "INTERPRETER_WIN",
         r"C:\venv\Scripts\pythonw.exe"),  # a virtual environment stays one
        ("darwin", "/Users/a/.venv/bin/python", False, "INTERPRETER_MAC",
         "/Users/a/.venv/bin/python"),
        ("linux", "/usr/bin/python3", False, "INTERPRETER_MAC", "/usr/bin/python3"),
    ],
)  # fmt: skip
def test_interpreter_conf_names_this_python(
    platform: str, executable: str, pythonw_exists: bool, key: str, expected: str
) -> None:
    conf = dict(interpreter_conf(executable, platform, lambda path: pythonw_exists))
    assert conf[key] == expected
    other = "INTERPRETER_MAC" if key == "INTERPRETER_WIN" else "INTERPRETER_WIN"
    assert (
        conf[other]
        == {"INTERPRETER_WIN": INTERPRETER_WIN, "INTERPRETER_MAC": INTERPRETER_MAC}[other]
    )
    assert [k for k, _ in interpreter_conf(executable, platform)] == [k for k, _ in xlwings_conf()]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({}, model.Settings()),
        ({"subdomain": "gov-api"}, model.Settings(subdomain="gov-api")),
        ({"base_url": " http://127.0.0.1:8765 "}, model.Settings(base_url="http://127.0.0.1:8765")),
        (
            {"statuses": " Green, Amber ,Green,, Red "},
            model.Settings(statuses=("Green", "Amber", "Red")),
        ),  # noqa: E501
    ],
)
def test_settings_from_flags(flags: dict[str, str], expected: model.Settings) -> None:
    assert settings_from_flags(**flags) == expected


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"subdomain": "gov api"}, "not valid"),
        ({"base_url": "http://example.com"}, "http"),
        ({"statuses": " , "}, "at least one status"),
        ({"statuses": "=HYPERLINK(1)"}, "starts with '='"),
        ({"statuses": ",".join(f"S{i}" for i in range(MAX_STATUSES + 1))}, "holds 100"),
    ],
)
def test_settings_from_flags_refuses_what_the_tool_could_not_use(
    flags: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from_flags(**flags)


def test_new_writes_a_workbook_with_the_flags_settings(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["workbook", "new", "--subdomain", "gov-api", "--base-url",
                 "http://127.0.0.1:8765", "--statuses", "Green,Amber,Red"])  # fmt: skip
    out = capsys.readouterr().out
    target = tmp_path / workbookfile.DEFAULT_NAME
    assert code == 0 and target.is_file()
    assert f"Wrote {workbookfile.DEFAULT_NAME}" in out and sys.executable in out
    assert "Set API Key" in out  # the next step
    settings = workbook.read_settings(target)
    assert settings == model.Settings(
        subdomain="gov-api", base_url="http://127.0.0.1:8765", statuses=("Green", "Amber", "Red")
    )
    assert [c.ok for c in check_workbook(target)] == [True] * 7  # names this (existing) Python
    assert sorted(p.name for p in tmp_path.iterdir()) == [workbookfile.DEFAULT_NAME]  # no temp
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask  # like any new file, not 0600


def test_new_never_overwrites_without_force(tmp_path, capsys):
    target = tmp_path / "Team.xlsm"
    target.write_bytes(b"the team's data")
    assert main(["workbook", "new", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert target.read_bytes() == b"the team's data"
    assert main(["workbook", "new", str(target), "--force"]) == 0
    assert zipfile.is_zipfile(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Team.xlsm"]


def test_new_force_refuses_a_workbook_open_in_excel(tmp_path, capsys):
    target = tmp_path / "Team.xlsm"
    target.write_bytes(b"open in Excel")
    (tmp_path / "~$Team.xlsm").write_bytes(b"owner")
    assert main(["workbook", "new", str(target), "--force"]) == 2
    assert "open in Excel" in capsys.readouterr().err
    assert target.read_bytes() == b"open in Excel"


@pytest.mark.parametrize(
    ("given", "written"),
    [
        (None, workbookfile.DEFAULT_NAME),
        (".", workbookfile.DEFAULT_NAME),  # a folder: the default name in it
        ("Plans", "Plans.xlsm"),
        ("Plans.XLSM", "Plans.XLSM"),
    ],
)
def test_new_target_names(tmp_path, monkeypatch, given, written):
    monkeypatch.chdir(tmp_path)
    assert workbookfile.new_target(given).resolve() == tmp_path / written


def test_new_refuses_a_name_that_cannot_hold_macros(tmp_path, capsys):
    assert main(["workbook", "new", str(tmp_path / "Team.xlsx")]) == 2
    assert ".xlsm" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# --- workbook upgrade: the previous release -------------------------------------------------


def test_upgrade_of_the_previous_release_renews_vba_ribbon_and_version_only(tmp_path, capsys):
    book = team_copy(tmp_path, PREVIOUS)
    before_parts, before_cells = parts(book), cell_facts(book)
    before_vba = vba_sources(before_parts["xl/vbaProject.bin"])

    code, out = upgrade(book, capsys)

    assert code == 0, out
    assert "replaced the VBA module AchieveIt" in out
    assert str(tmp_path / "Team updates.xlsm.bak") in out
    after = parts(book)
    # The installed VBA, ribbon and version ...
    vba = vba_sources(after["xl/vbaProject.bin"])
    for name, (_, source) in vba_modules().items():
        assert body(vba[name]) == body(source), name
    assert after["customUI/customUI14.xml"] == RIBBON_XML.read_bytes()
    assert UI_REL in after["_rels/.rels"].decode()
    assert (
        b'name="AchieveItTemplateVersion" hidden="1">%d<' % TEMPLATE_VERSION
        in after["xl/workbook.xml"]
    )
    # ... the team's own macros as they were ...
    assert vba["TeamMacros"] == before_vba["TeamMacros"]
    assert vba["ThisWorkbook"] == before_vba["ThisWorkbook"]
    added = added_headers(before_cells)
    if not added:
        # ... and every other part byte for byte: no cell, sheet, setting or Log line touched.
        renewed = {"xl/vbaProject.bin", "customUI/customUI14.xml", "xl/workbook.xml"}
        assert {n: d for n, d in after.items() if n not in renewed} == {
            n: d for n, d in before_parts.items() if n not in renewed
        }
    # (A later layout than this release's F..J adds its new columns' headers, nothing else.)
    assert {k: v for k, v in cell_facts(book).items() if k not in added} == before_cells
    failed = [c for c in check_workbook(book) if not c.ok]
    assert [c.name for c in failed] == [INTERPRETER]  # python.org's Python isn't on this machine


def fewer_buttons(path: Path) -> None:
    """An older copy: no Settings button on its tab, no OnOpenSettings in its VBA."""
    import re

    from pyopenvba import ExcelFile

    rewrite_part(
        path,
        "customUI/customUI14.xml",
        lambda d: re.sub(rb'<button id="btnOpenSettings".*?/>', b"", d, flags=re.DOTALL),
    )
    saved = path.with_name("fewer.xlsm")
    with ExcelFile(path) as book:
        source = book.get_module("AchieveIt")
        cut = re.sub(r"Public Sub OnOpenSettings.*?End Sub\r\n", "", source, flags=re.DOTALL)
        assert cut != source
        book.set_module("AchieveIt", cut)
        book.save(saved)
    saved.replace(path)


def test_upgrade_brings_back_the_buttons_an_older_copy_lacks(tmp_path, capsys):
    book = team_copy(tmp_path, PREVIOUS)
    fewer_buttons(book)
    before = cell_facts(book)
    assert b"btnOpenSettings" not in parts(book)["customUI/customUI14.xml"]
    code, out = upgrade(book, capsys)
    assert code == 0, out
    assert "replaced the ribbon" in out and "replaced the VBA module AchieveIt" in out
    after = parts(book)
    assert after["customUI/customUI14.xml"] == RIBBON_XML.read_bytes()
    vba = vba_sources(after["xl/vbaProject.bin"])
    assert "Public Sub OnOpenSettings(control As IRibbonControl)" in vba["AchieveIt"]
    assert body(vba["TeamMacros"]) == body(USER_MODULE)
    added = added_headers(before)
    assert {k: v for k, v in cell_facts(book).items() if k not in added} == before
    assert [c.name for c in check_workbook(book) if not c.ok] == [INTERPRETER]


def test_upgrade_of_template_2_adds_the_plan_items_sheet_and_the_plan_id_setting(tmp_path, capsys):
    book = team_copy(tmp_path, TEMPLATE_2)
    before = cell_facts(book)
    assert PLAN_ITEMS_SHEET not in openpyxl.load_workbook(book).sheetnames
    code, out = upgrade(book, capsys)
    assert code == 0, out
    assert "added the Plan Items sheet" in out and "added the setting 'Plan ID'" in out
    wb = openpyxl.load_workbook(book)
    ws = wb[PLAN_ITEMS_SHEET]
    assert [c.value for c in ws[1]] == list(ITEM_HEADERS)
    assert ws.tables[PLAN_ITEMS_TABLE].ref == f"A1:{get_column_letter(len(ITEM_HEADERS))}2"
    settings = {r[0]: r[1] for r in wb[model.SETTINGS_SHEET].iter_rows(values_only=True)}
    assert "Plan ID" in settings and settings["Submit waits (seconds)"] == 45  # theirs kept
    after = cell_facts(book)
    added = added_headers(before)
    assert {k: v for k, v in after.items() if k not in added} == before
    assert b'hidden="1">%d<' % TEMPLATE_VERSION in parts(book)["xl/workbook.xml"]
    assert [c.name for c in check_workbook(book) if not c.ok] == [INTERPRETER]
    # A second upgrade finds nothing to do.
    assert upgrade(book, capsys)[1].count("already up to date") == 1


def test_the_backup_is_the_file_as_it_was(tmp_path, capsys):
    book = team_copy(tmp_path, PREVIOUS)
    original = book.read_bytes()
    assert upgrade(book, capsys)[0] == 0
    assert (tmp_path / "Team updates.xlsm.bak").read_bytes() == original
    assert book.read_bytes() != original


def test_a_second_upgrade_changes_nothing(tmp_path, capsys):
    book = team_copy(tmp_path, PREVIOUS)
    assert upgrade(book, capsys)[0] == 0
    first, backup = book.read_bytes(), (tmp_path / "Team updates.xlsm.bak").read_bytes()
    code, out = upgrade(book, capsys)
    assert code == 0 and "already up to date" in out
    assert book.read_bytes() == first
    assert (tmp_path / "Team updates.xlsm.bak").read_bytes() == backup


# --- workbook upgrade: an older layout ------------------------------------------------------


def test_upgrade_of_the_first_layout_adds_the_tool_columns_and_keeps_every_cell(tmp_path, capsys):
    book = team_copy(tmp_path, FIRST)
    before_cells = cell_facts(book)
    before_vba = vba_sources(parts(book)["xl/vbaProject.bin"])

    code, out = upgrade(book, capsys)

    assert code == 0, out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(book)
    ws = wb[model.UPDATES_SHEET]
    tool = [ws.cell(1, c).value for c in range(marks.ISSUES_COL, LAST_TOOL_COL + 1)]
    assert tool == list(marks.TOOL_HEADERS)
    assert ws.column_dimensions[marks.MARKS_COLUMN].hidden
    table = ws.tables["UpdatesTable"]
    assert table.ref == f"A1:{get_column_letter(LAST_TOOL_COL)}4"
    header = [ws.cell(1, c).value for c in range(1, LAST_TOOL_COL + 1)]
    assert [c.name for c in table.tableColumns] == header  # a table whose columns match its ref
    assert table.autoFilter is None or table.autoFilter.ref == table.ref
    assert sorted(r.formula[0] for cf in ws.conditional_formatting for r in cf.rules) == sorted(
        [marks.ERROR_RULE_FORMULA, marks.WARNING_RULE_FORMULA]
    )
    # Every cell the user had, with the values Excel saved, as it was; only headers were added.
    added = added_headers(before_cells)
    assert added  # this layout lacked a tool column
    after_cells = cell_facts(book)
    assert {k: v for k, v in after_cells.items() if k not in added} == before_cells
    vba = vba_sources(parts(book)["xl/vbaProject.bin"])
    assert vba["TeamMacros"] == before_vba["TeamMacros"]
    assert [c.name for c in check_workbook(book) if not c.ok] == [INTERPRETER]


def test_the_upgraded_first_layout_works_with_the_tool(tmp_path, capsys, monkeypatch):
    book = team_copy(tmp_path, FIRST)
    edit_book(book, lambda wb: wb[model.SETTINGS_SHEET].__setitem__("B2", "api"))
    assert upgrade(book, capsys)[0] == 0
    monkeypatch.setenv("ACHIEVEIT_API_KEY", "k-1")
    with start_sandbox(api_key="k-1", processing_delay=0.1, accept_any_id=True) as sandbox:
        code = main(["submit", str(book), "--base-url", sandbox.url, "--wait", "--json"])
    assert code == 0, capsys.readouterr()
    wb = openpyxl.load_workbook(book)
    assert wb[model.LOG_SHEET].max_row == 3  # the team's Log line, then this one
    assert wb[model.UPDATES_SHEET].cell(2, USER_COL).value == "=LEN(A2)"


@pytest.mark.parametrize(
    ("cell", "value"),
    [(f"{marks.MARKS_COLUMN}1", "My notes"), (f"{marks.MARKS_COLUMN}3", "a note without header")],
)
def test_upgrade_refuses_when_a_user_column_is_where_a_tool_column_goes(
    tmp_path, capsys, cell, value
):
    book = team_copy(tmp_path, FIRST)
    edit_book(book, lambda wb: wb[model.UPDATES_SHEET].__setitem__(cell, value))
    original = book.read_bytes()
    code, out = upgrade(book, capsys)
    assert code == 2
    assert f"cell {cell} holds {value!r}" in out and "Nothing was changed" in out
    assert f"'{marks.MARKS_HEADER}'" in out
    assert book.read_bytes() == original
    assert not (tmp_path / "Team updates.xlsm.bak").exists()


# --- workbook upgrade: refusals -------------------------------------------------------------


def test_upgrade_refuses_a_workbook_open_in_excel(tmp_path, capsys):
    book = tmp_path / "Team updates.xlsm"
    shutil.copyfile(PREVIOUS, book)
    (tmp_path / "~$Team updates.xlsm").write_bytes(b"owner")
    code, out = upgrade(book, capsys)
    assert code == 2 and "open in Excel" in out
    assert book.read_bytes() == PREVIOUS.read_bytes()
    assert not (tmp_path / "Team updates.xlsm.bak").exists()


def test_upgrade_refuses_an_xlsx(tmp_path, capsys):
    book = tmp_path / "plain.xlsx"
    workbook_bytes = io.BytesIO()
    openpyxl.Workbook().save(workbook_bytes)
    book.write_bytes(workbook_bytes.getvalue())
    code, out = upgrade(book, capsys)
    assert code == 2 and "workbook new" in out
    assert book.read_bytes() == workbook_bytes.getvalue()


def test_upgrade_writes_nothing_when_the_result_would_not_pass_its_check(
    tmp_path, capsys, monkeypatch
):
    book = team_copy(tmp_path, PREVIOUS)
    fewer_buttons(book)
    original = book.read_bytes()
    # A ribbon step that leaves the old ribbon (a bug): the check before writing catches it.
    monkeypatch.setattr(workbookfile, "with_installed_ribbon", lambda data: (data, []))
    code, out = upgrade(book, capsys)
    assert code == 2 and "did not come out right" in out and "ribbon" in out
    assert book.read_bytes() == original
    assert not (tmp_path / "Team updates.xlsm.bak").exists()


def test_upgrade_adds_a_missing_ribbon(tmp_path, capsys):
    book = tmp_path / "Team updates.xlsm"
    shutil.copyfile(PREVIOUS, book)
    rewrite_part(book, "_rels/.rels", lambda d: d.replace(UI_REL.encode(), b"urn:gone"))
    assert upgrade(book, capsys)[0] == 0
    after = parts(book)
    assert after["_rels/.rels"].decode().count(UI_REL) == 1
    assert [c.name for c in check_workbook(book) if not c.ok] == [INTERPRETER]


# --- upgrade --wire: a copy made on another computer ----------------------------------------


def conf_sheet(path: Path) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path)
    ws = wb["xlwings.conf"]
    return {"state": ws.sheet_state, **{r[0]: r[1] for r in ws.iter_rows(values_only=True)}}


def test_upgrade_wire_points_this_platforms_interpreter_here_and_keeps_the_rest(tmp_path, capsys):
    book = team_copy(tmp_path, PREVIOUS)
    before_conf, before_cells = conf_sheet(book), cell_facts(book)
    key = "INTERPRETER_WIN" if sys.platform == "win32" else "INTERPRETER_MAC"
    other = "INTERPRETER_MAC" if key == "INTERPRETER_WIN" else "INTERPRETER_WIN"

    code, out = upgrade(book, capsys, "--wire")

    assert code == 0, out
    here = dict(interpreter_conf())[key]
    assert f"set {key} on the xlwings.conf sheet to {here}" in out
    after_conf = conf_sheet(book)
    assert after_conf == {**before_conf, key: here}
    assert after_conf[other] == before_conf[other]  # the team's other platform keeps its path
    assert after_conf["state"] == "hidden"
    conf_cells = {k for k in before_cells if k[0] == "xlwings.conf"}
    changed = {k for k, v in cell_facts(book).items() if before_cells.get(k) != v}
    assert changed - added_headers(before_cells) <= {("xlwings.conf", f"B{r}") for r in (1, 2)}
    assert changed & conf_cells  # the interpreter cell did change
    assert [c.name for c in check_workbook(book) if not c.ok] == []

    code, out = upgrade(book, capsys, "--wire")
    assert code == 0 and "already up to date" in out


def test_upgrade_wire_of_an_up_to_date_copy_changes_only_its_interpreter(tmp_path, capsys):
    book = tmp_path / "Team.xlsm"
    assert main(["workbook", "new", str(book)]) == 0
    key = "INTERPRETER_WIN" if sys.platform == "win32" else "INTERPRETER_MAC"
    edit_book(book, lambda wb: wb["xlwings.conf"].__setitem__(
        f"B{1 if key == 'INTERPRETER_WIN' else 2}", "/elsewhere/python3"))  # fmt: skip
    capsys.readouterr()
    assert [c.name for c in check_workbook(book) if not c.ok] == [INTERPRETER]
    fix = next(c.fix for c in check_workbook(book) if c.name == INTERPRETER)
    assert f'workbook upgrade --wire "{book}"' in fix

    code, out = upgrade(book, capsys, "--wire")

    assert code == 0, out
    assert out.count("\n  - ") == 1, out  # the one change, nothing else
    assert [c.name for c in check_workbook(book) if not c.ok] == []


def test_upgrade_wire_adds_a_missing_xlwings_conf_sheet(tmp_path, capsys):
    book = tmp_path / "Team.xlsm"
    assert main(["workbook", "new", str(book)]) == 0
    edit_book(book, lambda wb: wb.remove(wb["xlwings.conf"]))
    capsys.readouterr()

    code, out = upgrade(book, capsys, "--wire")

    assert code == 0, out
    assert "added the hidden xlwings.conf sheet" in out
    conf = conf_sheet(book)
    assert conf["state"] == "hidden" and conf["ADD_WORKBOOK_TO_PYTHONPATH"] == "true"
    assert [c.name for c in check_workbook(book) if not c.ok] == []
