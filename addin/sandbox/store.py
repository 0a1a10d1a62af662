"""The sandbox's SQLite store: the demo plan's items, the jobs and the persisted updates.

One connection shared by all threads, guarded by one lock (sqlite3 objects are not safe to use
from two threads at once). `db_path=None` gives a private in-memory database.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .processing import ParsedUpdate


@dataclass(frozen=True)
class DemoItem:
    """A plan item of the demo plan. `unit` is shown next to the metric ("%", "days")."""

    external_id: str
    name: str
    has_metric: bool
    unit: str = ""


# A dozen items: GUID-like IDs as AchieveIt generates today, plus older customer-style IDs
# (one with leading zeros, which Excel likes to drop).
DEMO_ITEMS: tuple[DemoItem, ...] = (
    DemoItem("7f3c2a10-4b8e-4d2a-9c61-2f0e8a1b3c01", "Reduce onboarding time", True, "days"),
    DemoItem("a41d9e27-0c3f-4e58-b7a2-6d19f4c8e202", "Raise customer satisfaction", True, "%"),
    DemoItem("c9e8b6f4-31a7-4f0d-8e2b-5a7c1d9f0303", "Launch partner portal", False),
    DemoItem("1b2c3d4e-5f60-4718-9a2b-3c4d5e6f0404", "Cut support backlog", True, "tickets"),
    DemoItem("e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f70505", "Refresh brand guidelines", False),
    DemoItem("3a9f7c21-8d4e-4b60-a1c2-d3e4f5a60606", "Grow recurring revenue", True, "%"),
    DemoItem("6d0e1f2a-3b4c-4d5e-8f60-718293a40707", "Hire regional sales lead", False),
    DemoItem("9b8a7c6d-5e4f-4a3b-9c2d-1e0f2a3b0808", "Lower infrastructure cost", True, "USD"),
    DemoItem("f0e1d2c3-b4a5-4968-8776-655443320909", "Publish annual impact report", False),
    DemoItem("ENG-0042", "Automate release checks", True, "%"),
    DemoItem("OPS-0107", "Consolidate office leases", False),
    DemoItem("00731", "Train all managers on feedback", True, "managers"),
)

# The demo plan (every item above) and a plan the sandbox's key may not read (403), as "Copy
# Plan ID" on a plan card gives them. Any other Plan ID is unknown (404).
DEMO_PLAN_ID = "5e1f7a3c-2b9d-4c8e-a6f0-1d2c3b4a5e6f"
RESTRICTED_PLAN_ID = "9d8c7b6a-5f4e-4d3c-b2a1-0f9e8d7c6b5a"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    external_id TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    has_metric  INTEGER NOT NULL,
    unit        TEXT NOT NULL DEFAULT '',
    adhoc       INTEGER NOT NULL DEFAULT 0,
    position    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    state       TEXT NOT NULL,        -- 'queued' or 'done'
    http_status INTEGER,
    message     TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS updates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      TEXT NOT NULL,
    line        INTEGER NOT NULL,
    external_id TEXT NOT NULL REFERENCES items(external_id),
    status      TEXT NOT NULL,
    metric      TEXT,                 -- the decimal text as sent, NULL when none
    as_of       TEXT NOT NULL,        -- ISO date
    comment     TEXT NOT NULL,
    updated_at  TEXT NOT NULL         -- ISO UTC time of processing
);
"""

# Jobs still queued when the sandbox stopped were lost with the in-memory queue.
_STALE_MESSAGE = (
    "The sandbox stopped before it processed this file, so nothing was saved. Send the file again."
)


class StoreClosed(RuntimeError):
    pass


