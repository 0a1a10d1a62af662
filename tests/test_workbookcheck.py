"""`achieveit-updates workbook check`: each mismatch with the installed tool is caught, with its
fix. Every case starts from a fresh `workbook new` file (all checks pass) and breaks one thing
the way an older template, an edit in Excel or a move to another computer would."""

from __future__ import annotations

import json
import re
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
import xlwings
from workbook_factory import rewrite_part

from addin import marks, package
from addin.cli import main
from addin.template.build import OFFICE_GUID, UI_REL
from addin.template.version import TEMPLATE_VERSION, VERSION_NAME
from addin.workbookcheck import (
    BUTTONS,
    INTERPRETER,
    LAYOUT,
    MODULES,
    RIBBON,
    VERSION,
    XLWINGS,
    check_workbook,
)
from addin.workbookfile import new_workbook

FIXTURES = Path(__file__).resolve().parent / "fixtures"
UPGRADE = "achieveit-updates workbook upgrade"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new_workbook(tmp_path_factory.mktemp("fresh") / "Fresh.xlsm")


@pytest.fixture
def book(fresh: Path, tmp_path: Path) -> Path:
    path = tmp_path / "Team.xlsm"
    shutil.copyfile(fresh, path)
    return path


def failed(path: Path) -> dict[str, tuple[str, str]]:
    return {c.name: (c.found, c.fix) for c in check_workbook(path) if not c.ok}


def edit_vba(path: Path, edit: Callable[[object], None]) -> None:
    from pyopenvba import ExcelFile

    saved = path.with_name("edited.xlsm")
    with ExcelFile(path) as vba:
        edit(vba)
        vba.save(saved)
    saved.replace(path)


def set_module(name: str, change: Callable[[str], str]) -> Callable[[object], None]:
    def edit(vba: object) -> None:
        source = vba.get_module(name)  # type: ignore[attr-defined]
        changed = change(source)
        assert changed != source
        vba.set_module(name, changed)  # type: ignore[attr-defined]

    return edit


def edit_cells(path: Path, edit: Callable[[openpyxl.Workbook], None]) -> None:
    original = path.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path, keep_vba=True)
    edit(wb)
    wb.save(path)
    path.write_bytes(package.repair(original, path.read_bytes()))


def version_name(value: bytes) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        rewrite_part(
            path,
            "xl/workbook.xml",
            lambda d: re.sub(rb"(name=\"" + VERSION_NAME.encode() + rb"\"[^>]*>)\d+<", rb"\g<1>"
                             + value + b"<", d),
        )  # fmt: skip

    return edit


def no_version(path: Path) -> None:
    rewrite_part(
        path,
        "xl/workbook.xml",
        lambda d: re.sub(rb"<definedName name=\"" + VERSION_NAME.encode() + rb"\".*?</definedName>",
                         b"", d),
    )  # fmt: skip


def test_a_fresh_workbook_passes_every_check(book: Path) -> None:
    assert failed(book) == {}


@pytest.mark.parametrize(
    ("breakage", "expected", "found", "fix"),
    [
        (no_version, {VERSION}, "made before template versions", UPGRADE),
        (version_name(b"1"), {VERSION}, f"1; installed {TEMPLATE_VERSION}", UPGRADE),
        (version_name(b"99"), {VERSION}, "99;", "install the newer version of the tool"),
        (  # an older xlwings' VBA: the module differs too
            lambda p: edit_vba(p, set_module("xlwings", lambda s: s.replace(
                f'XLWINGS_VERSION As String = "{xlwings.__version__}"',
                'XLWINGS_VERSION As String = "0.30.0"'))),
            {XLWINGS, MODULES}, "0.30.0; installed xlwings", UPGRADE,
        ),
        (  # the AchieveIt module of an older template: buttons without their version
            lambda p: edit_vba(p, set_module("AchieveIt", lambda s: s.replace(
                f"(template={TEMPLATE_VERSION})", "()"))),
            {MODULES}, "AchieveIt is not the installed one", UPGRADE,
        ),
        (  # a button's Sub is gone
            lambda p: edit_vba(p, set_module("AchieveIt", lambda s: s.replace(
                "Sub OnSubmit(", "Sub OnSend("))),
            {MODULES, BUTTONS}, "module AchieveIt has no Sub OnSubmit", UPGRADE,
        ),
        (  # a Sub calls a function the installed tool doesn't have
            lambda p: edit_vba(p, set_module("AchieveIt", lambda s: s.replace(
                "ribbon.submit(", "ribbon.send_all("))),
            {MODULES, BUTTONS}, "addin.ribbon.send_all does not exist", UPGRADE,
        ),
        (
            lambda p: edit_vba(p, lambda vba: vba.vba_project().delete_module("Dictionary")),
            {MODULES}, "Dictionary is missing", UPGRADE,
        ),
        (
            lambda p: edit_vba(p, lambda vba: vba.remove_reference(OFFICE_GUID)),
            {MODULES}, "the Office library (IRibbonControl) is not referenced", UPGRADE,
        ),
        (
            lambda p: rewrite_part(p, "_rels/.rels", lambda d: d.replace(UI_REL.encode(), b"x:y")),
            {RIBBON, BUTTONS}, "no AchieveIt ribbon tab", UPGRADE,
        ),
        (
            lambda p: rewrite_part(p, "customUI/customUI14.xml",
                                   lambda d: d.replace(b'label="Validate"', b'label="Check"')),
            {RIBBON}, "other than the installed one", UPGRADE,
        ),
        (
            lambda p: edit_cells(p, lambda wb: wb["xlwings.conf"].__setitem__(
                "B2", "/nowhere/bin/python3")),
            {INTERPRETER}, "INTERPRETER_MAC names /nowhere/bin/python3, which does not exist",
            "xlwings.conf",
        ),
        (
            lambda p: edit_cells(p, lambda wb: wb["xlwings.conf"].__setitem__("B2", None)),
            {INTERPRETER}, "INTERPRETER_MAC is empty", "xlwings.conf",
        ),
        (
            lambda p: edit_cells(p, lambda wb: wb.remove(wb["xlwings.conf"])),
            {INTERPRETER}, "no xlwings.conf sheet", "workbook upgrade --wire",
        ),
        (  # the layout of an older template: no Marks column
            lambda p: edit_cells(p, lambda wb: wb["Updates"].__setitem__("J1", None)),
            {LAYOUT}, "older layout", UPGRADE,
        ),
        (  # a user's column where a tool column goes: the fix says what to move
            lambda p: edit_cells(p, lambda wb: wb["Updates"].__setitem__("J1", "Owner")),
            {LAYOUT}, "a column of yours", "cell J1 holds 'Owner'",
        ),
    ],
)  # fmt: skip
def test_check_catches_each_mismatch(
    book: Path, breakage: Callable[[Path], None], expected: set[str], found: str, fix: str
) -> None:
    breakage(book)
    problems = failed(book)
    assert set(problems) == expected, problems
    assert any(found in text for text, _ in problems.values()), problems
    assert all(fix in remedy for _, remedy in problems.values()), problems


