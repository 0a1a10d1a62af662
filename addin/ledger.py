"""What this computer has sent, so a scheduled run never sends the same CSV twice.

A workbook's Log sheet guards a workbook; a .csv input has no Log, and a copied workbook has a
fresh one. This append-only file (JSON lines: when, host, CSV SHA-256, job ID, state, source)
guards every command-line submission. It never holds a key or the updates themselves.

Beside it, the outbox: one small file per upload from a workbook, written before the POST and
removed once the workbook has recorded the job (its rows' Job ID, Job Status and Sent cells).
If that recording fails (the file was locked, Excel went away, the process was stopped), the
next Submit of the same workbook finds the rows' fingerprints here and records them instead of
sending them again. Fingerprints are hashes: no data leaves the workbook this way either.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .atomicfile import write_bytes_atomically

STATE_DIR_ENV = "ACHIEVEIT_STATE_DIR"  # tests and unusual set-ups point it elsewhere
LEDGER_FILE = "sent.jsonl"
OUTBOX_FOLDER = "outbox"


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
    try:
        record_sent(Sent(_now(), host, sha256, job_id, state, source))
    except OSError as exc:
        return f"Could not note this send in {ledger_path()} ({exc.strerror or exc})."
    return None


# --- the outbox: uploads a workbook has not recorded yet --------------------------------------


@dataclass(frozen=True)
class Unrecorded:
    """An upload from a workbook whose rows may not show it yet. `state` is "sending" until the
    POST has answered (a stop in between leaves the outcome unknown)."""

    host: str
    source: str  # the workbook's normalised path (same_source)
    upload_name: str
    sha256: str
    fingerprints: tuple[str, ...]
    when: str = ""
    job_id: str | None = None
    state: str = "sending"
    message: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


def same_source(path: str) -> str:
    """A workbook path as compared: absolute, and case-folded where the file system is."""
    return os.path.normcase(os.path.abspath(path))


def outbox_path(env: Mapping[str, str] = os.environ) -> Path:
    return ledger_path(env).parent / OUTBOX_FOLDER


def note_unrecorded(entry: Unrecorded, folder: Path | None = None) -> str | None:
    """Write (or rewrite) the entry. Returns a warning when it could not be written."""
    folder = folder or outbox_path()
    if not entry.when:
        entry = replace(entry, when=_now())
    data = json.dumps(asdict(entry)).encode("utf-8")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_bytes_atomically(folder / f"{entry.id}.json", data)
    except OSError as exc:
        return f"Could not note this upload in {folder} ({exc.strerror or exc})."
    return None


def unrecorded(host: str, source: str, folder: Path | None = None) -> list[Unrecorded]:
    """The outbox entries of this workbook and host, oldest first; unreadable ones skipped."""
    folder = folder or outbox_path()
    found = []
    try:
        paths = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
    except OSError:
        return []
    for path in paths:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            entry = Unrecorded(**{**raw, "fingerprints": tuple(raw["fingerprints"])})
        except (OSError, ValueError, TypeError, KeyError):
            continue  # torn or hand-edited: never worth stopping anybody for
        if entry.host == host and entry.source == same_source(source):
            found.append(entry)
    return found


def forget_unrecorded(entries: Iterable[Unrecorded], folder: Path | None = None) -> None:
    """The workbook has recorded these: remove them (a file already gone is fine)."""
    folder = folder or outbox_path()
    for entry in entries:
        # Left behind, an entry only makes the next Submit record the same rows again.
        with contextlib.suppress(OSError):
            (folder / f"{entry.id}.json").unlink(missing_ok=True)


def _now() -> str:
    return dt.datetime.now().replace(microsecond=0).isoformat(sep=" ")
