""" "Your workbook is older: run `achieveit-updates workbook upgrade`", said once by a press.

A press knows the template version of the buttons it came from without asking Excel: the VBA
passes it (`addin.ribbon.validate(template=3)`; buttons made before versions pass none). When it
differs from the installed template, the press's own message gets a paragraph saying what to
do: no extra dialog, nothing blocked. Only then is the workbook's path asked of Excel (one call),
to name it in the command and to say it once per workbook and installed version on this
computer (a line in `upgrade-notices.txt` in the per-user state folder). Standard library only:
every press imports this.
"""

from __future__ import annotations

from pathlib import Path

from .ledger import ledger_path
from .template.version import TEMPLATE_VERSION, UNVERSIONED

NOTICES_FILE = "upgrade-notices.txt"


def notice_text(template: int, fullname: str) -> str | None:
    """What to tell the user of a workbook whose buttons are of `template`; None when current."""
    if template == TEMPLATE_VERSION:
        return None
    if template > TEMPLATE_VERSION:
        return (
            f"This workbook was made by a newer version of AchieveIt Progress Updates (template "
            f"{template}) than the one installed on this computer (template {TEMPLATE_VERSION}). "
            "Some buttons may not work: ask whoever installs the tool to update it here."
        )
    return (
        f"This workbook's AchieveIt buttons come from an older version of the tool (template "
        f"{template}; installed: {TEMPLATE_VERSION}), so some may be missing or not work. To "
        "renew them, keeping all your data: close the workbook, then run in a terminal\n"
        f'achieveit-updates workbook upgrade "{fullname}"'
    )


def notices_path() -> Path:
    return ledger_path().parent / NOTICES_FILE


def _key(template: int, fullname: str) -> str:
    return f"{TEMPLATE_VERSION}\t{template}\t{fullname}"


def due(template: int | None, fullname: str) -> str | None:
    """The notice for these buttons (None: the version of a caller that didn't say, counted
    as UNVERSIONED), unless it was already said for this workbook and installed version."""
    version = UNVERSIONED if template is None else template
    text = notice_text(version, fullname)
    if text is None:
        return None
    try:
        said = notices_path().read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        said = []
    return None if _key(version, fullname) in said else text


def said(template: int | None, fullname: str) -> None:
    """Remember that the notice was shown; a folder that can't be written only means it may
    be said again."""
    version = UNVERSIONED if template is None else template
    path = notices_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(_key(version, fullname) + "\n")
    except OSError:
        pass
