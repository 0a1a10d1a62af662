import pytest

from addin.cells import is_blank, normal_label, sheet_index


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("External ID", "external id"),
        ("\ufeffExternal ID", "external id"),
        ("  External \u00a0 ID ", "external id"),
        ("Current\nMetric Value", "current metric value"),
        (42, ""),
        (None, ""),
    ],
)
def test_normal_label(value, expected):
    assert normal_label(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, True), ("", True), ("  \t\n", True), ("x", False), (0, False), (False, False)],
)
def test_is_blank(value, expected):
    assert is_blank(value) is expected


@pytest.mark.parametrize(
    ("names", "wanted", "expected"),
    [
        (["Read Me", "Updates"], "Updates", 1),
        (["updates ", "Updates"], "Updates", 1),  # the exact name wins
        (["Sheet1", " UPDATES"], "Updates", 1),
        (["Sheet1"], "Updates", None),
        ([], "Updates", None),
    ],
)
def test_sheet_index(names, wanted, expected):
    assert sheet_index(names, wanted) == expected
