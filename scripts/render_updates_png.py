"""Render docs/updates-after-validate.png: the Updates sheet as a user sees it after Validate.

    python scripts/render_updates_png.py                 # writes docs/updates-after-validate.png
    python scripts/render_updates_png.py --output x.png --resolution 110

Headless, without Excel: a copy of workbook_template.xlsm gets eight realistic rows (four with
the usual mistakes), then the engine's own path runs on it (read_table -> validate_table ->
write_back, which writes the Issues text and the Marks codes that the template's colour rules
turn red and amber). LibreOffice prints the sheet to PDF and poppler's pdftoppm makes the PNG,
cropped to the printed cells.

Needs LibreOffice (`soffice`) and poppler-utils (`pdftoppm`). Not used by the tests or CI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import openpyxl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from anywhere, without installing the package

from addin import model  # noqa: E402
from addin.marks import MARKS_COLUMN, MARKS_INDEX  # noqa: E402
from addin.rules import validate_table  # noqa: E402
from addin.sandbox import DEMO_ITEMS  # noqa: E402
from addin.workbook import read_settings, read_table, write_back  # noqa: E402

TEMPLATE = REPO / "workbook_template.xlsm"
DEFAULT_OUTPUT = REPO / "docs" / "updates-after-validate.png"
TODAY = dt.date(2026, 1, 16)  # fixed, so the picture does not change with the calendar
WEEK = dt.date(2026, 1, 12)
LAST_COLUMN = "F"  # inputs A..E and the Issues column
MARGIN_PIXELS = 12
LINE_POINTS = 15  # Calibri 11
CHARS_PER_WIDTH = 1.2  # text characters per unit of column width ('0' digits), roughly
WHITE = 250  # a pixel is "paper" when all three channels are at least this light

_ids = {item.name: item.external_id for item in DEMO_ITEMS}

# External ID, Status, Current Metric Value, As Of Date, Comment.
ROWS: tuple[tuple[object, ...], ...] = (
    (
        _ids["Reduce onboarding time"],
        "On Track",
        12,
        WEEK,
        "New checklist in use; onboarding down from 15 to 12 days.",
    ),
    (  # mistake: British spelling; AchieveIt's status is "Canceled"
        _ids["Launch partner portal"],
        "Cancelled",
        None,
        WEEK,
        "Merged into the website relaunch.",
    ),
    (
        _ids["Cut support backlog"],
        "Off Track",
        340,
        WEEK,
        "Backlog grew after the holiday break; two temps start Monday.",
    ),
    (  # mistake: a day-first date typed as text
        _ids["Raise customer satisfaction"],
        "At Risk",
        0.81,
        "13/01/2026",
        "Survey response rate is low this quarter.",
    ),
    (  # mistake: a percentage typed as text
        _ids["Grow recurring revenue"],
        "On Track",
        "20%",
        WEEK,
        "Two enterprise renewals signed early.",
    ),
    (  # mistake: no As Of Date
        _ids["Refresh brand guidelines"],
        "Achieved",
        None,
        None,
        "Published on the intranet.",
    ),
    (
        _ids["Automate release checks"],
        "On Track",
        0.65,
        WEEK,
        "Smoke tests automated; load tests next.",
    ),
    (
        _ids["Train all managers on feedback"],
        "Not Started",
        0,
        WEEK,
        "First session booked for February.",
    ),
)


def fill_rows(path: Path) -> None:
    """Replace the template's example rows with ROWS and stretch the table over them."""
    wb = openpyxl.load_workbook(path, keep_vba=True)
    ws = wb[model.UPDATES_SHEET]
    ws.delete_rows(2, ws.max_row)
    for number, values in enumerate(ROWS, start=2):
        for column, value in enumerate(values, start=1):
            cell = ws.cell(row=number, column=column, value=value)
            cell.number_format = {1: "@", 4: "yyyy-mm-dd"}.get(column, "General")
    table = next(iter(ws.tables.values()))
    table.ref = f"A1:{MARKS_COLUMN}{1 + len(ROWS)}"
    wb.save(path)


def validate(path: Path) -> str:
    """The ribbon's Validate, by the engine's own functions; returns what it found."""
    table = read_table(path)
    settings = read_settings(path) or model.Settings()
    report = validate_table(table, statuses=settings.statuses, today=TODAY)
    write_back(path, table=table, findings=report.findings)
    ws = openpyxl.load_workbook(path, read_only=True)[model.UPDATES_SHEET]
    codes = [
        row[0]
        for row in ws.iter_rows(
            min_row=2, min_col=MARKS_INDEX + 1, max_col=MARKS_INDEX + 1, values_only=True
        )
    ]
    if report.findings and not any(codes):
        raise SystemExit("write_back wrote no Marks codes in column J: the picture would lie.")
    return "\n".join(f"  row {f.row} {f.severity}: {f.message}" for f in report.findings)


