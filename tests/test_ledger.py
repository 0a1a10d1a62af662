import json

import pytest

from addin import ledger
from addin.ledger import Sent, find_sent, ledger_path, record_sent


def sent(host: str = "api.achieveit.com", sha: str = "ab" * 32, job: str | None = "job-1") -> Sent:
    return Sent("2026-11-29 10:00:00", host, sha, job, "succeeded", "updates.csv")


def test_the_latest_matching_record_is_found(tmp_path):
    path = tmp_path / "sent.jsonl"
    record_sent(sent(job="job-1"), path)
    record_sent(sent(host="gov-api.achieveit.com", job="job-2"), path)
    record_sent(sent(job="job-3"), path)
    assert find_sent("api.achieveit.com", "ab" * 32, path).job_id == "job-3"
    assert find_sent("gov-api.achieveit.com", "ab" * 32, path).job_id == "job-2"
    assert find_sent("api.achieveit.com", "cd" * 32, path) is None


@pytest.mark.parametrize(
    "junk", ["", "{not json", '{"host": "api.achieveit.com"}', "[1, 2]", "\x00\x01"]
)
def test_torn_or_edited_lines_are_skipped(tmp_path, junk):
    path = tmp_path / "sent.jsonl"
    record_sent(sent(job="job-1"), path)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(junk + "\n")
    assert find_sent("api.achieveit.com", "ab" * 32, path).job_id == "job-1"


def test_a_missing_ledger_finds_nothing(tmp_path):
    assert find_sent("api.achieveit.com", "ab" * 32, tmp_path / "none" / "sent.jsonl") is None


def test_each_line_is_one_json_record_without_secrets(tmp_path):
    path = tmp_path / "sent.jsonl"
    record_sent(sent(), path)
    (line,) = path.read_text(encoding="utf-8").splitlines()
    assert set(json.loads(line)) == {"when", "host", "sha256", "job_id", "state", "source"}


def test_the_state_folder_can_be_pointed_elsewhere(tmp_path):
    assert ledger_path({ledger.STATE_DIR_ENV: str(tmp_path)}) == tmp_path / ledger.LEDGER_FILE
    assert ledger_path({"XDG_STATE_HOME": str(tmp_path)}).name == ledger.LEDGER_FILE
