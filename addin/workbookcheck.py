"""`achieveit-updates workbook check`: does a team copy match the tool installed here?

Each check compares one thing the workbook carries with what this installation expects, and
says what to do when they differ: the template version, the xlwings version of its VBA, the
interpreter its xlwings.conf names, the ribbon, the VBA modules, the chain from each button to
a Python function, the Updates sheet's tool columns. Read only: nothing is written.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import vbaproject
from .template.version import TEMPLATE_VERSION, UNVERSIONED
from .workbookfile import Facts, interpreter_conf, read_facts
from .xlsxfile import check_readable, read_bytes

VERSION = "template version"
XLWINGS = "xlwings VBA"
INTERPRETER = "interpreter"
RIBBON = "ribbon"
MODULES = "VBA modules"
BUTTONS = "buttons"
LAYOUT = "columns"


@dataclass(frozen=True)
class Check:
    """One comparison: `found` says what the workbook has; `fix` what to do when not `ok`."""

    name: str
    ok: bool
    found: str
    fix: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def upgrade_command(path: Path, *, wire: bool = False) -> str:
    return f'achieveit-updates workbook upgrade {"--wire " if wire else ""}"{path}"'


def check_workbook(
    path: str | os.PathLike[str],
    *,
    platform: str = sys.platform,
    exists: Callable[[str], bool] = os.path.exists,
) -> list[Check]:
    """Every check of the workbook at `path` (see the module's docstring)."""
    path = Path(path)
    check_readable(path)
    facts = read_facts(path, read_bytes(path))
    return check_facts(facts, platform=platform, exists=exists)


def check_facts(
    facts: Facts, *, platform: str = sys.platform, exists: Callable[[str], bool] = os.path.exists
) -> list[Check]:
    upgrade = f"Close the workbook, then run: {upgrade_command(facts.path)}"
    if facts.path.suffix.lower() != ".xlsm":
        upgrade = (
            "An .xlsx can't hold the buttons (they are macros): make a workbook with "
            "`achieveit-updates workbook new`, then copy your rows into its Updates sheet."
        )
    return [
        _version(facts, upgrade),
        _xlwings(facts, upgrade),
        _interpreter(facts, platform, exists),
        _ribbon(facts, upgrade),
        _modules(facts, upgrade),
        _buttons(facts, upgrade),
        _layout(facts, upgrade),
    ]


def _version(facts: Facts, upgrade: str) -> Check:
    found = facts.version
    text = (
        f"none: made before template versions (counts as {UNVERSIONED})"
        if found is None
        else str(found)
    )
    text += f"; installed {TEMPLATE_VERSION}"
    if found == TEMPLATE_VERSION:
        return Check(VERSION, True, text)
    if found is not None and found > TEMPLATE_VERSION:
        return Check(
            VERSION,
            False,
            text,
            "The workbook is newer than the tool installed here: install the newer version of "
            "the tool (python -m pip install --upgrade, from the copy your team uses).",
        )
    return Check(VERSION, False, text, upgrade)


def _xlwings(facts: Facts, upgrade: str) -> Check:
    import xlwings

    from .template.wiring import xlwings_vba_version

    source = None if facts.project is None else facts.project.source("xlwings")
    found = None if source is None else xlwings_vba_version(source)
    text = f"{found or 'none'}; installed xlwings {xlwings.__version__}"
    return Check(XLWINGS, found == xlwings.__version__, text, upgrade)


def _expand(value: str, platform: str) -> str:
    """%VARIABLES% expanded as xlwings' VBA does on Windows (elsewhere it expands none)."""
    if platform != "win32":
        return value
    return re.sub(r"%([^%]+)%", lambda m: os.environ.get(m.group(1), m.group(0)), value)


def _interpreter(facts: Facts, platform: str, exists: Callable[[str], bool]) -> Check:
    key = "INTERPRETER_WIN" if platform == "win32" else "INTERPRETER_MAC"
    this = dict(interpreter_conf(platform=platform))[key]
    fix = (
        f"Unhide the xlwings.conf sheet (right-click a sheet tab > Unhide) and set {key} in "
        f"column B to the full path of the Python that has this tool installed: here that is "
        f"{this}. Or close the workbook and run: {upgrade_command(facts.path, wire=True)}"
    )
    if facts.conf is None:
        return Check(INTERPRETER, False, "no xlwings.conf sheet", fix)
    value = facts.conf.get(key, "")
    if not value.strip():
        return Check(INTERPRETER, False, f"{key} is empty: xlwings would try plain 'python'", fix)
    expanded = _expand(value.strip(), platform)
    if not exists(expanded):
        return Check(INTERPRETER, False, f"{key} names {expanded}, which does not exist", fix)
    text = f"{key} names {expanded}"
    if expanded != this:
        text += f" (this command runs in {this})"
    return Check(INTERPRETER, True, text)


def _ribbon(facts: Facts, upgrade: str) -> Check:
    from .template.build import RIBBON_XML

    if facts.ribbon is None:
        return Check(RIBBON, False, "no AchieveIt ribbon tab", upgrade)
    if facts.ribbon != RIBBON_XML.read_bytes():
        return Check(RIBBON, False, "an AchieveIt tab other than the installed one", upgrade)
    return Check(RIBBON, True, "the installed AchieveIt tab")


def _modules(facts: Facts, upgrade: str) -> Check:
    from .template.build import OFFICE_GUID, vba_modules

    if facts.project is None:
        return Check(MODULES, False, "no VBA project (no macros)", upgrade)
    problems = []
    for name, (kind, text) in vba_modules().items():
        found = next(
            (v for k, v in facts.project.modules.items() if k.casefold() == name.casefold()), None
        )
        if found is None:
            problems.append(f"{name} is missing")
        elif found[0] != kind or vbaproject.body(found[1]) != vbaproject.body(text):
            problems.append(f"{name} is not the installed one")
    if OFFICE_GUID not in {r.guid for r in facts.project.references}:
        problems.append("the Office library (IRibbonControl) is not referenced")
    if problems:
        return Check(MODULES, False, "; ".join(problems), upgrade)
    return Check(MODULES, True, ", ".join(vba_modules()) + " as installed")


def _buttons(facts: Facts, upgrade: str) -> Check:
    from .template.wiring import wiring_problems

    if facts.ribbon is None or facts.project is None:
        return Check(BUTTONS, False, "no ribbon or no VBA: the buttons can't work", upgrade)
    modules = {name: text for name, (_, text) in facts.project.modules.items()}
    problems = wiring_problems(facts.ribbon, modules)
    if problems:
        return Check(BUTTONS, False, "; ".join(problems), upgrade)
    return Check(BUTTONS, True, "each button runs a function of addin.ribbon")


def _layout(facts: Facts, upgrade: str) -> Check:
    if facts.layout_refusal is not None:
        return Check(LAYOUT, False, "a column of yours is where the tool needs one",
                     facts.layout_refusal)  # fmt: skip
    if facts.layout:
        found = "older layout; the upgrade would have " + "; ".join(facts.layout)
        return Check(LAYOUT, False, found, upgrade)
    return Check(LAYOUT, True, "the installed layout of the tool's columns")
