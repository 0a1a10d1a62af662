"""Characters that look like others, or like nothing at all: find them, name them, map them.

A cell can hold a no-break space where a space seems to be, a zero-width space or a byte-order
mark that shows as nothing, a non-breaking hyphen or an en dash where '-' seems to be, or a
control character (a carriage return from a paste, Excel's _x0007_). A message that prints such
text "as it looks" shows the user nothing wrong, so messages name the code point instead:
"U+00A0 NO-BREAK SPACE". Pure.
"""

from __future__ import annotations

import re
import unicodedata

# What each look-alike stands for in plain ASCII: "" for the invisible ones.
_SPACES = "\u00a0\u2007\u202f"  # no-break, figure and narrow no-break space
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d"
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"  # soft hyphen, zero widths, word joiner, BOM
LOOKALIKES: dict[str, str] = {
    **dict.fromkeys(_SPACES, " "),
    **dict.fromkeys(_DASHES, "-"),
    **dict.fromkeys(_INVISIBLE, ""),
}
_PLAIN = str.maketrans(LOOKALIKES)
# Unicode's Cc category (U+0000-U+001F, U+007F-U+009F) less tab and line breaks, which a
# comment may hold on purpose. One regex search per text instead of a look-up per character:
# comments are the longest texts on every row.
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_CONTROL_CHARACTER = re.compile(f"[{_CONTROLS}]")
_ODD_CHARACTER = re.compile(f"[{_CONTROLS}{re.escape(''.join(LOOKALIKES))}]")


def is_control(ch: str) -> bool:
    """A C0/C1 control character (or DEL) other than tab and line breaks."""
    return _CONTROL_CHARACTER.fullmatch(ch) is not None


def plain(text: str) -> str:
    """`text` with each look-alike replaced by what it looks like (invisible ones removed)."""
    return text.translate(_PLAIN)


def odd_characters(text: str, *, lookalikes: bool = True) -> list[str]:
    """The distinct look-alike (when `lookalikes`) and control characters of `text`, in order."""
    pattern = _ODD_CHARACTER if lookalikes else _CONTROL_CHARACTER
    found = pattern.findall(text)
    return list(dict.fromkeys(found)) if found else []


def describe(ch: str) -> str:
    """'U+00A0 NO-BREAK SPACE'; control characters, which have no name, by what they are."""
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X} {name}" if name else f"U+{ord(ch):04X} (a control character)"


def where(text: str, ch: str) -> str:
    """Where `ch` first is in `text`, told by its visible neighbours: "between '2026-11-03' and
    '14:00'", "after 'A1'", "before 'A1'", "alone"."""
    at = text.index(ch)
    before, after = _shown(text[:at]), _shown(text[at + 1 :])
    if before and after:
        return f"between '{before[-20:]}' and '{after[:20]}'"
    if before:
        return f"after '{before[-20:]}'"
    return f"before '{after[:20]}'" if after else "alone"


def visible(text: str) -> str:
    """plain(text) without its control characters: what the user sees in the cell."""
    return _CONTROL_CHARACTER.sub("", plain(text))


def _shown(text: str) -> str:
    return visible(text).strip()


def explain(text: str, *, lookalikes: bool = True) -> str:
    """One sentence naming each odd character of `text` and where it is; '' when none."""
    parts = []
    for ch in odd_characters(text, lookalikes=lookalikes):
        looks = LOOKALIKES.get(ch)
        kind = (
            "invisible"
            if looks == "" or is_control(ch)
            else ("looks like a space" if looks == " " else "looks like '-'")
        )
        parts.append(f"{describe(ch)} ({kind}) {where(text, ch)}")
    return "; ".join(parts)
