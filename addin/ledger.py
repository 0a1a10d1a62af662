"""What this computer has sent, so a scheduled run never sends the same CSV twice.

A workbook's Log sheet guards a workbook; a .csv input has no Log, and a copied workbook has a
fresh one. This append-only file (JSON lines: when, host, CSV SHA-256, job ID, state, source)
guards every command-line submission. It never holds a key or the updates themselves.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_DIR_ENV = "ACHIEVEIT_STATE_DIR"  # tests and unusual set-ups point it elsewhere
LEDGER_FILE = "sent.jsonl"


@dataclass(frozen=True)
class Sent:
    when: str
    host: str
    sha256: str
    job_id: str | None
    state: str
    source: str


def ledger_path(env: Mapping[str, str] = os.environ) -> Path:
    """The per-user state folder of each platform, or ACHIEVEIT_STATE_DIR."""
    if env.get(STATE_DIR_ENV, "").strip():
        return Path(env[STATE_DIR_ENV]) / LEDGER_FILE
    if sys.platform == "win32":
        base = env.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "AchieveIt Progress Updates" / LEDGER_FILE
    if sys.platform == "darwin":
        support = Path.home() / "Library" / "Application Support"
        return support / "AchieveIt Progress Updates" / LEDGER_FILE
    state = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "achieveit-progress-updates" / LEDGER_FILE


def find_sent(host: str, sha256: str, path: Path | None = None) -> Sent | None:
    """The latest record of these exact bytes sent to `host`; unreadable lines are skipped."""
    path = path or ledger_path()
    found = None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, OSError, UnicodeDecodeError):
        return None
    for line in lines:
        try:
            record = Sent(**json.loads(line))
        except (ValueError, TypeError):
            continue  # a torn or hand-edited line must not stop anybody
        if record.host == host and record.sha256 == sha256:
            found = record
    return found


def record_sent(record: Sent, path: Path | None = None) -> None:
    """Append one line. Raises OSError when the folder cannot be written."""
    path = path or ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(asdict(record)) + "\n")


def remember(host: str, sha256: str, job_id: str | None, state: str, source: str) -> str | None:
    """Note a send now. Returns a warning when it could not be noted: never worth failing for,
    the job ID matters more."""
    when = dt.datetime.now().replace(microsecond=0).isoformat(sep=" ")
    try:
        record_sent(Sent(when, host, sha256, job_id, state, source))
    except OSError as exc:
        return f"Could not note this send in {ledger_path()} ({exc.strerror or exc})."
    return None
