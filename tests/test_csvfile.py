from __future__ import annotations

import csv
import datetime as dt
import io
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from addin import model, rules
from addin.csvfile import (
    export_csv,
    fingerprint,
    format_date,
    format_number,
    read_csv_table,
    sha256_hex,
    write_csv,
)
from addin.errors import InvalidData, WorkbookError
from addin.model import Finding, Report, Row, Settings, Update

HEADER = b"External ID,Status,Current Metric Value,As Of Date,Comment\r\n"
HEADER4 = b"External ID,Status,Current Metric Value,As Of Date\r\n"
NOV3 = dt.date(2026, 11, 3)


def upd(external_id="A-1", status="On Track", metric=0.2, as_of=NOV3, comment="", row=2):
    return Update(row, external_id, status, metric, as_of, comment)


@pytest.mark.parametrize(
    ("updates", "settings", "expected"),
    [
        ([upd()], Settings(), HEADER + b"A-1,On Track,0.2,2026-11-03,\r\n"),
        ([], Settings(), HEADER),
        ([], Settings(include_header=False), b""),
        ([upd()], Settings(include_header=False), b"A-1,On Track,0.2,2026-11-03,\r\n"),
        (
            [upd(comment="Late")],
            Settings(include_comment=False),
            HEADER4 + b"A-1,On Track,0.2,2026-11-03\r\n",
        ),
        (
            [upd(comment="x")],
            Settings(include_header=False, include_comment=False),
            b"A-1,On Track,0.2,2026-11-03\r\n",
        ),
        (
            [upd(as_of=dt.date(2026, 1, 5))],
            Settings(date_format=model.DATE_US),
            HEADER + b"A-1,On Track,0.2,01/05/2026,\r\n",
        ),
        ([upd(as_of=dt.date(987, 1, 5))], Settings(), HEADER + b"A-1,On Track,0.2,0987-01-05,\r\n"),
        (
            [upd(as_of=dt.datetime(2026, 11, 3, 23, 59))],
            Settings(),
            HEADER + b"A-1,On Track,0.2,2026-11-03,\r\n",
        ),
        ([upd(metric=None)], Settings(), HEADER + b"A-1,On Track,,2026-11-03,\r\n"),
        (
            [upd(comment="Good, but late")],
            Settings(),
            HEADER + b'A-1,On Track,0.2,2026-11-03,"Good, but late"\r\n',
        ),
        (
            [upd(comment='She said "done"')],
            Settings(),
            HEADER + b'A-1,On Track,0.2,2026-11-03,"She said ""done"""\r\n',
        ),
        (
            [upd(comment="line 1\nline 2")],
            Settings(),
            HEADER + b'A-1,On Track,0.2,2026-11-03,"line 1\nline 2"\r\n',
        ),
        ([upd(comment="a\r\nb")], Settings(), HEADER + b'A-1,On Track,0.2,2026-11-03,"a\r\nb"\r\n'),
        (
            [upd(comment="  spaced  ")],
            Settings(),
            HEADER + b"A-1,On Track,0.2,2026-11-03,  spaced  \r\n",
        ),
        # Formula-looking text is sent unchanged: this file goes to an API, not a spreadsheet.
        (
            [upd(external_id="=1+2", comment="-3 @x +4")],
            Settings(),
            HEADER + b"=1+2,On Track,0.2,2026-11-03,-3 @x +4\r\n",
        ),
        (
            [upd(comment="Caf\u00e9 \u2713 \U0001f680")],
            Settings(),
            HEADER + "A-1,On Track,0.2,2026-11-03,Caf\u00e9 \u2713 \U0001f680\r\n".encode(),
        ),
        (
            [upd(), upd(external_id="B-2", status="At Risk", metric=3, row=3)],
            Settings(),
            HEADER + b"A-1,On Track,0.2,2026-11-03,\r\nB-2,At Risk,3,2026-11-03,\r\n",
        ),
    ],
)
def test_write_csv_exact_bytes(updates, settings, expected):
    assert write_csv(updates, settings) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1, "1"),
        (0, "0"),
        (-7, "-7"),
        (12345678901234567890, "12345678901234567890"),
        (3.0, "3"),
        (0.2, "0.2"),
        (0.1 + 0.2, "0.30000000000000004"),
        (-3.5, "-3.5"),
        (1e-7, "0.0000001"),
        (1.5e-10, "0.00000000015"),
        (1e16, "10000000000000000"),
        (1.2345e20, "123450000000000000000"),
        (1234567.89, "1234567.89"),
        (100.0, "100"),
        (-0.0, "0"),
        (0.0, "0"),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_format_number_rejects_non_finite(value):
    with pytest.raises(ValueError):
        format_number(value)


