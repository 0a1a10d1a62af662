"""python-calamine against openpyxl read-only for the Updates table: time, and whether the
values are the same (dates, the 1904 date system, error values, formulas' cached values).

    pip install python-calamine   # only to run this; the tool does not depend on it
    python benchmarks/calamine_check.py [--rows 100000]

Each reader runs in its own process (peak memory as in bench.py); the value checks use small
XlsxWriter workbooks, whose files look like Excel's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def read_openpyxl(path: Path) -> list[list[Any]]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = [list(r) for r in wb["Updates"].iter_rows(max_col=5, values_only=True)]
    wb.close()
    return rows


def read_calamine(path: Path) -> list[list[Any]]:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    return [row[:5] for row in book.get_sheet_by_name("Updates").to_python(skip_empty_area=False)]


READERS = {"openpyxl": read_openpyxl, "calamine": read_calamine}


def child(reader: str, path: Path) -> None:
    import openpyxl  # noqa: F401
    import python_calamine  # noqa: F401
    from bench import peak_rss_kib

    start = time.perf_counter()
    READERS[reader](path)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mb": peak_rss_kib() / 1024}))


def value_checks(folder: Path) -> list[str]:
    """Where calamine's values differ from openpyxl's, in words."""
    import xlsxwriter

    differences = []
    for date1904 in (False, True):
        path = folder / f"values-{date1904}.xlsx"
        wb = xlsxwriter.Workbook(str(path), {"date_1904": date1904})
        ws = wb.add_worksheet("Updates")
        date = wb.add_format({"num_format": "mm/dd/yyyy"})
        ws.write_row(0, 0, ["External ID", "Status", "Current Metric Value", "As Of Date", "X"])
        ws.write_row(1, 0, ["A-1", "On Track", 12.5])
        ws.write_datetime(1, 3, dt.datetime(2026, 1, 15), date)
        ws.write_formula(2, 0, "=1/0", None, "#DIV/0!")  # an error, as Excel saves it
        ws.write_formula(2, 2, "=2*3", None, 6)  # a cached formula value
        ws.write_string(2, 1, "00123")
        ws.write_number(3, 0, 123, wb.add_format({"num_format": "00000"}))
        ws.set_row(3, None, None, {"hidden": True})
        ws.write_boolean(4, 0, True)
        wb.close()
        mine, theirs = read_openpyxl(path), read_calamine(path)
        for r, (a, b) in enumerate(zip(mine, theirs, strict=False), start=1):
            a = a + [None] * (5 - len(a))
            b = list(b) + [None] * (5 - len(b))
            for c, (x, y) in enumerate(zip(a, b, strict=True)):
                same = x == y or (x is None and y == "")
                if not same:
                    differences.append(
                        f"1904={date1904} {'ABCDE'[c]}{r}: openpyxl {x!r}, calamine {y!r}"
                    )
    return differences


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return 0
    sys.path.insert(0, str(HERE))
    from bench import cached_workbook

    source = cached_workbook(args.rows)
    for reader in READERS:
        done = subprocess.run(
            [sys.executable, __file__, "--child", reader, str(source)],
            capture_output=True,
            text=True,
            check=True,
        )
        print(f"{args.rows:,} rows, {reader:<8}: {done.stdout.strip()}")
    with tempfile.TemporaryDirectory() as folder:
        differences = value_checks(Path(folder))
    print("value differences:" if differences else "values: the same")
    for line in differences:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    sys.path.insert(0, str(HERE))
    raise SystemExit(main())
