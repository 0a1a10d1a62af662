"""Small pure helpers for cell values and sheet names, shared by the file and Excel adapters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def normal_label(value: Any) -> str:
    """A header or setting label as compared: no BOM, single spaces, any case."""
    if not isinstance(value, str):
        return ""
    return " ".join(value.lstrip("\ufeff").split()).casefold()


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def sheet_index(names: Sequence[str], wanted: str) -> int | None:
    """Position of the sheet called `wanted`: exactly, else ignoring case and outer spaces."""
    if wanted in names:
        return names.index(wanted)
    folded = [name.strip().casefold() for name in names]
    return folded.index(wanted.casefold()) if wanted.casefold() in folded else None
