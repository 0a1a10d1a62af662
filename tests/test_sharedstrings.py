"""addin/sharedstrings.py gives exactly what openpyxl's shared-string reader gives."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from hypothesis import given
from hypothesis import strategies as st
from openpyxl.reader.strings import read_string_table as openpyxl_reader

from addin.sharedstrings import read_string_table

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12) | st.sampled_from(
    ["", " lead", "trail ", "_x005F_x000D_", "a\nb", "&<>\"'"]
)


def t(value: str) -> str:
    return f'<t xml:space="preserve">{escape(value)}</t>' if value else "<t/>"


item = st.one_of(
    text.map(lambda v: f"<si>{t(v)}</si>"),
    st.lists(text, min_size=1, max_size=3).map(
        lambda runs: (
            "<si>"
            + "".join(f'<r><rPr><b/><sz val="11"/></rPr>{t(run)}</r>' for run in runs)
            + "</si>"
        )
    ),
    st.tuples(text, text).map(  # a phonetic run: not part of the value
        lambda pair: (
            f'<si>{t(pair[0])}<rPh sb="0" eb="1">{t(pair[1])}</rPh><phoneticPr fontId="1"/></si>'
        )
    ),
)


@given(st.lists(item, max_size=8))
def test_the_same_strings_as_openpyxl(items: list[str]) -> None:
    xml = f'<sst xmlns="{NS}" count="{len(items)}">{"".join(items)}</sst>'.encode()
    assert read_string_table(io.BytesIO(xml)) == list(openpyxl_reader(io.BytesIO(xml)))