def test_format_number_rejects_bool():
    with pytest.raises(TypeError):
        format_number(True)


@pytest.mark.parametrize(
    ("fmt", "text"),
    [(model.DATE_ISO, "2026-02-09"), (model.DATE_US, "02/09/2026")],
)
def test_format_date(fmt, text):
    assert format_date(dt.date(2026, 2, 9), fmt) == text


def test_format_date_rejects_unknown_format():
    with pytest.raises(ValueError):
        format_date(NOV3, "DD/MM/YYYY")


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_round_trip_without_exponent(value):
    text = format_number(value)
    assert float(text) == value
    assert "e" not in text.lower()
    assert text.lstrip("-").replace(".", "", 1).isdigit()


@given(st.integers())
def test_integers_written_exactly(value):
    assert int(format_number(value)) == value


def test_csv_module_reading_gives_back_fields():
    data = write_csv([upd(comment='x,"y"\nz')])
    assert not data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert rows == [list(model.COLUMNS), ["A-1", "On Track", "0.2", "2026-11-03", 'x,"y"\nz']]


no_line_breaks = st.text().filter(lambda s: "\r" not in s and "\n" not in s)


@given(
    external_id=no_line_breaks,
    comment=st.text(),
    metric=st.none() | st.floats(allow_nan=False, allow_infinity=False) | st.integers(),
    as_of=st.dates(),
    include_header=st.booleans(),
)
def test_any_text_survives_write_then_csv_reader(
    external_id, comment, metric, as_of, include_header
):
    update = Update(2, external_id, "On Track", metric, as_of, comment)
    data = write_csv([update, update], Settings(include_header=include_header))
    assert data.endswith(b"\r\n")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    if include_header:
        assert rows.pop(0) == list(model.COLUMNS)
    metric_text = "" if metric is None else format_number(metric)
    expected = [external_id, "On Track", metric_text, as_of.isoformat(), comment]
    assert rows == [expected, expected]


@given(comment=st.text(), external_id=no_line_breaks)
def test_every_record_ends_in_crlf_and_outside_quotes_only_crlf(comment, external_id):
    data = write_csv([Update(2, external_id, "At Risk", None, NOV3, comment)]).decode("utf-8")
    # Remove quoted fields; what remains are record separators, which must all be CRLF.
    outside = "".join(part for i, part in enumerate(data.split('"')) if i % 2 == 0)
    assert outside.count("\r\n") == 2
    assert outside.replace("\r\n", "").count("\r") == 0
    assert outside.replace("\r\n", "").count("\n") == 0


def test_lone_surrogate_is_invalid_data_naming_the_row():
    with pytest.raises(InvalidData, match="Row 9"):
        write_csv([upd(comment="broken \ud83d", row=9)])


def _report(*findings):
    return Report(findings=tuple(findings), updates=(upd(),), rows=1)


@pytest.mark.parametrize(
    ("severities", "message"),
    [
        (["error"], "1 error remains; fix it (see the Issues column) before exporting"),
        (
            ["error", "warning", "error"],
            "2 errors remain; fix them (see the Issues column) before exporting",
        ),
    ],
)
def test_export_refuses_while_errors_remain(severities, message):
    findings = [Finding(2, model.STATUS, s, "x", "bad") for s in severities]
    with pytest.raises(InvalidData) as info:
        export_csv(_report(*findings))
    assert str(info.value) == message


