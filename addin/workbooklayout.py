"""The Updates sheet's tool columns, brought to the installed template's layout (openpyxl).

A team copy made from an older template may lack tool columns the installed tool writes (the
hidden Marks column came after the first release; the Sent column after that). `layout_changes`
says what a workbook lacks, `migrate_layout` puts it there: each header of marks.TOOL_HEADERS
in its column right of E (styled, sized, formatted and hidden as in the installed template),
the Excel table around the updates widened over every tool column (a table's columns must match
its range, or Excel calls the file corrupt), and the two colour rules. Nothing else is written:
no input cell, no result. Since template 3 the upgrade also adds the Plan Items sheet (an empty
table, filled by Get Plan Items) and each setting the Settings sheet lacks (a row below its
last one, with the template's default and explanation); nothing of the user's moves.

A column of the user's where a tool column must go is never moved or overwritten: the
migration is refused, saying which cell to move.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.worksheet.table import TableColumn

from . import marks, model
from .cells import find_header, is_blank, normal_label, sheet_index
from .errors import WorkbookError


@dataclass(frozen=True)
class ToolColumn:
    """One tool column as the installed template lays it out."""

    index: int  # 1-based
    header: str
    header_cell: Any  # the template's header cell: its font, fill and alignment are copied
    dimension: Any  # the template's column dimension: width, hidden, number format


@functools.cache
def template_columns() -> tuple[ToolColumn, ...]:
    """The tool columns of the installed template's Updates sheet (built, not read from a file:
    the sources in the package are the truth)."""
    from .template.sheets import build_workbook

    ws = build_workbook()[model.UPDATES_SHEET]
    columns = []
    for offset, header in enumerate(marks.TOOL_HEADERS):
        index = marks.ISSUES_COL + offset
        assert ws.cell(1, index).value == header, "the template's header is the marks layout"
        letter = get_column_letter(index)
        columns.append(ToolColumn(index, header, ws.cell(1, index), ws.column_dimensions[letter]))
    return tuple(columns)


def updates_sheet(wb: Any) -> Any | None:
    """The sheet the readers take: 'Updates', else the first; None for a book without sheets."""
    index = sheet_index(wb.sheetnames, model.UPDATES_SHEET)
    sheets = wb.worksheets
    return sheets[index] if index is not None else (sheets[0] if sheets else None)


def header_row(ws: Any) -> int | None:
    """The sheet row of the updates' header (cells.find_header), read without adding cells."""
    rows = [(_value(ws, r, 1),) for r in range(1, model.HEADER_SEARCH_ROWS + 1)]
    index = find_header(rows)
    return None if index is None else index + 1


def _value(ws: Any, row: int, col: int) -> Any:
    """A cell's value without creating the cell (openpyxl 3.1: `_cells` is its cell store;
    ws.cell() and iter_rows would add empty ones, and empty <row> elements with them)."""
    cell = ws._cells.get((row, col))
    return None if cell is None else cell.value


def layout_changes(wb: Any) -> list[str]:
    """What migrate_layout would change, in words; [] when the layout is the installed one.
    Raises WorkbookError when a user's column is in the way. Changes nothing."""
    return _migrate(wb, apply=False)


def migrate_layout(wb: Any) -> list[str]:
    """Bring the workbook's tool columns to the installed layout; what was changed, in words.
    Raises WorkbookError, having changed nothing, when a user's column is in the way."""
    _migrate(wb, apply=False)  # every refusal before the first change
    return _migrate(wb, apply=True)


def _migrate(wb: Any, *, apply: bool) -> list[str]:
    changes = _plan_items_sheet(wb, apply=apply) + _settings_rows(wb, apply=apply)
    ws = updates_sheet(wb)
    row = None if ws is None else header_row(ws)
    if ws is None or row is None:
        return changes  # no table of updates to lay out: the readers say so when it matters
    for column in template_columns():
        changes += _tool_column(ws, row, column, apply=apply)
    changes += _table(ws, row, apply=apply)
    changes += _colour_rules(ws, row, apply=apply)
    return changes


def _plan_items_sheet(wb: Any, *, apply: bool) -> list[str]:
    """The Plan Items sheet (template 3), empty, when the workbook has none."""
    from .itemsheet import write_sheet
    from .planitems import PLAN_ITEMS_SHEET, sheet_rows

    if sheet_index(wb.sheetnames, PLAN_ITEMS_SHEET) is not None:
        return []
    if apply:
        write_sheet(wb, sheet_rows([]))
    return [f"added the {PLAN_ITEMS_SHEET} sheet (filled by Get Plan Items)"]


