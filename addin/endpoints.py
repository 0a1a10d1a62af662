"""Where uploads go and what they are called: the API's base URL and the upload name. Pure.

`resolve_base_url` turns the Settings (subdomain, or a base-URL override) into the one address
the client talks to, refusing anything that could leak the API key (plain http to another
computer, a password in the URL). `upload_name` makes the URL-safe name an upload is sent under.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

from addin.errors import ConfigError
from addin.responses import trim

DEFAULT_SUBDOMAIN = "api"
GOV_SUBDOMAIN = "gov-api"
API_DOMAIN = "achieveit.com"
NAME_STEM_LIMIT = 64

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_UPLOAD_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")


# --------------------------------------------------------------------------- the base URL


def resolve_base_url(subdomain: str | None = None, base_url: str | None = None) -> str:
    """The API's base URL, without a trailing slash.

    A base-URL override wins; otherwise `https://<subdomain>.achieveit.com` ("api" by default,
    "gov-api" for government tenants). A pasted host such as "api.achieveit.com" or
    "https://gov-api.achieveit.com/" in the subdomain setting is normalised to its first label.
    Raises ConfigError with a fix for anything else.
    """
    if base_url is not None and base_url.strip():
        return _check_base_url(base_url.strip())
    label = (subdomain or "").strip().lower() or DEFAULT_SUBDOMAIN
    label = _pasted_host_label(label)
    if not _LABEL.fullmatch(label):
        raise ConfigError(
            f"The API subdomain '{trim(label, 80)}' is not valid: use just the first part of "
            f"the address, such as '{DEFAULT_SUBDOMAIN}' (or '{GOV_SUBDOMAIN}' for government), "
            "made of letters, digits and '-'. To use a full address, set the Base URL override."
        )
    return f"https://{label}.{API_DOMAIN}"


def _pasted_host_label(value: str) -> str:
    """'https://api.achieveit.com/' or 'api.achieveit.com' -> 'api'; anything else unchanged."""
    host = re.sub(r"^[a-z]+://", "", value).split("/", 1)[0]
    suffix = "." + API_DOMAIN
    if host.endswith(suffix) and _LABEL.fullmatch(host[: -len(suffix)]):
        return host[: -len(suffix)]
    if "." in value or "/" in value or ":" in value:
        raise ConfigError(
            f"'{trim(value, 80)}' is a web address, not an API subdomain. Put only the first "
            f"part in the subdomain setting (for https://{DEFAULT_SUBDOMAIN}.{API_DOMAIN} that "
            f"is '{DEFAULT_SUBDOMAIN}'), or put the full address in the Base URL override."
        )
    return value


def _check_base_url(value: str) -> str:
    if "@" in value.split("://", 1)[-1].split("/", 1)[0]:
        # Checked first, so that no message below echoes a password.
        raise ConfigError(
            "The Base URL override must not contain a user name or password: remove the part "
            "before '@'. The API key is stored separately (Set API Key)."
        )
    shown = trim(value, 120)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ConfigError(f"The Base URL override '{shown}' is not a valid web address.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ConfigError(
            f"The Base URL override '{shown}' must start with https://, "
            f"for example https://{DEFAULT_SUBDOMAIN}.{API_DOMAIN}"
        )
    host = parts.hostname or ""
    if not host or not _valid_host(host):
        raise ConfigError(f"The Base URL override '{shown}' has no valid host name.")
    if parts.query or parts.fragment or value.rstrip().endswith(("?", "#")):
        raise ConfigError(
            f"The Base URL override '{shown}' must not contain '?' or '#': "
            f"use just the address, for example https://{DEFAULT_SUBDOMAIN}.{API_DOMAIN}"
        )
    if scheme == "http" and not _is_loopback(host):
        raise ConfigError(
            f"The Base URL override '{shown}' uses plain http://, which would send your API key "
            "and updates unencrypted. Use https:// (plain http is allowed only for a server on "
            "this computer, such as the local stand-in at http://127.0.0.1)."
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    return all(re.fullmatch(r"[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?", lb) for lb in labels)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port): the key goes only to the configured origin, never elsewhere."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or (443 if scheme == "https" else 80)


def shown_host(url: str) -> str:
    """The host (and port, if the URL names one) as a message shows it."""
    parts = urlsplit(url)
    host = parts.hostname or url
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host


# --------------------------------------------------------------------------- the upload name

# Letters that NFKD does not split into ASCII + accent.
_NO_DECOMPOSITION = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ł": "l",
        "Ł": "L",
        "þ": "th",
        "Þ": "Th",
    }
)


def upload_name(source_name: str, now: dt.datetime) -> str:
    """A URL-safe name for the upload: the workbook's file stem plus a timestamp.

    "C:/Plans/Q3 updates (final).xlsx" at 2026-11-29 10:22:33 -> "Q3-updates-final_20261129-102233".
    Only ASCII letters, digits, '-' and '_' (accents are transliterated, other characters become
    '-'), so the name survives any server's path handling.
    """
    base = re.split(r"[\\/]", source_name or "")[-1]
    base = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", base)  # drop the extension, if any
    base = base.translate(_NO_DECOMPOSITION)
    ascii_text = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", ascii_text)
    stem = re.sub(r"[-_]*-[-_]*", "-", stem)  # a run holding a '-' becomes one '-'
    stem = re.sub(r"_+", "_", stem).strip("-_")
    stem = stem[:NAME_STEM_LIMIT].rstrip("-_") or "progress-updates"
    return f"{stem}_{now:%Y%m%d-%H%M%S}"


def check_upload_name(name: str) -> None:
    """Raise ConfigError unless `name` can go into the upload URL as it is."""
    if not _UPLOAD_NAME.fullmatch(name or ""):
        raise ConfigError(
            f"'{trim(str(name), 80)}' can't be used as the upload name: use letters, "
            "digits, '-' and '_' only (upload_name() makes one from the file name)."
        )
