"""The exact CSV AchieveIt expects, and reading a user's own .csv input file. Pure: bytes in/out.

Written format (from the AchieveIt article, kept deliberately plain):
- UTF-8 without a byte-order mark, comma-separated, every record ends in CRLF (the last one too);
- RFC 4180 quoting: a field is quoted only when it holds a comma, a double quote, CR or LF, and
  inner quotes are doubled. Everything else (including a leading `=`, `+`, `-` or `@`) is
  written exactly as given: this file goes to an API, not into a spreadsheet;
- columns in the article's order; the header row and the Comment column can each be left out;
- dates as YYYY-MM-DD (or MM/DD/YYYY), numbers in plain positional notation.

No updates: the header alone (or b"" without a header). The article forbids empty records, and
an empty body is something the caller should refuse to send, not something to pad.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import math
import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import PurePath

from . import model
from .cells import find_header, normal_label
from .errors import InvalidData, WorkbookError
from .model import Finding, Report, Row, Settings, Table, Update

DEFAULT_SETTINGS = Settings()  # frozen: safe to share as a default
CRLF = "\r\n"
_NEEDS_QUOTES = re.compile('[,"\r\n]')  # RFC 4180: a field holding these is quoted


def format_number(value: float | int) -> str:
    """The shortest text that reads back as the same number, never in exponent notation.

    1 -> "1", 3.0 -> "3", 0.2 -> "0.2", 1e-07 -> "0.0000001", 1e16 -> "10000000000000000".
    -0.0 is written "0": a sign on zero means nothing for a metric and could confuse a parser.
    """
    if isinstance(value, bool):  # bool is an int subclass; True is not a metric
        raise TypeError("a metric value must be a number, not True/False")
    if isinstance(value, int):
        return str(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"a metric value must be a finite number, not {number!r}")
    if number == 0:
        return "0"
    # repr() gives the shortest digits that round-trip; Decimal lays them out without exponent.
    return format(Decimal(repr(number)).normalize(), "f")


def format_date(value: dt.date, date_format: str = model.DATE_ISO) -> str:
    """YYYY-MM-DD, or MM/DD/YYYY for model.DATE_US; zero-padded; any time of day is dropped."""
    if date_format == model.DATE_US:
        return f"{value.month:02d}/{value.day:02d}/{value.year:04d}"
    if date_format == model.DATE_ISO:
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    raise ValueError(f"unknown date format {date_format!r}; use one of {model.DATE_FORMATS}")


def _field(text: str) -> str:
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def _record(fields: Sequence[str]) -> str:
    return ",".join(_field(f) for f in fields) + CRLF


def _update_fields(update: Update, settings: Settings) -> list[str]:
    fields = [
        update.external_id,
        update.status,
        "" if update.metric is None else format_number(update.metric),
        format_date(update.as_of, settings.date_format),
    ]
    if settings.include_comment:
        fields.append(update.comment)
    return fields


def write_csv(updates: Sequence[Update], settings: Settings = DEFAULT_SETTINGS) -> bytes:
    """The CSV bytes AchieveIt expects for `updates` (already checked and normalised by the rules).

    Raises InvalidData if a text holds a character UTF-8 cannot encode (a lone surrogate: half
    of a broken emoji), naming the sheet row.
    """
    columns = model.COLUMNS if settings.include_comment else model.COLUMNS[:4]
    parts: list[bytes] = []
    if settings.include_header:
        parts.append(_record(columns).encode("utf-8"))
    for update in updates:
        try:
            parts.append(_record(_update_fields(update, settings)).encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidData(
                f"Row {update.row} holds a broken character (half of an emoji or symbol) that "
                "cannot be sent. Retype the text in that row, then try again."
            ) from None
    return b"".join(parts)


def export_csv(report: Report, settings: Settings = DEFAULT_SETTINGS) -> bytes:
    """write_csv(report.updates), refusing while the report still has errors."""
    errors = len(report.errors)
    if errors:
        if errors == 1:
            message = "1 error remains; fix it (see the Issues column) before exporting"
        else:
            message = f"{errors} errors remain; fix them (see the Issues column) before exporting"
        raise InvalidData(message)
    return write_csv(report.updates, settings)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


FINGERPRINT_PREFIX = "s1:"  # the fingerprint's version; text, so Excel never makes it a number
_FINGERPRINT_SETTINGS = Settings(date_format=model.DATE_ISO, include_comment=True)


def fingerprint(update: Update) -> str:
    """What a row sends, hashed: its CSV record written one canonical way.

    The record is the row's normalised content (the canonical status, the metric and date as
    the CSV writes them, the comment), so neither "on track" vs "On Track" nor a change of the
    CSV date format or of "Include comments" makes an unchanged row look edited. 96 bits of
    SHA-256: edits are told apart, and the cell stays short.
    """
    record = _record(_update_fields(update, _FINGERPRINT_SETTINGS))
    digest = hashlib.sha256(record.encode("utf-8", "surrogatepass")).hexdigest()
    return FINGERPRINT_PREFIX + digest[:24]


# --- reading a user's .csv input file --------------------------------------------------------

_SAVE_AS_CSV = "Open it in Excel and save it again as 'CSV UTF-8 (Comma delimited) (*.csv)'."


def _decode(data: bytes, source: str) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise WorkbookError(
            f"{source} is saved as 'Unicode Text' (UTF-16), not as CSV. {_SAVE_AS_CSV}"
        )
    if data.startswith(b"PK\x03\x04"):
        raise WorkbookError(
            f"{source} is an Excel workbook with a .csv name, not a CSV file. "
            "Open it directly as a workbook, or save it from Excel as a CSV file."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # utf-8-sig counts from after the byte-order mark
        bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
        _check_not_mixed(data, exc.start + bom, source)
    # Excel's plain "CSV (Comma delimited)" on Windows writes the ANSI code page, cp1252.
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        return body.decode("cp1252")
    except UnicodeDecodeError:
        raise WorkbookError(
            f"{source} is neither UTF-8 nor Windows (cp1252) text, so its characters cannot be "
            f"read reliably. {_SAVE_AS_CSV}"
        ) from None


# A character UTF-8 writes as several bytes: cp1252 would read it as two or three wrong ones.
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _check_not_mixed(data: bytes, bad: int, source: str) -> None:
    """Refuse a file that is UTF-8 but for some bytes (pasted from another file or program):
    read as cp1252, its every 'é' would turn into 'Ã©' without a word."""
    if _UTF8_SEQUENCE.search(data) is None:
        return  # no UTF-8 character at all: a genuine Windows (cp1252) file
    line = data.count(b"\n", 0, bad) + 1
    raise WorkbookError(
        f"{source}, line {line}: the file is UTF-8 text, but byte 0x{data[bad]:02X} there is "
        "not (it was probably pasted from a file in another encoding); its characters cannot "
        f"all be read reliably. Retype the odd character on that line, or: {_SAVE_AS_CSV}"
    )


def _other_separator(text: str) -> str | None:
    """';' or tab when the file plainly uses it instead of commas; None otherwise.

    Looks at a header row starting 'External ID;' among the first lines, else at the first
    non-blank line: a comma file has at least 3 commas per full record, while a European one
    may hold a few decimal commas ('0,2') between its semicolons.
    """
    lines = [line for line in text.splitlines()[: model.HEADER_SEARCH_ROWS] if line.strip()]
    for sep in (";", "\t"):
        if any(line.strip(' "').casefold().startswith("external id" + sep) for line in lines):
            return sep
    first = lines[0] if lines else ""
    commas = first.count(",")
    for sep in (";", "\t"):
        count = first.count(sep)
        if count and (commas == 0 or (count >= 3 and commas < 3)):
            return sep
    return None


def _check_delimiter(text: str, source: str) -> None:
    sep = _other_separator(text)
    if sep is None:
        return
    if sep == "\t":
        raise WorkbookError(
            f"{source} separates its values with tabs, not commas (Excel's 'Text (Tab "
            f"delimited)' format). {_SAVE_AS_CSV}"
        )
    raise WorkbookError(
        f"{source} separates its values with ';' (semicolons), not commas. Excel does this "
        "when Windows' list separator is ';' (common with European settings). Either copy the "
        "rows into the Updates sheet of the workbook, or set the list separator to ',' "
        "(Windows: Control Panel > Region > Additional settings > List separator) and save the "
        "file again as 'CSV UTF-8 (Comma delimited)'."
    )


def _cell(text: str) -> str | None:
    return text if text != "" else None


def _looks_like_a_header(record: list[str]) -> bool:
    names = {c.casefold() for c in model.COLUMNS}
    return any(normal_label(c) in names for c in record)


def _strict_records(text: str, source: str) -> list[list[str]]:
    """The records of `text`, parsed strictly (RFC 4180): a quote left open or text after a
    closing quote stops the reading with the line it is on, never a guess. A lenient reader
    would swallow every later record into one comment, or drop the quotes of '"quoted" tail'."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[list[str]] = []
    start = 1  # the line the next record starts on
    try:
        for record in reader:
            records.append(record)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise _csv_syntax_error(text, source, start, reader.line_num, str(exc)) from None
    return records


