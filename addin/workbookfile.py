"""Team copies of the template: a new one wired to this Python, an older one brought up to date.

- `new_workbook`: the template built from the installed sources (addin/template/, the installed
  xlwings' VBA), its xlwings.conf naming the Python that runs this (`interpreter_conf`) and its
  Settings filled in; written in one step, never over another file unless asked.
- `upgrade_workbook`: an existing team copy gets the installed VBA modules (xlwings, AchieveIt,
  Dictionary), ribbon and version; an older layout is migrated (addin/workbooklayout.py). Every
  other part of the file is kept as it is: the user's cells, sheets, settings, Log, their own
  VBA modules. A workbook that needs no migration is changed at the zip level only (its sheets
  are not even parsed by openpyxl). Written atomically, after a `.bak` copy of the original,
  and never while Excel has the file open.
- `read_facts`: what `workbook check` compares with the installed tool.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Any
from xml.etree import ElementTree

from . import model, vbaproject
from .errors import ConfigError, WorkbookError
from .package import replace_parts
from .template.version import TEMPLATE_VERSION, VERSION_NAME
from .xlsxfile import (
    check_not_locked,
    check_readable,
    folder_not_writable,
    in_use,
    load_for_edit,
    openpyxl_quiet,
    read_bytes,
    unreadable,
)

DEFAULT_NAME = "AchieveIt Progress Updates.xlsm"
MACRO_SUFFIX = ".xlsm"
BACKUP_SUFFIX = ".bak"
ROOT_RELS = "_rels/.rels"
WORKBOOK_PART = "xl/workbook.xml"
_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


# ---------------------------------------------------------------------------------------------
# workbook new
# ---------------------------------------------------------------------------------------------


def interpreter_conf(
    executable: str = sys.executable,
    platform: str = sys.platform,
    exists: Callable[[str], bool] = os.path.exists,
) -> tuple[tuple[str, str], ...]:
    """The xlwings.conf sheet's keys naming this Python, the other platform's left as shipped.

    On Windows INTERPRETER_WIN names pythonw.exe beside the running python.exe where there is
    one (no console window flashes up on each press), else the running interpreter. Elsewhere
    INTERPRETER_MAC names it (on Linux, where Excel does not run, alike: one rule to test).
    A virtual environment's interpreter is named as it is, never resolved to the Python it was
    made from: the package is installed in the environment.
    """
    from .template.sheets import xlwings_conf

    if platform == "win32":
        windowless = str(PureWindowsPath(executable).with_name("pythonw.exe"))
        return xlwings_conf(win=windowless if exists(windowless) else executable)
    return xlwings_conf(mac=executable)


def settings_from_flags(
    subdomain: str | None = None, base_url: str | None = None, statuses: str | None = None
) -> model.Settings:
    """The Settings for a new workbook: the defaults, with what the flags say (checked as the
    tool will read them). `statuses` is a comma-separated list."""
    from .endpoints import resolve_base_url
    from .template.sheets import MAX_STATUSES

    changes: dict[str, Any] = {}
    if subdomain is not None:
        resolve_base_url(subdomain, None)  # raises ConfigError with the fix
        changes["subdomain"] = subdomain.strip()
    if base_url is not None and base_url.strip():
        resolve_base_url(None, base_url)
        changes["base_url"] = base_url.strip()
    if statuses is not None:
        names = tuple(dict.fromkeys(s.strip() for s in statuses.split(",") if s.strip()))
        if not names:
            raise ConfigError('--statuses needs at least one status, e.g. "On Track,At Risk".')
        if len(names) > MAX_STATUSES:
            raise ConfigError(f"--statuses lists {len(names)}; the dropdown holds {MAX_STATUSES}.")
        formula = next((s for s in names if s.startswith("=")), None)
        if formula is not None:
            raise ConfigError(
                f"The status {formula!r} starts with '=': Excel would read a formula."
            )
        changes["statuses"] = names
    return model.Settings(**changes)


def new_target(path: str | os.PathLike[str] | None) -> Path:
    """Where `workbook new` writes: PATH, or DEFAULT_NAME in it when it is a folder (or the
    current folder without PATH); a name without extension gets .xlsm."""
    target = Path(path) if path is not None else Path(DEFAULT_NAME)
    if target.is_dir():
        target = target / DEFAULT_NAME
    if not target.suffix:
        target = target.with_name(target.name + MACRO_SUFFIX)
    if target.suffix.lower() != MACRO_SUFFIX:
        raise ConfigError(
            f"{target.name}: the workbook must be an .xlsm (a macro-enabled workbook): its "
            f"buttons are macros. Use a name ending in {MACRO_SUFFIX}."
        )
    return target


def new_workbook(
    path: str | os.PathLike[str] | None,
    *,
    settings: model.Settings | None = None,
    conf: Sequence[tuple[str, str]] | None = None,
    force: bool = False,
) -> Path:
    """Write a fresh copy of the template (see the module's docstring); returns its path."""
    from .template.build import build_bytes

    target = new_target(path)
    data = build_bytes(settings, conf if conf is not None else interpreter_conf())
    write_new_file(target, data, force=force)
    return target


def write_new_file(target: Path, data: bytes, *, force: bool) -> None:
    """Write `data` to `target` whole, in one step; an existing file is replaced only when
    `force` (and never while Excel has it open)."""
    exists_message = (
        f"{target} already exists, and it was left as it is. Pick another name, or add --force "
        "to replace it (its data would be lost)."
    )
    if target.exists() and not force:
        raise WorkbookError(exists_message)
    if force:
        check_not_locked(target)
    if not target.parent.is_dir():
        raise WorkbookError(f"There is no folder {target.parent}: create it, or pick another.")
    temp = _temp_beside(target)
    try:
        temp.write_bytes(data)
        os.chmod(temp, 0o666 & ~_umask())  # a new file as any other (mkstemp makes it 0600)
        if force:
            os.replace(temp, target)
            return
        try:
            os.link(temp, target)  # fails if the name was taken meanwhile: never overwrites
        except FileExistsError:
            raise WorkbookError(exists_message) from None
        except OSError:  # a file system without hard links (FAT, some network shares)
            if target.exists():
                raise WorkbookError(exists_message) from None
            os.replace(temp, target)
    except PermissionError:
        raise (in_use(target) if target.exists() else folder_not_writable(target)) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_beside(target: Path) -> Path:
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{target.stem}-", suffix=target.suffix, dir=target.parent
        )
    except PermissionError:
        raise folder_not_writable(target) from None
    os.close(fd)
    return Path(name)


