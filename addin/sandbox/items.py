"""The sandbox's Get Plan Items: the demo plan's items as JSON, a page at a time. Pure.

    GET /plans/<plan id>/items?skip=0&take=100&sortKey=name&sortDirection=desc

The shape served is the sandbox's guess at AchieveIt's (not published): see server.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .store import DEMO_PLAN_ID, RESTRICTED_PLAN_ID

DEFAULT_TAKE = 100
MAX_TAKE = 1500
SORT_KEYS = ("externalId", "name", "status", "currentValue", "lastUpdated")


def item_json(row: dict[str, Any], number: int) -> dict[str, Any]:
    """One row of Store.plan() as the endpoint serves it."""
    value = row["metric"] if row["metric"] is not None else (0 if row["has_metric"] else None)
    return {
        "id": number,
        "externalId": row["external_id"],
        "name": row["name"],
        "status": row["status"] or "Not Started",
        "currentValue": value if row["has_metric"] else None,
        "unit": row["unit"],
        "lastUpdated": row["updated_at"],
        "hasMetric": row["has_metric"],
    }


def plan_items(
    plan: Sequence[dict[str, Any]], plan_id: str, query: dict[str, list[str]]
) -> list[dict[str, Any]] | tuple[int, str]:
    """The page of `plan` (Store.plan()) the query asks for, or (code, text) when refused."""
    if plan_id.strip().lower() == RESTRICTED_PLAN_ID:
        return 403, "The API account may not read this plan."
    if plan_id.strip().lower() != DEMO_PLAN_ID:
        return 404, "No plan has this ID."
    try:
        skip = _number(query, "skip", 0, 0, None)
        take = _number(query, "take", DEFAULT_TAKE, 1, MAX_TAKE)
    except ValueError as exc:
        return 400, str(exc)
    items = [item_json(row, n) for n, row in enumerate(plan, start=1) if not row["adhoc"]]
    key = _one(query, "sortKey")
    direction = (_one(query, "sortDirection") or "asc").lower()
    if direction not in ("asc", "desc"):
        return 400, "sortDirection must be asc or desc."
    if key is not None:
        field = next((k for k in SORT_KEYS if k.lower() == key.lower()), None)
        if field is None:
            return 400, f"sortKey must be one of: {', '.join(SORT_KEYS)}."
        present = [i for i in items if i[field] is not None]
        absent = [i for i in items if i[field] is None]  # empty values last, either way
        present.sort(key=lambda i: _sort_value(i[field]), reverse=direction == "desc")
        items = present + absent
    elif direction == "desc":
        items.reverse()
    return items[skip : skip + take]


def _one(query: dict[str, list[str]], name: str) -> str | None:
    found = next((v for k, v in query.items() if k.lower() == name.lower()), None)
    return found[-1] if found else None


def _number(
    query: dict[str, list[str]], name: str, default: int, low: int, high: int | None
) -> int:
    text = _one(query, name)
    if text is None:
        return default
    if not text.strip().isdigit() or int(text) < low or (high is not None and int(text) > high):
        limit = f"from {low} to {high}" if high is not None else f"of {low} or more"
        raise ValueError(f"{name} must be a whole number {limit}, not {text!r}.")
    return int(text)


def _sort_value(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value
