"""The API key: from the ACHIEVEIT_API_KEY environment variable, or the OS credential store.

The credential store (Windows Credential Manager, macOS Keychain, Secret Service) is reached
through `keyring`, imported inside each function: every ribbon click starts a fresh Python, and
most clicks never need the key. The keyring username is the API host, so a sandbox key and a
real key live side by side. No message here ever contains a key.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Mapping
from urllib.parse import urlsplit

from .errors import ConfigError

KEYRING_SERVICE = "AchieveIt Progress Updates"
ENV_VAR = "ACHIEVEIT_API_KEY"

_DEFAULT_PORTS = {"http": 80, "https": 443}
_NO_STORE = (
    "This computer has no OS credential store that Python can use, so the API key cannot be "
    f"kept there. Set the {ENV_VAR} environment variable instead."
)


def host_of(base_url: str) -> str:
    """'https://API.AchieveIt.com:443/api' -> 'api.achieveit.com'; keeps a non-default port."""
    text = base_url.strip()
    parts = urlsplit(text if "//" in text else "https://" + text)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host:
        raise ConfigError(
            f"'{base_url}' is not a web address. Use the form https://api.achieveit.com."
        )
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        return f"{host}:{port}"
    return host


def _key_problem(key: str) -> str | None:
    """Why `key` (already stripped) cannot be an API key, without quoting it; None if fine."""
    if not key:
        return "is empty"
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in key):
        return "contains spaces, line breaks or invisible characters"
    if not key.isascii():
        return "contains characters that are not plain letters, digits or punctuation"
    return None


def _username(host: str) -> str:
    username = host.strip().lower()
    if not username:  # keyring deprecates empty usernames, and one key per host is the point
        raise ConfigError("No API host is set. Fill in 'API subdomain' on the Settings sheet.")
    return username


def get_api_key(host: str, env: Mapping[str, str] = os.environ) -> str:
    """The key for `host`: ACHIEVEIT_API_KEY if set and not blank, else the OS credential store.

    Raises ConfigError when there is none, or when the environment variable is malformed.
    """
    from_env = env.get(ENV_VAR, "").strip()
    if from_env:
        problem = _key_problem(from_env)
        if problem:
            raise ConfigError(
                f"The {ENV_VAR} environment variable {problem}. Copy the key again from "
                "AchieveIt and set the variable to the key alone."
            )
        return from_env

    import keyring
    import keyring.errors

    how = (
        "Run `achieveit-updates login` (or press Set API Key in Excel), or set the "
        f"{ENV_VAR} environment variable for scheduled runs."
    )
    try:
        stored = keyring.get_password(KEYRING_SERVICE, _username(host))
    except keyring.errors.NoKeyringError:
        raise ConfigError(
            f"No API key is set for {host}, and this computer has no OS credential store that "
            f"Python can use. Set the {ENV_VAR} environment variable to your API key."
        ) from None
    except keyring.errors.KeyringError:
        raise ConfigError(
            f"No API key could be read for {host}: the OS credential store did not answer "
            f"(it may be locked). Unlock it and try again, or set the {ENV_VAR} "
            "environment variable."
        ) from None
    key = (stored or "").strip()
    if not key:
        raise ConfigError(f"No API key is set for {host}. {how}")
    return key


def store_api_key(host: str, key: str) -> None:
    """Keep `key` for `host` in the OS credential store (replacing any earlier one)."""
    key = key.strip()
    problem = _key_problem(key)
    if problem:
        raise ConfigError(
            f"The API key {problem}. Copy the key again from AchieveIt and paste it alone."
        )

    import keyring
    import keyring.errors

    try:
        keyring.set_password(KEYRING_SERVICE, _username(host), key)
    except keyring.errors.NoKeyringError:
        raise ConfigError(_NO_STORE) from None
    except Exception:
        # Any backend failure: say so plainly, and drop the original (it might echo the key).
        raise ConfigError(
            f"The OS credential store refused to save the API key for {host} (it may be "
            f"locked). Unlock it and try again, or set the {ENV_VAR} environment variable."
        ) from None


def delete_api_key(host: str) -> bool:
    """Remove the stored key for `host`. True if one was removed, False if there was none."""
    import keyring
    import keyring.errors

    try:
        keyring.delete_password(KEYRING_SERVICE, _username(host))
    except keyring.errors.PasswordDeleteError:
        return False
    except keyring.errors.NoKeyringError:
        raise ConfigError(_NO_STORE) from None
    except keyring.errors.KeyringError:
        raise ConfigError(
            f"The OS credential store did not let us remove the API key for {host} (it may be "
            "locked). Unlock it and try again."
        ) from None
    return True