@dataclass(frozen=True)
class Job:
    id: str
    name: str
    received_at: str
    state: str  # "queued" or "done"
    http_status: int | None
    message: str


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Store:
    def __init__(self, db_path: str | os.PathLike[str] | None = None) -> None:
        target = ":memory:" if db_path is None else os.fspath(db_path)
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            target, check_same_thread=False, isolation_level=None
        )
        self._lock = threading.Lock()
        self._setup()

    def _setup(self) -> None:
        conn = self._require()
        with self._lock:
            conn.executescript(_SCHEMA)
            conn.execute("BEGIN")
            if conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 0:
                conn.executemany(
                    "INSERT INTO items (external_id, name, has_metric, unit, adhoc, position)"
                    " VALUES (?, ?, ?, ?, 0, ?)",
                    [
                        (i.external_id, i.name, int(i.has_metric), i.unit, n)
                        for n, i in enumerate(DEMO_ITEMS)
                    ],
                )
            conn.execute(
                "UPDATE jobs SET state = 'done', http_status = 500, message = ?"
                " WHERE state = 'queued'",
                (_STALE_MESSAGE,),
            )
            conn.execute("COMMIT")

    def _require(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreClosed("the sandbox store is closed")
        return self._conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction under the lock: all or nothing."""
        with self._lock:
            conn = self._require()
            conn.execute("BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            conn = self._require()
            conn.row_factory = sqlite3.Row
            try:
                return conn.execute(sql, tuple(params)).fetchall()
            finally:
                conn.row_factory = None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- items ---------------------------------------------------------------------------------

    def metric_items(self) -> dict[str, bool]:
        """External ID -> whether the item has a metric."""
        return {r["external_id"]: bool(r["has_metric"]) for r in self._query(_ITEMS_SQL)}

    # -- jobs ----------------------------------------------------------------------------------

    def add_job(self, job_id: str, name: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO jobs (id, name, received_at, state) VALUES (?, ?, ?, 'queued')",
                (job_id, name, _now()),
            )

    def drop_job(self, job_id: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def get_job(self, job_id: str) -> Job | None:
        rows = self._query(
            "SELECT id, name, received_at, state, http_status, message FROM jobs WHERE id = ?",
            (job_id,),
        )
        return Job(*rows[0]) if rows else None

    def recent_jobs(self, limit: int = 10) -> list[Job]:
        rows = self._query(
            "SELECT id, name, received_at, state, http_status, message FROM jobs"
            " ORDER BY received_at DESC, rowid DESC LIMIT ?",
            (limit,),
        )
        return [Job(*r) for r in rows]

    def fail_job(self, job_id: str, http_status: int, message: str) -> None:
        with self._tx() as conn:
            _finish(conn, job_id, http_status, message)

    def apply_job(
        self, job_id: str, updates: Iterable[ParsedUpdate], adhoc_ids: Iterable[str], message: str
    ) -> None:
        """Persist a job's updates and mark it succeeded, in one transaction."""
        with self._tx() as conn:
            position = conn.execute("SELECT COALESCE(MAX(position), 0) FROM items").fetchone()[0]
            for n, external_id in enumerate(adhoc_ids, start=position + 1):
                conn.execute(
                    "INSERT OR IGNORE INTO items (external_id, name, has_metric, unit, adhoc,"
                    " position) VALUES (?, ?, 0, '', 1, ?)",
                    (external_id, "(not in the demo plan)", n),
                )
            now = _now()
            conn.executemany(
                "INSERT INTO updates (job_id, line, external_id, status, metric, as_of, comment,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        job_id,
                        u.line,
                        u.external_id,
                        u.status,
                        u.metric,
                        u.as_of.isoformat(),
                        u.comment,
                        now,
                    )
                    for u in updates
                ],
            )
            _finish(conn, job_id, 200, message)

    # -- reading back --------------------------------------------------------------------------

    def plan(self) -> list[dict[str, Any]]:
        """Every item in plan order with its latest update (None fields when it has none).

        "Latest" is the update with the latest As Of Date; among equal dates, the last received.
        """
        rows = self._query(
            "SELECT i.external_id, i.name, i.has_metric, i.unit, i.adhoc, u.status, u.metric,"
            " u.as_of, u.comment, u.updated_at, u.job_id"
            " FROM items i LEFT JOIN updates u ON u.id = ("
            "   SELECT id FROM updates WHERE external_id = i.external_id"
            "   ORDER BY as_of DESC, id DESC LIMIT 1)"
            " ORDER BY i.position"
        )
        return [
            {
                "external_id": r["external_id"],
                "name": r["name"],
                "has_metric": bool(r["has_metric"]),
                "unit": r["unit"],
                "adhoc": bool(r["adhoc"]),
                "status": r["status"],
                "metric": None if r["metric"] is None else float(Decimal(r["metric"])),
                "metric_text": r["metric"],
                "as_of": r["as_of"],
                "comment": r["comment"],
                "updated_at": r["updated_at"],
                "job_id": r["job_id"],
            }
            for r in rows
        ]

    def latest_updates(self) -> list[dict[str, Any]]:
        return [row for row in self.plan() if row["status"] is not None]

    def recent_updates(self, limit: int = 50) -> list[dict[str, Any]]:
        """The updates received, newest first. `duplicate_of` is the id of the first earlier
        update for the same item and As Of Date (in AchieveIt, a second entry in the item's
        history), else None; `identical` says whether that earlier one also had the same
        status, metric and comment (a resend, not a correction)."""
        rows = self._query(
            "SELECT u.id, u.job_id, u.external_id, u.status, u.metric, u.as_of, u.comment,"
            f" ({_EARLIER.format(same='')}) AS duplicate_of,"
            f" ({_EARLIER.format(same=_SAME_CONTENT)}) IS NOT NULL AS identical"
            " FROM updates u ORDER BY u.id DESC LIMIT ?",
            (limit,),
        )
        return [dict(r) | {"identical": bool(r["identical"])} for r in rows]

    def stats(self) -> dict[str, int]:
        """Counts for rehearsals and tests: "12 updates, not 24". `duplicates` repeat an earlier
        update's item and As Of Date; `identical` ones repeat its content too."""
        (row,) = self._query(
            "SELECT (SELECT COUNT(*) FROM items) AS items,"
            " (SELECT COUNT(*) FROM jobs) AS jobs,"
            " (SELECT COUNT(*) FROM jobs WHERE state = 'done' AND http_status = 200) AS succeeded,"
            " (SELECT COUNT(*) FROM jobs WHERE state = 'done' AND http_status <> 200) AS failed,"
            " (SELECT COUNT(*) FROM jobs WHERE state = 'queued') AS processing,"
            " (SELECT COUNT(*) FROM updates) AS updates,"
            f" (SELECT COUNT(*) FROM updates u WHERE ({_EARLIER.format(same='')}) IS NOT NULL)"
            "   AS duplicates,"
            " (SELECT COUNT(*) FROM updates u WHERE"
            f"   ({_EARLIER.format(same=_SAME_CONTENT)}) IS NOT NULL) AS identical"
        )
        return {key: int(row[key]) for key in row.keys()}  # noqa: SIM118 (sqlite3.Row)


# The first earlier update of update `u`'s item and As Of Date (and, with _SAME_CONTENT, of its
# status, metric and comment too).
_EARLIER = (
    "SELECT MIN(e.id) FROM updates e WHERE e.external_id = u.external_id"
    " AND e.as_of = u.as_of AND e.id < u.id{same}"
)
_SAME_CONTENT = " AND e.status = u.status AND e.metric IS u.metric AND e.comment = u.comment"
_ITEMS_SQL = "SELECT external_id, has_metric FROM items ORDER BY position"


def _finish(conn: sqlite3.Connection, job_id: str, http_status: int, message: str) -> None:
    conn.execute(
        "UPDATE jobs SET state = 'done', http_status = ?, message = ? WHERE id = ?",
        (http_status, message, job_id),
    )
