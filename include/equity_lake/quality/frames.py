"""Arrow -> pandas conversion used by the quality gate, and the dtype names it produces.

Great Expectations validates pandas frames, so the frame must keep what the Arrow table
says: an int64 column with a null must stay an integer column (numpy would turn it into
float64 and hide the real problem behind a type failure), a bool column with a null a boolean
one (not object), and a date32 column must stay a date (numpy has no date dtype). The suites
check column types against the names this module reports, so conversion and expectation can
never drift apart.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

_MAPPED: dict[pa.DataType, object] = {
    pa.int64(): pd.Int64Dtype(),
    pa.string(): pd.StringDtype(),
    pa.large_string(): pd.StringDtype(),
    pa.date32(): pd.ArrowDtype(pa.date32()),
    pa.bool_(): pd.BooleanDtype(),
}


def _types_mapper(arrow_type: pa.DataType) -> object | None:
    """Pick the pandas dtype for an Arrow type; None keeps pyarrow's default."""
    return _MAPPED.get(arrow_type)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """Convert a partition to the pandas frame the gate validates (nullable ints, real dates).

    Pandas metadata is ignored so the frame always has a RangeIndex: GX reports offending
    rows by index label, and the gate maps those back to table positions.
    """
    return table.to_pandas(types_mapper=_types_mapper, ignore_metadata=True)


def pandas_dtype_name(arrow_type: pa.DataType) -> str:
    """Name of the pandas dtype `to_frame` gives a column of this Arrow type.

    Used to write `expect_column_type_to_be` expectations from an Arrow schema, e.g.
    int64 -> "Int64", string -> "string", date32 -> "date32[day][pyarrow]", float64 -> "float64".
    """
    empty = pa.table({"c": pa.array([], type=arrow_type)})
    return str(to_frame(empty)["c"].dtype)
