"""A faster reader of a workbook's shared strings, giving what openpyxl's gives.

openpyxl builds a Text object (with its descriptors) for every shared string only to take its
content: on a 100,000-row sheet that is most of the time the load takes before the first row.
read_string_table walks the same XML with ElementTree and joins the same pieces: the plain
`<t>` and the `<t>` of each rich-text run (not phonetic runs), openpyxl's 'x005F_' unescaping
applied. tests/test_sharedstrings.py checks it against openpyxl's on random tables.
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import IO

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_SI, _T, _R = _NS + "si", _NS + "t", _NS + "r"


def read_string_table(xml: IO[bytes]) -> list[str]:
    strings = []
    for _, node in ET.iterparse(xml):
        if node.tag != _SI:
            continue
        pieces = []
        for child in node:
            if child.tag == _T:
                pieces.append(child.text or "")
            elif child.tag == _R:
                run = child.find(_T)
                if run is not None and run.text:
                    pieces.append(run.text)
        strings.append("".join(pieces).replace("x005F_", ""))
        node.clear()
    return strings


@contextlib.contextmanager
def used_by_openpyxl() -> Iterator[None]:
    """openpyxl's loader reads the shared strings with read_string_table inside this block
    (openpyxl 3.1, pinned <3.2: openpyxl.reader.excel imports it by name)."""
    from openpyxl.reader import excel

    original = excel.read_string_table
    excel.read_string_table = read_string_table
    try:
        yield
    finally:
        excel.read_string_table = original
