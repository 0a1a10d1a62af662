"""A plan's items as AchieveIt's "Get Plan Items" answers them, and as the Plan Items sheet
holds them. Pure: no HTTP, no Excel.

    GET {base}/plans/{planId}/items?skip=0&take=100   -> 200 + the items as JSON

The exact JSON shape is not public (docs/ARCHITECTURE.md, README "Get Plan Items"), so reading
is defensive: a page is a list of objects, or an object holding one (`items`, `data`, ...);
keys are matched ignoring case, spaces, '-' and '_' (`externalId`, `externalID`,
`external_id`, `External ID`); a field given as an object (`"status": {"name": "On Track"}`)
gives its name or value; every field we do not know is kept, for the sheet's extra columns.

The Plan Items sheet: an Excel table with ITEM_HEADERS (External ID, Name, Status, Current
Value, Last Updated, Plan ID), then the items' other fields in the order first seen. The rules
(addin/rules.py) get the sheet's items as `KnownItem`s: an External ID not among them is an
error with the nearest known ID as its hint.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .cells import is_blank, normal_label
from .errors import ApiError, ConfigError
from .responses import trim

PLAN_ITEMS_SHEET = "Plan Items"
PLAN_ITEMS_TABLE = "PlanItemsTable"
EXTERNAL_ID = "External ID"
NAME = "Name"
STATUS = "Status"
CURRENT_VALUE = "Current Value"
LAST_UPDATED = "Last Updated"
PLAN_ID = "Plan ID"
ITEM_HEADERS: tuple[str, ...] = (EXTERNAL_ID, NAME, STATUS, CURRENT_VALUE, LAST_UPDATED, PLAN_ID)
MAX_EXTRA_COLUMNS = 40  # unknown fields beyond this stay out of the sheet (Excel stays usable)
CELL_LIMIT = 32_767  # Excel's longest cell text

# Field -> the spellings taken for it (compared by _key: lower case, letters and digits only).
_ALIASES: dict[str, tuple[str, ...]] = {
    EXTERNAL_ID: ("externalid", "extid", "externalidentifier"),
    NAME: ("name", "title", "itemname", "displayname"),
    STATUS: ("status", "statusname", "currentstatus", "itemstatus"),
    CURRENT_VALUE: ("currentvalue", "currentmetricvalue", "metricvalue", "value"),
    LAST_UPDATED: ("lastupdated", "lastupdateddate", "lastupdatedat", "updatedat", "lastmodified"),
}
# Keys of an object that wraps the list of items, most likely first.
_WRAPPERS = ("items", "data", "results", "value", "values", "records", "planitems", "content")
_TOTALS = ("total", "totalcount", "count", "totalitems", "totalrecords")
_PLAN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,199}")


def _key(name: Any) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).casefold())


@dataclass(frozen=True)
class PlanItem:
    """One item as the server described it. `extra` keeps every field we do not name."""

    external_id: str
    name: str = ""
    status: str = ""
    current_value: Any = None
    last_updated: Any = None
    plan_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_metric(self) -> bool:
        return not is_blank(self.current_value)

    def as_json(self) -> dict[str, Any]:
        return {
            "external_id": self.external_id,
            "name": self.name,
            "status": self.status,
            "current_value": self.current_value,
            "last_updated": _json_value(self.last_updated),
            "plan_id": self.plan_id,
            "extra": {k: _json_value(v) for k, v in self.extra.items()},
        }


@dataclass(frozen=True)
class KnownItem:
    """An item of the Plan Items sheet, as the rules need it."""

    external_id: str
    name: str = ""
    has_metric: bool = False


# --------------------------------------------------------------------------- plan IDs


def check_plan_id(plan_id: str) -> str:
    """The Plan ID trimmed; ConfigError, with where to copy it from, when it can't be one."""
    text = (plan_id or "").strip()
    if not _PLAN_ID.fullmatch(text):
        raise ConfigError(
            f"'{trim(text, 80)}' is not a Plan ID. In AchieveIt, open the plan card's menu, "
            "choose 'Copy Plan ID' and paste it (letters, digits and '-', no spaces)."
        )
    return text


def split_plan_ids(value: Any) -> tuple[str, ...]:
    """The Settings sheet's 'Plan ID' cell: one ID, or several separated by commas, semicolons
    or line breaks; repeats dropped, order kept. (Not spaces: 'two words' is refused as one
    bad ID rather than asked for as two plans.)"""
    if is_blank(value):
        return ()
    parts = (p.strip() for p in re.split(r"[,;\r\n]+", str(value)))
    return tuple(dict.fromkeys(p for p in parts if p))