def test_export_with_only_warnings_writes_the_updates():
    report = _report(Finding(2, model.AS_OF_DATE, "warning", "future", "in the future"))
    settings = Settings(include_header=False)
    assert export_csv(report, settings) == b"A-1,On Track,0.2,2026-11-03,\r\n"


def test_sha256_hex():
    assert sha256_hex(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


# --- read_csv_table ----------------------------------------------------------------------------


def rows_of(table):
    return [(r.number, r.values) for r in table.rows]


def test_read_plain_file():
    data = HEADER + b"A-1,On Track,0.2,2026-11-03,Fine\r\nB-2,At Risk,,11/03/2026,\r\n"
    table = read_csv_table(data, "C:/data/updates.csv")
    assert (table.header_row, table.header) == (1, model.COLUMNS)
    assert rows_of(table) == [
        (2, ("A-1", "On Track", "0.2", "2026-11-03", "Fine")),
        (3, ("B-2", "At Risk", None, "11/03/2026", None)),
    ]
    assert (table.source, table.sheet, table.findings) == ("C:/data/updates.csv", "updates", ())


@pytest.mark.parametrize(
    ("data", "expected_rows"),
    [
        # Excel "CSV UTF-8" writes a byte-order mark; the header must still be found.
        (
            b"\xef\xbb\xbf" + HEADER + b"A-1,On Track,1,2026-11-03,Caf\xc3\xa9\r\n",
            [(2, ("A-1", "On Track", "1", "2026-11-03", "Café"))],
        ),
        # Excel "CSV (Comma delimited)" on Windows writes cp1252.
        (
            HEADER + b"A-1,On Track,1,2026-11-03,Caf\xe9 \x93ok\x94 \x80\r\n",
            [(2, ("A-1", "On Track", "1", "2026-11-03", "Café “ok” €"))],
        ),
        # A comment with a line break inside quotes is one record, one row.
        (
            HEADER + b'A-1,On Track,1,2026-11-03,"two\r\nlines"\r\nB-2,At Risk,0,2026-11-03,x\r\n',
            [
                (2, ("A-1", "On Track", "1", "2026-11-03", "two\r\nlines")),
                (3, ("B-2", "At Risk", "0", "2026-11-03", "x")),
            ],
        ),
        # Leading zeros and long digit strings stay text; nothing is guessed.
        (
            HEADER + b"00123,on track,.2,2026-11-03,007\n1234567890123456789,x,20%,y,z\n",
            [
                (2, ("00123", "on track", ".2", "2026-11-03", "007")),
                (3, ("1234567890123456789", "x", "20%", "y", "z")),
            ],
        ),
        # Short rows are padded; LF-only line ends are fine; a blank line stays a (blank) row.
        (
            HEADER + b"A-1,On Track\n\nB-2\n",
            [
                (2, ("A-1", "On Track", None, None, None)),
                (3, (None,) * 5),
                (4, ("B-2", None, None, None, None)),
            ],
        ),
    ],
)
def test_read_rows(data, expected_rows):
    table = read_csv_table(data, "u.csv")
    assert table.header_row == 1
    assert rows_of(table) == expected_rows


def test_header_on_row_3_and_title_rows_are_not_data():
    data = (
        b"Progress updates\r\n\r\n"
        b" external  ID ,Status,Current Metric Value,As Of Date,Comment\r\n"
        b"A-1,On Track,1,2026-11-03,\r\n"
    )
    table = read_csv_table(data, "u.csv")
    assert table.header_row == 3
    assert table.header[0] == " external  ID "
    assert rows_of(table) == [(4, ("A-1", "On Track", "1", "2026-11-03", None))]


def test_header_after_row_10_is_not_looked_for():
    data = b"title\r\n" * 10 + HEADER + b"A-1,On Track,1,2026-11-03,\r\n"
    table = read_csv_table(data, "u.csv")
    assert table.header_row == model.NO_HEADER_ROW
    assert table.rows[10].values == (
        "External ID",
        "Status",
        "Current Metric Value",
        "As Of Date",
        "Comment",
    )


def test_no_header_every_record_is_data_from_row_1():
    table = read_csv_table(b"A-1,On Track,1,2026-11-03\r\nB-2,At Risk,2,2026-11-04,c\r\n", "u.csv")
    assert (table.header_row, table.header) == (model.NO_HEADER_ROW, model.COLUMNS)
    assert rules.validate_table(table).valid  # the article allows a CSV without a header row
    assert rows_of(table) == [
        (1, ("A-1", "On Track", "1", "2026-11-03", None)),
        (2, ("B-2", "At Risk", "2", "2026-11-04", "c")),
    ]


def test_double_bom_is_stripped_from_header():
    table = read_csv_table(b"\xef\xbb\xbf\xef\xbb\xbf" + HEADER, "u.csv")
    assert table.header_row == 1 and table.header[0] == "External ID"


def test_empty_file():
    table = read_csv_table(b"", "u.csv")
    assert (table.header_row, table.rows, table.findings) == (model.NO_HEADER_ROW, (), ())


@pytest.mark.parametrize(
    "first_line",
    [b"ExternalID,Status,Current Metric Value,As Of Date,Comment", b"Status,External ID,x,y,z"],
)
def test_a_misspelt_header_is_reported_not_read_as_data(first_line):
    table = read_csv_table(first_line + b"\r\nA-1,On Track,1,2026-11-03,\r\n", "u.csv")
    assert table.header_row == 1
    codes = [(f.row, f.code) for f in rules.validate_table(table).findings]
    assert codes == [(1, "bad-header")]


def test_written_csv_reads_back():
    updates = [upd(comment='a, "b"\r\nc'), upd(external_id="0042", metric=None, row=3)]
    table = read_csv_table(write_csv(updates), "out.csv")
    assert rows_of(table) == [
        (2, ("A-1", "On Track", "0.2", "2026-11-03", 'a, "b"\r\nc')),
        (3, ("0042", "On Track", None, "2026-11-03", None)),
    ]


def test_unquoted_comma_in_comment_is_an_error_finding():
    data = (
        HEADER + b"A-1,On Track,1,2026-11-03,Good, but late\r\nB-2,On Track,1,2026-11-03,ok,,\r\n"
    )
    table = read_csv_table(data, "u.csv")
    assert [(f.row, f.column, f.severity, f.code) for f in table.findings] == [
        (2, None, "error", "extra-cells")
    ]
    assert "' but late'" in table.findings[0].message
    assert "double quotes" in table.findings[0].message


def test_extra_columns_named_in_header_are_not_findings():
    header = b"External ID,Status,Current Metric Value,As Of Date,Comment,Issues,Job ID\r\n"
    table = read_csv_table(header + b"A-1,On Track,1,2026-11-03,c,Error - x,j1\r\n", "u.csv")
    assert table.findings == ()
    assert table.rows[0].values == ("A-1", "On Track", "1", "2026-11-03", "c")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (
            b"External ID;Status;Current Metric Value;As Of Date;Comment\r\n"
            b"A-1;On Track;1;2026-11-03;\r\n",
            ["';'", "List separator", "CSV UTF-8"],
        ),
        (b"\r\nA-1;On Track;0,2;03.11.2026\r\n", ["';'"]),
        (b"Title, with comma\r\nExternal ID;Status;Current Metric Value\r\n", ["';'"]),
        (b"A-1;On Track;0,2;03.11.2026;Late, but fine\r\n", ["';'"]),
        (b"External ID\tStatus\r\n", ["tabs", "CSV UTF-8"]),
        (b"\xff\xfeE\x00x\x00", ["Unicode Text", "CSV UTF-8"]),
        (b"PK\x03\x04rest-of-zip", ["Excel workbook"]),
        (HEADER + b"A-1,On Track,1,2026-11-03,\x81\x8d\r\n", ["neither UTF-8 nor Windows"]),
    ],
)
def test_unreadable_files_raise_workbook_error(data, words):
    with pytest.raises(WorkbookError) as info:
        read_csv_table(data, "updates.csv")
    message = str(info.value)
    assert "updates.csv" in message
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    "data",
    [
        HEADER + b"A-1,On Track,1,2026-11-03,a;b;c;d;e;f\r\n",
        b"A-1,On Track,1,2026-11-03,see; also; this; and; that\r\n",
        b"A-1,At Risk,0.5,2026-11-03,x;y\r\n",
    ],
)
def test_semicolons_inside_a_comma_file_are_fine(data):
    assert read_csv_table(data, "u.csv").rows[-1].values[0] == "A-1"