# ---------------------------------------------------------------------------------------------
# workbook upgrade
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upgrade:
    """What upgrade_workbook did: `changes` in words ([] when the workbook was current),
    and where the copy of the original went (None when nothing was written)."""

    path: Path
    changes: tuple[str, ...]
    backup: Path | None = None


def backup_path(path: Path) -> Path:
    """Where upgrade keeps the original: 'Team.xlsm.bak' (Excel won't open it by mistake)."""
    return path.with_name(path.name + BACKUP_SUFFIX)


def upgrade_workbook(path: str | os.PathLike[str], *, wire: bool = False) -> Upgrade:
    """Give a team copy the installed VBA, ribbon, version and layout (see the docstring);
    with `wire`, also point its xlwings.conf at this Python, for this platform only."""
    path = Path(path)
    check_readable(path)
    if path.suffix.lower() != MACRO_SUFFIX:
        raise WorkbookError(
            f"{path.name} is not a macro-enabled workbook (.xlsm), so it has no buttons to "
            "upgrade. Make one with `achieveit-updates workbook new`, then copy your rows into "
            "its Updates sheet."
        )
    check_not_locked(path)
    original = read_bytes(path)
    if not zipfile.is_zipfile(io.BytesIO(original)):
        raise unreadable(path)
    data, changes = upgraded_bytes(path, original, wire=wire)
    if not changes:
        return Upgrade(path, ())
    _verify(path, data)
    backup = backup_path(path)
    check_not_locked(path)  # Excel may have opened it while we worked
    replace_file(backup, original, like=path)
    replace_file(path, data, like=path)
    return Upgrade(path, tuple(changes), backup)


def upgraded_bytes(path: Path, original: bytes, *, wire: bool = False) -> tuple[bytes, list[str]]:
    """The upgraded workbook's bytes and what changed, in words. Writes nothing."""
    from .template.build import (
        OFFICE_DESCRIPTION,
        OFFICE_GUID,
        OFFICE_PATH,
        vba_modules,
    )

    data, changes = _migrated(path, original, wire)
    office = vbaproject.Reference("Office", OFFICE_GUID, 2, 0, OFFICE_PATH, OFFICE_DESCRIPTION)
    data, vba = vbaproject.with_modules(data, vba_modules(), (office,))
    data, ribbon = with_installed_ribbon(data)
    data, version = with_installed_version(data)
    return data, changes + vba + ribbon + version


