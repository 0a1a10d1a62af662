"""Time and peak memory of validate, validate --annotate, export and a submit's write-back,
next to baselines on the same file, as ratios. One run prints the whole table:

    python benchmarks/bench.py                      # 1,000 / 10,000 / 100,000 rows
    python benchmarks/bench.py --sizes 1000,10000   # a quick run
    python benchmarks/bench.py --sizes 100000 --repeat 5   # steadier ratios on a busy machine

Workbooks are built once per size and kept in benchmarks/.cache/ (git-ignored); every
operation runs on a fresh copy of one, in its own Python process, so that process's peak
resident memory (VmHWM of /proc/self/status, read by the child at its end; ru_maxrss where
there is no /proc) is the operation's own. Times are wall-clock (time.perf_counter) inside
the child around the operation only: interpreter start and imports are excluded, both for
the tool and for the baselines. Baselines:
- openpyxl read-only iteration of the Updates sheet (every cell's value);
- csv.writer of the same rows (read beforehand, untimed) into a file;
- openpyxl full load + save of the same file (what a write-back cost before streaming).
With --repeat N every operation runs N times, the operations taking turns (so that a busy
spell of the machine hits them alike), and each keeps its fastest time and smallest peak: on a
shared machine the slower runs measure the neighbours, not the code (timeit's rule).
The workbook looks like the template's Updates sheet: headers A..L (marks.TOOL_HEADERS) in an
Excel table, one row in 20 repeating the previous row's update (a warning: annotate has work).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
CACHE_VERSION = 5  # bump when the built workbook changes
DEFAULT_SIZES = (1_000, 10_000, 100_000)
WARNING_EVERY = 20  # every 20th row repeats the row before it: a duplicate-update warning

# name -> (what it measures, the baseline it is compared with)
OPERATIONS: dict[str, tuple[str, str | None]] = {
    "read-only": ("openpyxl read-only iteration (baseline)", None),
    "csv-writer": ("csv.writer of the rows once read (baseline)", None),
    "load-save": ("openpyxl full load + save (baseline)", None),
    "validate": ("achieveit-updates validate", "read-only"),
    "annotate": ("achieveit-updates validate --annotate", "validate"),
    "export": ("achieveit-updates export", "read-only"),
    "export-csv": ("export's CSV step, rows once read", "csv-writer"),
    "write-back": ("submit write-back (FileSheets.commit)", "load-save"),
}


# --------------------------------------------------------------------------------------------
# Building the workbooks
# --------------------------------------------------------------------------------------------


def workbook_path(rows: int) -> Path:
    return CACHE / f"updates-{rows}-v{CACHE_VERSION}.xlsx"


def build_workbook(rows: int, target: Path) -> None:
    """An .xlsx laid out like the template: Updates A..L in a table, J and K hidden, the two
    colour rules, Settings, Log. Made with XlsxWriter, which writes shared strings as Excel
    does (openpyxl writes inline strings, which read differently)."""
    import datetime as dt

    import xlsxwriter

    from addin import marks, model
    from addin.results import ERROR_FILL, ERROR_FONT, WARNING_FILL, WARNING_FONT

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part.xlsx")
    wb = xlsxwriter.Workbook(str(partial))
    ws = wb.add_worksheet(model.UPDATES_SHEET)
    date = wb.add_format({"num_format": "mm/dd/yyyy"})
    statuses = model.DEFAULT_STATUSES
    day = dt.datetime(2026, 1, 15)
    previous: list[object] = []
    for index in range(rows):
        if index and index % WARNING_EVERY == 0:
            values = list(previous)
        else:
            values = [
                f"KPI-{index:06d}",
                statuses[index % len(statuses)],
                round(index * 1.25, 2),
                day - dt.timedelta(days=index % 300),
                f"Progress note number {index}, on track for the quarter.",
            ]
        ws.write_row(index + 1, 0, values[:3])
        ws.write_datetime(index + 1, 3, values[3], date)
        ws.write_string(index + 1, 4, str(values[4]))
        previous = values
    headers = [*model.COLUMNS, *marks.TOOL_HEADERS]
    last = len(headers) - 1
    ws.add_table(
        0, 0, rows, last, {"name": "UpdatesTable", "columns": [{"header": h} for h in headers]}
    )
    for letter in marks.HIDDEN_COLUMNS:
        ws.set_column(f"{letter}:{letter}", None, None, {"hidden": True})
    first, _, end = marks.rule_range().partition(":")
    for formula, fill, font, stop in (
        (marks.ERROR_RULE_FORMULA, ERROR_FILL, ERROR_FONT, True),
        (marks.WARNING_RULE_FORMULA, WARNING_FILL, WARNING_FONT, False),
    ):
        rule = wb.add_format({"bg_color": "#" + fill, "font_color": "#" + font})
        options = {"type": "formula", "criteria": "=" + formula, "format": rule}
        if stop:
            options["stop_if_true"] = True
        ws.conditional_format(f"{first}:{end}", options)
    wb.add_worksheet(model.SETTINGS_SHEET).write_row(0, 0, ["Setting", "Value", "What it means"])
    wb.add_worksheet(model.LOG_SHEET).write_row(0, 0, list(model.LOG_COLUMNS))
    wb.close()
    os.replace(partial, target)


def cached_workbook(rows: int) -> Path:
    path = workbook_path(rows)
    if not path.exists():
        print(f"Building a {rows:,}-row workbook in {path.parent} ...", file=sys.stderr)
        # in a child, so that this process stays small (its children would not be measured
        # against a big parent, but it keeps the machine's memory for them)
        subprocess.run([sys.executable, __file__, "--build", str(rows)], check=True)
    return path


# --------------------------------------------------------------------------------------------
# One operation, in a child process
# --------------------------------------------------------------------------------------------


def _silenced() -> object:
    import contextlib
    import io

    return contextlib.redirect_stdout(io.StringIO())


def run_operation(name: str, path: Path, scratch: Path) -> dict[str, float]:
    """Run one operation on `path` (already a private copy); its seconds and peak RSS."""
    import time

    import openpyxl  # noqa: F401  (imports are not what is measured)

    from addin import cli, submission, workbook  # noqa: F401

    def timed(action):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        action()
        return time.perf_counter() - start

    if name == "read-only":
        seconds = timed(lambda: _iterate_read_only(path))
    elif name == "csv-writer":
        rows = _read_rows(path)
        seconds = timed(lambda: _write_csv_rows(rows, scratch / "rows.csv"))
    elif name == "load-save":
        seconds = timed(lambda: _load_save(path))
    elif name in ("validate", "annotate", "export"):
        argv = {
            "validate": ["validate", str(path)],
            "annotate": ["validate", "--annotate", str(path)],
            "export": ["export", str(path), "-o", str(scratch / "export.csv")],
        }[name]
        with _silenced():  # type: ignore[attr-defined]
            seconds = timed(lambda: cli.main(argv))
    elif name == "export-csv":
        seconds = _export_csv_step(path, scratch / "export.csv", timed)
    elif name == "write-back":
        seconds = _write_back(path, timed)
    else:
        raise SystemExit(f"unknown operation {name!r}")
    return {"seconds": seconds, "peak_mb": peak_rss_kib() / 1024}


def peak_rss_kib() -> float:
    """This process's peak resident memory. Linux: VmHWM, which starts afresh at exec (the
    child's ru_maxrss would start at the parent's peak: it is kept across fork and exec)."""
    import resource

    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB elsewhere


def _iterate_read_only(path: Path) -> None:
    import openpyxl

    from addin import model

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    ws = wb[model.UPDATES_SHEET]
    for row in ws.iter_rows(values_only=True):
        for _value in row:
            pass
    wb.close()


def _read_rows(path: Path) -> list[tuple[object, ...]]:
    import openpyxl

    from addin import model

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(wb[model.UPDATES_SHEET].iter_rows(min_row=2, max_col=5, values_only=True))
    wb.close()
    return rows


def _write_csv_rows(rows: list[tuple[object, ...]], target: Path) -> None:
    import csv

    with target.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def _load_save(path: Path) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(path)
    wb.save(path)


def _export_csv_step(path: Path, target: Path, timed) -> float:  # type: ignore[no-untyped-def]
    """What export does once the rows are read and checked: the CSV bytes, written."""
    from addin import submission
    from addin.atomicfile import write_bytes_atomically
    from addin.csvfile import export_csv

    _port, view = _port_and_view(path, record=False)
    report = submission.check(view)
    return timed(lambda: write_bytes_atomically(target, export_csv(report, view.settings)))


def _port_and_view(path: Path, *, record: bool):  # type: ignore[no-untyped-def]
    from addin.workbook import FileSheets

    port = FileSheets(path, record=record)
    return port, port.read()


def _write_back(path: Path, timed) -> float:  # type: ignore[no-untyped-def]
    """A submit that sent every row: Job ID, Job Status, Checked At and Sent on each, one Log
    row. Only the commit (the save) is timed; the read before it is validate's."""
    import datetime as dt

    from addin import submission
    from addin.model import LogEntry, ToolCells

    port, view = _port_and_view(path, record=True)
    now = dt.datetime(2026, 2, 1, 9, 30, tzinfo=dt.UTC)
    changes = submission.SheetChanges()
    for row in view.table.rows:
        changes.rows[row.number] = ToolCells(
            job_id="job-123",
            job_status="Processing",
            checked_at=now,
            sent=f"s1:{row.number:024x}",
        )
    changes.log_new[view.next_log_row] = LogEntry(
        now, path.name, len(view.table.rows), "0" * 64, "job-123", "processing", ""
    )
    port.write(view, changes)
    return timed(port.commit)