def test_single_column_file_without_separators_is_read():
    table = read_csv_table(b"A-1\r\nA-2\r\n", "u.csv")
    assert [r.values[0] for r in table.rows] == ["A-1", "A-2"]


@given(st.lists(st.lists(st.text(), min_size=5, max_size=5), max_size=5))
def test_reader_gives_back_what_csv_writer_wrote(records):
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows([list(model.COLUMNS), *records])
    table = read_csv_table(buffer.getvalue().encode("utf-8"), "u.csv")
    assert table.header_row == 1
    assert [r.values for r in table.rows] == [tuple(c or None for c in rec) for rec in records]


def test_row_type():
    table = read_csv_table(HEADER + b"A-1,On Track,1,2026-11-03,\r\n", "u.csv")
    assert isinstance(table.rows[0], Row) and table.rows[0].hidden is False


@given(external_id=no_line_breaks, comment=st.text())
def test_same_bytes_as_python_csv_writer_quote_minimal(external_id, comment):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([external_id, "On Track", "0.2", "2026-11-03", comment])
    expected = buffer.getvalue().encode("utf-8")
    assert (
        write_csv([upd(external_id=external_id, comment=comment)], Settings(include_header=False))
        == expected
    )


# --- strict reading: nothing swallowed, nothing unquoted silently ----------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        # An unclosed quote would swallow every later record into one comment.
        (
            b'A1,On Track,,11/03/2026,"He said hi\r\nA2,On Track,,11/03/2026,x\r\n',
            ["line 2", "never closed", "He said hi", "closing quote"],
        ),
        (b'A1,On Track,,11/03/2026,"He said hi', ["line 2", "never closed"]),
        (
            b'A1,On Track,,11/03/2026,ok\r\nA2,On Track,,11/03/2026,"two\r\nlines\r\nA3,x\r\n',
            ["line 3", "never closed", "two"],
        ),
        # Text after a closing quote: a lenient reader drops the quotes silently.
        (
            b'A1,On Track,,11/03/2026,"quoted" tail\r\n',
            ["line 2", "followed by more text", '"quoted" tail', '"""quoted"" tail"'],
        ),
        (
            b'A1,On Track,,11/03/2026,"a\r\nb" c\r\n',
            ["line 3", "followed by more text"],
        ),
        (b'"A1"x,On Track,,11/03/2026,\r\n', ["line 2", "followed by more text"]),
    ],
)
def test_broken_quoting_is_refused_with_the_line(body, words):
    with pytest.raises(WorkbookError) as info:
        read_csv_table(HEADER + body, "updates.csv")
    message = str(info.value)
    assert message.startswith("updates.csv, line ")
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    ("body", "comment"),
    [
        (b'A1,On Track,,11/03/2026,"He said ""hi"""\r\n', 'He said "hi"'),
        (b'A1,On Track,,11/03/2026,"a, b"\r\n', "a, b"),
        (b'A1,On Track,,11/03/2026,5" screen\r\n', '5" screen'),  # a bare inner quote: kept
        (b'A1,On Track,,11/03/2026,""\r\n', None),
    ],
)
def test_well_formed_quoting_reads_exactly(body, comment):
    (row,) = read_csv_table(HEADER + body, "u.csv").rows
    assert row.values[4] == comment