def _settings_rows(wb: Any, *, apply: bool) -> list[str]:
    """The settings the Settings sheet lacks, each in a row of its own below the last one,
    with the template's default value and explanation. Rows are found by label, so the
    user's own order and values stay as they are."""
    from .template.sheets import settings_rows

    index = sheet_index(wb.sheetnames, model.SETTINGS_SHEET)
    if index is None:
        return []  # no Settings sheet: the defaults apply, as before
    ws = wb.worksheets[index]
    labels = {normal_label(_value(ws, r, 1)) for r in range(1, ws.max_row + 1)}
    missing = [r for r in settings_rows(model.Settings()) if r[0].casefold() not in labels]
    if not missing:
        return []
    filled = (r for (r, c), cell in ws._cells.items() if c <= 3 and not is_blank(cell.value))
    last = max(filled, default=0)
    free = last + 1
    while any(not is_blank(_value(ws, free, c)) for c in (1, 2, 3)):
        free += 1
    if apply:
        for offset, (label, value, meaning) in enumerate(missing):
            ws.cell(free + offset, 1).value = label
            ws.cell(free + offset, 2).value = value
            ws.cell(free + offset, 3).value = meaning
    return [f"added the setting '{label}' to the {ws.title} sheet" for label, _, _ in missing]


def _cells_below(ws: Any, row: int, index: int) -> Iterator[Any]:
    """The cells of a column below a row that exist, without creating any (see _value)."""
    for (r, c), cell in ws._cells.items():
        if c == index and r > row:
            yield cell


def _in_the_way(ws: Any, row: int, column: ToolColumn, value: Any) -> WorkbookError:
    letter = get_column_letter(column.index)
    last = get_column_letter(template_columns()[-1].index)
    first = get_column_letter(template_columns()[0].index)
    return WorkbookError(
        f"On the {ws.title} sheet, cell {letter}{row} holds {value!r}, but the installed tool "
        f"needs column {letter} for '{column.header}' (columns {first}..{last} are the tool's). "
        f"Nothing was changed. Move that column to the right of {last} (or clear it), then "
        "run the upgrade again."
    )


def _tool_column(ws: Any, row: int, column: ToolColumn, *, apply: bool) -> list[str]:
    letter = get_column_letter(column.index)
    value = _value(ws, row, column.index)
    changes = []
    if normal_label(value) != column.header.casefold():
        if not is_blank(value):
            raise _in_the_way(ws, row, column, value)
        below = next(
            (c for c in _cells_below(ws, row, column.index) if not is_blank(c.value)), None
        )
        if below is not None:
            raise _in_the_way(ws, below.row, column, below.value)
        changes.append(f"added the column {letter} '{column.header}' to the {ws.title} sheet")
        if apply:
            _add_header(ws, row, column)
    wanted_hidden = bool(column.dimension.hidden)
    dimension = _find_dimension(ws, column.index)
    hidden = bool(dimension is not None and dimension.hidden)
    if hidden != wanted_hidden and not changes:  # a new column is laid out whole, above
        changes.append(
            f"{'hid' if wanted_hidden else 'showed'} the column {letter} '{column.header}'"
        )
        if apply:
            _own_dimension(ws, column.index).hidden = wanted_hidden
    return changes


def _add_header(ws: Any, row: int, column: ToolColumn) -> None:
    cell = ws.cell(row, column.index)
    cell.value = column.header
    template = column.header_cell
    cell.font, cell.fill = copy.copy(template.font), copy.copy(template.fill)
    cell.alignment = copy.copy(template.alignment)
    source = column.dimension
    dimension = _own_dimension(ws, column.index)
    dimension.width = source.width
    dimension.hidden = source.hidden
    dimension.number_format = source.number_format
    dimension.alignment = copy.copy(source.alignment)


def _find_dimension(ws: Any, index: int) -> Any | None:
    for dimension in ws.column_dimensions.values():
        dimension.reindex()
        if dimension.min <= index <= dimension.max:
            return dimension
    return None


def _own_dimension(ws: Any, index: int) -> Any:
    from .workbook import own_column_dimension

    return own_column_dimension(ws, index)


def _updates_table(ws: Any, row: int) -> Any | None:
    """The Excel table whose header row is the updates' header row, starting in column A."""
    for table in ws.tables.values():
        min_col, min_row, _, _ = range_boundaries(table.ref)
        if min_col == 1 and min_row == row:
            return table
    return None


def _table(ws: Any, row: int, *, apply: bool) -> list[str]:
    table = _updates_table(ws, row)
    if table is None:
        return []
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    last = template_columns()[-1].index
    if max_col >= last:
        return []
    ref = f"A{min_row}:{get_column_letter(last)}{max_row}"
    if apply:
        next_id = max((c.id for c in table.tableColumns), default=0) + 1
        for offset, index in enumerate(range(max_col + 1, last + 1)):
            name = str(ws.cell(row, index).value)  # the header written above
            table.tableColumns.append(TableColumn(id=next_id + offset, name=name))
        table.ref = ref
        if table.autoFilter is not None:
            table.autoFilter.ref = ref
    return [f"widened the table {table.displayName} to {ref}"]


def _colour_rules(ws: Any, row: int, *, apply: bool) -> list[str]:
    # The rules and their comparison are the write-back's (it adds them to a plain .xlsx).
    from .workbook import _ensure_mark_rules, _formula_key

    have = {
        _formula_key(f) for cf in ws.conditional_formatting for r in cf.rules for f in r.formula
    }
    wanted = {_formula_key(f) for f in (marks.ERROR_RULE_FORMULA, marks.WARNING_RULE_FORMULA)}
    if wanted <= have:
        return []
    if apply:
        _ensure_mark_rules(ws, row)
    return [f"added the rules that colour bad cells red and amber ({marks.rule_range(row)})"]
