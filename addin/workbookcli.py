"""The `achieveit-updates workbook new | upgrade | check` commands (addin/workbookfile.py,
addin/workbookcheck.py). `register` adds them to the command line's parser."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_PROBLEMS = 0, 1


def register(sub: Any) -> None:
    """Add the `workbook` command group to the subparsers of the main parser."""
    group = sub.add_parser(
        "workbook",
        help="make a team workbook wired to this Python, upgrade or check one",
        description="Team workbooks: `new` writes one wired to this Python, `upgrade` renews "
        "an older one's buttons and layout (keeping its data), `check` compares one with the "
        "tool installed here.",
    )
    commands = group.add_subparsers(dest="workbook_command", required=True, metavar="COMMAND")

    p = commands.add_parser("new", help="write a fresh workbook wired to this Python")
    p.add_argument(
        "path",
        nargs="?",
        help="the .xlsm to write, or a folder (default: 'AchieveIt Progress Updates.xlsm' here)",
    )
    p.add_argument("--force", action="store_true", help="replace the file if it exists")
    p.add_argument("--subdomain", help="API subdomain for the Settings sheet: api or gov-api")
    p.add_argument("--base-url", help="Base URL override for the Settings sheet (rehearsals)")
    p.add_argument("--statuses", help='your statuses, comma-separated: "On Track,At Risk,..."')
    p.set_defaults(run=cmd_new)

    p = commands.add_parser(
        "upgrade", help="renew an older workbook's buttons and layout, keeping its data"
    )
    p.add_argument("file", help="the team's .xlsm (closed in Excel)")
    p.add_argument(
        "--wire",
        action="store_true",
        help="also point its xlwings.conf at this Python (this platform's interpreter only)",
    )
    p.add_argument("--json", action="store_true", help="print what changed as JSON")
    p.set_defaults(run=cmd_upgrade)

    p = commands.add_parser("check", help="compare a workbook with the tool installed here")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.set_defaults(run=cmd_check)


def cmd_new(args: argparse.Namespace) -> int:
    from .template.version import TEMPLATE_VERSION
    from .workbookfile import interpreter_conf, new_workbook, settings_from_flags

    settings = settings_from_flags(args.subdomain, args.base_url, args.statuses)
    conf = interpreter_conf()
    target = new_workbook(args.path, settings=settings, conf=conf, force=args.force)
    key = "INTERPRETER_WIN" if sys.platform == "win32" else "INTERPRETER_MAC"
    print(f"Wrote {target} (template {TEMPLATE_VERSION}).")
    print(f"Its buttons run {dict(conf)[key]} ({key} on its hidden xlwings.conf sheet).")
    print("Next: open it in Excel, allow its macros, and press Set API Key on the AchieveIt tab.")
    if sys.platform == "darwin":
        print("On this Mac, run `xlwings runpython install` once first, with this same Python.")
    return EXIT_OK


def cmd_upgrade(args: argparse.Namespace) -> int:
    from .workbookfile import upgrade_workbook

    done = upgrade_workbook(args.file, wire=args.wire)
    if args.json:
        backup = None if done.backup is None else str(done.backup)
        print(json.dumps({"changes": list(done.changes), "backup": backup}, indent=2))
        return EXIT_OK
    if not done.changes:
        print(f"{done.path} is already up to date: nothing was changed.")
        return EXIT_OK
    print(f"Upgraded {done.path}:")
    for change in done.changes:
        print(f"  - {change}")
    print(f"The file as it was is kept as {done.backup}.")
    print("Every update, result, setting and Log line, and your own macros, are as they were.")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from .workbookcheck import check_workbook

    checks = check_workbook(Path(args.file))
    ok = all(c.ok for c in checks)
    if args.json:
        print(json.dumps({"ok": ok, "checks": [c.as_json() for c in checks]}, indent=2))
        return EXIT_OK if ok else EXIT_PROBLEMS
    width = max(len(c.name) for c in checks)
    for c in checks:
        print(f"{'ok ' if c.ok else 'FIX'}  {c.name:<{width}}  {c.found}")
        if not c.ok:
            print(f"     {'':<{width}}  -> {c.fix}")
    print("All checks passed." if ok else f"{sum(not c.ok for c in checks)} to fix.")
    return EXIT_OK if ok else EXIT_PROBLEMS