def test_check_of_a_released_template(tmp_path: Path) -> None:
    book = tmp_path / "Team.xlsm"
    shutil.copyfile(FIXTURES / "template-43f5f3c.xlsm", book)
    problems = check_workbook(book, exists=lambda path: True)
    # Its layout is F..J; a later installed layout (more tool columns) is a mismatch too.
    layout = [LAYOUT] if len(marks.TOOL_HEADERS) > 5 else []
    assert [c.name for c in problems if not c.ok] == [VERSION, RIBBON, MODULES, *layout]
    assert all(f'{UPGRADE} "{book}"' in c.fix for c in problems if not c.ok)


@pytest.mark.parametrize(
    ("platform", "value", "exists", "ok"),
    [
        ("win32", r"%LOCALAPPDATA%\Programs\Python\Python312\pythonw.exe", True, True),
        ("win32", r"%LOCALAPPDATA%\Programs\Python\Python312\pythonw.exe", False, False),
        ("darwin", "/Library/Frameworks/Python.framework/Versions/3.12/bin/python3", True, True),
    ],
)
def test_the_interpreter_is_the_one_for_this_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform, value, exists, ok
) -> None:
    monkeypatch.setenv("LOCALAPPDATA", r"C:\Users\ana\AppData\Local")
    book = tmp_path / "Team.xlsm"
    shutil.copyfile(FIXTURES / "template-43f5f3c.xlsm", book)
    seen: list[str] = []

    def there(path: str) -> bool:
        seen.append(path)
        return exists

    checks = {c.name: c for c in check_workbook(book, platform=platform, exists=there)}
    assert checks[INTERPRETER].ok is ok
    expanded = value.replace("%LOCALAPPDATA%", r"C:\Users\ana\AppData\Local")
    assert seen[-1] == expanded  # %VARIABLES% expanded as xlwings' VBA does on Windows


def test_cli_exit_codes_and_json(book: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workbook", "check", str(book)]) == 0
    assert "All checks passed." in capsys.readouterr().out
    no_version(book)
    assert main(["workbook", "check", str(book), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    by_name = {c["name"]: c for c in report["checks"]}
    assert len(by_name) == 7 and by_name[VERSION]["ok"] is False
    assert UPGRADE in by_name[VERSION]["fix"]
    assert main(["workbook", "check", str(book)]) == 1
    out = capsys.readouterr().out
    assert "FIX  template version" in out and "1 to fix." in out


def test_cli_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.xlsm"
    broken.write_bytes(b"not a zip")
    assert main(["workbook", "check", str(broken)]) == 2
    assert "not a readable Excel workbook" in capsys.readouterr().err


def test_check_of_an_xlsx_says_to_make_a_workbook(tmp_path: Path) -> None:
    plain = tmp_path / "updates.xlsx"
    openpyxl.Workbook().save(plain)
    problems = {c.name: c.fix for c in check_workbook(plain) if not c.ok}
    assert {MODULES, RIBBON, BUTTONS} <= problems.keys()
    assert all("workbook new" in fix for name, fix in problems.items() if name != INTERPRETER)
