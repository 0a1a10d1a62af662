"""Which rows go out on Submit, so that each update reaches AchieveIt once. Pure.

When a row is sent, its hidden Sent cell (K) gets the fingerprint of what it sent
(csvfile.fingerprint) and its Job Status cell (H) says how that job went. On the next Submit a
row is sent again only when that is what the user wants: it is new, it was edited since, or its
last job failed or never said it got it. A row sent unchanged whose job succeeded, or is still
processing, stays home. A row whose last upload may or may not have arrived (no Job ID came
back) waits until the user has checked: sending it again blindly could record it twice.

The fingerprint is a cell of its row, so it moves with the row when the sheet is sorted, and
rows inserted or deleted in between change nothing. A fingerprint edited or deleted by hand
makes its row new again, never an error.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .cells import normal_label
from .csvfile import FINGERPRINT_PREFIX, fingerprint
from .model import ToolCells, Update


class Standing(enum.Enum):
    NEW = "new"  # never sent from this sheet (or its Sent cell was cleared)
    CHANGED = "changed"  # edited since it was sent
    RETRY = "retry"  # sent unchanged, but the job failed or never confirmed it
    SENT = "sent"  # sent unchanged, and AchieveIt processed it
    IN_FLIGHT = "in flight"  # sent unchanged, AchieveIt still processing it
    UNSETTLED = "unsettled"  # sent unchanged, and nobody knows whether it arrived


PENDING = frozenset({Standing.NEW, Standing.CHANGED, Standing.RETRY})
UNSETTLED_STATES = frozenset({Standing.IN_FLIGHT, Standing.UNSETTLED})

# Job Status words (the text before the first ':') and what they mean for a resend.
SUCCEEDED, FAILED, PROCESSING, UNKNOWN = "succeeded", "failed", "processing", "unknown"


def job_state(job_status: Any) -> str:
    """'processing: Queued by AchieveIt.' -> 'processing'; '' for an empty or odd cell."""
    if not isinstance(job_status, str):
        return ""
    return normal_label(job_status.split(":", 1)[0])


def sent_fingerprint(cell: Any) -> str | None:
    """The fingerprint a Sent cell holds, or None when it holds none the tool wrote."""
    if isinstance(cell, str) and cell.strip().startswith(FINGERPRINT_PREFIX):
        return cell.strip()
    return None


def standing(update: Update, tools: ToolCells | None) -> Standing:
    sent = sent_fingerprint(tools.sent) if tools is not None else None
    if tools is None or sent is None:
        return Standing.NEW
    if sent != fingerprint(update):
        return Standing.CHANGED
    state = job_state(tools.job_status)
    if state == SUCCEEDED:
        return Standing.SENT
    if state == PROCESSING:
        return Standing.IN_FLIGHT
    if state == UNKNOWN:
        return Standing.UNSETTLED
    return Standing.RETRY  # failed, not submitted, or a Job Status cleared by hand


@dataclass(frozen=True)
class SendPlan:
    """The valid updates of a sheet, each with its standing, and those that go out now."""

    standings: dict[int, Standing]  # sheet row -> standing, for every valid update
    to_send: tuple[Update, ...]

    @property
    def rows(self) -> int:
        return len(self.standings)

    @property
    def first_time(self) -> bool:
        """No row of the sheet was ever sent: there is nothing to tell about earlier sends."""
        return all(s is Standing.NEW for s in self.standings.values())

    def held(self, *standings: Standing) -> int:
        """Rows of these standings that stay home this time."""
        going = {u.row for u in self.to_send}
        return sum(1 for row, s in self.standings.items() if s in standings and row not in going)


def plan_send(
    updates: Iterable[Update],
    tools: Mapping[int, ToolCells],
    *,
    resend_all: bool = False,
    resend_unsettled: bool = False,
) -> SendPlan:
    """Sort the valid updates: pending ones go; `resend_unsettled` adds those still processing
    or of unknown outcome; `resend_all` sends every one again, on purpose."""
    standings: dict[int, Standing] = {}
    chosen: list[Update] = []
    for update in updates:
        current = standing(update, tools.get(update.row))
        standings[update.row] = current
        if resend_all or current in PENDING or (resend_unsettled and current in UNSETTLED_STATES):
            chosen.append(update)
    return SendPlan(standings, tuple(chosen))


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def describe(plan: SendPlan) -> str:
    """'13 rows: 1 to send, 12 already sent unchanged.' and the like."""
    again = sum(1 for u in plan.to_send if plan.standings[u.row] not in PENDING)
    going = f"{len(plan.to_send) or 'none'} to send"
    parts = [going + (f" ({again} of them again, on purpose)" if again else "")]
    in_flight = plan.held(Standing.IN_FLIGHT)
    sent = plan.held(Standing.SENT) + in_flight
    if sent:
        parts.append(
            f"{sent} already sent unchanged"
            + (f" ({in_flight} still processing)" if in_flight else "")
        )
    waiting = plan.held(Standing.UNSETTLED)
    if waiting:
        whose = "its" if waiting == 1 else "their"
        parts.append(f"{waiting} waiting: {whose} last upload may not have reached AchieveIt")
    return f"{_rows(plan.rows)}: {', '.join(parts)}."


def changed_notes(updates: Iterable[Update], tools: Mapping[int, ToolCells]) -> dict[int, str]:
    """Sheet row -> a note for each row edited since it was sent: Submit sends it again."""
    notes: dict[int, str] = {}
    for update in updates:
        cells = tools.get(update.row)
        if cells is None or standing(update, cells) is not Standing.CHANGED:
            continue
        job = f" in job {cells.job_id}" if cells.job_id else ""
        state = job_state(cells.job_status)
        how = f" ({state})" if state else ""
        notes[update.row] = f"Changed since it was sent{job}{how}: Submit sends it again."
    return notes