def _csv_syntax_error(text: str, source: str, start: int, at: int, why: str) -> WorkbookError:
    lines = io.StringIO(text, newline="").readlines()  # the line ends csv counts by
    if "unexpected end of data" in why:  # the quote opened on line `start` never closes
        shown = _line_shown(lines, start)
        return WorkbookError(
            f'{source}, line {start}: a value starts with a double quote (") that is never '
            f"closed ({shown}), so every line after it would be read as part of that one value "
            "and nothing would be sent for them. Add the closing quote at the end of the value "
            "(or remove the opening one), save, and try again."
        )
    if "expected after" in why:
        shown = _line_shown(lines, at)
        return WorkbookError(
            f"{source}, line {at}: a value in double quotes is followed by more text before the "
            f"next comma ({shown}); its quotes would be lost. Quote the whole value and double "
            'each quote inside it ("""quoted"" tail"), or save the file from Excel as '
            "'CSV UTF-8 (Comma delimited)', which writes it that way."
        )
    return WorkbookError(f"{source}, line {at}: not readable as CSV ({why}). {_SAVE_AS_CSV}")


def _line_shown(lines: Sequence[str], number: int, limit: int = 60) -> str:
    line = lines[number - 1].rstrip("\r\n") if 0 < number <= len(lines) else ""
    return repr(line if len(line) <= limit else line[: limit - 1] + "…")


