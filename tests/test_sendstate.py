"""Which rows go on Submit (addin/sendstate.py) and the fingerprint they carry (csvfile)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from addin import csvfile, model, rules, sendstate
from addin.model import Row, ToolCells, Update
from addin.sendstate import Standing, describe, plan_send, standing

DAY = dt.date(2026, 11, 3)
UPDATE = Update(2, "ENG-0042", "On Track", 0.25, DAY, "fine")
PRINT = csvfile.fingerprint(UPDATE)


def tools(sent: object = PRINT, job_status: object = "succeeded: Processed 1.", job: str = "j-1"):
    return ToolCells(job_id=job, job_status=job_status, sent=sent)


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (None, Standing.NEW),
        (tools(sent=None), Standing.NEW),
        (tools(sent="edited by hand"), Standing.NEW),  # not the tool's: the row is new again
        (tools(sent=12345), Standing.NEW),
        (tools(sent="s1:0000"), Standing.CHANGED),
        (tools(), Standing.SENT),
        (tools(job_status="Succeeded: ok"), Standing.SENT),  # any case
        (tools(job_status="processing: Queued by AchieveIt."), Standing.IN_FLIGHT),
        (tools(job_status="unknown: may have arrived", job=""), Standing.UNSETTLED),
        (tools(job_status="failed: AchieveIt said no"), Standing.RETRY),
        (tools(job_status=None), Standing.RETRY),  # Job Status cleared: send it again
        (tools(job_status="not-submitted: refused"), Standing.RETRY),
        (tools(job_status=dt.datetime(2026, 1, 1)), Standing.RETRY),
    ],
)
def test_standing_of_a_row(cells, expected):
    assert standing(UPDATE, cells) is expected


def test_fingerprint_ignores_how_the_csv_is_written_but_not_what_it_says():
    table = model.Table(
        "x",
        "Updates",
        1,
        model.COLUMNS,
        (
            Row(2, ("ENG-0042", "on track", 0.25, DAY, "fine")),
            Row(3, ("ENG-0042", "On Track", "0.25", "11/03/2026", "fine")),
            Row(4, ("ENG-0042", "On Track", 0.25, "2026-11-03T23:00:00", "fine")),
        ),
    )
    updates = rules.validate_table(table, today=DAY).updates
    assert {csvfile.fingerprint(u) for u in updates} == {PRINT}
    for change in (
        {"status": "At Risk"},
        {"metric": 0.3},
        {"metric": None},
        {"as_of": DAY + dt.timedelta(days=1)},
        {"comment": "fine."},
        {"external_id": "ENG-0043"},
    ):
        assert csvfile.fingerprint(replace(UPDATE, **change)) != PRINT, change
    assert csvfile.fingerprint(replace(UPDATE, row=99)) == PRINT  # the row number is not content
    assert PRINT.startswith("s1:") and len(PRINT) == 27


@given(st.text(), st.text())
def test_fingerprints_of_different_comments_differ(first, second):
    a, b = replace(UPDATE, comment=first), replace(UPDATE, comment=second)
    assert (csvfile.fingerprint(a) == csvfile.fingerprint(b)) == (first == second)


def _updates(n: int) -> list[Update]:
    return [replace(UPDATE, row=r, external_id=f"ID-{r}") for r in range(2, 2 + n)]


def _sent(update: Update, status: str = "succeeded: ok") -> ToolCells:
    return ToolCells(job_id="j-1", job_status=status, sent=csvfile.fingerprint(update))


def test_plan_sends_only_pending_rows_and_says_so():
    updates = _updates(13)
    cells = {u.row: _sent(u) for u in updates[:12]}
    plan = plan_send(updates, cells)
    assert [u.row for u in plan.to_send] == [14]
    assert describe(plan) == "13 rows: 1 to send, 12 already sent unchanged."
    assert not plan.first_time


@pytest.mark.parametrize(
    ("options", "sent_rows", "text"),
    [
        (
            {},
            [5, 6, 7],
            "6 rows: 3 to send, 2 already sent unchanged (1 still processing), "
            "1 waiting: its last upload may not have reached AchieveIt.",
        ),
        (
            {"resend_unsettled": True},
            [3, 4, 5, 6, 7],
            "6 rows: 5 to send (2 of them again, on purpose), 1 already sent unchanged.",
        ),
        (
            {"resend_all": True},
            [2, 3, 4, 5, 6, 7],
            "6 rows: 6 to send (3 of them again, on purpose).",
        ),
    ],
)
def test_unsettled_rows_wait_unless_asked(options, sent_rows, text):
    updates = _updates(6)
    cells = {
        2: _sent(updates[0]),
        3: _sent(updates[1], "processing: Queued"),
        4: _sent(updates[2], "unknown: no answer"),
        5: _sent(updates[3], "failed: no"),
        6: replace(_sent(updates[4]), sent="s1:" + "0" * 24),  # edited since
    }
    plan = plan_send(updates, cells, **options)
    assert [u.row for u in plan.to_send] == sent_rows
    assert describe(plan) == text


def test_nothing_to_send_reads_plainly():
    updates = _updates(2)
    plan = plan_send(updates, {u.row: _sent(u) for u in updates})
    assert plan.to_send == ()
    assert describe(plan) == "2 rows: none to send, 2 already sent unchanged."


def test_a_sheet_never_sent_is_first_time():
    plan = plan_send(_updates(3), {})
    assert plan.first_time and describe(plan) == "3 rows: 3 to send."


def test_changed_notes_name_the_job():
    updates = _updates(2)
    cells = {
        2: replace(_sent(updates[0]), sent="s1:" + "1" * 24),
        3: _sent(updates[1]),
    }
    assert sendstate.changed_notes(updates, cells) == {
        2: "Changed since it was sent in job j-1 (succeeded): Submit sends it again."
    }


def test_sorting_moves_the_state_with_the_rows():
    """Rows are matched by sheet row: after a sort each row's Sent cell came along with it."""
    updates = _updates(5)
    cells = {u.row: _sent(u) for u in updates}
    order = [4, 2, 6, 3, 5]  # the old sheet rows, in their new places
    by_old = {u.row: u for u in updates}
    moved = [replace(by_old[old], row=new) for new, old in enumerate(order, start=2)]
    moved_cells = {new: cells[old] for new, old in enumerate(order, start=2)}
    assert plan_send(moved, moved_cells).to_send == ()