# --------------------------------------------------------------------------------------------
# The parent: one child per operation and size, then the table
# --------------------------------------------------------------------------------------------


def measure(name: str, source: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="achieveit-bench-") as scratch:
        copy = Path(scratch) / source.name
        shutil.copyfile(source, copy)
        command = [sys.executable, __file__, "--child", name, str(copy), scratch]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{name} failed:\n{done.stderr}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(n) for n in DEFAULT_SIZES),
        help="comma-separated row counts (default: %(default)s)",
    )
    parser.add_argument("--ops", help="comma-separated operations (default: all)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per operation, the best kept (default: 1)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument(
        "--child", nargs=3, metavar=("OP", "FILE", "SCRATCH"), help=argparse.SUPPRESS
    )
    parser.add_argument("--build", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build:
        build_workbook(args.build, workbook_path(args.build))
        return 0
    if args.child:
        name, file, scratch = args.child
        print(json.dumps(run_operation(name, Path(file), Path(scratch))))
        return 0
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()]
    names = args.ops.split(",") if args.ops else list(OPERATIONS)
    results: dict[int, dict[str, dict[str, float]]] = {}
    for rows in sizes:
        source = cached_workbook(rows)
        best: dict[str, dict[str, float]] = {}
        for _ in range(max(1, args.repeat)):
            for name in names:
                figures = measure(name, source)
                print(f"  {rows:>7,} rows  {name:<11} {figures}", file=sys.stderr)
                kept = best.setdefault(name, figures)
                for key in ("seconds", "peak_mb"):
                    kept[key] = min(kept[key], figures[key])
        results[rows] = best
    print(table(results, names))
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def table(results: dict[int, dict[str, dict[str, float]]], names: list[str]) -> str:
    lines = [
        "| rows | operation | time (s) | peak RSS (MB) | baseline | time ratio | memory ratio |",
        "|---:|---|---:|---:|---|---:|---:|",
    ]
    for rows, figures in results.items():
        for name in names:
            mine = figures[name]
            label, base = OPERATIONS[name]
            ratio_t = ratio_m = "-"
            if base is not None and base in figures:
                ratio_t = f"{mine['seconds'] / figures[base]['seconds']:.2f}x"
                ratio_m = f"{mine['peak_mb'] / figures[base]['peak_mb']:.2f}x"
            lines.append(
                f"| {rows:,} | {label} | {mine['seconds']:.2f} | {mine['peak_mb']:.0f} | "
                f"{base or ''} | {ratio_t} | {ratio_m} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    raise SystemExit(main())
