"""openpyxl adapter: fill or refresh a workbook's Plan Items sheet, and add Updates rows.

The Plan Items sheet is the tool's: each refresh replaces its values whole (an Excel table
named PLAN_ITEMS_TABLE over ITEM_HEADERS and the items' other fields, resized to the items).
The Updates sheet's inputs are never changed; `add_rows` only appends rows below the last
update, each with an External ID of an item that has no row yet and its other cells blank.
Each row's item name goes into the Item tool column through the write-back's own path
(submission.item_names -> ToolCells -> workbook.apply_changes). One atomic save
(addin/xlsxfile.py keeps the VBA project and the ribbon).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl.styles import Font, PatternFill
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from . import model
from .cells import sheet_index
from .planitems import (
    PLAN_ITEMS_SHEET,
    PLAN_ITEMS_TABLE,
    PlanItem,
    known_items,
    new_update_ids,
    sheet_rows,
)
from .submission import item_changes
from .workbook import FileSheets, apply_changes, check_writable
from .xlsxfile import load_for_edit, openpyxl_quiet, read_bytes, save_atomically

HEADER_FONT = Font(name="Calibri", family=2, size=11, scheme="minor", bold=True)
HEADER_FILL = PatternFill("solid", start_color="FFDDEBF7")
TABLE_STYLE = "TableStyleMedium2"
CODE_NAME = "shtPlanItems"
WIDTHS: dict[str, float] = {"A": 40, "B": 40, "C": 14, "D": 14, "E": 22, "F": 38}


@dataclass(frozen=True)
class Filled:
    """What fill_workbook wrote: the items listed, and the Updates rows added (row, ID)."""

    items: int
    added: tuple[tuple[int, str], ...] = ()


def fill_workbook(
    path: str | os.PathLike[str], items: Sequence[PlanItem], *, add_rows: bool = False
) -> Filled:
    """Write `items` into the Plan Items sheet (added when missing); with `add_rows`, an
    Updates row per item not yet there. Raises WorkbookError (nothing written) as the
    write-back does: a locked, read-only or foreign file."""
    path = Path(path)
    port = FileSheets(path)
    view = port.read(with_log=False)
    check_writable(path, view.table)
    wanted: list[str] = []
    if add_rows:
        if view.table.header_row is None:
            from .errors import WorkbookError

            raise WorkbookError(
                f"The Updates sheet of {path.name} has no header row starting with "
                "'External ID', so no rows can be added: nothing was written."
            )
        wanted = new_update_ids(items, (row.values[0] for row in view.table.rows))
    original = read_bytes(path)
    with openpyxl_quiet():
        wb = load_for_edit(path, original)
        rows = sheet_rows(items)
        write_sheet(wb, rows)
        added: list[tuple[int, str]] = []
        if wanted:
            header_row = view.table.header_row
            assert header_row is not None
            last = view.table.rows[-1].number if view.table.rows else header_row
            ws = wb[view.table.sheet]
            for row, external_id in enumerate(wanted, start=last + 1):
                cell = ws.cell(row, 1)
                cell.value, cell.number_format = external_id, "@"
                added.append((row, external_id))
            _grow_updates_table(ws, header_row, last + len(wanted))
        if view.table.header_row is not None:
            view.items = known_items(rows) or {}
            changes = item_changes(view, dict(added))
            if changes:
                apply_changes(path, wb, view.table, changes)
        save_atomically(wb, path, original)
    return Filled(len(items), tuple(added))


def write_sheet(wb: Any, rows: Sequence[Sequence[Any]]) -> None:
    """The Plan Items sheet holding exactly `rows` (header first), its table fitted to them."""
    index = sheet_index(wb.sheetnames, PLAN_ITEMS_SHEET)
    if index is None:
        ws = wb.create_sheet(PLAN_ITEMS_SHEET, _sheet_after(wb))
        ws.sheet_properties.codeName = CODE_NAME
        lay_out(ws)
    else:
        ws = wb.worksheets[index]
    fill(wb, ws, rows)


def lay_out(ws: Any) -> None:
    """A new Plan Items sheet's widths and formats (the template's too)."""
    for letter, width in WIDTHS.items():
        ws.column_dimensions[letter].width = width
    ws.column_dimensions["A"].number_format = "@"  # IDs stay text: no 1.2E+15, no lost zeros
    ws.freeze_panes = "A2"


def fill(wb: Any, ws: Any, rows: Sequence[Sequence[Any]]) -> None:
    """The sheet's values replaced by `rows`, its table fitted to them (added if missing)."""
    for cell in list(ws._cells.values()):  # openpyxl 3.1: the sheet's cell store
        cell.value = None
    width = len(rows[0])
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values, start=1):
            if value is None:
                continue
            cell = ws.cell(r, c)
            cell.value = value
            if r == 1:
                cell.font, cell.fill = HEADER_FONT, HEADER_FILL
            elif c == 1:
                cell.number_format = "@"
    last_row = max(2, len(rows))  # a table needs one data row, even an empty one
    ref = f"A1:{get_column_letter(width)}{last_row}"
    columns = [TableColumn(id=i, name=str(name)) for i, name in enumerate(rows[0], start=1)]
    table = next(iter(ws.tables.values()), None)
    if table is None:
        table = Table(displayName=_free_table_name(wb), ref=ref)
        table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showRowStripes=True)
        ws.add_table(table)
    table.ref = ref
    table.tableColumns = columns
    if table.autoFilter is not None:
        table.autoFilter.ref = ref


def _sheet_after(wb: Any) -> int:
    """Where a new Plan Items sheet goes: after the Log (else after Updates, else last)."""
    names = [n.casefold() for n in wb.sheetnames]
    for name in (model.LOG_SHEET, model.UPDATES_SHEET):
        if name.casefold() in names:
            return names.index(name.casefold()) + 1
    return len(names)


def _free_table_name(wb: Any) -> str:
    taken = {name.casefold() for ws in wb.worksheets for name in ws.tables}
    name, n = PLAN_ITEMS_TABLE, 2
    while name.casefold() in taken:
        name, n = f"{PLAN_ITEMS_TABLE}{n}", n + 1
    return name


def _grow_updates_table(ws: Any, header_row: int, last: int) -> None:
    """The Excel table around the updates reaches the rows added."""
    for table in ws.tables.values():
        min_col, min_row, max_col, max_row = range_boundaries(table.ref)
        if min_col == 1 and min_row == header_row and max_row is not None and max_row < last:
            table.ref = f"A{header_row}:{get_column_letter(max_col or 1)}{last}"
            if table.autoFilter is not None:
                table.autoFilter.ref = table.ref