# --------------------------------------------------------------------------- one page


@dataclass(frozen=True)
class Page:
    """One answer of the items endpoint: its raw item objects, and the total if it said one."""

    records: tuple[dict[str, Any], ...]
    total: int | None = None


def read_page(data: Any, where: str) -> Page:
    """The item objects of one decoded JSON answer. `where` names the request in messages.

    Raises ApiError when the answer holds no list of items at all.
    """
    total = None
    records = data
    if isinstance(data, dict):
        keyed = {_key(k): v for k, v in data.items()}
        total = next(
            (int(keyed[k]) for k in _TOTALS if _is_count(keyed.get(k))),
            None,
        )
        records = next((keyed[k] for k in _WRAPPERS if isinstance(keyed.get(k), list)), None)
        if records is None:
            lists = [v for v in data.values() if isinstance(v, list)]
            records = lists[0] if len(lists) == 1 else None
        if records is None and _looks_like_item(data):
            records = [data]  # a plan of one item, sent as the object itself
    if not isinstance(records, list):
        shown = type(data).__name__ if not isinstance(data, dict) else "an object without a list"
        keys = f" (keys: {', '.join(list(map(str, data))[:8])})" if isinstance(data, dict) else ""
        raise ApiError(
            f"AchieveIt's answer to {where} is {shown}{keys}, not a list of plan items. The "
            "format of this answer is not documented publicly: please send this message to "
            "whoever supports the tool, so it can learn this shape."
        )
    bad = [r for r in records if not isinstance(r, dict)]
    if bad:
        raise ApiError(
            f"AchieveIt's answer to {where} lists {len(bad)} entries that are not items (such as "
            f"{str(bad[0])[:60]!r}). The format of this answer is not documented publicly: "
            "please send this message to whoever supports the tool."
        )
    return Page(tuple(records), total)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _looks_like_item(data: dict[str, Any]) -> bool:
    keys = {_key(k) for k in data}
    return bool(keys & set(_ALIASES[EXTERNAL_ID])) and bool(keys & set(_ALIASES[NAME]))


def item_from_record(record: Mapping[str, Any], plan_id: str = "") -> PlanItem:
    """One item object -> PlanItem: known fields by any spelling, the rest kept in `extra`."""
    found: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    taken: set[str] = set()
    for field_name, aliases in _ALIASES.items():
        for alias in aliases:  # the most likely spelling wins when several are present
            match = next((k for k in record if _key(k) == alias and k not in taken), None)
            if match is not None:
                found[field_name] = _scalar(record[match])
                taken.add(match)
                break
    for key, value in record.items():
        if key not in taken:
            extra[str(key)] = value
    return PlanItem(
        external_id=_text(found.get(EXTERNAL_ID)),
        name=_text(found.get(NAME)),
        status=_text(found.get(STATUS)),
        current_value=found.get(CURRENT_VALUE),
        last_updated=found.get(LAST_UPDATED),
        plan_id=plan_id,
        extra=extra,
    )


def _scalar(value: Any) -> Any:
    """A field's value: an object gives its name, label or value (`{"name": "On Track"}`)."""
    if isinstance(value, dict):
        keyed = {_key(k): v for k, v in value.items()}
        for name in ("name", "label", "value", "text", "displayname"):
            if name in keyed and not isinstance(keyed[name], dict | list):
                return keyed[name]
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def record_key(record: Mapping[str, Any]) -> str:
    """What makes an item object the same item on another page: its JSON, keys sorted."""
    return json.dumps(record, sort_keys=True, default=str, ensure_ascii=False)


def missing_ids_note(items: Sequence[PlanItem], plan_ids: Sequence[str]) -> str:
    """The plain words for items that carry no External ID ('' when every item has one)."""
    without = [i for i in items if not i.external_id]
    if not without:
        return ""
    plans = ", ".join(plan_ids)
    if len(without) == len(items):
        return (
            f"AchieveIt's items of plan {plans} carry no External ID field, so the Plan Items "
            "sheet lists them by name for reference only: Validate can't check IDs against it. "
            "Get the External IDs from 'Export External IDs' in the plan's menu."
        )
    return (
        f"{len(without)} of the {len(items)} items of plan {plans} carry no External ID "
        "(listed by name for reference; Validate checks IDs against the others)."
    )


# --------------------------------------------------------------------------- the sheet


