"""Merging rows into what a lake object holds: the rule every publish and every reader shares.

New rows replace stored rows of equal key (a null key part equals a null), nothing else is
dropped, and the result is sorted by the key.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc


def merge_rows(existing: pa.Table | None, new: pa.Table, key_columns: Sequence[str]) -> pa.Table:
    """``existing`` with ``new`` rows replacing those of equal key, sorted by the key."""
    order = [(c, "ascending") for c in key_columns]
    if existing is None or existing.num_rows == 0:
        return new.sort_by(order)
    existing = existing.cast(new.schema)
    if existing.num_rows == new.num_rows:
        ordered = new.sort_by(order)
        if existing.equals(ordered):  # a re-run brings the rows stored: nothing else to keep
            return ordered
    if len(key_columns) == 1:
        column = key_columns[0]
        keep = pc.invert(pc.is_in(existing.column(column), value_set=new.column(column)))
        kept = existing.filter(keep)
    else:
        kept = _left_anti(existing, new, key_columns).select(new.column_names)
    return pa.concat_tables([kept, new]).sort_by(order)


def _left_anti(existing: pa.Table, new: pa.Table, key_columns: Sequence[str]) -> pa.Table:
    """Rows of ``existing`` whose key is not in ``new``, where a null key part equals a null.

    Arrow joins never match nulls (SQL semantics), so a nullable key column (the ``start`` of
    an instant fact) is joined on an is-null flag plus the column with its nulls filled.
    """
    right = new.select(list(key_columns))
    left, join_keys = existing, list(key_columns)
    for column in key_columns:
        if not (left.column(column).null_count or right.column(column).null_count):
            continue
        join_keys.remove(column)
        present = pc.drop_null(
            pa.chunked_array(left.column(column).chunks + right.column(column).chunks)
        )
        parts = {f"__isnull_{column}": pc.is_null}
        if len(present):
            filler = present[0]
            parts[f"__filled_{column}"] = lambda c, f=filler: pc.fill_null(c, f)
        for name, fn in parts.items():
            left = left.append_column(name, fn(left.column(column)))
            right = right.append_column(name, fn(right.column(column)))
            join_keys.append(name)
    return left.join(right.select(join_keys), keys=join_keys, join_type="left anti")