def _migrated(path: Path, data: bytes, wire: bool) -> tuple[bytes, list[str]]:
    """The workbook with its layout migrated (and, asked to, its interpreter rewired) by
    openpyxl, only when it needs it, and the ribbon, VBA, formula values and extensions
    openpyxl drops put back."""
    from .package import repair
    from .workbooklayout import layout_changes, migrate_layout

    with openpyxl_quiet():
        wb = load_for_edit(path, data)
        changes = migrate_layout(wb) if layout_changes(wb) else []
        if wire:
            changes += wire_interpreter(wb)
        if not changes:
            return data, []
        buffer = io.BytesIO()
        wb.save(buffer)
    return repair(data, buffer.getvalue()), changes


def wire_interpreter(wb: Any, conf: Sequence[tuple[str, str]] | None = None) -> list[str]:
    """Point the xlwings.conf sheet's interpreter key for this platform at this Python.

    Only this platform's key changes: a team copy shared between Windows and Mac keeps the
    other one's path. A copy without the sheet gets it, hidden, as the template ships it.
    """
    from .template.sheets import CONF_SHEET

    conf = interpreter_conf() if conf is None else conf
    key = "INTERPRETER_WIN" if sys.platform == "win32" else "INTERPRETER_MAC"
    value = dict(conf)[key]
    if CONF_SHEET not in wb.sheetnames:
        ws = wb.create_sheet(CONF_SHEET)
        ws.sheet_state = "hidden"
        for row, (name, setting) in enumerate(conf, 1):
            ws.cell(row, 1, name)
            ws.cell(row, 2, setting)
        return [f"added the hidden xlwings.conf sheet, its {key} naming {value}"]
    ws = wb[CONF_SHEET]
    row = 1
    while ws.cell(row, 1).value not in (None, ""):  # xlwings reads keys down to a gap
        if str(ws.cell(row, 1).value).upper() == key:
            break
        row += 1
    if ws.cell(row, 1).value not in (None, "") and ws.cell(row, 2).value == value:
        return []
    ws.cell(row, 1, key)
    ws.cell(row, 2, value)
    return [f"set {key} on the xlwings.conf sheet to {value}"]


def _verify(path: Path, data: bytes) -> None:
    """Refuse to write an upgrade that `workbook check` would not pass (the interpreter aside:
    that is this computer's business, not the file's)."""
    from .workbookcheck import INTERPRETER, check_facts

    failed = [c for c in check_facts(read_facts(path, data)) if not c.ok and c.name != INTERPRETER]
    if failed:
        raise WorkbookError(
            f"The upgrade of {path.name} did not come out right, so nothing was changed: "
            + "; ".join(f"{c.name}: {c.found}" for c in failed)
        )


def replace_file(target: Path, data: bytes, *, like: Path) -> None:
    """Write `data` over `target` in one step, with the permissions of `like`."""
    temp = _temp_beside(target)
    try:
        temp.write_bytes(data)
        shutil.copymode(like, temp)
        check_not_locked(like)
        os.replace(temp, target)
    except PermissionError:
        raise in_use(target) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def _ribbon_target(rels: bytes) -> str | None:
    """The part the package's customUI14 ribbon relationship points at; None without one."""
    from .template.build import UI_REL

    for rel in ElementTree.fromstring(rels).iter(f"{_REL_NS}Relationship"):
        if rel.get("Type") == UI_REL:
            return rel.get("Target", "").lstrip("/")
    return None


def with_installed_ribbon(data: bytes) -> tuple[bytes, list[str]]:
    """The package with the installed ribbon (customUI14) and its relationship."""
    from .template.build import CUSTOM_UI_PART, RIBBON_XML, _with_ribbon

    ribbon = RIBBON_XML.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        rels = archive.read(ROOT_RELS)
        target = _ribbon_target(rels)
        current = archive.read(target) if target in names else None
    if target is None:
        rels_part = {ROOT_RELS: _with_ribbon(rels)}
        if CUSTOM_UI_PART in names:  # a part no relationship reaches: Office ignores it
            return replace_parts(data, {**rels_part, CUSTOM_UI_PART: ribbon}, {}), [
                "added the ribbon"
            ]
        return replace_parts(data, rels_part, {CUSTOM_UI_PART: ribbon}), ["added the ribbon"]
    if current == ribbon:
        return data, []
    if current is None:
        return replace_parts(data, {}, {target: ribbon}), ["added the ribbon"]
    return replace_parts(data, {target: ribbon}, {}), ["replaced the ribbon (the AchieveIt tab)"]


