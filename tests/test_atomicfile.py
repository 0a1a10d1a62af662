"""Writing a whole file in one step, and cleaning up when that fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from addin.atomicfile import write_bytes_atomically


@pytest.mark.parametrize("before", [None, b"old contents, longer than the new ones"])
def test_writes_the_bytes_and_leaves_no_temp_file(tmp_path: Path, before: bytes | None) -> None:
    target = tmp_path / "out.csv"
    if before is not None:
        target.write_bytes(before)
    write_bytes_atomically(target, b"External ID\r\nA-1\r\n")
    assert target.read_bytes() == b"External ID\r\nA-1\r\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda d: d / "missing folder" / "out.csv", FileNotFoundError),
        (lambda d: (d / "a folder").mkdir() or d / "a folder", OSError),  # can't replace a folder
    ],
    ids=["missing folder", "target is a folder"],
)
def test_failure_reraises_and_cleans_up(tmp_path: Path, make, error) -> None:
    target = make(tmp_path)
    (tmp_path / "a folder").mkdir(exist_ok=True)
    (tmp_path / "a folder" / "keep").write_bytes(b"x")  # a non-empty folder is never replaced
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(error):
        write_bytes_atomically(target, b"data")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
