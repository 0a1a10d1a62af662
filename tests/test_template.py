"""Structural tests of workbook_template.xlsm, read with readers independent of the builder:
zipfile + ElementTree, openpyxl, olefile and oletools' olevba (pyOpenVBA only writes).

Nobody can open Excel here: these check what Excel needs, part by part. The structural tests run
twice: on a fresh build of the template and on what `achieveit-updates workbook new` writes (the
`built` fixture); comparisons with the committed file and LibreOffice runs take the template.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import markcodes
import openpyxl
import pytest
import xlwings
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from addin import marks, model
from addin.cli import main as cli_main
from addin.planitems import ITEM_HEADERS, PLAN_ITEMS_SHEET, PLAN_ITEMS_TABLE
from addin.results import ERROR_FILL, ERROR_FONT, WARNING_FILL, WARNING_FONT
from addin.template import build as template_build
from addin.template.__main__ import main as template_main
from addin.template.build import (
    ACHIEVEIT_BAS,
    DICTIONARY_CLS,
    MACRO_MAIN,
    OFFICE_GUID,
    RIBBON_FUNCTIONS,
    RIBBON_XML,
    UI_NS,
    UI_REL,
    VBA_CONTENT,
    VBA_REL,
    XLWINGS_BAS,
    build,
    build_bytes,
    class_stream_source,
)
from addin.template.compare import compare_templates, vba_references, vba_sources
from addin.template.sheets import (
    CALC_ID,
    CODE_NAMES,
    DATETIME_FORMAT,
    INTERPRETER_WIN,
    MAX_STATUSES,
    SHEET_ORDER,
    UPDATES_TABLE,
    WORKBOOK_CODE_NAME,
    XLWINGS_CONF,
)
from addin.template.version import TEMPLATE_VERSION, VERSION_NAME
from addin.template.wiring import (
    Call,
    callback_body,
    run_python_calls,
    wiring_problems,
    xlwings_vba_version,
)
from addin.workbookfile import interpreter_conf

REPO = Path(__file__).resolve().parent.parent
COMMITTED = REPO / "workbook_template.xlsm"
QUICKSTART_STANDALONE = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"
MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
RIBBON_ROOT = ElementTree.fromstring(RIBBON_XML.read_bytes())
ON_ACTIONS = sorted({e.get("onAction", "") for e in RIBBON_ROOT.iter() if e.get("onAction")})


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "workbook_template.xlsm"
    build(path)
    return path


@pytest.fixture(scope="module")
def made_by_new(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("new") / "Team updates.xlsm"
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli_main(["workbook", "new", str(path)]) == 0
    return path


@pytest.fixture(scope="module", params=["template", "workbook new"])
def built(request: pytest.FixtureRequest, template: Path, made_by_new: Path) -> Path:
    return template if request.param == "template" else made_by_new


@pytest.fixture(scope="module")
def expected_conf(built: Path, template: Path) -> tuple[tuple[str, str], ...]:
    """The xlwings.conf keys of `built`: the template's defaults, or this Python's."""
    return XLWINGS_CONF if built == template else interpreter_conf()


@pytest.fixture(scope="module")
def parts(built: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(built) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture(scope="module")
def modules(parts: dict[str, bytes]) -> dict[str, str]:
    return vba_sources(parts["xl/vbaProject.bin"])


@pytest.fixture(scope="module")
def book(built: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(built)


def body(source: str) -> str:
    """Source without attribute lines, the export preamble and line-end differences."""
    lines = source.replace("\r\n", "\n").split("\n")
    if lines and lines[0].startswith("VERSION "):
        lines = lines[lines.index("END") + 1 :]
    return "\n".join(line for line in lines if not line.startswith("Attribute ")).strip("\n")


def xml(parts: dict[str, bytes], name: str) -> ElementTree.Element:
    return ElementTree.fromstring(parts[name])


# --- the committed file and determinism ------------------------------------------------------


def test_committed_template_equals_a_fresh_build(template: Path) -> None:
    assert COMMITTED.exists(), "run: python -m addin.template build"
    assert compare_templates(COMMITTED, template) == []


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "first.xlsm", tmp_path / "second.xlsm"
    build(first)
    build(second)
    assert first.read_bytes() == second.read_bytes()


def test_cli_builds_to_the_given_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.xlsm"
    assert template_main(["build", "--output", str(target)]) == 0
    assert target.read_bytes() == build_bytes()
    assert str(target) in capsys.readouterr().out


def _edit_part(source: Path, target: Path, name: str, edit: object) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename == name:
                data = edit(data)  # type: ignore[operator]
            new.writestr(info, data)


@pytest.mark.parametrize(
    ("part", "edit", "expected"),
    [
        (
            "customUI/customUI14.xml",
            lambda d: d.replace(b'label="Validate"', b'label="Check"'),
            "part customUI/customUI14.xml differs",
        ),
        (
            "[Content_Types].xml",
            lambda d: d.replace(MACRO_MAIN.encode(), b"application/xml"),
            "part [Content_Types].xml differs",
        ),
        (
            "xl/worksheets/sheet1.xml",
            lambda d: d.replace(b"<t>On Track</t>", b"<t>Off Track</t>"),
            "workbook Updates!B2: ",
        ),
        (
            "xl/worksheets/sheet2.xml",
            lambda d: d.replace(b"<t>api</t>", b"<t>gov-api</t>"),
            "workbook Settings!B2: ",
        ),
        (  # a colour rule tests another letter
            "xl/worksheets/sheet1.xml",
            lambda d: d.replace(b'1)="E"</formula>', b'1)="X"</formula>'),
            "workbook Updates!conditional format A2:E1048576 priority 1: ",
        ),
        (  # a colour rule no longer stops at the error
            "xl/worksheets/sheet1.xml",
            lambda d: d.replace(b' stopIfTrue="1"', b""),
            "workbook Updates!conditional format A2:E1048576 priority 1: ",
        ),
        (  # the warning rule's fill is another colour
            "xl/styles.xml",
            lambda d: d.replace(f"FF{WARNING_FILL}".encode(), b"FF00FF00"),
            "workbook Updates!conditional format A2:E1048576 priority 2: ",
        ),
        (  # the colour rules are gone
            "xl/worksheets/sheet1.xml",
            lambda d: re.sub(rb"<conditionalFormatting .*</conditionalFormatting>", b"", d),
            "workbook Updates!conditional format A2:E1048576 priority 1: ",
        ),
        (  # the Marks column shows
            "xl/worksheets/sheet1.xml",
            lambda d: d.replace(b'hidden="1" ', b""),
            "workbook Updates!column J: ",
        ),
        (  # Job ID loses its whole-column Text format
            "xl/worksheets/sheet1.xml",
            lambda d: re.sub(rb'(<col [^>]*)style="\d+" (min="7")', rb"\1\2", d),
            "workbook Updates!column G: ",
        ),
        (  # Log's When column gets the Text format of Log's File name column
            "xl/worksheets/sheet3.xml",
            lambda d: re.sub(
                rb'(<col [^>]*)style="\d+" (min="1".*?<col [^>]*(style="\d+") min="2")',
                rb"\1\3 \2",
                d,
            ),
            "workbook Log!column A: ",
        ),
        (  # the statuses name is fixed again
            "xl/workbook.xml",
            lambda d: re.sub(rb"OFFSET\([^<]*\)", rb"Settings!$E$2:$E$21", d),
            f"workbook defined name {model.STATUSES_NAME}: ",
        ),
        (  # Excel is asked to recalculate on load
            "xl/workbook.xml",
            lambda d: d.replace(b"<calcPr ", b'<calcPr fullCalcOnLoad="1" '),
            "part xl/workbook.xml differs",
        ),
    ],
)
def test_compare_templates_names_the_differing_part(
    template: Path, tmp_path: Path, part: str, edit: object, expected: str
) -> None:
    changed = tmp_path / "changed.xlsm"
    _edit_part(template, changed, part, edit)
    problems = compare_templates(template, changed)
    assert any(p.startswith(expected) for p in problems), problems


def test_compare_templates_names_a_changed_vba_module(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edited = tmp_path / "AchieveIt.bas"
    edited.write_text(ACHIEVEIT_BAS.read_text().replace("ribbon's callbacks", "ribbon's buttons"))
    monkeypatch.setattr(template_build, "ACHIEVEIT_BAS", edited)
    changed = tmp_path / "changed.xlsm"
    build(changed)
    assert compare_templates(template, changed) == ["VBA module AchieveIt differs from line 2"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("validate(template=", "validate_all(template=", "addin.ribbon.validate_all does not"),
        (
            f"submit(template={TEMPLATE_VERSION})",
            "submit(template=1)",
            f"it says template 1, not {TEMPLATE_VERSION}",
        ),
        ("Sub OnSubmit(", "Sub OnSend(", "module AchieveIt has no Sub OnSubmit"),
    ],
)
def test_the_build_refuses_buttons_that_lead_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, expected: str
) -> None:
    edited = tmp_path / "AchieveIt.bas"
    edited.write_text(ACHIEVEIT_BAS.read_text().replace(old, new))
    monkeypatch.setattr(template_build, "ACHIEVEIT_BAS", edited)
    with pytest.raises(RuntimeError, match=re.escape(expected)):
        build(tmp_path / "never.xlsm")
    assert not (tmp_path / "never.xlsm").exists()


# --- ribbon <-> VBA <-> Python ---------------------------------------------------------------


@pytest.mark.parametrize("on_action", ON_ACTIONS)
def test_every_ribbon_action_has_a_callback_sub(on_action: str, modules: dict[str, str]) -> None:
    module, _, sub = on_action.partition(".")
    assert module in modules, f"{on_action}: no VBA module {module}"
    pattern = rf"^Public Sub {re.escape(sub)}\(control As IRibbonControl\)$"
    assert re.search(pattern, modules[module], re.MULTILINE), f"{on_action}: no such Sub"


def our_calls(modules: dict[str, str]) -> list[Call]:
    calls = run_python_calls(modules["AchieveIt"])
    assert all(isinstance(call, Call) for call in calls), calls
    return [call for call in calls if isinstance(call, Call)]


def test_run_python_calls_name_the_ribbon_functions(modules: dict[str, str]) -> None:
    calls = our_calls(modules)
    assert len(calls) == len(ON_ACTIONS)
    assert {call.module for call in calls} == {"addin.ribbon"}
    assert sorted(call.function for call in calls) == sorted(RIBBON_FUNCTIONS)
    # Each press tells Python the version of its buttons, for the "run upgrade" notice.
    assert {call.template for call in calls} == {TEMPLATE_VERSION}


def test_addin_ribbon_defines_every_function_the_vba_calls(modules: dict[str, str]) -> None:
    # Fails (does not skip) while addin/ribbon.py lacks a function the ribbon calls.
    for call in our_calls(modules):
        module = importlib.import_module(call.module)
        assert callable(getattr(module, call.function, None)), f"{call} is missing"


def test_every_button_reaches_python(parts: dict[str, bytes], modules: dict[str, str]) -> None:
    # The package's own check (`workbook check` runs it) agrees with the tests above.
    ribbon = parts["customUI/customUI14.xml"]
    assert wiring_problems(ribbon, modules, template=TEMPLATE_VERSION) == []
    broken = {**modules, "AchieveIt": modules["AchieveIt"].replace("submit(", "send(")}
    assert wiring_problems(ribbon, broken) == [
        "button AchieveIt.OnSubmit: addin.ribbon.send does not exist"
    ]


def test_the_template_names_its_version_in_a_hidden_name(parts: dict[str, bytes]) -> None:
    names = [
        n for n in xml(parts, "xl/workbook.xml").iter(f"{MAIN_NS}definedName")
        if n.get("name") == VERSION_NAME
    ]  # fmt: skip
    assert len(names) == 1
    assert names[0].text == str(TEMPLATE_VERSION) and names[0].get("hidden") == "1"
    assert names[0].get("localSheetId") is None  # the workbook's, not a sheet's


# --- the VBA project -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "source"),
    [("AchieveIt", ACHIEVEIT_BAS), ("xlwings", XLWINGS_BAS), ("Dictionary", DICTIONARY_CLS)],
)
def test_modules_decompress_to_their_source(
    module: str, source: Path, modules: dict[str, str]
) -> None:
    assert body(modules[module]) == body(source.read_text(encoding="utf-8"))


def test_xlwings_module_is_the_pinned_version(modules: dict[str, str]) -> None:
    found = re.search(r'XLWINGS_VERSION As String = "([^"]+)"', modules["xlwings"])
    assert found
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["dependencies"] if d.startswith("xlwings==")]
    assert found.group(1) == xlwings.__version__ == pins[0].removeprefix("xlwings==")
    assert xlwings_vba_version(modules["xlwings"]) == found.group(1)  # what `check` reads


def test_xlwings_module_equals_the_one_xlwings_standalone_embeds(modules: dict[str, str]) -> None:
    theirs = vba_sources(zipfile.ZipFile(QUICKSTART_STANDALONE).read("xl/vbaProject.bin"))
    assert body(modules["xlwings"]) == body(theirs["xlwings"])


def test_dictionary_class_has_the_header_excel_writes(modules: dict[str, str]) -> None:
    theirs = vba_sources(zipfile.ZipFile(QUICKSTART_STANDALONE).read("xl/vbaProject.bin"))

    def header(source: str) -> list[str]:
        return [line for line in source.split("\n") if line.startswith("Attribute ")]

    assert header(modules["Dictionary"]) == header(theirs["Dictionary"])


BASE = 'Attribute VB_Base = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"\r\n'


@pytest.mark.parametrize(
    ("export", "expected"),
    [
        (
            "VERSION 1.0 CLASS\r\nBEGIN\r\n  MultiUse = -1  'True\r\nEND\r\n"
            'Attribute VB_Name = "C"\r\nAttribute VB_Exposed = True\r\nOption Explicit\r\n',
            f'Attribute VB_Name = "C"\r\n{BASE}'
            "Attribute VB_GlobalNameSpace = False\r\nAttribute VB_Creatable = False\r\n"
            "Attribute VB_PredeclaredId = False\r\nAttribute VB_Exposed = True\r\n"
            "Attribute VB_TemplateDerived = False\r\nAttribute VB_Customizable = False\r\n"
            "Option Explicit\r\n",
        ),
        (  # already in stream form, LF line ends, an extra attribute: kept, after Excel's
            'Attribute VB_Name = "D"\nAttribute VB_Description = "x"\nDim a\n',
            f'Attribute VB_Name = "D"\r\n{BASE}'
            "Attribute VB_GlobalNameSpace = False\r\nAttribute VB_Creatable = False\r\n"
            "Attribute VB_PredeclaredId = False\r\nAttribute VB_Exposed = False\r\n"
            "Attribute VB_TemplateDerived = False\r\nAttribute VB_Customizable = False\r\n"
            'Attribute VB_Description = "x"\r\nDim a\r\n',
        ),
    ],
)
def test_class_stream_source(export: str, expected: str) -> None:
    assert class_stream_source(export) == expected


def test_class_stream_source_needs_a_name() -> None:
    with pytest.raises(ValueError, match="VB_Name"):
        class_stream_source("Option Explicit\r\n")


def test_document_modules_match_the_code_names(
    parts: dict[str, bytes], modules: dict[str, str]
) -> None:
    workbook = xml(parts, "xl/workbook.xml")
    workbook_pr = workbook.find(f"{MAIN_NS}workbookPr")
    assert workbook_pr is not None and workbook_pr.get("codeName") == WORKBOOK_CODE_NAME
    rels = {
        r.get("Id"): r.get("Target", "").lstrip("/")
        for r in xml(parts, "xl/_rels/workbook.xml.rels")
    }
    code_names = {}
    for sheet in workbook.iter(f"{MAIN_NS}sheet"):
        sheet_pr = xml(parts, rels[sheet.get(R_ID)]).find(f"{MAIN_NS}sheetPr")
        assert sheet_pr is not None
        code_names[sheet.get("name")] = sheet_pr.get("codeName")
    assert code_names == CODE_NAMES
    documents = {WORKBOOK_CODE_NAME, *CODE_NAMES.values()}
    assert documents <= modules.keys()
    import olefile

    with olefile.OleFileIO(io.BytesIO(parts["xl/vbaProject.bin"])) as ole:
        project = ole.openstream("PROJECT").read().decode("latin-1")
    declared = set(re.findall(r"^Document=(\w+)/&H00000000\r?$", project, re.MULTILINE))
    assert declared == documents
    assert set(re.findall(r"^Module=(\w+)\r?$", project, re.MULTILINE)) == {"xlwings", "AchieveIt"}
    assert set(re.findall(r"^Class=(\w+)\r?$", project, re.MULTILINE)) == {"Dictionary"}


def test_office_type_library_is_referenced(parts: dict[str, bytes]) -> None:
    # IRibbonControl lives in the Office library (MSO.DLL); without it the callbacks won't compile.
    references = vba_references(parts["xl/vbaProject.bin"])
    office = [libid for libid in references if OFFICE_GUID in libid]
    assert office and office[0].startswith(f"*\\G{OFFICE_GUID}#2.")
    assert office[0].endswith("#Microsoft Office 16.0 Object Library")


# --- package: content types, relationships, ribbon -------------------------------------------


def test_content_types_make_a_macro_enabled_workbook(parts: dict[str, bytes]) -> None:
    types = xml(parts, "[Content_Types].xml")
    defaults = {d.get("Extension"): d.get("ContentType") for d in types.iter(f"{CT_NS}Default")}
    overrides = {o.get("PartName"): o.get("ContentType") for o in types.iter(f"{CT_NS}Override")}
    assert overrides["/xl/workbook.xml"] == MACRO_MAIN
    assert defaults["bin"] == VBA_CONTENT
    for name in parts:  # every part has a content type
        assert f"/{name}" in overrides or name.rsplit(".", 1)[-1] in defaults, name


def test_relationships_reach_the_vba_project_and_the_ribbon(parts: dict[str, bytes]) -> None:
    book_rels = [(r.get("Type"), r.get("Target")) for r in xml(parts, "xl/_rels/workbook.xml.rels")]
    assert (VBA_REL, "vbaProject.bin") in book_rels
    package = list(xml(parts, "_rels/.rels").iter(f"{REL_NS}Relationship"))
    assert [(r.get("Type"), r.get("Target")) for r in package if r.get("Type") == UI_REL] == [
        (UI_REL, "customUI/customUI14.xml")
    ]
    ids = [r.get("Id") for r in package]
    assert len(ids) == len(set(ids))


def test_ribbon_part_is_the_2009_customui_with_unique_ids(parts: dict[str, bytes]) -> None:
    root = xml(parts, "customUI/customUI14.xml")
    assert root.tag == f"{{{UI_NS}}}customUI"
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    tab = root.find(f".//{{{UI_NS}}}tab")
    assert tab is not None and tab.get("label") == "AchieveIt"
    buttons = list(root.iter(f"{{{UI_NS}}}button"))
    assert len(buttons) == len(RIBBON_FUNCTIONS)
    for button in buttons:
        for attribute in ("label", "imageMso", "size", "screentip", "supertip", "keytip"):
            assert button.get(attribute), f"{button.get('id')} has no {attribute}"


def test_keytips_are_unique_and_the_tab_clashes_with_no_built_in_tab() -> None:
    # Built-in tab keytips of Excel (File, Home, Insert, Draw, Page Layout, Formulas, Data,
    # Review, View, Developer, Help): a tab keytip starting with one of them (AI: Data's A)
    # makes Excel wait for a second key.
    built_in = {"F", "H", "N", "JI", "P", "M", "A", "R", "W", "L", "Y", "Y2"}
    tab = RIBBON_ROOT.find(f".//{{{UI_NS}}}tab")
    assert tab is not None and tab.get("keytip") == "Z"
    assert not any(key.startswith("Z") or "Z".startswith(key) for key in built_in)
    keytips = [e.get("keytip") for e in RIBBON_ROOT.iter() if e.get("keytip")]
    assert len(keytips) == len(set(keytips)) == 1 + len(RIBBON_FUNCTIONS)


@pytest.mark.parametrize(
    ("button_id", "label"),
    [
        ("btnValidate", "Validate"),
        ("btnClearResults", "Clear Results"),
        ("btnSubmit", "Submit"),
        ("btnRefreshStatus", "Refresh Status"),
        ("btnExportCsv", "Export CSV\u2026"),  # it asks where to save: the ellipsis says so
        ("btnGetPlanItems", "Get Plan Items"),
        ("btnSetApiKey", "Set API Key"),
        ("btnOpenSettings", "Settings"),
    ],
)
def test_button_labels(button_id: str, label: str) -> None:
    button = RIBBON_ROOT.find(f".//{{{UI_NS}}}button[@id='{button_id}']")
    assert button is not None and button.get("label") == label


def test_refresh_status_tip_says_it_checks_every_job_still_processing() -> None:
    # addin.ribbon.refresh_status asks about every job still processing (Updates and Log).
    button = RIBBON_ROOT.find(f".//{{{UI_NS}}}button[@id='btnRefreshStatus']")
    assert button is not None
    screentip, supertip = button.get("screentip", ""), button.get("supertip", "")
    assert "still processing" in screentip
    assert "every job still processing" in supertip
    assert "Updates sheet" in supertip and "Log sheet" in supertip
    for tip in (screentip, supertip):
        assert "last" not in tip, tip


def test_clear_results_tip_says_what_goes_and_what_stays() -> None:
    button = RIBBON_ROOT.find(f".//{{{UI_NS}}}button[@id='btnClearResults']")
    assert button is not None and button.get("onAction") == "AchieveIt.OnClearResults"
    screentip, supertip = button.get("screentip", ""), button.get("supertip", "")
    for words in ("Issues", "red", "amber"):
        assert words in screentip and words in supertip
    kept = supertip[supertip.index("Issues column") + len("Issues column") :]
    for words in ("Job ID", "Job Status", "Checked At", "Log", "kept"):
        assert words in kept


# --- sheets ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sheet", SHEET_ORDER)
def test_every_font_names_its_face_and_size(book: openpyxl.Workbook, sheet: str) -> None:
    # A font without a name is drawn in whatever face the reader picks (LibreOffice: serif).
    for row in book[sheet].iter_rows():
        for cell in row:
            if cell.value is not None:
                assert (cell.font.name, cell.font.sz) in {("Calibri", 11), ("Calibri", 14)}, (
                    cell.coordinate
                )


def test_sheet_order_active_sheet_and_hidden_conf(book: openpyxl.Workbook) -> None:
    assert tuple(book.sheetnames) == SHEET_ORDER
    assert book.active is not None and book.active.title == model.UPDATES_SHEET
    assert [ws.sheet_state for ws in book.worksheets] == ["visible"] * 5 + ["hidden"]


def test_updates_sheet_layout(book: openpyxl.Workbook) -> None:
    ws = book[model.UPDATES_SHEET]
    header = tuple(c.value for c in ws[1])
    assert header == (*model.COLUMNS, *model.RESULT_COLUMNS, marks.MARKS_HEADER, "Sent", "Item")
    table = ws.tables[UPDATES_TABLE]
    assert table.ref == f"A1:L{ws.max_row}"
    assert not ws.column_dimensions[marks.ITEM_COLUMN].hidden  # the item's name is for people
    assert ws.column_dimensions[marks.ITEM_COLUMN].number_format == "@"
    assert [c.name for c in table.tableColumns] == list(header)
    assert table.tableStyleInfo is not None and table.tableStyleInfo.name
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["A"].number_format == "@"
    assert all(ws.cell(row=r, column=1).number_format == "@" for r in range(2, ws.max_row + 1))
    assert all(isinstance(ws.cell(row=r, column=1).value, str) for r in range(2, ws.max_row + 1))
    assert ws.column_dimensions["D"].number_format == "yyyy-mm-dd"
    inputs = {c.fill.fgColor.rgb for c in ws[1][:5]}
    results = {c.fill.fgColor.rgb for c in ws[1][5:]}
    assert len(results) == 1 and not results & inputs  # result columns look different


def test_updates_example_rows_are_valid_kinds_of_values(book: openpyxl.Workbook) -> None:
    ws = book[model.UPDATES_SHEET]
    for row in ws.iter_rows(min_row=2, values_only=True):
        external_id, status, metric, as_of, comment = row[:5]
        assert re.fullmatch(
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", external_id
        )
        assert status in model.DEFAULT_STATUSES
        assert metric is None or isinstance(metric, int | float)
        assert as_of is not None and as_of.year == 2026
        assert "replace or delete" in comment
        assert row[5:] == (None,) * len(marks.TOOL_HEADERS)  # no results, marks, sends, items


@pytest.mark.parametrize(
    ("letter", "index", "header"),
    [(marks.MARKS_COLUMN, 9, marks.MARKS_HEADER), (marks.SENT_COLUMN, 10, marks.SENT_HEADER)],
)
def test_marks_and_sent_columns_are_hidden_inside_the_table(
    book: openpyxl.Workbook, letter: str, index: int, header: str
) -> None:
    # Inside UpdatesTable, so sorting the table moves each row's code and fingerprint with it.
    ws = book[model.UPDATES_SHEET]
    assert ws[f"{letter}1"].value == header
    assert ws[f"{letter}1"].column == index + 1
    assert ws.column_dimensions[letter].hidden
    hidden = [letter for letter, dim in ws.column_dimensions.items() if dim.hidden]
    assert hidden == [marks.MARKS_COLUMN, marks.SENT_COLUMN]
    table = ws.tables[UPDATES_TABLE]
    assert table.ref.split(":")[1].startswith(marks.LAST_TOOL_COLUMN)
    assert table.tableColumns[index].name == header


def colour_rules(ws: Worksheet) -> list[tuple[str, int, list[str], bool, str, str]]:
    """(range, priority, formulas, stopIfTrue, fill, font colour) of each conditional format."""
    found = []
    for formatting in ws.conditional_formatting:
        for rule in formatting.rules:
            assert rule.type == "expression" and rule.dxf is not None
            fill, font = rule.dxf.fill, rule.dxf.font
            found.append(
                (
                    str(formatting.sqref),
                    rule.priority,
                    list(rule.formula),
                    bool(rule.stopIfTrue),
                    fill.bgColor.rgb,
                    font.color.rgb,
                )
            )
    return sorted(found, key=lambda rule: rule[1])


def test_colour_rules_turn_marks_into_fills(book: openpyxl.Workbook) -> None:
    rules = colour_rules(book[model.UPDATES_SHEET])
    assert rules == [
        ("A2:E1048576", 1, [marks.ERROR_RULE_FORMULA], True, f"FF{ERROR_FILL}", f"FF{ERROR_FONT}"),
        (
            "A2:E1048576",
            2,
            [marks.WARNING_RULE_FORMULA],
            False,
            f"FF{WARNING_FILL}",
            f"FF{WARNING_FONT}",
        ),
    ]
    assert marks.rule_range(1) == "A2:E1048576"


@pytest.mark.parametrize("sheet", [s for s in SHEET_ORDER if s != model.UPDATES_SHEET])
def test_only_the_updates_sheet_has_colour_rules(book: openpyxl.Workbook, sheet: str) -> None:
    assert colour_rules(book[sheet]) == []


@pytest.mark.parametrize(
    ("column", "kind", "formula", "prompt"),
    [
        ("B", "list", model.STATUSES_NAME, None),
        ("C", None, None, "20% is entered as 0.2"),
        ("D", None, None, "Date of the update, e.g. 2026-11-03"),
    ],
)
def test_updates_validations(
    book: openpyxl.Workbook, column: str, kind: str | None, formula: str | None, prompt: str | None
) -> None:
    ws = book[model.UPDATES_SHEET]
    found = [v for v in ws.data_validations.dataValidation if str(v.sqref).startswith(column)]
    assert len(found) == 1
    validation = found[0]
    assert str(validation.sqref) == f"{column}2:{column}5000"
    assert validation.type == kind and validation.formula1 == formula
    if prompt:
        assert validation.showInputMessage and validation.prompt == prompt
    if kind == "list":
        assert validation.showErrorMessage and "Pick a status from the list" in validation.error


def test_statuses_defined_name_grows_with_the_settings_list(book: openpyxl.Workbook) -> None:
    # Dynamic: E2 down to the last filled cell, so the dropdown shows no blank entries.
    assert book.defined_names[model.STATUSES_NAME].attr_text == (
        "OFFSET(Settings!$E$2,0,0,MAX(1,COUNTA(Settings!$E$2:$E$101)),1)"
    )
    assert MAX_STATUSES == 100
    ws = book[model.SETTINGS_SHEET]
    assert ws["E1"].value == model.STATUSES_LABEL
    statuses = tuple(ws.cell(row=r, column=5).value for r in range(2, 22))
    assert statuses == model.DEFAULT_STATUSES + (None,) * (20 - len(model.DEFAULT_STATUSES))
    note = ws["F1"].value
    assert "E2 down" in note and "without empty cells" in note and "100" in note


def test_no_formula_in_the_file_starts_with_an_equals_sign(parts: dict[str, bytes]) -> None:
    # In the file format a formula has no leading "=": Excel removes such a data validation
    # ("We found a problem with some content").
    sheets = [name for name in parts if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name)]
    assert len(sheets) == len(SHEET_ORDER)
    formulas = []
    for name in sheets:
        for element in xml(parts, name).iter():
            if element.tag in {f"{MAIN_NS}{t}" for t in ("formula1", "formula2", "formula", "f")}:
                formulas.append((name, element.text or ""))
    names = [(d.get("name"), d.text or "") for d in xml(parts, "xl/workbook.xml").iter(
        f"{MAIN_NS}definedName"
    )]  # fmt: skip
    assert len(formulas) == 5 and names  # 3 list validations, 2 colour rules; the name
    for where, text in formulas + names:
        assert text and not text.lstrip().startswith("="), (where, text)
    for name in sheets:
        assert not re.search(rb"<(formula1|formula2|formula|f)( [^>]*)?>\s*=", parts[name]), name


def test_excel_is_not_asked_to_recalculate_on_load(parts: dict[str, bytes]) -> None:
    # fullCalcOnLoad, or a calcId older than the user's Excel, recalculates on opening: the
    # untouched template then counts as changed and closing it asks "Save changes?".
    calc = xml(parts, "xl/workbook.xml").find(f"{MAIN_NS}calcPr")
    assert calc is not None and calc.attrib == {"calcId": str(CALC_ID)}
    assert b"fullCalcOnLoad" not in parts["xl/workbook.xml"]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
@pytest.mark.parametrize(
    ("statuses", "entries"),
    [
        (model.DEFAULT_STATUSES, list(model.DEFAULT_STATUSES)),  # no blank entries
        ((*model.DEFAULT_STATUSES, "Paused"), [*model.DEFAULT_STATUSES, "Paused"]),  # grows
        ((), [""]),  # an empty list still makes a valid range
    ],
)
def test_libreoffice_evaluates_the_statuses_name(
    template: Path, tmp_path: Path, statuses: tuple[str, ...], entries: list[str]
) -> None:
    wb = openpyxl.load_workbook(template)
    settings = wb[model.SETTINGS_SHEET]
    for row in range(2, 2 + MAX_STATUSES):
        settings.cell(row=row, column=5).value = None
    for row, status in enumerate(statuses, start=2):
        settings.cell(row=row, column=5).value = status
    updates = wb[model.UPDATES_SHEET]
    updates.delete_rows(1, updates.max_row)
    for row in range(1, 1 + len(entries) + 2):  # two beyond the end: must come out empty
        entry = f'INDEX({model.STATUSES_NAME},{row})&""'  # &"": an empty cell reads ""
        updates.cell(row=row, column=1).value = f'=IFERROR({entry},"-")'
    updates.cell(row=1, column=2).value = f"=ROWS({model.STATUSES_NAME})"
    copy = tmp_path / "statuses.xlsx"
    wb.save(copy)
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
         "--convert-to", "csv", "--outdir", str(tmp_path), str(copy)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    rows = (tmp_path / "statuses.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].split(",")[1] == str(len(entries))
    assert [row.split(",")[0] for row in rows] == [*entries, "-", "-"]


def test_settings_sheet_holds_the_default_settings(book: openpyxl.Workbook) -> None:
    ws = book[model.SETTINGS_SHEET]
    assert [c.value for c in ws[1][:3]] == ["Setting", "Value", "What it means"]
    rows = list(ws.iter_rows(min_row=2, max_row=1 + len(model.SETTINGS_LABELS), values_only=True))
    assert [row[0] for row in rows] == list(model.SETTINGS_LABELS)
    assert all(row[2] for row in rows)  # every setting is explained
    defaults = model.Settings()
    for label, value, _ in (row[:3] for row in rows):
        expected = getattr(defaults, model.SETTINGS_LABELS[label])
        if isinstance(expected, tuple):  # Plan ID: none by default, several joined by commas
            expected = ", ".join(expected)
        assert (value or "") == expected, label
    text = " ".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v)
    assert "never stored in this workbook" in text and "gov-api" in text
    date_row = 2 + list(model.SETTINGS_LABELS).index("CSV date format")
    formats = [v for v in ws.data_validations.dataValidation if str(v.sqref) == f"B{date_row}"]
    assert formats and formats[0].formula1 == '"' + ",".join(model.DATE_FORMATS) + '"'


@pytest.mark.parametrize(
    ("sheet", "letter", "number_format"),
    [
        # Excel reads a string written from Python as if typed: Text keeps it as it is.
        (model.UPDATES_SHEET, "A", "@"),  # External ID
        (model.UPDATES_SHEET, "B", "General"),
        (model.UPDATES_SHEET, "C", "General"),
        (model.UPDATES_SHEET, "D", "yyyy-mm-dd"),  # As Of Date
        (model.UPDATES_SHEET, "E", "General"),
        (model.UPDATES_SHEET, "F", "General"),
        (model.UPDATES_SHEET, "G", "@"),  # Job ID: a numeric-looking ID keeps its digits
        (model.UPDATES_SHEET, "H", "@"),  # Job Status
        (model.UPDATES_SHEET, "I", DATETIME_FORMAT),  # Checked At
        (model.LOG_SHEET, "A", DATETIME_FORMAT),  # When
        (model.LOG_SHEET, "B", "@"),  # File name
        (model.LOG_SHEET, "C", "General"),  # Rows
        (model.LOG_SHEET, "D", "@"),  # CSV SHA-256: an all-digit hash would become a number
        (model.LOG_SHEET, "E", "@"),  # Job ID
        (model.LOG_SHEET, "F", "@"),  # State
        (model.LOG_SHEET, "G", "@"),  # Message: one starting with "=" stays text
    ],
)
def test_whole_column_number_formats(
    book: openpyxl.Workbook, sheet: str, letter: str, number_format: str
) -> None:
    assert DATETIME_FORMAT == "yyyy-mm-dd hh:mm"
    assert book[sheet].column_dimensions[letter].number_format == number_format


def test_get_plan_items_button_reaches_its_function_and_says_nothing_is_sent(
    modules: dict[str, str],
) -> None:
    button = RIBBON_ROOT.find(f".//{{{UI_NS}}}button[@id='btnGetPlanItems']")
    assert button is not None and button.get("onAction") == "AchieveIt.OnGetPlanItems"
    body = callback_body(modules["AchieveIt"], "OnGetPlanItems")
    assert body is not None
    (call,) = run_python_calls(body)
    assert isinstance(call, Call)
    assert (call.module, call.function, call.template) == (
        "addin.ribbon",
        "get_plan_items",
        TEMPLATE_VERSION,
    )
    supertip = button.get("supertip", "")
    for words in ("Plan Items sheet", "Settings sheet", "Plan ID", "nothing is sent"):
        assert words in supertip


def test_plan_items_sheet_is_an_empty_table_of_the_item_headers(book: openpyxl.Workbook) -> None:
    ws = book[PLAN_ITEMS_SHEET]
    assert [c.value for c in ws[1]] == list(ITEM_HEADERS)
    assert all(c.value is None for c in ws[2])
    table = ws.tables[PLAN_ITEMS_TABLE]
    assert table.ref == f"A1:{get_column_letter(len(ITEM_HEADERS))}2"
    assert [c.name for c in table.tableColumns] == list(ITEM_HEADERS)
    assert ws.column_dimensions["A"].number_format == "@"  # IDs stay text
    assert ws.sheet_properties.codeName == CODE_NAMES[PLAN_ITEMS_SHEET]


def test_settings_sheet_has_an_empty_plan_id(book: openpyxl.Workbook) -> None:
    ws = book[model.SETTINGS_SHEET]
    rows = {row[0]: row[1:3] for row in ws.iter_rows(max_col=3, values_only=True)}
    value, meaning = rows["Plan ID"]
    assert value is None and "Copy Plan ID" in meaning and "commas" in meaning


def test_log_sheet_has_only_its_header(book: openpyxl.Workbook) -> None:
    ws = book[model.LOG_SHEET]
    assert tuple(c.value for c in ws[1]) == model.LOG_COLUMNS
    assert ws.max_row == 1 and ws.freeze_panes == "A2"


def test_xlwings_conf_sheet_is_read_as_xlwings_reads_it(
    book: openpyxl.Workbook, expected_conf: tuple[tuple[str, str], ...]
) -> None:
    ws = book["xlwings.conf"]
    # GetConfigFromSheet: keys from A1 down to the first gap, value beside each (UCase keys).
    keys = []
    for (cell,) in ws.iter_rows(min_col=1, max_col=1):
        if cell.value is None:
            break
        keys.append((cell.value.upper(), ws.cell(row=cell.row, column=2).value or ""))
    assert keys == list(expected_conf)
    assert all(value for key, value in keys if key.startswith("INTERPRETER_"))


def test_workbook_new_names_the_running_interpreter(made_by_new: Path) -> None:
    conf = dict(
        openpyxl.load_workbook(made_by_new)["xlwings.conf"].iter_rows(max_col=2, values_only=True)
    )
    # This is Linux (no Excel): the rule names this Python under the Mac key.
    assert sys.platform != "win32" and conf["INTERPRETER_MAC"] == sys.executable
    assert conf["INTERPRETER_WIN"] == INTERPRETER_WIN  # the other platform's as shipped


def test_template_conf_names_the_python_org_installs(template: Path) -> None:
    ws = openpyxl.load_workbook(template)["xlwings.conf"]
    keys = [(k, v or "") for k, v in ws.iter_rows(max_col=2, values_only=True) if k]
    # A key present but empty stops xlwings looking further, so every interpreter has a value:
    # the standard python.org installs.
    assert keys == [
        ("INTERPRETER_WIN", r"%LOCALAPPDATA%\Programs\Python\Python312\pythonw.exe"),
        ("INTERPRETER_MAC", "/Library/Frameworks/Python.framework/Versions/3.12/bin/python3"),
        ("PYTHONPATH", ""),
        ("ADD_WORKBOOK_TO_PYTHONPATH", "true"),
    ]


def test_xlwings_expands_environment_variables_in_sheet_values(modules: dict[str, str]) -> None:
    # INTERPRETER_WIN relies on %LOCALAPPDATA% being expanded: GetConfig does it (WScript.Shell
    # on Windows) for a value read from the xlwings.conf sheet.
    source = modules["xlwings"]
    get_config = source[source.index("Function GetConfig(") :]
    get_config = get_config[: get_config.index("End Function")]
    from_sheet = get_config[: get_config.index("' Directory Config")]
    assert re.search(
        r"GetConfig = GetConfigFromSheet\(ThisWorkbook\)\.Item\(configKey\)\s*\n"
        r"\s*GetConfig = ExpandEnvironmentStrings\(GetConfig\)\s*\n\s*Exit Function",
        from_sheet,
    )
    assert "WScript.ExpandEnvironmentStrings(s)" in source
    assert re.search(r'interpreter = GetConfig\("INTERPRETER_WIN", ""\)', source)


def test_read_me_walks_a_new_user_through(
    book: openpyxl.Workbook, expected_conf: tuple[tuple[str, str], ...]
) -> None:
    text = " ".join(str(c.value) for c in book["Read Me"]["A"] if c.value)
    for step in ("Set API Key", "Validate", "Red cells", "Amber", "Submit", "Refresh Status"):
        assert step in text
    assert "Log sheet" in text and "Unblock" in text and "Trusted Location" in text
    assert "xlwings.conf" in text
    # The installing team checks the two interpreter paths once; Mac needs one more step.
    conf = dict(expected_conf)
    assert conf["INTERPRETER_WIN"] in text and conf["INTERPRETER_MAC"] in text
    assert "workbook new" in text and "workbook upgrade" in text
    assert "xlwings runpython install" in text and "control Excel" in text
    assert "without empty cells" in text


# --- an independent application --------------------------------------------------------------


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_libreoffice_opens_the_template_and_loads_its_vba(template: Path, tmp_path: Path) -> None:
    # LibreOffice cannot run xlwings' VBA, but it parses the project: converted to .ods, each
    # module comes out as a Basic module of the kind it was declared as.
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
         "--convert-to", "ods", "--outdir", str(tmp_path), str(template)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    with zipfile.ZipFile(tmp_path / "workbook_template.ods") as ods:
        content = ods.read("content.xml").decode("utf-8")
        basic = {
            Path(name).stem: ods.read(name).decode("utf-8")
            for name in ods.namelist()
            if name.startswith("Basic/VBAProject/") and not name.endswith("script-lb.xml")
        }
    sheets = re.findall(r'<table:table table:name="([^"]+)"', content)
    assert tuple(sheets) == SHEET_ORDER
    assert set(basic) == {
        WORKBOOK_CODE_NAME,
        *CODE_NAMES.values(),
        "xlwings",
        "AchieveIt",
        "Dictionary",
    }
    assert 'script:moduleType="class"' in basic["Dictionary"]
    assert 'script:moduleType="normal"' in basic["AchieveIt"]
    assert "Public Sub OnValidate(control As IRibbonControl)" in basic["AchieveIt"]
    assert "Public Const XLWINGS_VERSION" in basic["xlwings"]


# Content-stream tokens: strings and hex strings (skipped), names, numbers, operators.
_PDF_TOKEN = re.compile(
    rb"<[0-9A-Fa-f\s]*>|\((?:\\.|[^\\)])*\)|[\[\]]|/[^\s/\[\]<>()]+|[-+]?(?:\d+\.?\d*|\.\d+)|[A-Za-z*'\"]+"
)


def pdf_page_drawing(
    pdf: bytes,
) -> tuple[list[tuple[str, tuple[float, ...]]], list[tuple[float, float]]]:
    """Filled rectangles ('RRGGBB', (x, y, w, h)) and text origins (x, y) of a PDF's pages.

    Just enough of a PDF reader for what LibreOffice writes: fills are `r g b rg` then
    `x y w h re f`, text is `BT x y Td ... ET`, and q/Q save and restore the colour.
    """
    import zlib

    rects: list[tuple[str, tuple[float, ...]]] = []
    texts: list[tuple[float, float]] = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue  # fonts and images
        colour, saved, operands, path = "000000", [], [], []
        for token in _PDF_TOKEN.findall(content):
            if re.fullmatch(rb"[-+]?[\d.]+", token):
                operands.append(float(token))
                continue
            if token == b"rg" and len(operands) >= 3:
                colour = "".join(f"{round(v * 255):02X}" for v in operands[-3:])
            elif token == b"q":
                saved.append(colour)
            elif token == b"Q" and saved:
                colour = saved.pop()
            elif token == b"re" and len(operands) >= 4:
                path.append(tuple(operands[-4:]))
            elif token in (b"f", b"f*"):
                rects += [(colour, rect) for rect in path]
            elif token == b"Td" and len(operands) >= 2:
                texts.append((operands[-2], operands[-1]))
            if token in (b"f", b"f*", b"n", b"S", b"B", b"B*"):
                path = []
            if not token.startswith((b"<", b"(", b"[", b"]", b"/")):
                operands = []
    return rects, texts


def cells_filled(pdf: bytes, colours: dict[str, str]) -> dict[tuple[int, int], str]:
    """(sheet row, 0-based input column) -> the name of the colour filling that cell.

    Columns are where the header texts start (all left-aligned), rows where the column-A texts
    stand, header first: a cell is filled when a rectangle of that colour covers both.
    """
    rects, texts = pdf_page_drawing(pdf)
    header_y = max(y for _, y in texts)
    column_x = sorted(x for x, y in texts if y == header_y)
    row_y = sorted({y for x, y in texts if x == column_x[0]}, reverse=True)
    assert len(column_x) == len(model.COLUMNS), texts
    filled = {}
    for colour, (x, y, w, h) in rects:
        if colour not in colours:
            continue
        for row, baseline in enumerate(row_y, start=1):
            for column, left in enumerate(column_x):
                if x <= left + 1 <= x + w and y <= baseline <= y + h:
                    filled[(row, column)] = colours[colour]
    return filled


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
@pytest.mark.skipif(bool(os.environ.get("CI")), reason="renders with LibreOffice: not in CI")
def test_libreoffice_colours_the_cells_the_marks_name(template: Path, tmp_path: Path) -> None:
    # The rules' formulas evaluate in a real spreadsheet application: each code written into
    # the Marks column colours exactly the cells markcodes.marked_cells says, nothing else.
    codes = {2: ".E..W", 3: "W...E", 4: "....."}
    wb = openpyxl.load_workbook(template, keep_vba=True)
    ws = wb[model.UPDATES_SHEET]
    for row, code in codes.items():
        ws[f"{marks.MARKS_COLUMN}{row}"] = code
    ws.print_area = f"A1:E{ws.max_row}"  # one landscape page holding A..E
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    for other in wb.worksheets[1:]:
        other.sheet_state = "hidden"  # hidden sheets are not printed
    copy = tmp_path / "marked.xlsm"
    wb.save(copy)
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(copy)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    pdf = (tmp_path / "marked.pdf").read_bytes()
    filled = cells_filled(pdf, {ERROR_FILL: model.ERROR, WARNING_FILL: model.WARNING})
    assert filled == markcodes.marked_cells(codes.items())
    assert filled[(2, 1)] == model.ERROR and filled[(2, 4)] == model.WARNING  # B2 red, E2 amber
