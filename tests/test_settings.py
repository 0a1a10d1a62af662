"""The Settings sheet parser (pure), and that reading settings keeps openpyxl out of a click."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from addin import model
from addin.errors import ConfigError
from addin.model import Settings
from addin.settings import parse_settings

SETTINGS_HEADER = ("Setting", "Value", "What it means", None, "Statuses")
REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([], Settings()),
        ([SETTINGS_HEADER], Settings()),
        (
            [
                SETTINGS_HEADER,
                ("API subdomain", " gov-api ", "", None, "Green"),
                ("Include header row", "no", None, None, None),
                ("include comments", False, None, None, "Red"),
                ("CSV date format", "mm/dd/yyyy", None, None, "  "),
                ("Submit waits (seconds)", 5, None, None, "Green"),
                ("Base URL override", "http://127.0.0.1:8765", None, None, None),
            ],
            Settings(
                subdomain="gov-api",
                base_url="http://127.0.0.1:8765",
                include_header=False,
                include_comment=False,
                date_format=model.DATE_US,
                statuses=("Green", "Red"),
                submit_wait_seconds=5.0,
            ),
        ),
        (
            [SETTINGS_HEADER, ("Include header row", "TRUE"), ("Submit waits (seconds)", "2.5")],
            Settings(include_header=True, submit_wait_seconds=2.5),
        ),
        ([SETTINGS_HEADER, ("API subdomain", None), ("Unknown label", "x")], Settings()),
        # Labels loosely: extra spaces and any case; short rows and non-text labels are skipped.
        (
            [SETTINGS_HEADER, ("  CSV   DATE format ", "YYYY-MM-DD"), ("x",), (3, "y")],
            Settings(date_format=model.DATE_ISO),
        ),
        # The Statuses column is found by its header wherever it is; blanks in it are ignored.
        (
            [("Setting", "Value", "Statuses"), ("x", None, "Green"), ("y", None, None)],
            Settings(statuses=("Green",)),
        ),
    ],
)
def test_parse_settings(rows: list[tuple[Any, ...]], expected: Settings) -> None:
    assert parse_settings(rows) == expected


@pytest.mark.parametrize(
    ("label", "value", "message"),
    [
        ("CSV date format", "DD/MM/YYYY", "YYYY-MM-DD or MM/DD/YYYY"),
        ("Submit waits (seconds)", 0, "above 0"),
        ("Submit waits (seconds)", -3, "above 0"),
        ("Submit waits (seconds)", "soon", "above 0"),
        ("Submit waits (seconds)", True, "above 0"),
        ("Submit waits (seconds)", float("inf"), "above 0"),
        ("Submit waits (seconds)", "nan", "above 0"),
        ("Include comments", "maybe", "TRUE or FALSE"),
    ],
)
def test_bad_settings(label: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_settings([SETTINGS_HEADER, (label, value)])
    assert f"'{label}'" in str(caught.value)  # the message names the row to fix


@given(st.lists(st.text(min_size=1).filter(str.strip), max_size=20))
def test_statuses_keep_order_without_repeats(statuses: list[str]) -> None:
    rows = [SETTINGS_HEADER, *((None, None, None, None, s) for s in statuses)]
    got = parse_settings(rows).statuses
    expected = tuple(dict.fromkeys(s.strip() for s in statuses))
    assert got == (expected or model.DEFAULT_STATUSES)


def test_reading_settings_in_a_ribbon_click_does_not_load_openpyxl() -> None:
    # A fresh interpreter, as every ribbon click is: other tests' imports can't hide a regression.
    script = textwrap.dedent(
        """
        import datetime as dt, sys
        sys.path.insert(0, "tests")
        import xlbook
        from addin import excelbook, ribbon, settings
        book = xlbook.make_book(
            [xlbook.UPDATES_HEADER, ["X-1", "On Track", 1, dt.date(2026, 1, 1), ""]],
            settings=xlbook.settings_rows(**{"CSV date format": "MM/DD/YYYY"}),
        )
        assert excelbook.read_settings(book).date_format == "MM/DD/YYYY"
        ribbon.validate(book, now=lambda: dt.datetime(2026, 1, 10))
        assert xlbook.alerts(book) == ["The 1 row is ready to send."], xlbook.alerts(book)
        print(sorted(m for m in sys.modules if m.split(".")[0] == "openpyxl"))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