def _lines(ws: Any, row: int) -> int:
    """Lines the tallest wrapped cell of a row needs. LibreOffice keeps the file's row height
    (Excel would fit wrapped text on edit), so the height is set from a rough character count."""
    needed = 1
    for column in ("E", LAST_COLUMN):
        text = ws[f"{column}{row}"].value
        if isinstance(text, str):
            per_line = max(int(ws.column_dimensions[column].width * CHARS_PER_WIDTH), 1)
            needed = max(needed, sum(-(-len(line) // per_line) or 1 for line in text.split("\n")))
    return needed


def set_up_page(path: Path) -> None:
    """One landscape page of A..F with row numbers and column letters, as on screen."""
    wb = openpyxl.load_workbook(path, keep_vba=True)
    ws = wb[model.UPDATES_SHEET]
    ws.print_area = f"A1:{LAST_COLUMN}{ws.max_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.print_options.gridLines = True
    ws.print_options.headings = True
    ws.page_margins.left = ws.page_margins.right = 0.3
    ws.page_margins.top = ws.page_margins.bottom = 0.3
    ws.page_margins.header = ws.page_margins.footer = 0
    ws.oddHeader.center.text = ws.oddFooter.center.text = None
    for row in range(2, ws.max_row + 1):
        ws.row_dimensions[row].height = LINE_POINTS * _lines(ws, row)
    for other in wb.worksheets:
        if other is not ws:
            other.sheet_state = "hidden"  # LibreOffice prints only visible sheets
    wb.save(path)


def to_pdf(path: Path, folder: Path) -> Path:
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{folder}/profile", "--headless",
         "--convert-to", "pdf", "--outdir", str(folder), str(path)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return folder / (path.stem + ".pdf")


def _ppm(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and RGB bytes of a binary PPM (P6, maxval 255) as pdftoppm writes it."""
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:  # magic, width, height, maxval; whitespace-separated
        while data[pos : pos + 1].isspace():
            pos += 1
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b"P6" or fields[3] != b"255":
        raise ValueError("not an 8-bit binary PPM")
    return int(fields[1]), int(fields[2]), data[pos + 1 :]


def used_box(width: int, height: int, pixels: bytes) -> tuple[int, int, int, int]:
    """(x, y, w, h) around everything that is not white paper."""
    stride = width * 3
    rows = [
        y for y in range(height) if min(pixels[y * stride : (y + 1) * stride], default=255) < WHITE
    ]
    if not rows:
        raise RuntimeError("the page is empty: nothing was printed")
    columns = [
        x
        for x in range(width)
        if min(pixels[y * stride + x * 3 + c] for y in rows for c in range(3)) < WHITE
    ]
    left = max(min(columns) - MARGIN_PIXELS, 0)
    top = max(min(rows) - MARGIN_PIXELS, 0)
    right = min(max(columns) + MARGIN_PIXELS, width - 1)
    bottom = min(max(rows) + MARGIN_PIXELS, height - 1)
    return left, top, right - left + 1, bottom - top + 1


def to_png(pdf: Path, output: Path, resolution: int) -> None:
    """First page at `resolution` dpi, cropped to the printed cells."""
    base = pdf.with_suffix("")
    pdftoppm = ["pdftoppm", "-f", "1", "-l", "1", "-r", str(resolution), "-singlefile"]
    subprocess.run([*pdftoppm, str(pdf), str(base)], check=True, timeout=120)
    x, y, w, h = used_box(*_ppm(base.with_suffix(".ppm").read_bytes()))
    crop = ["-x", str(x), "-y", str(y), "-W", str(w), "-H", str(h)]
    subprocess.run([*pdftoppm, "-png", *crop, str(pdf), str(base)], check=True, timeout=120)
    output.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(base.with_suffix(".png"), output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--resolution", type=int, default=140, help="dots per inch (default 140)")
    args = parser.parse_args(argv)
    for tool in ("soffice", "pdftoppm"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not installed (LibreOffice / poppler-utils)")
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        book = folder / "updates.xlsm"
        shutil.copyfile(TEMPLATE, book)
        fill_rows(book)
        print("Validate found:\n" + validate(book))
        set_up_page(book)
        to_png(to_pdf(book, folder), args.output, args.resolution)
    print(f"Wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
