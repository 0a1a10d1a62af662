from __future__ import annotations

import subprocess
import sys

import keyring
import keyring.backend
import keyring.errors
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from addin import credentials
from addin.credentials import (
    KEYRING_SERVICE,
    delete_api_key,
    get_api_key,
    host_of,
    store_api_key,
)
from addin.errors import ConfigError

KEY = "12004478285f4f4eb21cd25e62ba5eb7"
HOST = "api.achieveit.com"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A real keyring backend that keeps passwords in a dict."""

    priority = -1  # never chosen automatically by keyring, only via set_keyring

    def __init__(self):
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        try:
            del self.store[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("not found") from None


class NoStoreKeyring(MemoryKeyring):
    """Like keyring's own 'fail' backend: no usable OS store."""

    def get_password(self, service, username, *password):
        raise keyring.errors.NoKeyringError("No recommended backend was available.")

    set_password = delete_password = get_password


class LeakyBrokenKeyring(MemoryKeyring):
    """A backend whose errors echo the password: our messages must not pass it on."""

    def get_password(self, service, username):
        raise keyring.errors.KeyringError("locked")

    def set_password(self, service, username, password):
        raise keyring.errors.PasswordSetError(f"could not store {password}")

    def delete_password(self, service, username):
        raise keyring.errors.KeyringError("locked")


@pytest.fixture
def use_backend():
    previous = keyring.get_keyring()

    def install(backend):
        keyring.set_keyring(backend)
        return backend

    yield install
    keyring.set_keyring(previous)


@pytest.fixture
def memory(use_backend):
    return use_backend(MemoryKeyring())


def test_store_get_delete_round_trip(memory):
    store_api_key(HOST, f"  {KEY}\n")
    assert memory.store == {(KEYRING_SERVICE, HOST): KEY}
    assert get_api_key(HOST, env={}) == KEY
    assert delete_api_key(HOST) is True
    assert delete_api_key(HOST) is False
    with pytest.raises(ConfigError, match="No API key is set for api.achieveit.com"):
        get_api_key(HOST, env={})


def test_keys_are_kept_per_host(memory):
    store_api_key(HOST, "real-key")
    store_api_key("127.0.0.1:8765", "sandbox-key")
    assert get_api_key(HOST, env={}) == "real-key"
    assert get_api_key("127.0.0.1:8765", env={}) == "sandbox-key"
    assert get_api_key("API.AchieveIt.com", env={}) == "real-key"


def test_store_replaces_an_earlier_key(memory):
    store_api_key(HOST, "old")
    store_api_key(HOST, "new")
    assert get_api_key(HOST, env={}) == "new"


@pytest.mark.parametrize(
    ("env", "stored", "expected"),
    [
        ({"ACHIEVEIT_API_KEY": " env-key \n"}, "stored-key", "env-key"),
        ({"ACHIEVEIT_API_KEY": "   "}, "stored-key", "stored-key"),
        ({"ACHIEVEIT_API_KEY": ""}, "stored-key", "stored-key"),
        ({"OTHER": "x"}, " stored-key ", "stored-key"),
    ],
)
def test_environment_wins_when_set_and_not_blank(memory, env, stored, expected):
    memory.store[(KEYRING_SERVICE, HOST)] = stored
    assert get_api_key(HOST, env=env) == expected


def test_environment_is_read_by_default(memory, monkeypatch):
    monkeypatch.setenv("ACHIEVEIT_API_KEY", "from-os-environ")
    assert get_api_key(HOST) == "from-os-environ"


def test_missing_key_message_says_how_to_set_one(memory):
    with pytest.raises(ConfigError) as info:
        get_api_key("127.0.0.1:8765", env={})
    message = str(info.value)
    assert message == (
        "No API key is set for 127.0.0.1:8765. Run `achieveit-updates login` (or press Set API "
        "Key in Excel), or set the ACHIEVEIT_API_KEY environment variable for scheduled runs."
    )