# --- property: an accepted row goes out and comes back as the same canonical values ----------

_IDS = st.one_of(
    st.text(min_size=1, max_size=12),
    st.from_regex(r"[A-Z]{2,4}-[0-9]{1,5}", fullmatch=True),
    st.integers(min_value=0, max_value=10**9),
)
_STATUS = st.sampled_from(model.DEFAULT_STATUSES).flatmap(
    lambda s: st.sampled_from([s, s.lower(), s.upper(), f"  {s} ", s.replace(" ", "\u00a0")])
)
_METRICS = st.one_of(
    st.none(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=4, max_value=10**6, min_value=-(10**6)
    ),
    st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{1,4})?%?", fullmatch=True),
    st.sampled_from(["\u22125", "15\u00a0", "20\u202f%"]),
)
_DAYS = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
_AS_OF = st.one_of(
    _DAYS,
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    _DAYS.map(lambda d: d.isoformat()),
    _DAYS.map(lambda d: f"{d.month}/{d.day}/{d.year:04d}"),
    _DAYS.map(lambda d: f"{d.isoformat()}T10:30:00\u221205:00"),
)
_COMMENTS = st.one_of(st.none(), st.text(max_size=40), st.sampled_from(['"quoted" tail', "a,b"]))


@given(
    st.lists(st.tuples(_IDS, _STATUS, _METRICS, _AS_OF, _COMMENTS), min_size=1, max_size=6),
    st.sampled_from(model.DATE_FORMATS),
)
def test_an_accepted_row_is_exported_and_parses_back_to_the_same_values(values, date_format):
    rows = [Row(n, v) for n, v in enumerate(values, start=2)]
    report = rules.validate_rows(rows, today=dt.date(2026, 11, 29))
    data = write_csv(report.updates, Settings(date_format=date_format))

    def canonical(updates):
        return [
            [
                u.external_id,
                u.status,
                "" if u.metric is None else format_number(u.metric),
                format_date(u.as_of, date_format),
                u.comment,
            ]
            for u in updates
        ]

    # A strict RFC 4180 parse gives back exactly the canonical values, record by record.
    records = list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""), strict=True))
    assert records == [list(model.COLUMNS), *canonical(report.updates)]
    # And the tool's own reading of that file accepts every row as the same update (a metric
    # may come back as an int: 1.2e17 is written 120000000000000000, its exact digits).
    again = rules.validate_table(read_csv_table(data, "u.csv"), today=dt.date(2026, 11, 29))
    assert [f for f in again.findings if f.severity == model.ERROR] == []
    assert canonical(again.updates) == canonical(report.updates)
    assert [fingerprint(u) for u in again.updates] == [fingerprint(u) for u in report.updates]


@pytest.mark.parametrize(
    ("body", "line", "byte"),
    [
        (b"A1,On Track,,11/03/2026,Caf\xc3\xa9\r\nA2,On Track,,11/03/2026,na\xefve\r\n", 3, "EF"),
        (b"A1,On Track,,11/03/2026,\xe9t\xc3\xa9\r\n", 2, "E9"),
    ],
)
def test_a_utf8_file_with_a_foreign_byte_is_refused_not_turned_into_mojibake(body, line, byte):
    with pytest.raises(WorkbookError) as info:
        read_csv_table(b"\xef\xbb\xbf" + HEADER + body, "u.csv")
    assert f"u.csv, line {line}" in str(info.value)
    assert f"byte 0x{byte}" in str(info.value)


def test_a_header_with_lookalike_spaces_is_the_header():
    data = b"External\xc2\xa0ID,Status\xe2\x80\x8b,Current Metric Value,As Of Date,Comment\r\n"
    table = read_csv_table(data + b"A1,On Track,,2026-11-03,\r\n", "u.csv")
    assert table.header_row == 1
    assert rules.validate_header(table.header, table.header_row) == []