_P = rb"(?:[\w.-]+:)?"
_VERSION_ELEMENT = re.compile(
    rb"<(" + _P + rb")definedName\b[^>]*\bname=\"" + VERSION_NAME.encode() + rb"\"[^>]*?"
    rb"(?:/>|>.*?</\1definedName\s*>)",
    re.DOTALL,
)


def with_installed_version(data: bytes) -> tuple[bytes, list[str]]:
    """The package whose workbook part names the installed template version (hidden)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read(WORKBOOK_PART)
    found = template_version(xml)
    if found == TEMPLATE_VERSION:
        return data, []
    root = re.search(rb"<(" + _P + rb")workbook\b", xml)
    prefix = root.group(1) if root else b""
    element = b'<%sdefinedName name="%s" hidden="1">%d</%sdefinedName>' % (
        prefix,
        VERSION_NAME.encode(),
        TEMPLATE_VERSION,
        prefix,
    )
    if _VERSION_ELEMENT.search(xml):
        new = _VERSION_ELEMENT.sub(lambda _: element, xml, count=1)
    elif (close := re.search(rb"</" + _P + rb"definedNames\s*>", xml)) is not None:
        new = xml[: close.start()] + element + xml[close.start() :]
    else:
        # The schema's order: sheets, functionGroups, externalReferences, then definedNames.
        anchors = [
            m.end()
            for tag in (b"sheets", b"functionGroups", b"externalReferences")
            for m in re.finditer(rb"</" + _P + tag + rb"\s*>|<" + _P + tag + rb"\b[^>]*/>", xml)
        ]
        if not anchors:
            raise WorkbookError("The workbook part lists no sheets: the file is damaged.")
        at = max(anchors)
        names = b"<%sdefinedNames>%s</%sdefinedNames>" % (prefix, element, prefix)
        new = xml[:at] + names + xml[at:]
    before = "no template version" if found is None else f"template {found}"
    return replace_parts(data, {WORKBOOK_PART: new}, {}), [
        f"set the template version to {TEMPLATE_VERSION} (was {before})"
    ]


def template_version(workbook_xml: bytes) -> int | None:
    """The VERSION_NAME of a workbook part; None without one (or one that is no number)."""
    for name in ElementTree.fromstring(workbook_xml).iter(f"{_MAIN_NS}definedName"):
        if name.get("name") == VERSION_NAME and name.get("localSheetId") is None:
            text = (name.text or "").strip().lstrip("=")
            return int(text) if text.isdigit() else None
    return None


# ---------------------------------------------------------------------------------------------
# What `workbook check` compares
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What a workbook file carries that the installed tool must agree with."""

    path: Path
    version: int | None  # None: no version name (made before versions)
    conf: dict[str, str] | None  # the xlwings.conf sheet's keys (upper case); None: no sheet
    ribbon: bytes | None
    project: vbaproject.Project | None
    layout: list[str]  # what the upgrade's migration would change
    layout_refusal: str | None  # why it can't, when a user's column is in the way


def read_facts(path: Path, data: bytes) -> Facts:
    from .workbooklayout import layout_changes

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            version = template_version(archive.read(WORKBOOK_PART))
            target = _ribbon_target(archive.read(ROOT_RELS)) if ROOT_RELS in names else None
            ribbon = archive.read(target) if target in names else None
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError) as exc:
        raise unreadable(path) from exc
    project = vbaproject.read_project(data) if path.suffix.lower() == MACRO_SUFFIX else None
    refusal = None
    with openpyxl_quiet():
        wb = load_for_edit(path, data)
        try:
            layout = layout_changes(wb)
        except WorkbookError as exc:
            layout, refusal = [], str(exc)
        conf = _conf(wb)
    return Facts(path, version, conf, ribbon, project, layout, refusal)


def _conf(wb: Any) -> dict[str, str] | None:
    """The xlwings.conf sheet as xlwings reads it: keys from A1 down to the first empty cell."""
    from .template.sheets import CONF_SHEET

    if CONF_SHEET not in wb.sheetnames:
        return None
    ws = wb[CONF_SHEET]
    conf: dict[str, str] = {}
    for row in range(1, ws.max_row + 1):
        key = ws.cell(row, 1).value
        if key is None or str(key) == "":
            break
        value = ws.cell(row, 2).value
        conf[str(key).upper()] = "" if value is None else str(value)
    return conf