def extra_headers(items: Iterable[PlanItem]) -> list[str]:
    """The items' other fields, in the order first seen, never one of ITEM_HEADERS twice."""
    taken = {normal_label(h) for h in ITEM_HEADERS}  # Excel's table headers: unique, any case
    headers: list[str] = []
    for item in items:
        for name in item.extra:
            label = normal_label(name)
            if label and label not in taken and len(headers) < MAX_EXTRA_COLUMNS:
                taken.add(label)
                headers.append(name)
    return headers


def sheet_rows(items: Sequence[PlanItem]) -> list[list[Any]]:
    """The Plan Items sheet's cells: header row, then one row per item (text kept as text)."""
    extras = extra_headers(items)
    rows: list[list[Any]] = [[*ITEM_HEADERS, *extras]]
    for item in items:
        rows.append(
            [
                item.external_id or None,
                item.name or None,
                item.status or None,
                _cell(item.current_value),
                _cell(item.last_updated),
                item.plan_id or None,
                *(_cell(item.extra.get(name)) for name in extras),
            ]
        )
    return rows


def _cell(value: Any) -> Any:
    """A JSON value as a cell holds it: numbers and text as they are, lists and objects as JSON."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    return text[:CELL_LIMIT] if text else None


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def known_items(rows: Sequence[Sequence[Any]]) -> dict[str, KnownItem] | None:
    """The Plan Items sheet's cells (header in row 1) -> External ID -> KnownItem.

    None when the sheet has no External ID header or no ID below it: then nothing is checked.
    """
    if not rows:
        return None
    header = [normal_label(c) for c in rows[0]]
    if EXTERNAL_ID.casefold() not in header:
        return None

    def col(name: str) -> int | None:
        return header.index(name.casefold()) if name.casefold() in header else None

    id_col, name_col, value_col = col(EXTERNAL_ID), col(NAME), col(CURRENT_VALUE)
    assert id_col is not None
    found: dict[str, KnownItem] = {}
    for row in rows[1:]:
        raw = row[id_col] if id_col < len(row) else None
        if is_blank(raw):
            continue
        external_id = _text(raw)
        name = _text(row[name_col]) if name_col is not None and name_col < len(row) else ""
        value = row[value_col] if value_col is not None and value_col < len(row) else None
        found.setdefault(external_id, KnownItem(external_id, name, not is_blank(value)))
    return found or None


class ItemSource(Protocol):
    def get_plan_items(self, plan_id: str, *, take: int = ...) -> list[PlanItem]: ...


@dataclass(frozen=True)
class Fetched:
    """Every item of the plans asked for, in their order, and what to tell the user."""

    plan_ids: tuple[str, ...]
    items: tuple[PlanItem, ...]
    note: str  # missing_ids_note: '' when every item has an External ID

    def as_json(self) -> dict[str, Any]:
        return {
            "plan_ids": list(self.plan_ids),
            "items": [item.as_json() for item in self.items],
            "note": self.note,
        }


def fetch_items(client: ItemSource, plan_ids: Sequence[str], *, take: int) -> Fetched:
    """The items of each plan (client.get_plan_items), one plan after the other."""
    ids = tuple(dict.fromkeys(check_plan_id(p) for p in plan_ids))
    if not ids:
        raise ConfigError(
            "No Plan ID is set: in AchieveIt, open the plan card's menu, choose 'Copy Plan ID' "
            "and paste it next to 'Plan ID' on the Settings sheet (or give it to the command)."
        )
    items: list[PlanItem] = []
    for plan_id in ids:
        items.extend(client.get_plan_items(plan_id, take=take))
    return Fetched(ids, tuple(items), missing_ids_note(items, ids))


def finder(items: Mapping[str, KnownItem]) -> Callable[[str], KnownItem | None]:
    """External ID -> its KnownItem: the exact ID first, else the same ID in another case."""
    folded = {key.casefold(): item for key, item in items.items()}
    return lambda external_id: items.get(external_id) or folded.get(external_id.casefold())


def new_update_ids(items: Sequence[PlanItem], present: Iterable[Any]) -> list[str]:
    """External IDs of the items with no Updates row yet (as `present` holds them), in plan
    order: the rows --add-rows appends."""
    have = {_text(v).casefold() for v in present if not is_blank(v)}
    wanted: list[str] = []
    for item in items:
        key = item.external_id.casefold()
        if item.external_id and key not in have:
            have.add(key)
            wanted.append(item.external_id)
    return wanted