def read_csv_table(data: bytes, source: str) -> Table:
    """Read a user's .csv input file (the five columns, optional header) into a Table.

    Row numbers are record numbers, as Excel would show the file's rows (a comment with a line
    break inside quotes stays one row). Values stay text ("00123" keeps its zeros); "" -> None.
    The header row is the first of the first 10 records whose first cell is 'External ID'; with
    none (the article allows that), every record is a data row and header_row is NO_HEADER_ROW.
    Records before the header are not data. A record with text beyond the table's columns gives
    an error finding: it almost always means a comment with a comma that was not in quotes, and
    its tail would otherwise be lost silently.
    """
    text = _decode(data, source).lstrip("\ufeff")
    _check_delimiter(text, source)
    records = _strict_records(text, source)

    header_index = find_header(records)
    if header_index is None and records and _looks_like_a_header(records[0]):
        header_index = 0  # a misspelt header: the rules say what is wrong with it
    # The article lets a CSV go without a header row: then the columns are in its order.
    header: tuple[str | None, ...] = model.COLUMNS
    first_data = 0
    if header_index is not None:
        header = tuple(_cell(c) for c in records[header_index])
        first_data = header_index + 1
    width = max(len(model.COLUMNS), len(header))

    rows: list[Row] = []
    findings: list[Finding] = []
    for index in range(first_data, len(records)):
        record = records[index]
        number = index + 1
        values = [_cell(c) for c in record[: len(model.COLUMNS)]]
        values += [None] * (len(model.COLUMNS) - len(values))
        rows.append(Row(number=number, values=tuple(values)))
        extra = [c for c in record[width:] if c.strip()]
        if extra:
            findings.append(
                Finding(
                    row=number,
                    column=None,
                    severity=model.ERROR,
                    code="extra-cells",
                    message=(
                        f"This row has {len(record)} values but the table has {width} columns, "
                        f"so {extra[0]!r} and anything after it would be lost. A comment that "
                        'contains a comma must be in double quotes ("like, this").'
                    ),
                    value=",".join(record[width:]),
                )
            )

    return Table(
        source=source,
        sheet=PurePath(source).stem if source else "",
        header_row=model.NO_HEADER_ROW if header_index is None else header_index + 1,
        header=header,
        rows=tuple(rows),
        findings=tuple(findings),
    )
