"""Splitting a table sorted by an id into one slice per id (one object per security or CIK)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def runs(sorted_ids: np.ndarray) -> list[tuple[int, int, int]]:
    """(id, start, stop) for each run of equal ids in an already sorted int array."""
    if len(sorted_ids) == 0:
        return []
    change = np.flatnonzero(np.diff(sorted_ids)) + 1
    starts = np.concatenate(([0], change))
    stops = np.concatenate((change, [len(sorted_ids)]))
    return [(int(sorted_ids[s]), int(s), int(e)) for s, e in zip(starts, stops, strict=True)]


def slices(table: pa.Table, column: str) -> list[tuple[int, pa.Table]]:
    """(id, its rows) for each id of ``table``, already sorted by the int ``column``."""
    groups = runs(table.column(column).to_numpy())
    return [(value, table.slice(lo, hi - lo)) for value, lo, hi in groups]
