"""Test-wide isolation: no real credentials, proxies or key stores leak into (or out of) tests."""

import gc
import os

# xlwings' remote engine is the Excel stand-in in tests only (non-commercial licence). It must
# be set before xlwings is imported; the product itself never needs it.
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import keyring  # noqa: E402
import keyring.backend  # noqa: E402
import pytest  # noqa: E402

_ISOLATED_VARIABLES = (
    "ACHIEVEIT_API_KEY",
    "ACHIEVEIT_BASE_URL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A real keyring backend that keeps passwords in memory, so tests never touch the OS store."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("not found")


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
):
    for name in _ISOLATED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    # The record of sends (addin/ledger.py) goes to a fresh folder per test, never the user's.
    monkeypatch.setenv("ACHIEVEIT_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    try:
        yield memory
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring(_isolated_environment: MemoryKeyring) -> MemoryKeyring:
    return _isolated_environment


@pytest.fixture(autouse=True)
def _cycle_collector_left_on():
    """Bulk reading pauses the cycle collector (addin/gcpause.py); no code may leave it off:
    cycles holding open files would then pile up until the process ends."""
    yield
    assert gc.isenabled(), "the cycle collector was left paused"
