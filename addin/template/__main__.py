"""`python -m addin.template build [--output PATH]`: rebuild workbook_template.xlsm."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from addin.template.build import DEFAULT_OUTPUT, build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m addin.template")
    commands = parser.add_subparsers(dest="command", required=True)
    build_command = commands.add_parser("build", help="build workbook_template.xlsm from source")
    build_command.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help=f"default: {DEFAULT_OUTPUT}"
    )
    args = parser.parse_args(argv)
    build(args.output)
    print(f"Wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
