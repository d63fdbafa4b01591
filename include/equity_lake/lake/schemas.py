"""Arrow schemas of the lake's tables (DESIGN §3) and the one function that conforms to them."""

from __future__ import annotations

import pyarrow as pa

UTC_INSTANT = pa.timestamp("us", tz="UTC")

DAILY_TICKS = pa.schema(
    [
        ("security_id", pa.int64()),
        ("symbol", pa.string()),
        ("timestamp", pa.date32()),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.int64()),
    ]
)

#: one row per security and minute with a trade; ``timestamp`` is the minute's start (UTC).
#: ``trade_count`` and ``vwap`` are null where the source does not report them.
MINUTE_TICKS = pa.schema(
    [
        ("security_id", pa.int64()),
        ("symbol", pa.string()),
        ("timestamp", UTC_INSTANT),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.int64()),
        ("trade_count", pa.int64()),
        ("vwap", pa.float64()),
    ]
)

SECURITY_MASTER = pa.schema(
    [
        ("security_id", pa.int64()),
        ("symbol", pa.string()),
        ("company", pa.string()),
        ("cik", pa.string()),
        ("exchange", pa.string()),
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),
        ("source", pa.string()),
        # optional (null when the source does not know): CRSP's PERMNO, and whether it is an ETF
        ("permno", pa.int64()),
        ("is_etf", pa.bool_()),
    ]
)
#: SECURITY_MASTER columns a master written before they existed may lack (read as nulls)
SECURITY_MASTER_OPTIONAL = ("permno", "is_etf")

CORPORATE_ACTIONS = pa.schema(
    [
        ("security_id", pa.int64()),
        ("ex_date", pa.date32()),
        ("action", pa.string()),
        ("ratio", pa.float64()),
        ("amount", pa.float64()),
        ("old_symbol", pa.string()),
        ("new_symbol", pa.string()),
    ]
)

#: SEC EDGAR facts, one row per fact per filing (point in time: amendments add rows). `start`
#: is null for instants; `concept` is the canonical concept the tag maps to (null if none).
FUNDAMENTALS = pa.schema(
    [
        ("cik", pa.string()),
        ("taxonomy", pa.string()),
        ("tag", pa.string()),
        ("concept", pa.string()),
        ("unit", pa.string()),
        ("start", pa.date32()),
        ("end", pa.date32()),
        ("value", pa.float64()),
        ("accn", pa.string()),
        ("form", pa.string()),
        ("filed", pa.date32()),
        ("fy", pa.int64()),
        ("fp", pa.string()),
        ("frame", pa.string()),
    ]
)


class SchemaError(ValueError):
    """A table does not fit its dataset's schema; the message names the column."""


def conform(table: pa.Table, schema: pa.Schema, what: str) -> pa.Table:
    """Select and order the schema's columns, casting safely; refuse missing or lossy columns."""
    missing = [f.name for f in schema if f.name not in table.column_names]
    if missing:
        raise SchemaError(f"{what}: missing column(s) {', '.join(missing)}")
    columns = []
    for field in schema:
        col = table.column(field.name)
        if col.type != field.type:
            try:
                col = col.cast(field.type, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise SchemaError(
                    f"{what}: column {field.name} of type {col.type} does not cast to "
                    f"{field.type}: {exc}"
                ) from None
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=schema)


def with_optional_columns(table: pa.Table) -> pa.Table:
    """Add the optional SECURITY_MASTER columns a table lacks, as nulls (older masters)."""
    for name in SECURITY_MASTER_OPTIONAL:
        if name not in table.column_names:
            table = table.append_column(
                name, pa.nulls(table.num_rows, SECURITY_MASTER.field(name).type)
            )
    return table


def conform_master(table: pa.Table) -> pa.Table:
    """A security master table, stored or built, in the SECURITY_MASTER schema."""
    return conform(with_optional_columns(table), SECURITY_MASTER, "security master")
