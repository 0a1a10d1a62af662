"""Reading and checking rows with the cycle collector paused (addin/gcpause.py): the pause ends
with the block, and the bulk work leaves no cycles behind for it, whatever the row count."""

from __future__ import annotations

import gc

import pytest
from workbook_factory import build_workbook, sample_rows

from addin import submission
from addin.gcpause import collector_paused
from addin.workbook import FileSheets


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()  # as it was: a test here may have switched it off


def test_the_collector_is_paused_inside_and_back_after(collector_on):
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block leaves it to the outer one
    assert gc.isenabled()


def test_the_collector_is_back_after_an_error(collector_on):
    with pytest.raises(ZeroDivisionError), collector_paused():
        _ = 1 / 0
    assert gc.isenabled()


def test_an_already_paused_collector_stays_paused(collector_on):
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def _garbage_after_read_and_check(tmp_path, count: int) -> int:
    rows = sample_rows(count)
    for n in range(0, count, 7):  # errors and warnings too: their findings, their exceptions
        rows[n][1] = "Bogus"
        rows[n][3] = "31/12/2026" if n % 2 else -5
    path = build_workbook(tmp_path / f"rows-{count}.xlsx", rows)
    gc.collect()
    with collector_paused():
        view = FileSheets(path, record=False).read()
        report = submission.check(view)
        assert len(report.updates) < count and report.findings
        del view, report
        return gc.collect()  # what only the cycle collector could have freed


def test_reading_and_checking_leave_no_cycles_per_row(tmp_path, collector_on):
    few, many = (_garbage_after_read_and_check(tmp_path, n) for n in (50, 2_000))
    assert many <= few + 50  # openpyxl's few workbook-level cycles, not one per row