def test_no_os_store_get_says_use_the_environment_variable(use_backend):
    use_backend(NoStoreKeyring())
    with pytest.raises(ConfigError) as info:
        get_api_key(HOST, env={})
    assert "no OS credential store" in str(info.value)
    assert "ACHIEVEIT_API_KEY" in str(info.value)
    assert get_api_key(HOST, env={"ACHIEVEIT_API_KEY": KEY}) == KEY


@pytest.mark.parametrize("call", [lambda: store_api_key(HOST, KEY), lambda: delete_api_key(HOST)])
def test_no_os_store_store_and_delete_say_so(use_backend, call):
    use_backend(NoStoreKeyring())
    with pytest.raises(ConfigError, match="no OS credential store.*ACHIEVEIT_API_KEY"):
        call()


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: get_api_key(HOST, env={}), "did not answer"),
        (lambda: store_api_key(HOST, KEY), "refused to save"),
        (lambda: delete_api_key(HOST), "did not let us remove"),
    ],
)
def test_broken_store_errors_are_plain_and_drop_the_cause(use_backend, call, words):
    use_backend(LeakyBrokenKeyring())
    with pytest.raises(ConfigError) as info:
        call()
    assert words in str(info.value)
    assert KEY not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("", "is empty"),
        ("  \t\n", "is empty"),
        ("1200 4478", "spaces"),
        ("1200\u200b4478", "invisible"),
        ("1200\x074478", "invisible"),
        ("API-KEY\n1200", "line breaks"),
        ("1200–4478", "not plain letters"),
    ],
)
def test_store_rejects_malformed_keys(memory, key, words):
    with pytest.raises(ConfigError, match=words):
        store_api_key(HOST, key)
    assert memory.store == {}


def test_malformed_environment_key_is_rejected(memory):
    with pytest.raises(ConfigError, match="ACHIEVEIT_API_KEY environment variable contains"):
        get_api_key(HOST, env={"ACHIEVEIT_API_KEY": "API-KEY 1200"})


def test_empty_host_is_a_config_error(memory):
    with pytest.raises(ConfigError, match="No API host"):
        get_api_key("  ", env={})


# Random keys wrapped in markers that no message contains, so "not in message" can fail.
secret_keys = st.builds(lambda middle: f"Zq9{middle}Xk7", st.text())


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=secret_keys)
def test_no_message_ever_contains_the_key(use_backend, key):
    messages = []
    for backend in (MemoryKeyring(), NoStoreKeyring(), LeakyBrokenKeyring()):
        use_backend(backend)
        for call in (
            lambda: store_api_key(HOST, key),
            lambda: get_api_key(HOST, env={"ACHIEVEIT_API_KEY": key}),
        ):
            try:
                call()
            except ConfigError as exc:
                messages.append(str(exc))
                assert exc.__cause__ is None
    for message in messages:
        assert "Zq9" not in message and "Xk7" not in message
        assert key.strip() not in message


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://api.achieveit.com", "api.achieveit.com"),
        ("https://API.AchieveIt.com/api/progressupdates/", "api.achieveit.com"),
        ("https://gov-api.achieveit.com:443", "gov-api.achieveit.com"),
        ("http://127.0.0.1:8765", "127.0.0.1:8765"),
        ("http://localhost:80/", "localhost"),
        ("https://api.achieveit.com:8443", "api.achieveit.com:8443"),
        ("http://127.0.0.1:443", "127.0.0.1:443"),
        ("https://user:pw@api.achieveit.com", "api.achieveit.com"),
        ("api.achieveit.com", "api.achieveit.com"),
        ("  https://api.achieveit.com  ", "api.achieveit.com"),
        ("http://[::1]:8765", "[::1]:8765"),
    ],
)
def test_host_of(url, host):
    assert host_of(url) == host


@pytest.mark.parametrize("url", ["", "https://", "http://host:notaport", "https:///path"])
def test_host_of_rejects_non_urls(url):
    with pytest.raises(ConfigError, match="not a web address"):
        host_of(url)


def test_keyring_is_imported_lazily():
    # Ribbon clicks start a fresh Python: importing the module must not pull in keyring.
    code = "import sys, addin.credentials; print('keyring' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    assert "keyring" not in vars(credentials)
