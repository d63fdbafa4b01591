"""Merging rows into a stored object: equal keys replaced, nothing else dropped."""

import datetime as dt

import pyarrow as pa

from equity_lake.lake.merge import merge_rows


def bars(days, close):
    return pa.table(
        {
            "timestamp": pa.array(days, pa.date32()),
            "close": pa.array([close] * len(days), pa.float64()),
        }
    )


D1, D2, D3 = dt.date(2024, 12, 23), dt.date(2024, 12, 24), dt.date(2024, 12, 26)


def test_merge_keeps_other_rows_and_replaces_equal_keys():
    existing = bars([D1, D2], 1.0)
    merged = merge_rows(existing, bars([D2, D3], 2.0), ["timestamp"])
    assert merged.column("timestamp").to_pylist() == [D1, D2, D3]
    assert merged.column("close").to_pylist() == [1.0, 2.0, 2.0]


def test_merge_is_idempotent():
    once = merge_rows(None, bars([D1], 1.0), ["timestamp"])
    twice = merge_rows(once, bars([D1], 1.0), ["timestamp"])
    assert once.equals(twice)


def test_merge_with_compound_keys():
    existing = pa.table({"k": [1, 1], "d": [D1, D2], "v": [1.0, 1.0]})
    new = pa.table({"k": [1, 2], "d": [D2, D2], "v": [5.0, 6.0]})
    merged = merge_rows(existing, new, ["k", "d"])
    assert merged.to_pylist() == [
        {"k": 1, "d": D1, "v": 1.0},
        {"k": 1, "d": D2, "v": 5.0},
        {"k": 2, "d": D2, "v": 6.0},
    ]


def test_merge_with_a_null_in_a_key_column_matches_nulls():
    """An instant fact has no start: re-merging it must replace it, not add a duplicate."""
    existing = pa.table(
        {
            "tag": ["Assets", "Revenues", "Assets"],
            "start": pa.array([None, D1, None], pa.date32()),
            "end": pa.array([D2, D2, D3], pa.date32()),
            "value": [1.0, 2.0, 3.0],
        }
    )
    new = pa.table(
        {
            "tag": ["Assets", "Revenues"],
            "start": pa.array([None, D1], pa.date32()),
            "end": pa.array([D2, D2], pa.date32()),
            "value": [10.0, 20.0],
        }
    )
    merged = merge_rows(existing, new, ["tag", "start", "end"])
    assert sorted(merged.to_pylist(), key=str) == sorted(
        [
            {"tag": "Assets", "start": None, "end": D2, "value": 10.0},
            {"tag": "Assets", "start": None, "end": D3, "value": 3.0},
            {"tag": "Revenues", "start": D1, "end": D2, "value": 20.0},
        ],
        key=str,
    )
    assert merge_rows(merged, new, ["tag", "start", "end"]).equals(merged)
