"""Daily-ticks partitions built with pyarrow, plus a helper to corrupt one cell.

A plain module (not conftest) so tests can import it by a name no other test dir uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pyarrow as pa

TRADING_DATE = dt.date(2024, 12, 23)
ROWS = 300


def make_daily_ticks(rows: int = ROWS, day: dt.date = TRADING_DATE, seed: int = 7) -> pa.Table:
    """Plausible OHLCV bars for `rows` securities on one day, in the lake's exact schema."""
    rng = np.random.default_rng(seed)
    close = np.round(rng.lognormal(mean=3.5, sigma=1.0, size=rows), 4) + 0.01
    open_ = np.round(close * rng.uniform(0.97, 1.03, rows), 4)
    high = np.round(np.maximum(open_, close) * rng.uniform(1.0, 1.02, rows), 4)
    low = np.round(np.minimum(open_, close) * rng.uniform(0.98, 1.0, rows), 4)
    high = np.maximum(high, np.maximum(open_, close))
    low = np.minimum(low, np.minimum(open_, close))
    return pa.table(
        {
            "security_id": pa.array(np.arange(10_000, 10_000 + rows), pa.int64()),
            "symbol": pa.array([f"SYM{i:04d}" for i in range(rows)], pa.string()),
            "timestamp": pa.array([day] * rows, pa.date32()),
            "open": pa.array(open_, pa.float64()),
            "high": pa.array(high, pa.float64()),
            "low": pa.array(low, pa.float64()),
            "close": pa.array(close, pa.float64()),
            "volume": pa.array(rng.integers(0, 5_000_000, rows), pa.int64()),
        }
    )


def set_cell(table: pa.Table, column: str, row: int, value: object) -> pa.Table:
    """Copy of `table` with one cell replaced, keeping the column's type."""
    values = table.column(column).to_pylist()
    values[row] = value
    index = table.schema.get_field_index(column)
    field = table.schema.field(index)
    return table.set_column(index, field, pa.array(values, type=field.type))


Mutation = Callable[[pa.Table], pa.Table]
