"""The Settings sheet's rows -> Settings. Pure, and free of openpyxl on purpose.

Both readers share this parser: workbook.py (a file, via openpyxl) and the ribbon (a live
workbook, via xlwings). Every ribbon click starts a fresh Python, so keeping openpyxl out of this
import path keeps the clicks quick.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from . import model
from .cells import is_blank, normal_label
from .errors import ConfigError
from .model import Settings

_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})


def parse_settings(rows: Sequence[Sequence[Any]]) -> Settings:
    """Settings from the rows of a Settings sheet (labels in A, values in B, Statuses column).

    Labels are matched ignoring case and spacing, in any order; blank values keep the default.
    A value that makes no sense raises ConfigError naming the label and what it must be.
    """
    labels = {label.casefold(): name for label, name in model.SETTINGS_LABELS.items()}
    found: dict[str, Any] = {}
    for row in rows[1:]:
        if len(row) < 2 or not isinstance(row[0], str):
            continue
        label = " ".join(row[0].split())
        name = labels.get(label.casefold())
        if name is not None and not is_blank(row[1]):
            found[name] = _setting_value(name, label, row[1])

    header = [normal_label(c) for c in rows[0]] if rows else []
    if model.STATUSES_LABEL.casefold() in header:
        col = header.index(model.STATUSES_LABEL.casefold())
        statuses = tuple(
            str(r[col]).strip() for r in rows[1:] if col < len(r) and not is_blank(r[col])
        )
        if statuses:
            found["statuses"] = tuple(dict.fromkeys(statuses))
    return Settings(**found)


def _setting_value(name: str, label: str, value: Any) -> Any:
    if name in ("include_header", "include_comment"):
        if isinstance(value, bool):
            return value
        text = str(value).strip().casefold()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ConfigError(f"Settings sheet: '{label}' must be TRUE or FALSE, not {value!r}.")
    if name == "date_format":
        text = str(value).strip().upper()
        if text not in model.DATE_FORMATS:
            allowed = " or ".join(model.DATE_FORMATS)
            raise ConfigError(f"Settings sheet: '{label}' must be {allowed}, not {value!r}.")
        return text
    if name == "submit_wait_seconds":
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            with contextlib.suppress(ValueError):
                number = float(value.strip())
        if number is None or not number > 0 or number == float("inf"):
            raise ConfigError(
                f"Settings sheet: '{label}' must be a number of seconds above 0, "
                f"such as 20; found {value!r}."
            )
        return number
    if name == "plan_ids":
        from .planitems import split_plan_ids

        return split_plan_ids(value)
    return str(value).strip()
