"""What AchieveIt's answers say, as text a plan owner can read. Pure: no HTTP here.

The client (addin/api.py) hands over the raw parts of an answer (body bytes, Content-Type,
Retry-After); these helpers decode the body, find the Job ID in it, turn JSON or HTML into plain
words (one line for an alert, or every line kept for matching failures to rows), keep the API key
out of all of it, and say how long to wait before asking again.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any

RETRY_AFTER_CAP = 60.0  # seconds: never wait longer than this on a server's say-so
BACKOFF_CAP = 30.0
TEXT_LIMIT = 300  # characters of server text shown in a message
RAW_BODY_LIMIT = 4000  # characters of a POST answer kept for the log
BODY_LIMIT = 100_000  # characters of a job's status text kept whole in JobStatus.body
KEY_REMOVED = "[API key hidden]"

JOB_ID = re.compile(r"[A-Za-z0-9._-]{1,200}")

_KEPT = "\ue000"  # a private-use character: marks the line breaks kept inside HTML <pre>
_MESSAGE_KEYS = ("message", "error", "errors", "detail", "title", "status")


# --------------------------------------------------------------------------- the key


def redact(text: str, key: str) -> str:
    # A misbehaving server or proxy may echo request headers back: never pass the key on.
    return text.replace(key, KEY_REMOVED)


def summary(text: str, key: str) -> str:
    """readable(), redacted after unescaping (HTML entities or JSON escapes could spell the key
    out afresh) and before trimming (which could cut it where it no longer matches)."""
    return trim(redact(readable(text, limit=BODY_LIMIT), key), TEXT_LIMIT)


# --------------------------------------------------------------------------- waiting


def backoff(attempt: int) -> float:
    return min(2.0**attempt, BACKOFF_CAP)


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (seconds or HTTP-date), capped; None if absent/bad."""
    value = (value or "").strip()
    if not value:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    else:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def wait_words(retry_after_header: str | None) -> str:
    """'12 seconds' from a Retry-After header, or 'a minute' without a usable one."""
    seconds = retry_after(retry_after_header)
    if seconds is None:
        return "a minute"
    whole = max(1, round(seconds))
    return f"{whole} second{'s' if whole != 1 else ''}"


# --------------------------------------------------------------------------- the body


def decode_body(data: bytes | None, content_type: str) -> str:
    """The body as text: the charset the Content-Type names, else UTF-8; bad bytes replaced."""
    data = data or b""
    match = re.search(r"charset=\"?([\w.:-]+)", content_type, re.I)
    if match:
        try:
            return data.decode(match.group(1), errors="replace")
        except LookupError:
            pass
    return data.decode("utf-8", errors="replace")


def job_id_from_body(text: str) -> str | None:
    """The Job ID from a POST answer: plain text, a JSON string, or a JSON object."""
    text = text.strip().lstrip("\ufeff").strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        data = text.strip("'\"").strip()
    candidate = _find_job_id(data)
    return candidate if candidate and JOB_ID.fullmatch(candidate) else None


def _find_job_id(data: Any, depth: int = 0) -> str | None:
    if isinstance(data, str):
        return data.strip()
    if isinstance(data, int) and not isinstance(data, bool):
        return str(data)
    if not isinstance(data, dict) or depth > 3:
        return None
    keyed = {re.sub(r"[^a-z]", "", str(k).lower()): v for k, v in data.items()}
    for key in ("jobid", "id"):
        value = keyed.get(key)
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return str(value).strip()
    for value in data.values():  # e.g. {"data": {"jobId": ...}}
        if isinstance(value, dict):
            found = _find_job_id(value, depth + 1)
            if found:
                return found
    return None


def readable(text: str, limit: int = TEXT_LIMIT) -> str:
    """Server text fit for a message: JSON messages unwrapped, HTML tags stripped, trimmed."""
    text = text.strip().lstrip("\ufeff")
    if text[:1] in '{["':
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, str):
            text = data
        elif isinstance(data, dict):
            lowered = {str(k).lower(): v for k, v in data.items()}
            picked = next((lowered[k] for k in _MESSAGE_KEYS if lowered.get(k)), None)
            text = picked if isinstance(picked, str) else json.dumps(data, ensure_ascii=False)
        elif data is not None:
            text = json.dumps(data, ensure_ascii=False)
    if re.search(r"<[A-Za-z!/][^>]*>", text):
        text = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", " ", text)
        text = re.sub(r"(?s)<!--.*?-->", " ", text)
        text = re.sub(r"<[^>]*>", " ", text)
        text = html.unescape(text)
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", text)
    return trim(re.sub(r"\s+", " ", text).strip(), limit)


def looks_like_html(content_type: str, text: str) -> bool:
    """An HTML page (by its type or its start), not plain text that happens to hold a '<x>'."""
    if "html" in content_type.lower():
        return True
    return bool(re.match(r"\s*<(!doctype|html|head|body|div|p|h[1-6]|pre|table|ul)\b", text, re.I))


def full_text(text: str, *, is_html: bool = False, limit: int = BODY_LIMIT) -> str:
    """Server text kept whole for matching lines to rows: like readable(), but every line stays
    its own line (JSON lists give a line per element, HTML blocks a line per block)."""
    text = text.strip().lstrip("\ufeff")
    if text[:1] in '{["':
        try:
            data = json.loads(text)
        except ValueError:
            pass
        else:
            text = "\n".join(_json_lines(data))
    if is_html:
        text = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", " ", text)
        text = re.sub(r"(?s)<!--.*?-->", " ", text)
        # Source line breaks are spaces in HTML, except inside <pre>; blocks and <br> break lines.
        text = re.sub(r"(?is)<pre\b.*?</pre\s*>", lambda m: m.group(0).replace("\n", _KEPT), text)
        text = re.sub(r"\s*[\r\n]\s*", " ", text).replace(_KEPT, "\n")
        text = re.sub(r"(?i)<br\s*/?>|</?(p|div|li|tr|h[1-6]|ul|ol|table|pre)\b[^>]*>", "\n", text)
        text = html.unescape(re.sub(r"<[^>]*>", " ", text))
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [re.sub(r"[\s\x00-\x1f\x7f]+", " ", line).strip() for line in lines]
    return trim("\n".join(line for line in lines if line), limit)


def _json_lines(data: Any, depth: int = 0) -> list[str]:
    """A JSON answer as text lines: strings as they are, one line per list element, and a
    flat object (e.g. {"externalId": "X-1", "error": "..."}) as one "key: value" line."""
    if isinstance(data, str):
        return data.splitlines()
    if depth > 10 or not isinstance(data, list | dict):
        return [json.dumps(data, ensure_ascii=False)]
    if isinstance(data, list):
        return [line for item in data for line in _json_lines(item, depth + 1)]
    if all(not isinstance(v, list | dict) for v in data.values()):
        return [", ".join(f"{k}: {_scalar(v)}" for k, v in data.items())] if data else []
    lines: list[str] = []
    for key, value in data.items():
        if isinstance(value, list | dict):
            lines.extend(_json_lines(value, depth + 1))
        else:
            lines.append(f"{key}: {_scalar(value)}")
    return lines


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def trim(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
