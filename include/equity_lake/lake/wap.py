"""Write-audit-publish: the one path by which rows become visible in the lake.

Stage the batch under ``data/_staging/{run}/``, run the dataset's expectation suite on it, record
the validation result, then publish by atomically replacing each final object with the merge of
what it held and the new rows (merge, not clobber). A batch that fails its suite is moved to
``data/quarantine/{run}/`` beside its validation result and nothing of it is published.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore


class QualityGateFailed(RuntimeError):
    """A partition failed its expectation suite; the message names the failed expectations."""


@dataclass(frozen=True)
class Audited:
    """A staged batch that passed its suite, ready to publish."""

    staged_key: str
    result: dict
    #: failed expectations of severity "warning": published all the same, and counted
    warnings: tuple[str, ...] = ()


def audit(
    store: LakeStore,
    *,
    dataset: str,
    batch_key: str,
    table: pa.Table,
    params: dict[str, object],
    run_id: str,
    day: dt.date,
    partition: str,
) -> Audited:
    """Stage ``table`` and validate it; quarantine and raise on failure."""
    from equity_lake.quality.gate import validate_table

    staged = keys.staging(run_id, batch_key)
    store.write_table(staged, table)
    outcome = validate_table(
        dataset, table, params, run_name=run_id, batch_label=f"{dataset} {day} {partition}"
    )
    store.write_json(keys.quality_result(dataset, day, partition), outcome.result)
    if not outcome.success:
        quarantined = keys.quarantine(run_id, batch_key)
        store.move(staged, quarantined)
        store.write_json(
            quarantined + ".validation.json",
            {
                "dataset": dataset,
                "day": day.isoformat(),
                "partition": partition,
                "failures": outcome.failures,
                "sample_rows": outcome.sample_rows,
                "result": outcome.result,
            },
        )
        raise QualityGateFailed(f"{outcome.message()} (quarantined at {store.uri(quarantined)})")
    return Audited(staged_key=staged, result=outcome.result, warnings=outcome.warnings)


def merge_rows(existing: pa.Table | None, new: pa.Table, key_columns: Sequence[str]) -> pa.Table:
    """``existing`` with ``new`` rows replacing those of equal key, sorted by the key."""
    if existing is None or existing.num_rows == 0:
        merged = new
    else:
        existing = existing.cast(new.schema)
        if len(key_columns) == 1:
            column = key_columns[0]
            keep = pc.invert(pc.is_in(existing.column(column), value_set=new.column(column)))
            kept = existing.filter(keep)
        else:
            kept = _left_anti(existing, new, key_columns).select(new.column_names)
        merged = pa.concat_tables([kept, new])
    return merged.sort_by([(c, "ascending") for c in key_columns])


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


def publish_merge(store: LakeStore, key: str, new: pa.Table, key_columns: Sequence[str]) -> bool:
    """Merge ``new`` into the object at ``key`` and replace it atomically.

    Returns False (and writes nothing) when the object already holds exactly these rows, so a
    re-run leaves the lake byte-for-byte unchanged.
    """
    existing = store.read_table(key)
    if existing is not None:
        existing = existing.cast(new.schema)
    merged = merge_rows(existing, new, key_columns)
    if existing is not None and existing.equals(merged):
        return False
    store.write_table(key, merged)
    return True
